"""The web app in a real browser: Playwright driving Debian's Chromium (never a downloaded one).

One server for the module (uvicorn in a thread on 127.0.0.1, demo organisation in a temporary
HOKOKU_HOME); a fresh browser context (own cookies) per person. Screenshots of every page go to
``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from datetime import UTC
from pathlib import Path

import pytest

from tests.helpers import audit_actions

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
PASSWORD = "browser test password 1"
STAFF, OTHER_STAFF = "yoshida@example.org", "yamamoto@example.org"
PM, OTHER_PM = "nakamura.pm@example.org", "matsumoto.pm@example.org"
IM, OTHER_IM = "ito.im@example.org", "hayashi.im@example.org"
GM, AUDIT = "suzuki.gm@example.org", "tanaka.audit@example.org"
HOSTILE = "<script>alert(1)</script><!channel>"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium); browsers are never downloaded",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """(base URL, App): the web app on a demo organisation with an account per test person."""
    from datetime import datetime, timezone

    import uvicorn

    from hokoku.app import open_app
    from hokoku.services.accounts import ensure_demo_users
    from hokoku.services.setup import init
    from hokoku.web import create_app

    home = tmp_path_factory.mktemp("browser") / "home"
    overrides = {"home": str(home), "database_url": f"sqlite:///{home / 'hokoku.db'}"}
    init(open_app(**overrides), org_file=None, demo=True, now=datetime.now(UTC))
    app = open_app(**overrides)
    ensure_demo_users(
        app,
        emails=[STAFF, OTHER_STAFF, PM, OTHER_PM, IM, OTHER_IM, GM, AUDIT],
        password=PASSWORD,
        now=datetime.now(UTC),
    )
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(app, notifiers={}), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, name="browser-test-web", daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}", app
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    started = time.monotonic()
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        print(f"\nchromium {b.version} launched in {time.monotonic() - started:.2f} s")
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots():
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


class Person:
    """A browser context (own cookies) signed in as one person."""

    def __init__(self, browser, base: str, email: str, viewport=DESKTOP):
        self.base, self.email = base, email
        self.context = browser.new_context(viewport=viewport, locale="ja-JP")
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def goto(self, path: str):
        return self.page.goto(self.base + path)

    def sign_in(self, shot: Path | None = None):
        self.goto("/")
        assert self.page.url.startswith(self.base + "/login")
        self.page.fill("#email", self.email)
        self.page.fill("#password", PASSWORD)
        if shot:
            self.page.screenshot(path=str(shot), full_page=True)
        self.page.click("form[action='/login'] button[type=submit]")
        self.page.wait_for_url(re.compile(re.escape(self.base) + r"/(dashboard|report)$"))  # staff land on the form
        return self

    @property
    def csrf(self) -> str:
        return self.page.get_attribute("meta[name=csrf-token]", "content")

    def close(self):
        self.context.close()


@pytest.fixture
def people(browser, server):
    opened: list[Person] = []

    def open_as(email: str, **kw) -> Person:
        person = Person(browser, server[0], email, **kw)
        opened.append(person)
        return person

    yield open_as
    for person in opened:
        person.close()


def _report(staff: Person, shots: Path | None = None, *, summary: str = "PC-17 shows a ransom note") -> str:
    """Fill and send the report form as ``staff``; returns the incident id from the receipt."""
    page = staff.page
    staff.goto("/report")
    assert page.locator("#division").input_value() == "IDS-SURVEY"  # the reporter's division, preselected
    page.check("input[name=category][value=malware]")
    page.fill("#summary", summary)
    page.fill("#aware_at", time.strftime("%Y-%m-%dT%H:%M", time.gmtime(time.time() + 9 * 3600 - 600)))
    page.fill("#data_items", "survey respondents' names and addresses")
    page.fill("#individuals", "120")
    page.fill("#already_done", "pulled the LAN cable")
    if shots:
        page.screenshot(path=str(shots / "02-report-form-phone.png"), full_page=True)
    page.click("form.report button[type=submit]")
    page.wait_for_url(re.compile(r".*/incidents/INC-\d{4}-\d{4}/receipt$"))
    return page.locator(".incident-id").inner_text().strip()


def test_report_ack_advance_and_leadership_summary(people, server, shots):
    """Staff report on a phone → receipt; the PM acknowledges and advances a stage; the GM reads the summary."""
    base, app = server
    timings = {}
    t = time.monotonic()
    staff = people(STAFF, viewport=PHONE).sign_in(shots / "01-login-phone.png")
    incident = _report(staff, shots)
    receipt = staff.page
    assert re.fullmatch(r"INC-\d{4}-\d{4}", incident)
    assert "報告を受け付けました" in receipt.locator("h1").inner_text()
    actions = receipt.locator("ol.actions li")
    assert actions.count() == len(app.playbooks["malware"].immediate_actions)
    assert actions.first.inner_text() == app.playbooks["malware"].immediate_actions[0].get("ja")
    receipt.screenshot(path=str(shots / "03-receipt-phone.png"), full_page=True)
    for path in (None, "/report", "/dashboard", f"/incidents/{incident}"):  # no sideways scrolling on a phone
        if path:
            staff.goto(path)
        assert staff.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1, path
    staff.page.screenshot(path=str(shots / "03b-incident-staff-phone.png"), full_page=True)
    timings["report"] = time.monotonic() - t

    t = time.monotonic()
    pm = people(PM).sign_in()
    row = pm.page.locator(f"tr[data-incident='{incident}']")
    assert row.count() >= 1 and "中村 美咲" in row.first.inner_text()
    pm.page.screenshot(path=str(shots / "04-dashboard-manager.png"), full_page=True)
    pm.page.click(f"tr[data-incident='{incident}'] button[data-action=ack][data-stage=acknowledge]")
    pm.page.wait_for_url(re.compile(r".*/dashboard\?msg=acked$"))
    assert "受領を記録しました" in pm.page.locator(".flash").inner_text()
    pm.page.click(f"tr[data-incident='{incident}'] a[data-action=advance][data-stage=immediate-measures]")
    pm.page.check("#complete-no-note")  # completing asks for a note or an explicit "no note", then confirms
    pm.page.click("button[data-action=confirm-complete]")
    pm.page.wait_for_url(re.compile(r".*msg=advanced$"))
    pm.goto(f"/incidents/{incident}")
    assert pm.page.locator("tr[data-stage=acknowledge] .status").inner_text() == "完了"
    assert pm.page.locator("tr[data-stage=immediate-measures] .status").inner_text() == "完了"
    assert pm.page.locator("tr[data-stage=containment] .status").inner_text() in ("通知済み", "期限超過")
    pm.page.screenshot(path=str(shots / "05-incident-manager.png"), full_page=True)
    pm.goto(f"/incidents/{incident}?lang=en")
    assert "Stages (Chapter 9)" in pm.page.content()
    pm.page.screenshot(path=str(shots / "06-incident-manager-en.png"), full_page=True)
    pm.goto("/dashboard?lang=ja")
    timings["manager"] = time.monotonic() - t
    actions_log = [a for a, _ in audit_actions(app, incident=incident)]
    assert {"incident.reported", "stage.acknowledged", "stage.done", "incident.viewed"} <= set(actions_log)

    t = time.monotonic()
    gm = people(GM).sign_in()
    gm.goto(f"/leadership?incident={incident}")
    assert gm.page.locator("svg.chart").count() == 3
    assert gm.page.locator("#chart-ack rect.bar").count() >= 1
    frame = gm.page.frame_locator("iframe.draft")
    frame.locator("body").wait_for()
    assert incident in frame.locator("body").inner_text()
    gm.page.screenshot(path=str(shots / "07-leadership.png"), full_page=True)
    gm.goto(f"/incidents/{incident}/drafts/summary?lang=ja&format=html")
    assert incident in gm.page.content()
    gm.page.screenshot(path=str(shots / "08-summary-draft.png"), full_page=True)
    timings["leadership"] = time.monotonic() - t

    auditor = people(AUDIT).sign_in()
    auditor.goto("/audit")
    assert "検証済み" in auditor.page.locator("#verify").inner_text()
    auditor.page.screenshot(path=str(shots / "09-audit-log.png"), full_page=True)
    print("browser flow timings (s): " + ", ".join(f"{k} {v:.2f}" for k, v in timings.items()))


def _actor_of(app, incident, email) -> bool:
    from sqlalchemy import select

    from hokoku.models.audit import AuditEvent
    from hokoku.store.db import transaction

    with transaction(app.engine) as session:
        return (
            session.execute(
                select(AuditEvent.id).where(
                    AuditEvent.incident_public_id == incident,
                    AuditEvent.action == "access.denied",
                    AuditEvent.actor == email,
                )
            ).first()
            is not None
        )


def _assert_refused(person: Person, app, incident: str, shot: Path, *, api: bool = True) -> None:
    response = person.goto(f"/incidents/{incident}")
    assert response.status == 404  # out of scope reads as unknown (issue 11B): existence is not disclosed
    assert "見つかりません" in person.page.content()
    assert "ransom" not in person.page.content()
    person.page.screenshot(path=str(shot), full_page=True)
    if api:
        r = person.context.request.get(f"{person.base}/api/incidents/{incident}")
        assert r.status == 404
    assert _actor_of(app, incident, person.email), "the refused attempt is not in the audit log"


def test_staff_cannot_open_another_persons_incident(people, server, shots):
    """Staff → someone else's incident: 403 page and 403 API, and the attempt is in the audit log."""
    base, app = server
    incident = _report(people(STAFF).sign_in())
    _assert_refused(people(OTHER_STAFF).sign_in(), app, incident, shots / "10-refused-staff.png")


def test_protection_manager_of_another_division_is_refused(people, server, shots):
    base, app = server
    incident = _report(people(STAFF).sign_in())
    _assert_refused(people(OTHER_PM).sign_in(), app, incident, shots / "11-refused-other-division.png")


def test_institute_manager_of_another_institute_is_refused(people, server, shots):
    base, app = server
    incident = _report(people(STAFF).sign_in())
    _assert_refused(people(OTHER_IM).sign_in(), app, incident, shots / "12-refused-other-institute.png")


def test_audit_officer_sees_but_every_post_is_refused(people, server, shots):
    """The audit officer reads the incident (no action forms); a forged form POST gets the 403 page, audited."""
    base, app = server
    incident = _report(people(STAFF).sign_in())
    auditor = people(AUDIT).sign_in()
    assert auditor.goto(f"/incidents/{incident}").status == 200
    assert auditor.page.locator("form[method=post][action^='/incidents']").count() == 0
    with auditor.page.expect_navigation() as nav:
        auditor.page.evaluate(
            """([action, token]) => {
            const f = document.createElement('form'); f.method = 'post'; f.action = action;
            const i = document.createElement('input'); i.type = 'hidden'; i.name = 'csrf_token'; i.value = token;
            f.appendChild(i); document.body.appendChild(f); f.submit(); }""",
            [f"/incidents/{incident}/ack", auditor.csrf],
        )
    assert nav.value.status == 403
    assert "read-only" in auditor.page.content()
    auditor.page.screenshot(path=str(shots / "13-refused-audit-officer-post.png"), full_page=True)
    r = auditor.context.request.post(f"{base}/api/incidents/{incident}/ack", headers={"X-CSRF-Token": auditor.csrf})
    assert r.status == 403
    assert _actor_of(app, incident, AUDIT)
    assert "stage.acknowledged" not in [a for a, _ in audit_actions(app, incident=incident)]


def test_hostile_report_text_is_inert_in_the_browser(people, server, shots):
    """`<script>alert(1)</script><!channel>` is shown as text: no script element, no dialog."""
    base, app = server
    staff = people(STAFF).sign_in()
    incident = _report(staff, summary=HOSTILE)
    for person in (staff, people(PM).sign_in()):
        person.goto(f"/incidents/{incident}")
        scripts = person.page.evaluate("Array.from(document.querySelectorAll('script')).map(s => s.outerHTML)")
        assert not any("alert" in s for s in scripts), scripts
        assert scripts == ['<script src="/static/live.js" defer=""></script>']  # only the app's own file
        assert person.page.locator("#summary-text").inner_text() == HOSTILE
        assert person.page.get_by_text(HOSTILE, exact=True).is_visible()
        assert person.dialogs == []
    staff.page.screenshot(path=str(shots / "14-hostile-text-inert.png"), full_page=True)


ITEMS_4_TO_9 = {
    "cause": "認証の設定に不備があった。",
    "secondary_damage": "二次被害は確認されていない。",
    "individual_response": "対象者に郵送で通知する。",
    "publication": "機構のウェブサイトで公表する予定。",
    "prevention": "認証の設定を点検する。",
    "other": "警察に相談済み。",
}
NINE_HEADINGS = [
    "1. 概要",
    "2. 漏えい等が発生し、又は発生したおそれがある個人データ（保有個人情報）の項目",
    "3. 本人の数",
    "4. 原因",
    "5. 二次被害又はそのおそれの有無及びその内容",
    "6. 本人への対応の実施状況",
    "7. 公表の実施状況",
    "8. 再発防止のための措置",
    "9. その他参考となる事項",
]


def test_items_4_to_9_a_notice_and_an_action_from_the_incident_page_then_a_word_download(people, server, shots):
    """The PM completes items 4–9, records a notice batch and a prevention action on the incident page,
    then downloads the final report as .docx: the nine item headings in order, with the values entered."""
    from docx import Document

    base, app = server
    incident = _report(people(STAFF).sign_in())
    pm = people(PM).sign_in()
    pm.goto(f"/incidents/{incident}")
    assert pm.page.locator("#headcount").inner_text() == "120人（推計）"  # the report's headcount, at once
    for key, text in ITEMS_4_TO_9.items():
        pm.page.fill(f"#finding-{key}", text)
    pm.page.click("button[data-action=findings]")
    pm.page.wait_for_url(re.compile(r".*msg=findings.*"))
    assert "報告事項を記録しました" in pm.page.locator(".flash").inner_text()
    assert pm.page.locator("#finding-cause").input_value() == ITEMS_4_TO_9["cause"]

    form = pm.page.locator("form.notice")
    form.locator("input[name=count]").fill("80")
    form.locator("select[name=method]").select_option("郵送")
    form.locator("input[name=substitute]").fill("連絡のつかない方にはウェブサイトでお知らせ")
    pm.page.click("button[data-action=notice]")
    pm.page.wait_for_url(re.compile(r".*msg=notice.*"))

    form = pm.page.locator("form.action")
    form.locator("input[name=title]").fill("認証設定の定期点検")
    form.locator("select[name=owner]").select_option(PM)
    form.locator("input[name=due]").fill(
        time.strftime("%Y-%m-%dT%H:%M", time.gmtime(time.time() + 9 * 3600 + 30 * 86400))
    )
    pm.page.click("button[data-action=add-action]")
    pm.page.wait_for_url(re.compile(r".*msg=action.*"))
    assert "認証設定の定期点検" in pm.page.locator("#actions").inner_text()
    assert "80" in pm.page.locator("#notices").inner_text()
    pm.page.screenshot(path=str(shots / "15-casework-forms.png"), full_page=True)

    with pm.page.expect_download() as download:
        pm.page.click("li[data-kind=ppc-final] a[data-format=docx]")
    path = download.value.path()
    assert download.value.suggested_filename == f"{incident}-ppc-final-ja.docx"
    doc = Document(str(path))
    paragraphs = [p.text for p in doc.paragraphs]
    headings = [p.text for p in doc.paragraphs if p.style.name == "Heading 2"]
    assert headings == NINE_HEADINGS
    text = "\n".join(paragraphs)
    positions = [text.index(h) for h in NINE_HEADINGS]
    assert positions == sorted(positions)
    body = {
        h: text[text.index(h) : (text.index(NINE_HEADINGS[i + 1]) if i + 1 < 9 else None)]
        for i, h in enumerate(NINE_HEADINGS)
    }
    assert "120人（推計）" in body["3. 本人の数"]
    assert ITEMS_4_TO_9["cause"] in body["4. 原因"]
    assert ITEMS_4_TO_9["secondary_damage"] in body["5. 二次被害又はそのおそれの有無及びその内容"]
    assert "80人に郵送により通知" in body["6. 本人への対応の実施状況"]
    assert ITEMS_4_TO_9["individual_response"] in body["6. 本人への対応の実施状況"]
    assert ITEMS_4_TO_9["publication"] in body["7. 公表の実施状況"]
    assert ITEMS_4_TO_9["prevention"] in body["8. 再発防止のための措置"]
    assert "認証設定の定期点検（実施中）" in body["8. 再発防止のための措置"]
    assert ITEMS_4_TO_9["other"] in body["9. その他参考となる事項"]
    actions = [a for a, _ in audit_actions(app, incident=incident)]
    assert actions.count("finding.recorded") == 6 and "notice.recorded" in actions and "prevention.added" in actions
