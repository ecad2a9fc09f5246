"""The server-rendered pages: report, receipt, dashboard, incident, leadership, audit; access
control, audit of every view and refusal, hostile input, size limits, languages."""

from __future__ import annotations

import re
from datetime import UTC, timedelta

import pytest
from sqlalchemy import select

from hokoku.store.db import transaction
from tests.helpers import GM, IM, PM, PO, REPORTER, STAFF_NOT_ON_LADDER, audit_actions, last_seq
from tests.web_support import AUDIT, DG, IEH_STAFF, OTHER_IM, OTHER_PM, fast_hashes, site

HOSTILE = "<script>alert(1)</script><!channel> <@U0PM00001> <img src=x onerror=alert(2)>"


def _actions(site, **kw) -> list[str]:
    return [a for a, _ in audit_actions(site.app, **kw)]


# -- report and receipt ---------------------------------------------------------------------------
def test_report_form_lists_categories_with_their_playbook_descriptions(site):
    """Japanese by default: each category with its one-line description; the reporter's division preselected."""
    page = site.as_(REPORTER).get("/report")
    assert page.status_code == 200
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page.text
    assert site.app.playbooks["malware"].description.get("ja") in page.text
    assert site.app.playbooks["lost-device"].title.get("ja") in page.text
    assert re.search(r'<option value="IDS-SURVEY" selected>', page.text)
    for name in ("division", "category", "summary", "aware_at", "data_items", "individuals", "already_done"):
        assert f'name="{name}"' in page.text


def test_english_by_query_and_then_by_cookie(site):
    """?lang=en switches to English and sets a cookie; later pages stay English; ?lang=ja goes back."""
    c = site.as_(REPORTER)
    page = c.get("/report?lang=en")
    assert "Report a personal-data incident" in page.text
    assert site.app.playbooks["malware"].description.get("en") in page.text
    assert c.cookies.get("hokoku_lang") == "en"
    assert "Incidents" in c.get("/dashboard").text
    assert "事案一覧" in c.get("/dashboard?lang=ja").text


def test_report_becomes_an_incident_and_the_receipt_shows_what_to_do_now(site):
    """POST /report → 303 to the receipt: the id and the playbook's immediate actions; details kept encrypted."""
    c = site.as_(REPORTER)
    r = c.post(
        "/report",
        data={
            "csrf_token": c.csrf,
            "division": "IDS-SURVEY",
            "category": "malware",
            "summary": "PC-17 shows a ransom note",
            "aware_at": "2027-02-01T09:40",
            "data_items": "survey respondents' names",
            "individuals": "120",
            "already_done": "pulled the LAN cable",
            "serious": "true",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/incidents/INC-2027-0001/receipt"
    receipt = c.get(r.headers["location"])
    assert "INC-2027-0001" in receipt.text and "中村 美咲" in receipt.text
    for action in site.app.playbooks["malware"].immediate_actions:
        assert action.get("ja") in receipt.text
    from hokoku.models.incident import Incident

    with transaction(site.app.engine) as session:
        inc = session.execute(select(Incident)).scalar_one()
    assert inc.serious and inc.source == "web" and inc.reporter_email == REPORTER
    assert inc.aware_at == site.clock() - timedelta(minutes=25)
    details = site.app.keyring.decrypt(inc.details_enc, field="incident.details", bind=inc.public_id)
    assert "survey respondents' names" in details and "120" in details and "pulled the LAN cable" in details
    assert b"pulled" not in inc.details_enc
    reported = [d for a, d in audit_actions(site.app) if a == "incident.reported"]
    assert len(reported) == 1 and reported[0]["source"] == "web" and reported[0]["serious"] is True


@pytest.mark.parametrize(
    "field, patch, needle",
    [
        ("summary", {"summary": "   "}, "何が起きたかを書いてください"),
        ("division", {"division": "NOPE"}, "この課室等は登録されていません"),
        ("category", {"category": "alien-invasion"}, "この種類は選べません"),
        ("category", {"category": "bulk-download"}, "この種類は選べません"),
        ("aware_at", {"aware_at": "2030-01-01T00:00"}, "未来の日時"),
        ("aware_at", {"aware_at": "yesterday"}, "2027-02-01T09:40"),
        ("individuals", {"individuals": "many"}, "0以上の整数"),
    ],
)
def test_bad_report_is_shown_again_with_the_field_marked(site, field, patch, needle):
    """422, the message, the wrong field marked and the other answers kept; no incident is made."""
    c = site.as_(REPORTER)
    data = {
        "csrf_token": c.csrf,
        "division": "IDS-SURVEY",
        "category": "malware",
        "summary": "kept summary text",
        "data_items": "kept data items",
    } | patch
    r = c.post("/report", data=data)
    assert r.status_code == 422
    assert needle in r.text
    assert "kept data items" in r.text
    if field in ("summary", "aware_at", "individuals", "division"):
        assert re.search(rf'name="{field}"[^>]*aria-invalid="true"', r.text), field
    assert "incident.reported" not in _actions(site)


def test_report_form_shows_every_error_at_once_in_the_pages_language_beside_its_field(site):
    """Three wrong fields → one 422 page naming all three, each message beside its field; English on ?lang=en."""
    c = site.as_(REPORTER)
    data = {"csrf_token": c.csrf, "division": "", "category": "", "summary": " ", "data_items": "kept data items"}
    r = c.post("/report", data=data)
    assert r.status_code == 422
    for field, message in (
        ("division", "課室等を選んでください"),
        ("category", "事案の種類を選んでください"),
        ("summary", "何が起きたかを書いてください"),
    ):
        assert re.search(rf'<p class="field-error" id="{field}-error">[^<]*{message}', r.text), field
    assert "（3件）" in r.text and "kept data items" in r.text
    en = c.post("/report?lang=en", data=data).text
    assert "Say what happened." in en and "Choose the division" in en and "何が起きた" not in en.split("<main")[1]


def test_report_categories_are_ordered_for_people_with_unknown_and_no_machine_alert_type(site):
    """Common kinds first, 分からない・その他 last, bulk-download (machine alerts) not offered; required marked."""
    page = site.as_(REPORTER).get("/report").text
    codes = re.findall(r'name="category" value="([^"]+)"', page)
    assert codes[0] == "misdirected" and codes[-1] == "unknown" and "bulk-download" not in codes
    assert "分からない・その他" in page and page.count('<span class="required">') == 3


def test_unknown_category_report_is_accepted_and_the_receipt_says_what_happens_next(site):
    """分からない・その他 files an incident; the receipt shows the report time and the next steps."""
    inc = site.report(category="unknown")
    receipt = site.as_(REPORTER).get(f"/incidents/{inc}/receipt").text
    assert 'id="reported-at">2027-02-01' in receipt and 'id="what-next"' in receipt
    assert "種類を決め直します" in receipt


def test_staff_land_on_the_report_form_and_managers_on_the_dashboard(site):
    """After signing in without a target: staff → /report, a protection manager → /dashboard."""
    from tests.web_support import _CSRF_FIELD, PASSWORD

    for email, landing in ((REPORTER, "/report"), (PM, "/dashboard")):
        c = site.client()
        token = _CSRF_FIELD.search(c.get("/login").text).group(1)
        r = c.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token}, follow_redirects=False)
        assert r.headers["location"] == landing, email


# -- dashboard ------------------------------------------------------------------------------------
def test_dashboard_shows_owner_due_time_and_overdue_and_sorts(site):
    """Open incidents in scope with each started stage's owner and due time; overdue marked; ?sort= works."""
    first = site.report(summary="first")
    site.clock.advance(minutes=1)
    second = site.report(summary="second", category="lost-device")
    pm = site.as_(PM)
    page = pm.get("/dashboard")
    assert page.status_code == 200
    assert "中村 美咲" in page.text and "2027-02-01" in page.text
    assert page.text.index(first) < page.text.index(second)  # by due time (first is due first)
    by_incident_desc = pm.get("/dashboard?sort=incident&dir=desc").text
    assert by_incident_desc.index(second) < by_incident_desc.index(first)
    pm.post(f"/incidents/{second}/ack", data={"csrf_token": pm.csrf, "stage": "acknowledge"})
    site.clock.advance(hours=3)  # the first one's acknowledgement is overdue now
    page = pm.get("/dashboard?sort=status").text
    assert "期限超過" in page
    assert page.index(first) < page.index(second)  # overdue first
    assert re.search(rf'<tr class="overdue" data-incident="{first}">', page)


def test_staff_dashboard_lists_only_their_own_reports(site):
    """A staff member sees their own reports, not their colleague's."""
    mine = site.report(REPORTER)
    theirs = site.report(STAFF_NOT_ON_LADDER)
    page = site.as_(STAFF_NOT_ON_LADDER).get("/dashboard").text
    assert theirs in page and mine not in page
    assert "受領する" not in page  # no action buttons for staff


def test_acknowledge_and_advance_from_the_dashboard(site):
    """The forms POST, the chain moves on, the change is audited with channel web, and we come back."""
    inc = site.report()
    pm = site.as_(PM)
    r = pm.post(
        f"/incidents/{inc}/ack",
        data={"csrf_token": pm.csrf, "stage": "acknowledge", "next": "/dashboard?sort=incident"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/dashboard?sort=incident&msg=acked"
    assert "受領を記録しました" in pm.get(r.headers["location"]).text
    data = {"csrf_token": pm.csrf, "stage": "immediate-measures", "note": "LAN cable pulled"}
    r = pm.post(f"/incidents/{inc}/advance", data=data, follow_redirects=False)
    assert r.status_code == 200 and 'value="yes"' in r.text and "LAN cable pulled" in r.text  # confirm first
    r = pm.post(
        f"/incidents/{inc}/advance", data=data | {"confirm": "yes", "next": "/dashboard"}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/dashboard?msg=advanced"
    events = audit_actions(site.app, incident=inc)
    assert ("stage.acknowledged", {"stage": "acknowledge", "channel": "web"}) in events
    assert ("stage.done", {"stage": "immediate-measures", "channel": "web", "with_note": True}) in events
    page = pm.get(f"/incidents/{inc}").text
    assert "LAN cable pulled" in page


def test_completing_a_stage_asks_for_a_note_or_an_explicit_no_note_and_a_confirmation(site):
    """The dashboard links to a confirmation page; neither note nor "no note" → 422 there; no-note + confirm → done."""
    inc = site.report()
    pm = site.as_(PM)
    pm.post(f"/incidents/{inc}/ack", data={"csrf_token": pm.csrf, "stage": "acknowledge"})
    dash = pm.get("/dashboard").text
    link = re.search(rf'href="(/incidents/{inc}/stages/immediate-measures/complete\?next=[^"]+)"', dash)
    assert link and f'aria-label="完了にする: {inc}' in dash
    page = pm.get(link.group(1).replace("&amp;", "&"))
    assert page.status_code == 200 and "メモなしで完了にする" in page.text
    r = pm.post(
        f"/incidents/{inc}/advance", data={"csrf_token": pm.csrf, "stage": "immediate-measures", "confirm": "yes"}
    )
    assert r.status_code == 422 and "メモを書くか" in r.text
    assert "stage.done" not in _actions(site, incident=inc)
    r = pm.post(
        f"/incidents/{inc}/advance",
        data={"csrf_token": pm.csrf, "stage": "immediate-measures", "no_note": "true", "confirm": "yes"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].endswith("msg=advanced#stages")
    assert ("stage.done", {"stage": "immediate-measures", "channel": "web", "with_note": False}) in audit_actions(
        site.app, incident=inc
    )


def test_only_permitted_actions_are_offered_by_the_rule_that_authorises_the_post(site):
    """The DG sees no 受領する on the PM's stage (and a POST is refused 403); the PM sees it and it works."""
    inc = site.report()
    dg_page = site.as_(DG).get(f"/incidents/{inc}").text
    row = re.search(r'<tr [^>]*id="stage-acknowledge">.*?</tr>', dg_page, re.S).group(0)
    assert "data-action=" not in row and "操作できるのは担当者" in row
    assert 'data-stage="acknowledge"' not in site.as_(DG).get("/dashboard").text
    dg = site.as_(DG)
    assert dg.post(f"/incidents/{inc}/ack", data={"csrf_token": dg.csrf, "stage": "acknowledge"}).status_code == 403
    pm_page = site.as_(PM).get(f"/incidents/{inc}").text
    assert f'aria-label="受領する: {inc}' in pm_page
    pm = site.as_(PM)
    assert (
        pm.post(
            f"/incidents/{inc}/ack", data={"csrf_token": pm.csrf, "stage": "acknowledge"}, follow_redirects=False
        ).status_code
        == 303
    )


def test_refused_transitions_are_409_or_403(site):
    """Out of order → 409; someone not on the stage's ladder → 403; both are kept in the audit log."""
    inc = site.report()
    pm = site.as_(PM)
    r = pm.post(f"/incidents/{inc}/advance", data={"csrf_token": pm.csrf, "stage": "dg-report"})
    assert r.status_code == 409 and "が完了するまで完了できません" in r.text  # the page is Japanese: so is the detail
    dg = site.as_(DG)
    r = dg.post(f"/incidents/{inc}/ack", data={"csrf_token": dg.csrf, "stage": "acknowledge"})
    assert r.status_code == 403 and "を受領確認できません" in r.text
    assert {"stage.refused", "ack.refused"} <= set(_actions(site, incident=inc))


def test_skipping_needs_a_reason(site):
    """Skip without a reason is a 422 naming the field."""
    inc = site.report()
    pm = site.as_(PM)
    r = pm.post(f"/incidents/{inc}/advance", data={"csrf_token": pm.csrf, "stage": "root-cause", "op": "skip"})
    assert r.status_code == 422 and "skip_reason" in r.text


# -- incident page --------------------------------------------------------------------------------
def test_incident_page_has_stages_checklist_timeline_and_drafts(site):
    """Stages with owners; playbook steps with their checklist; timeline; links to every draft kind."""
    inc = site.report()
    page = site.as_(PM).get(f"/incidents/{inc}")
    assert page.status_code == 200
    text = page.text
    assert "27-1" in text and "incident.reported" in text
    step = site.app.playbooks["malware"].steps[0]
    assert step.title.get("ja") in text and step.checklist[0].get("ja") in text
    for kind in ("ppc-preliminary", "summary", "investigation-report"):
        assert f"/incidents/{inc}/drafts/{kind}?lang=en&amp;format=html" in text


def test_tick_checklist_complete_step_and_assign(site):
    """Checklist items are saved one by one as structured rows (not "[x] …" text), survive a
    reload without completing the step, and are audited; the step is completed with its note."""
    inc = site.report()
    pm = site.as_(PM)
    step = site.app.playbooks["malware"].steps[0]
    for item in (0, 1):
        r = pm.post(
            f"/incidents/{inc}/steps/{step.id}/tick",
            data={"csrf_token": pm.csrf, "item": item, "checked": "1"},
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"].endswith(f"msg=ticked#step-{step.id}")
    from hokoku.services.responders import ticks
    from hokoku.services.tasks import list_tasks

    assert ticks(site.app, incident_id=inc) == {step.id: {0, 1}}
    task = next(t for t in list_tasks(site.app, incident_id=inc) if t["ref"] == step.id)
    assert task["status"] == "open" and task["note"] is None
    page = pm.get(f"/incidents/{inc}?lang=en").text
    assert re.search(rf'aria-pressed="true" data-action="tick" data-step="{step.id}" data-item="0"', page)
    assert re.search(rf'aria-pressed="false" data-action="tick" data-step="{step.id}" data-item="2"', page)
    assert step.checklist[0].get("en") in page and "[x]" not in page
    pm.post(f"/incidents/{inc}/steps/{step.id}/tick", data={"csrf_token": pm.csrf, "item": 1, "checked": "0"})
    assert ticks(site.app, incident_id=inc) == {step.id: {0}}
    assert [d["item"] for a, d in audit_actions(site.app, incident=inc) if a.startswith("checklist.")] == [0, 1, 1]
    assert (
        pm.post(f"/incidents/{inc}/steps/{step.id}/tick", data={"csrf_token": pm.csrf, "item": 99}).status_code == 422
    )
    r = pm.post(
        f"/incidents/{inc}/steps/{step.id}/done",
        data={"csrf_token": pm.csrf, "note": "isolated by EDR", "evidence": "ticket 42"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    done = next(t for t in list_tasks(site.app, incident_id=inc) if t["ref"] == step.id)
    assert done["status"] == "done" and done["evidence"] == "ticket 42" and done["note"] == "isolated by EDR"
    other = site.app.playbooks["malware"].steps[1].id
    r = pm.post(
        f"/incidents/{inc}/steps/{other}/assign", data={"csrf_token": pm.csrf, "to": PO}, follow_redirects=False
    )
    assert r.status_code == 303
    assert next(t for t in list_tasks(site.app, incident_id=inc) if t["ref"] == other)["owner"] == PO


def test_triage_form_records_facts_and_shows_the_assessment(site):
    """Yes/no/unknown facts from the form; more than 1,000 individuals under the Art. 26 regime
    with every other fact known: a report to the Commission is required."""
    inc = site.report()
    pm = site.as_(PM)
    assert "未確定" in pm.get(f"/incidents/{inc}").text  # a new incident is undecided
    r = pm.post(
        f"/incidents/{inc}/triage",
        data={
            "csrf_token": pm.csrf,
            "individuals": "1200",
            "sensitive": "no",
            "financial_risk": "no",
            "unauthorized_purpose": "no",
            "encrypted": "no",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = pm.get(f"/incidents/{inc}").text
    assert "個人情報保護委員会への報告: 必要" in page
    assert "incident.triaged" in _actions(site, incident=inc)
    bad = pm.post(f"/incidents/{inc}/triage", data={"csrf_token": pm.csrf, "individuals": "-3"})
    assert bad.status_code == 422
    bad = pm.post(f"/incidents/{inc}/triage", data={"csrf_token": pm.csrf, "sensitive": "maybe"})
    assert bad.status_code == 422


def test_the_general_manager_decides_and_a_manager_corrects_the_awareness_time_in_the_web_app(site):
    """The decision form and the awareness correction: the statutory clocks move and are audited."""
    inc = site.report()
    pm = site.as_(PM)
    pm.post(
        f"/incidents/{inc}/triage",
        data={
            "csrf_token": pm.csrf,
            "individuals": "12",
            "sensitive": "no",
            "financial_risk": "no",
            "unauthorized_purpose": "no",
            "encrypted": "no",
        },
    )
    r = pm.post(
        f"/incidents/{inc}/amend",
        data={
            "csrf_token": pm.csrf,
            "aware_at": "2027-01-25T09:00",
            "reason": "the log shows the first alert a week earlier",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    actions = _actions(site, incident=inc)
    assert "incident.amended" in actions and "stage.due_changed" in actions
    gm = site.as_(GM)
    r = gm.post(
        f"/incidents/{inc}/reportability", data={"csrf_token": gm.csrf, "decision": "confirm"}, follow_redirects=False
    )
    assert r.status_code == 303 and "reportability.decided" in _actions(site, incident=inc)
    refused = pm.post(
        f"/incidents/{inc}/reportability", data={"csrf_token": pm.csrf, "decision": "required", "reason": "x"}
    )
    assert refused.status_code == 403  # only the general manager (or deputy) decides


def test_every_view_of_an_incident_is_an_audit_event(site):
    """incident.viewed with the channel, for the page and the drafts; the dashboard is not a view."""
    inc = site.report()
    seq = last_seq(site.app)
    gm = site.as_(GM)
    gm.get("/dashboard")
    gm.get(f"/incidents/{inc}")
    gm.get(f"/incidents/{inc}/drafts/summary?format=md")
    events = [(a, d) for a, d in audit_actions(site.app, after_seq=seq) if a == "incident.viewed"]
    assert events == [("incident.viewed", {"via": "page"}), ("incident.viewed", {"via": "draft:summary"})]


def test_drafts_render_in_either_language_and_format(site):
    """/incidents/{id}/drafts/{kind}?lang=&format= renders render_draft; unknown kinds are 404."""
    inc = site.report()
    gm = site.as_(GM)
    html = gm.get(f"/incidents/{inc}/drafts/summary?lang=en&format=html")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert inc in html.text
    assert "script-src" not in html.headers["content-security-policy"]  # default-src 'none': no script at all
    md = gm.get(f"/incidents/{inc}/drafts/ppc-preliminary?lang=ja&format=md")
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    assert gm.get(f"/incidents/{inc}/drafts/no-such-kind").status_code == 404
    assert gm.get(f"/incidents/{inc}/drafts/summary?format=pdf").status_code == 422


# -- hostile input --------------------------------------------------------------------------------
def test_report_text_with_html_script_and_slack_mentions_is_inert(site):
    """Autoescaped everywhere it is shown: no tag from the report reaches the page."""
    inc = site.report(summary=HOSTILE, already_done="<b>bold</b> <!here>")
    for email in (REPORTER, PM):
        page = site.as_(email).get(f"/incidents/{inc}").text
        assert "<script>alert(1)" not in page and "<img src=x" not in page and "<!channel>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;!channel&gt;" in page
        assert "&lt;@U0PM00001&gt;" in page and "&lt;b&gt;bold&lt;/b&gt;" in page
        scripts = re.findall(r"<script[^>]*>", page, re.I)
        assert scripts == ['<script src="/static/live.js" defer>']  # only the app's own file, no inline script
    draft = site.as_(PM).get(f"/incidents/{inc}/drafts/summary?format=html").text
    assert "<script>alert(1)" not in draft


def test_unknown_incident_is_404_not_500(site):
    """Unknown ids, pages and drafts answer 404 pages."""
    c = site.as_(GM)
    for path in (
        "/incidents/INC-2027-9999",
        "/incidents/INC-2027-9999/receipt",
        "/incidents/garbage<>",
        "/incidents/INC-2027-9999/drafts/summary",
        "/no-such-page",
    ):
        r = c.get(path, headers={"accept": "text/html,application/xhtml+xml"})
        assert r.status_code == 404, path
        assert "<html" in r.text
    r = c.post("/incidents/INC-2027-9999/ack", data={"csrf_token": c.csrf})
    assert r.status_code == 404


def test_oversized_report_comes_back_with_the_typed_text_and_a_message(site):
    """A 300 KiB summary (over the 256 KiB limit of other forms) is refused on the form page in
    Japanese, with every typed word still in the form; no incident is made."""
    c = site.as_(REPORTER)
    big = "x" * (300 * 1024)
    r = c.post(
        "/report",
        data={
            "csrf_token": c.csrf,
            "division": "IDS-SURVEY",
            "category": "malware",
            "summary": big,
            "already_done": "kept words",
        },
    )
    assert r.status_code == 422 and "長すぎます" in r.text and big in r.text and "kept words" in r.text
    assert "incident.reported" not in _actions(site)


def test_oversized_bodies_are_refused_with_413(site):
    """Bodies over the limit: refused by Content-Length, and when streamed without one."""
    c = site.as_(REPORTER)
    big = "x" * (300 * 1024)
    inc = site.report()
    r = c.post(f"/incidents/{inc}/updates", data={"csrf_token": c.csrf, "text": big})
    assert r.status_code == 413
    r = c.post("/report", data={"csrf_token": c.csrf, "summary": "x" * (1100 * 1024)})
    assert r.status_code == 413

    def chunks():
        for _ in range(120):
            yield b"summary=" + b"y" * 10_000 + b"&"

    r = c.post("/report", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413
    assert _actions(site).count("incident.reported") == 1


# -- who may see what ------------------------------------------------------------------------------
@pytest.mark.parametrize("who", [STAFF_NOT_ON_LADDER, OTHER_PM, OTHER_IM, IEH_STAFF])
def test_people_outside_the_scope_get_the_missing_incident_page_and_the_attempt_is_audited(site, who):
    """Another staff member, another division's PM, another institute's IM: the very page a missing
    incident gets (404, ids cannot be probed), and an access.denied event."""
    inc = site.report()
    seq = last_seq(site.app)
    c = site.as_(who)
    for path in (f"/incidents/{inc}", f"/incidents/{inc}/receipt", f"/incidents/{inc}/drafts/summary"):
        r = c.get(path)
        missing = c.get(path.replace(inc, "INC-2099-9999"))
        assert r.status_code == missing.status_code == 404, (who, path)
        assert r.text == missing.text.replace("INC-2099-9999", inc)
        assert "PC-17" not in r.text
    denied = [(a, d) for a, d in audit_actions(site.app, after_seq=seq, incident=inc) if a == "access.denied"]
    assert len(denied) == 3
    assert "incident.viewed" not in _actions(site, after_seq=seq)
    if who in (OTHER_PM, OTHER_IM):
        r = c.post(f"/incidents/{inc}/ack", data={"csrf_token": c.csrf, "stage": "acknowledge"})
        assert r.status_code == 404


@pytest.mark.parametrize("who", [PM, PO, IM, GM, DG, AUDIT, REPORTER])
def test_people_inside_the_scope_see_the_incident(site, who):
    inc = site.report()
    assert site.as_(who).get(f"/incidents/{inc}").status_code == 200


def test_audit_officer_reads_everything_and_changes_nothing(site):
    """Every POST by the audit officer is 403 and recorded; the audit log page verifies the chain."""
    inc = site.report()
    a = site.as_(AUDIT)
    assert a.get(f"/incidents/{inc}").status_code == 200
    posts = [
        (f"/incidents/{inc}/ack", {"stage": "acknowledge"}),
        (f"/incidents/{inc}/advance", {"stage": "immediate-measures"}),
        (f"/incidents/{inc}/triage", {"individuals": "5"}),
        (f"/incidents/{inc}/steps/isolate-host/done", {}),
        (f"/incidents/{inc}/steps/isolate-host/assign", {"to": PO}),
        ("/report", {"division": "IDS-SURVEY", "category": "malware", "summary": "x"}),
    ]
    seq = last_seq(site.app)
    for path, data in posts:
        r = a.post(path, data={"csrf_token": a.csrf, **data})
        assert r.status_code == 403, path
    denied = [d for act, d in audit_actions(site.app, after_seq=seq) if act == "access.denied"]
    assert len(denied) == len(posts) and all(d["reason"].startswith("read-only") for d in denied)
    assert {"stage.acknowledged", "incident.triaged", "step.done"}.isdisjoint(_actions(site, incident=inc))
    page = a.get("/audit")
    assert page.status_code == 200 and 'class="verify ok"' in page.text
    assert "access.denied" in page.text
    assert '<form method="post" action="/incidents' not in a.get(f"/incidents/{inc}").text


def test_audit_log_page_is_for_auditors_and_top_management_only(site):
    """PM and staff get 403 (audited); GM and DG read it; the incident filter works."""
    inc = site.report()
    for who in (PM, REPORTER):
        assert site.as_(who).get("/audit").status_code == 403
    assert site.as_(DG).get("/audit").status_code == 200
    page = site.as_(GM).get(f"/audit?incident={inc}").text
    rows = re.findall(r'<tr data-action="([^"]+)"', page)
    assert rows and "incident.reported" in rows and "org.loaded" not in rows


def test_tampered_audit_log_shows_failed_verification(site):
    """The page says FAILED when a row was edited behind hokoku's back."""
    from tests.helpers import raw_sql

    site.report()
    raw_sql(site.app, "UPDATE audit_event SET actor = 'someone-else' WHERE seq = 2")
    page = site.as_(AUDIT).get("/audit?lang=en").text
    assert 'class="verify failed"' in page and "Verification FAILED" in page


# -- Art. 13: bulk reading -------------------------------------------------------------------------
def test_reading_many_incidents_warns_the_general_manager_once_per_window(site):
    """More than the threshold of different incidents in the window: an outbox warning to the GM and an audit event."""
    from hokoku.config.web import WebSettings
    from hokoku.models.notification import Notification

    site.web.state.web_settings = WebSettings(read_alert_threshold=3, read_alert_window_minutes=10)
    incidents = [site.report(summary=f"case {i}") for i in range(5)]
    reader = site.as_(IM)
    for inc in incidents[:3]:
        reader.get(f"/incidents/{inc}")
        reader.get(f"/incidents/{inc}")  # the same incident again does not count twice
    assert "access.bulk_read_warning" not in _actions(site)
    reader.get(f"/incidents/{incidents[3]}")
    warnings = [d for a, d in audit_actions(site.app) if a == "access.bulk_read_warning"]
    assert warnings == [{"reader": IM, "incidents": 4, "window_minutes": 10.0, "threshold": 3, "to": GM}]
    reader.get(f"/incidents/{incidents[4]}")
    assert len([a for a in _actions(site) if a == "access.bulk_read_warning"]) == 1
    with transaction(site.app.engine) as session:
        rows = session.execute(select(Notification).where(Notification.kind == "bulk_read_warning")).scalars().all()
    assert len(rows) == 1 and rows[0].recipient_email == GM and rows[0].incident_id is None
    body = site.app.keyring.decrypt(rows[0].body_enc, field="notification.body", bind=rows[0].idempotency_key)
    assert "伊藤 四郎" in body and incidents[3] in body and "第13条" in body
    site.clock.advance(minutes=11)  # a new window: a new warning is possible
    for inc in incidents[:4]:
        reader.get(f"/incidents/{inc}")
    assert len([a for a in _actions(site) if a == "access.bulk_read_warning"]) == 2


def test_read_alert_settings_come_from_the_environment(monkeypatch):
    from hokoku.config.web import load_web_settings

    monkeypatch.setenv("HOKOKU_READ_ALERT_THRESHOLD", "7")
    monkeypatch.setenv("HOKOKU_READ_ALERT_WINDOW_MINUTES", "3")
    s = load_web_settings()
    assert (s.read_alert_threshold, s.read_alert_window_minutes) == (7, 3)
    assert load_web_settings.__module__ == "hokoku.config.web"


# -- leadership -------------------------------------------------------------------------------------
def test_leadership_charts_and_summary(site):
    """Time to acknowledge, time to contain and deadlines met as inline SVG; the summary draft embedded."""
    inc = site.report()
    pm = site.as_(PM)
    site.clock.advance(minutes=10)
    pm.post(f"/incidents/{inc}/ack", data={"csrf_token": pm.csrf, "stage": "acknowledge"})
    site.clock.advance(minutes=5)
    pm.post(f"/incidents/{inc}/advance", data={"csrf_token": pm.csrf, "stage": "immediate-measures"})
    page = site.as_(GM).get("/leadership")
    assert page.status_code == 200
    text = page.text
    assert text.count("<svg") == 3
    assert "10分" in text  # acknowledged 10 minutes after the report
    assert f'src="/incidents/{inc}/drafts/summary?lang=ja&amp;format=html"' in text
    assert re.search(r'<rect class="seg met"', text)
    assert site.as_(REPORTER).get("/leadership").status_code == 403


def test_security_headers_on_pages(site):
    """CSP without inline script, nosniff, no framing, no caching of pages with personal data."""
    r = site.as_(PM).get("/dashboard")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-store"
    css = site.client().get("/static/web.css")
    assert css.status_code == 200 and "@media (max-width: 40rem)" in css.text


def test_uninitialised_data_directory_answers_503(hokoku_home):
    """Before `hokoku init` the pages and the API say 503 (not initialised), not 500."""
    from fastapi.testclient import TestClient

    from hokoku.app import open_app
    from hokoku.web import create_app

    client = TestClient(create_app(open_app(), notifiers={}), raise_server_exceptions=False)
    r = client.get("/api/incidents", headers={"Authorization": "Bearer hkp_x"})
    assert r.status_code == 503 and "hokoku init" in r.json()["error"]
    r = client.get("/dashboard", headers={"Cookie": "hokoku_session=abc", "accept": "text/html"})
    assert r.status_code == 503 and "<html" in r.text


# -- issue 17: dashboard search and filters, status updates, evidence, timeline ---------------------
def test_dashboard_filters_and_text_search_narrow_the_list_and_stay_in_the_url(site):
    """?q= searches the decrypted summaries in scope; ?category= and ?status= narrow; each row has its summary."""
    usb = site.report(summary="USB stick lost on the train", category="lost-device")
    pc = site.report(summary="PC-17 shows a ransom note")
    other = site.report(IEH_STAFF, division="IEH-COHORT", summary="USB stick at another institute")
    pm = site.as_(PM)
    page = pm.get("/dashboard").text
    assert usb in page and pc in page and "USB stick lost on the train" in page and other not in page
    found = pm.get("/dashboard?q=usb+STICK").text
    assert usb in found and pc not in found and other not in found  # the other institute's text is out of scope
    assert 'name="q" type="search" value="usb STICK"' in found
    by_cat = pm.get("/dashboard?category=malware").text
    assert pc in by_cat and usb not in by_cat
    pm.post(f"/incidents/{pc}/ack", data={"csrf_token": pm.csrf, "stage": "acknowledge"})
    pm.post(f"/incidents/{pc}/ack", data={"csrf_token": pm.csrf, "stage": "immediate-measures"})
    site.clock.advance(hours=3)  # the unacknowledged report is overdue now
    late = pm.get("/dashboard?overdue=1").text
    assert usb in late and "期限超過の手順" in late
    closed = pm.get("/dashboard?status=closed").text
    assert usb not in closed and pc not in closed
    assert "受領: 中村 美咲" in pm.get("/dashboard?q=PC-17").text
    assert "条件に合う事案はありません" in pm.get("/dashboard?q=nothing-like-this").text
    live = pm.get("/dashboard?q=usb&partial=1").text
    assert usb in live and "<html" not in live


def test_dashboard_shows_relative_times_and_one_minute_wording(site):
    """Due times carry あと…/…超過 beside the absolute time; under a minute is 1分未満 everywhere."""
    from datetime import datetime, timedelta, timezone

    from hokoku.web.charts import fmt_duration, fmt_relative

    now = datetime(2027, 2, 1, tzinfo=UTC)
    assert fmt_relative(now + timedelta(minutes=58, seconds=30), now, "ja") == "あと58分"
    assert fmt_relative(now - timedelta(hours=2), now, "ja") == "2時間0分超過"
    assert fmt_relative(now + timedelta(seconds=20), now, "ja") == "あと1分未満"
    assert fmt_duration(timedelta(seconds=10), "ja") == "1分未満" and fmt_duration(timedelta(0), "en") == "under 1 min"
    inc = site.report()
    page = site.as_(PM).get("/dashboard").text
    assert re.search(r'<span class="sub rel">あと[0-9時間]+分</span>', page)
    en = site.as_(PM).get("/dashboard?lang=en").text
    assert re.search(r'<span class="sub rel">in [0-9h ]+min</span>', en) and "Statutory dues" in en and "（" not in en
    site.clock.advance(hours=3)
    assert "超過</span>" in site.as_(PM).get("/dashboard?lang=ja").text and inc


def test_status_update_is_posted_audited_encrypted_and_shown_in_the_timeline(site):
    """Someone in scope posts an update: audited, stored encrypted, shown as a sentence with its text;
    the audit officer may not post; the fragment the page polls carries it too."""
    inc = site.report()
    staff = site.as_(REPORTER)
    r = staff.post(
        f"/incidents/{inc}/updates",
        data={"csrf_token": staff.csrf, "text": "Found a second PC affected"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].endswith("msg=update#timeline")
    assert "incident.update_posted" in _actions(site, incident=inc)
    from hokoku.models.responders import IncidentUpdate

    with transaction(site.app.engine) as session:
        row = session.execute(select(IncidentUpdate)).scalar_one()
    assert b"second PC" not in row.text_enc
    page = site.as_(PM).get(f"/incidents/{inc}").text
    assert "吉田 翔が状況を更新した。" in page and "Found a second PC affected" in page
    fragment = site.as_(PM).get(f"/incidents/{inc}/timeline").text
    assert "Found a second PC affected" in fragment and "<html" not in fragment
    audit_officer = site.as_(AUDIT)
    assert (
        audit_officer.post(
            f"/incidents/{inc}/updates", data={"csrf_token": audit_officer.csrf, "text": "x"}
        ).status_code
        == 403
    )


def test_timeline_folds_views_into_a_count_and_speaks_in_sentences(site):
    """incident.viewed entries become one line "閲覧 N回（M人）"; no raw event codes are shown."""
    inc = site.report()
    for email in (PM, PM, GM):
        site.as_(email).get(f"/incidents/{inc}")
    page = site.as_(PM).get(f"/incidents/{inc}").text
    timeline = page[page.index('id="timeline"') :]
    assert re.search(r"閲覧 [4-9]回（[2-9]人）", timeline)
    assert 'data-action="incident.viewed"' not in timeline
    assert "吉田 翔が事案を報告した。" in timeline and ">incident.reported<" not in timeline


def test_evidence_file_uploads_encrypted_downloads_intact_within_scope_and_is_audited(site):
    """A file is stored encrypted (no plaintext in the database file), downloads byte for byte for
    people in scope (audited), is refused to others, and an over-size file is refused."""
    inc = site.report()
    pm = site.as_(PM)
    content = b"EVIDENCE-PLAINTEXT-MARKER " + bytes(range(256)) * 40
    r = pm.post(
        f"/incidents/{inc}/evidence",
        data={"csrf_token": pm.csrf},
        files={"file": ("mail log 送信.txt", content, "text/plain")},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].endswith("msg=evidence#evidence")
    page = pm.get(f"/incidents/{inc}").text
    link = re.search(rf'href="(/incidents/{inc}/evidence/\d+)"', page).group(1)
    assert "mail log 送信.txt" in page
    got = pm.get(link)
    assert got.status_code == 200 and got.content == content
    assert "attachment" in got.headers["content-disposition"]
    assert {"evidence.added", "evidence.downloaded"} <= set(_actions(site, incident=inc))
    assert site.as_(OTHER_PM).get(link).status_code in (403, 404)  # out of scope (404 since issue 11B)
    from pathlib import Path

    from sqlalchemy import text

    with transaction(site.app.engine) as session:
        stored = session.execute(text("SELECT name_enc, content_enc FROM evidence_file")).one()
    assert b"EVIDENCE" not in bytes(stored[1]) and "送信".encode() not in bytes(stored[0])
    url = site.app.settings.effective_database_url
    if url.startswith("sqlite:///"):  # the database file itself (and its WAL) holds no plaintext
        db_file = Path(url.removeprefix("sqlite:///"))
        raw = b"".join(p.read_bytes() for p in db_file.parent.glob(db_file.name + "*"))
        assert b"EVIDENCE-PLAINTEXT-MARKER" not in raw and "mail log 送信".encode() not in raw
    big = b"x" * (5 * 1024 * 1024 + 1)
    r = pm.post(f"/incidents/{inc}/evidence", data={"csrf_token": pm.csrf}, files={"file": ("big.bin", big)})
    assert r.status_code in (413, 422)


def test_leadership_statutory_board_lists_possibly_reportable_incidents_with_dues_and_days_left(site):
    """Undecided counts as "may be": 速報/確報/本人通知 with due time, not filed, days left; CSV of the list."""
    inc = site.report()
    gm = site.as_(GM)
    page = gm.get("/leadership").text
    board = page[page.index('id="statutory"') : page.index("</table>", page.index('id="statutory"'))]
    assert inc in board and "おそれあり（未確定）" in board and board.count("未提出") == 3 and "残り" in board
    csv_text = gm.get("/dashboard?format=csv&all=1")
    assert csv_text.status_code == 200 and "attachment" in csv_text.headers["content-disposition"]
    assert inc in csv_text.text and "PC-17 shows a ransom note" in csv_text.text
    assert "incidents.exported" in _actions(site)


def test_audit_page_filters_pages_speaks_in_words_and_exports_the_filtered_view(site):
    """Filters by actor and action; actions in words; verification in Japanese; CSV and JSON Lines
    of exactly the filtered rows, each export audited."""
    inc = site.report()
    site.report(STAFF_NOT_ON_LADDER)
    pm = site.as_(PM)
    pm.post(f"/incidents/{inc}/ack", data={"csrf_token": pm.csrf, "stage": "acknowledge"})
    gm = site.as_(GM)
    page = gm.get(f"/audit?actor={PM}&action=stage.acknowledged").text
    rows = re.findall(r'<tr data-action="([^"]+)"', page)
    assert rows == ["stage.acknowledged"]
    assert "の受領を確認した" in page and "件の監査記録について、ハッシュの連鎖と署名を検証しました" in page
    assert "OK:" not in page
    csv_r = gm.get(f"/audit?actor={PM}&action=stage.&format=csv")
    assert csv_r.status_code == 200 and csv_r.headers["content-type"].startswith("text/csv")
    lines = csv_r.text.lstrip("\ufeff").strip().splitlines()
    assert lines[0].startswith("seq,at,actor,action") and len(lines) >= 2
    assert all(f",{PM}," in line and ",stage." in line for line in lines[1:])
    jl = gm.get(f"/audit?incident={inc}&format=jsonl")
    import json

    records = [json.loads(x) for x in jl.text.splitlines()]
    assert records and {r["incident"] for r in records} == {inc}
    exports = [d for a, d in audit_actions(site.app) if a == "audit.exported"]
    assert [e["format"] for e in exports] == ["csv", "jsonl"] and exports[1]["incident"] == inc
    assert "Verified" in gm.get("/audit?lang=en").text and "chain and signatures verified" in gm.get("/audit").text
