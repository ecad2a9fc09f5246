"""The incident page's casework (issue 15) through the web app: report items 4–9, public texts,
notices and prevention actions with the CLI's rules and audit; the report form's occurrence time,
data items and headcount reach the drafts at once; drafts download as Word and Markdown."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest

from hokoku.documents import KINDS
from hokoku.documents.render import COMMISSION_KINDS, PUBLIC_KINDS
from tests.helpers import GM, PM, REPORTER, audit_actions
from tests.web_support import fast_hashes, site

SUMMARY = "研究用サーバに外部から不正ログインされた痕跡がある"
STEP_NOTE = "配線を抜き該当アカウントを停止済"
PUBLIC = {
    "summary": "当機構の研究用サーバ1台に、外部から不正にログインされたことが判明しました。",
    "cause": "サーバの認証の設定に不備があったためと考えられます。",
    "measures": "サーバをネットワークから切り離しました。",
}


def _incident(site, **fields) -> str:
    return site.report(
        summary=SUMMARY,
        occurred_at="2027-02-01T08:00",
        aware_at="2027-02-01T09:50",
        data_items="氏名、住所",
        individuals="1200",
        **fields,
    )


def _post(client, path: str, **data):
    return client.post(path, data={"csrf_token": client.csrf, **data}, follow_redirects=False)


def _draft(client, incident: str, kind: str, fmt: str = "md", lang: str = "ja"):
    return client.get(f"/incidents/{incident}/drafts/{kind}?lang={lang}&format={fmt}")


def test_the_report_forms_headcount_data_items_and_occurrence_reach_the_drafts_at_once(site):
    """Before any triage: 1,200人（推計） on the page and in every draft; the occurrence time in 概要."""
    incident = _incident(site)
    pm = site.as_(PM)
    page = pm.get(f"/incidents/{incident}").text
    assert '<dd id="headcount">1,200人（推計）</dd>' in page
    assert (
        'name="individuals" inputmode="numeric" pattern="[0-9]+|unknown|不明" value="1200"' in page
    )  # triage starts there
    assert "1,200人（推計）" in page[page.index('id="details-text"') :]  # the reporter's details, same wording
    final = _draft(pm, incident, "ppc-final").text
    assert "### 3. 本人の数\n\n1,200人（推計）" in final
    assert "氏名、住所" in final
    assert "発生日時：令和9年2月1日（2027-02-01）8時00分" in final
    mentions = {
        body[m.start() : m.end() + 5]
        for kind in KINDS
        for body in [_draft(pm, incident, kind).text]
        for m in re.finditer(r"1,?200", body)
    }
    assert mentions == {"1,200人（推計）"}


def test_items_4_to_9_from_the_page_are_recorded_once_each_audited_and_in_the_final(site):
    """Each changed item becomes one finding (audited); an unchanged resubmission records nothing."""
    incident = _incident(site)
    pm = site.as_(PM)
    values = {
        "cause": "認証設定の不備",
        "secondary_damage": "なし",
        "individual_response": "郵送で通知",
        "publication": "公表予定",
        "prevention": "定期点検",
        "other": "警察に相談",
    }
    r = _post(pm, f"/incidents/{incident}/findings", **values)
    assert r.status_code == 303 and r.headers["location"].endswith("?msg=findings#findings")
    r = _post(pm, f"/incidents/{incident}/findings", **values)
    assert r.headers["location"].endswith("?msg=nothing#findings")
    recorded = [d["item"] for a, d in audit_actions(site.app, incident=incident) if a == "finding.recorded"]
    assert sorted(recorded) == sorted(values)
    final = _draft(pm, incident, "ppc-final").text
    for text in values.values():
        assert text in final


def test_public_texts_from_the_page_replace_the_gaps_and_internal_text_never_flows_in(site):
    """Public texts written on the page fill the publication and notice; the reporter's summary and a
    step note reach no public-facing draft in any format."""
    incident = _incident(site)
    pm = site.as_(PM)
    r = _post(pm, f"/incidents/{incident}/steps/isolate-host/done", note=STEP_NOTE)
    assert r.status_code == 303
    before = _draft(pm, incident, "publication").text
    assert "【未記入：公表用の概要】" in before
    r = _post(pm, f"/incidents/{incident}/public-texts", **PUBLIC)
    assert r.status_code == 303 and "msg=public_texts" in r.headers["location"]
    from hokoku.documents.docx import docx_text

    for kind in PUBLIC_KINDS + COMMISSION_KINDS:
        for fmt in ("md", "html", "docx"):
            response = _draft(pm, incident, kind, fmt)
            body = docx_text(response.content) if fmt == "docx" else response.text
            assert SUMMARY not in body and STEP_NOTE not in body, (kind, fmt)
    notice = _draft(pm, incident, "individual-notice").text
    assert PUBLIC["summary"] in notice and "## 3. 原因\n\n" + PUBLIC["cause"] in notice


def test_notices_and_actions_from_the_page_use_the_services_rules(site):
    """A notice batch and a prevention action are recorded and audited; a notice in the future and an
    action due in the past are refused with the field at fault (422)."""
    incident = _incident(site)
    pm = site.as_(PM)
    now = site.clock()
    future = (now + timedelta(days=2)).astimezone().strftime("%Y-%m-%dT%H:%M:%S%z")
    r = _post(pm, f"/incidents/{incident}/notices", count="80", method="郵送", at=future)
    assert r.status_code == 422
    r = _post(pm, f"/incidents/{incident}/notices", count="80", method="郵送", substitute="ウェブサイトで公表")
    assert r.status_code == 303
    r = _post(pm, f"/incidents/{incident}/actions", title="点検", owner=PM, due="2020-01-01T10:00")
    assert r.status_code == 422
    r = _post(pm, f"/incidents/{incident}/actions", title="認証設定の定期点検", owner=PM, due="2030-01-01T10:00")
    assert r.status_code == 303
    actions = [a for a, _ in audit_actions(site.app, incident=incident)]
    assert actions.count("notice.recorded") == 1 and actions.count("prevention.added") == 1
    final = _draft(pm, incident, "ppc-final").text
    assert "80人に郵送により通知（通知が困難な方への代替措置：ウェブサイトで公表）" in final
    assert "・認証設定の定期点検（実施中）" in final
    page = pm.get(f"/incidents/{incident}").text
    assert "認証設定の定期点検" in page and "ウェブサイトで公表" in page


def test_the_reporter_may_not_write_findings_or_public_texts(site):
    """Staff who reported: the page offers no forms, and a forged POST is refused (403)."""
    incident = _incident(site)
    staff = site.as_(REPORTER)
    page = staff.get(f"/incidents/{incident}").text
    assert 'action="/incidents/' + incident + '/findings"' not in page
    assert _post(staff, f"/incidents/{incident}/findings", cause="x").status_code == 403
    assert _post(staff, f"/incidents/{incident}/public-texts", summary="x").status_code == 403


@pytest.mark.parametrize(
    "fmt,media,ext",
    [
        ("md", "text/markdown; charset=utf-8", "md"),
        ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
    ],
)
def test_markdown_and_word_are_downloads_html_stays_a_page(site, fmt, media, ext):
    """Markdown and Word come as attachments with their media types; HTML is shown in the browser."""
    incident = _incident(site)
    gm = site.as_(GM)
    r = _draft(gm, incident, "ppc-final", fmt)
    assert r.status_code == 200 and r.headers["content-type"] == media
    assert r.headers["content-disposition"].startswith(f'attachment; filename="{incident}-ppc-final-ja.{ext}"')
    html = _draft(gm, incident, "ppc-final", "html")
    assert html.headers["content-type"].startswith("text/html") and "content-disposition" not in html.headers
    if fmt == "docx":
        from docx import Document

        Document(io.BytesIO(r.content))  # opens


def test_the_incident_page_links_every_kind_as_word_and_markdown(site):
    incident = _incident(site)
    page = site.as_(PM).get(f"/incidents/{incident}").text
    for kind in KINDS:
        assert f'/incidents/{incident}/drafts/{kind}?lang=ja&amp;format=docx" download' in page


def test_the_api_takes_the_occurrence_time(site):
    """POST /api/incidents with occurred_at: stored and shown in the drafts' 概要."""
    from tests.test_web_api import REPORT, bearer

    client = site.client()
    r = client.post(
        "/api/incidents",
        json=REPORT | {"aware_at": "2027-02-01T09:40", "occurred_at": "2027-02-01T07:15", "individuals": 1200},
        headers=bearer(site.token(REPORTER)),
    )
    assert r.status_code == 201, r.text
    incident = r.json()["incident"]
    shown = client.get(f"/api/incidents/{incident}", headers=bearer(site.token(REPORTER))).json()
    assert shown["occurred_at"] == "2027-01-31T22:15:00+00:00"
    final = client.get(f"/api/incidents/{incident}/drafts/ppc-final", headers=bearer(site.token(GM))).text
    assert "発生日時：令和9年2月1日（2027-02-01）7時15分" in final and "1,200人（推計）" in final
    late = client.post(
        "/api/incidents",
        json=REPORT | {"aware_at": "2027-02-01T09:40", "occurred_at": "2027-02-01T09:45"},
        headers=bearer(site.token(REPORTER)),
    )
    assert late.status_code == 422 and late.json()["field"] == "occurred_at"


def test_no_ascii_code_in_any_japanese_draft_of_an_incident_built_on_the_pages(site):
    """Report form, step, stage, findings, public texts, notice and action through the web app; then
    every Japanese draft (Markdown) is scanned for slugs, codes and English words."""
    from tests.test_public_documents import _ascii_words

    incident = _incident(site)
    pm = site.as_(PM)
    assert _post(pm, f"/incidents/{incident}/ack").status_code == 303
    assert _post(pm, f"/incidents/{incident}/steps/isolate-host/done", note=STEP_NOTE).status_code == 303
    assert (
        _post(
            pm, f"/incidents/{incident}/advance", stage="immediate-measures", note="内部の記録", confirm="yes"
        ).status_code
        == 303
    )
    assert (
        _post(pm, f"/incidents/{incident}/findings", cause="認証設定の不備", prevention="定期点検").status_code == 303
    )
    assert _post(pm, f"/incidents/{incident}/public-texts", **PUBLIC).status_code == 303
    assert _post(pm, f"/incidents/{incident}/notices", count="80", method="郵送").status_code == 303
    assert (
        _post(pm, f"/incidents/{incident}/actions", title="定期点検", owner=PM, due="2030-01-01T10:00").status_code
        == 303
    )
    found = {kind: _ascii_words(_draft(pm, incident, kind).text) for kind in KINDS}
    assert {kind: words for kind, words in found.items() if words} == {}
