"""Issue 17 in a real browser (Playwright driving Debian's Chromium): only permitted actions,
completing with a note and a confirmation, dashboard filters and search, live status updates,
encrypted evidence files, checklist ticks, the report form's errors, the audit export, an
automated accessibility check on every page, and screenshots on a phone and a desktop."""

from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path

import pytest

from tests.helpers import audit_actions
from tests.test_browser import (
    AUDIT,
    CHROMIUM,
    DESKTOP,
    GM,
    PHONE,
    PM,
    STAFF,
    Person,
    _report,
    browser,
    people,
    server,
    shots,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium"),
]
WAIT = 30_000  # ms: generous, the machine is shared

#: A small axe-like check: every visible form field has a label, every button and link an
#: accessible name, no id is used twice, states are not told by colour alone (status pills have text).
A11Y_CHECK = """() => {
  const problems = [];
  const visible = el => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  const named = el => (el.getAttribute('aria-label') || '').trim() || (el.getAttribute('aria-labelledby') || '').trim()
      || (el.labels && Array.from(el.labels).some(l => l.textContent.trim())) || (el.getAttribute('title') || '').trim();
  document.querySelectorAll('input, select, textarea').forEach(el => {
    if (el.type === 'hidden') return;
    if (!named(el)) problems.push('unlabelled ' + el.tagName + ' ' + (el.name || el.id));
  });
  document.querySelectorAll('button, a[href]').forEach(el => {
    if (!visible(el)) return;
    const name = (el.getAttribute('aria-label') || el.textContent || '').trim();
    if (!name) problems.push('nameless ' + el.tagName + ' ' + el.outerHTML.slice(0, 80));
  });
  const seen = {};
  document.querySelectorAll('[id]').forEach(el => { seen[el.id] = (seen[el.id] || 0) + 1; });
  Object.keys(seen).forEach(id => { if (seen[id] > 1) problems.push('duplicate id ' + id); });
  document.querySelectorAll('.status, .badge').forEach(el => {
    if (!el.textContent.trim()) problems.push('state by colour only ' + el.outerHTML.slice(0, 80));
  });
  return problems;
}"""


def _report_kind(staff: Person, category: str, summary: str) -> str:
    """Report through the form with a chosen category; returns the incident id."""
    page = staff.page
    staff.goto("/report")
    page.check(f"input[name=category][value={category}]")
    page.fill("#summary", summary)
    page.click("form.report button[type=submit]")
    page.wait_for_url(re.compile(r".*/incidents/INC-\d{4}-\d{4}/receipt$"), timeout=WAIT)
    return page.locator(".incident-id").inner_text().strip()


def _a11y(person: Person, where: str) -> None:
    problems = person.page.evaluate(A11Y_CHECK)
    assert problems == [], (where, problems)


def _shoot(browser, base: str, email: str, path: str, name: str, shots: Path) -> None:
    """The page on a phone (390×844, no sideways scrolling) and on a desktop, with the a11y check."""
    for label, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        person = Person(browser, base, email, viewport=viewport).sign_in()
        try:
            person.goto(path)
            _a11y(person, f"{name} {label}")
            if label == "phone":
                width = person.page.evaluate("document.documentElement.scrollWidth")
                assert width <= PHONE["width"] + 1, (name, width)
            person.page.screenshot(path=str(shots / f"i17-{name}-{label}.png"), full_page=True)
        finally:
            person.close()


def test_protection_manager_sees_no_action_on_the_general_managers_stage(people, server, shots):
    """On the PM's page the GM's 速報 stage offers no button (the same rule refuses the POST); the
    PM's own stage offers 受領する named with the incident; the GM sees the action on their stage."""
    base, app = server
    incident = _report(people(STAFF).sign_in())
    pm = people(PM).sign_in()
    pm.goto(f"/incidents/{incident}")
    gm_row = pm.page.locator("tr[data-stage=ppc-preliminary]")
    assert gm_row.locator("button, a[data-action]").count() == 0
    assert "操作できるのは担当者" in gm_row.inner_text()
    own = pm.page.locator("tr[data-stage=acknowledge] button[data-action=ack]")
    assert own.get_attribute("aria-label").startswith(f"受領する: {incident}")
    _a11y(pm, "incident (PM)")
    pm.goto("/dashboard")
    assert pm.page.locator(f"tr[data-incident='{incident}'] [data-stage=ppc-preliminary]").count() == 0
    gm = people(GM).sign_in()
    gm.goto(f"/incidents/{incident}")
    assert gm.page.locator("tr[data-stage=ppc-preliminary] button[data-action=ack]").count() == 1


def test_completing_from_the_dashboard_asks_for_a_note_and_confirms(people, server, shots):
    """完了にする… opens a confirmation page; sending without a note or "no note" is refused there,
    in Japanese, with nothing completed; with a note it completes and returns to the dashboard."""
    base, app = server
    incident = _report(people(STAFF).sign_in())
    pm = people(PM).sign_in()
    pm.page.click(f"tr[data-incident='{incident}'] button[data-action=ack][data-stage=acknowledge]")
    pm.page.wait_for_url(re.compile(r".*msg=acked$"), timeout=WAIT)
    pm.page.click(f"tr[data-incident='{incident}'] a[data-action=advance][data-stage=immediate-measures]")
    pm.page.wait_for_url(re.compile(r".*/stages/immediate-measures/complete\?.*"), timeout=WAIT)
    _a11y(pm, "complete confirm")
    pm.page.screenshot(path=str(shots / "i17-complete-confirm-desktop.png"), full_page=True)
    pm.page.set_viewport_size(PHONE)
    assert pm.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    pm.page.screenshot(path=str(shots / "i17-complete-confirm-phone.png"), full_page=True)
    pm.page.set_viewport_size(DESKTOP)
    pm.page.click("button[data-action=confirm-complete]")
    assert "メモを書くか" in pm.page.locator("#note-error").inner_text()
    assert "stage.done" not in [a for a, _ in audit_actions(app, incident=incident)]
    pm.page.fill("#complete-note", "LANケーブルを抜いたことを確認")
    pm.page.click("button[data-action=confirm-complete]")
    pm.page.wait_for_url(re.compile(r".*/dashboard\?msg=advanced$"), timeout=WAIT)
    assert ("stage.done", {"stage": "immediate-measures", "channel": "web", "with_note": True}) in audit_actions(
        app, incident=incident
    )


def test_a_filter_and_a_text_search_narrow_the_dashboard(people, server, shots):
    """Searching the summaries and choosing a category narrow the list; both stay in the URL."""
    base, app = server
    staff = people(STAFF).sign_in()
    usb = _report_kind(staff, "lost-device", "USBメモリを電車に置き忘れた-" + str(time.time_ns()))
    pc = _report(staff, summary="PC-17 shows a ransom note")
    pm = people(PM).sign_in()
    assert pm.page.locator(f"tr[data-incident='{usb}']").count() >= 1
    pm.page.fill("#f-q", "USBメモリ")
    pm.page.click("form.filters button[type=submit]")
    pm.page.wait_for_url(re.compile(r".*/dashboard\?q=USB.*"), timeout=WAIT)
    assert pm.page.locator(f"tr[data-incident='{usb}']").count() >= 1
    assert pm.page.locator(f"tr[data-incident='{pc}']").count() == 0
    pm.page.fill("#f-q", "")
    pm.page.select_option("#f-category", "malware")
    pm.page.click("form.filters button[type=submit]")
    pm.page.wait_for_url(re.compile(r".*category=malware.*"), timeout=WAIT)
    assert pm.page.locator(f"tr[data-incident='{pc}']").count() >= 1
    assert pm.page.locator(f"tr[data-incident='{usb}']").count() == 0
    _a11y(pm, "dashboard filtered")


def test_a_status_update_appears_in_a_second_session_without_reload(people, server, shots):
    """The PM has the incident page open; the reporter posts an update in another browser; it
    appears in the PM's timeline by itself (no navigation: a marker set on the page survives)."""
    base, app = server
    staff = people(STAFF).sign_in()
    incident = _report(staff)
    pm = people(PM).sign_in()
    pm.goto(f"/incidents/{incident}")
    pm.page.evaluate("window.__notReloaded = true")
    text = "二台目のPCにも同じ表示が出た " + str(time.time_ns())
    staff.goto(f"/incidents/{incident}")
    staff.page.fill("#update-text", text)
    staff.page.click("button[data-action=post-update]")
    staff.page.wait_for_url(re.compile(r".*msg=update#timeline$"), timeout=WAIT)
    pm.page.locator("#timeline-entries").get_by_text(text).wait_for(timeout=WAIT)
    assert pm.page.evaluate("window.__notReloaded === true")
    assert "吉田" in pm.page.locator("#timeline-entries li.update").first.inner_text()
    pm.page.screenshot(path=str(shots / "i17-live-update-desktop.png"), full_page=True)


def test_an_evidence_file_uploads_encrypted_and_downloads_intact(people, server, shots, tmp_path):
    """Upload through the page; the database file holds no plaintext of it; the download is byte-identical."""
    base, app = server
    incident = _report(people(STAFF).sign_in())
    pm = people(PM).sign_in()
    pm.goto(f"/incidents/{incident}")
    content = ("送信ログ BROWSER-EVIDENCE-MARKER " + str(time.time_ns())).encode() + bytes(range(256)) * 8
    src = tmp_path / "送信ログ.bin"
    src.write_bytes(content)
    pm.page.set_input_files("#evidence-file", str(src))
    pm.page.click("button[data-action=upload-evidence]")
    pm.page.wait_for_url(re.compile(r".*msg=evidence#evidence$"), timeout=WAIT)
    link = pm.page.locator("ul.evidence-files a").first
    assert link.inner_text() == "送信ログ.bin"
    with pm.page.expect_download(timeout=WAIT) as download:
        link.click()
    assert Path(download.value.path()).read_bytes() == content
    url = app.settings.effective_database_url
    db = Path(url.removeprefix("sqlite:///"))
    raw = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    assert b"BROWSER-EVIDENCE-MARKER" not in raw and "送信ログ.bin".encode() not in raw
    actions = [a for a, _ in audit_actions(app, incident=incident)]
    assert "evidence.added" in actions and "evidence.downloaded" in actions


def test_a_checklist_tick_survives_a_reload_without_completing_the_step(people, server, shots):
    base, app = server
    incident = _report(people(STAFF).sign_in())
    step = app.playbooks["malware"].steps[0]
    pm = people(PM).sign_in()
    pm.goto(f"/incidents/{incident}")
    button = f"button[data-action=tick][data-step='{step.id}'][data-item='0']"
    assert pm.page.get_attribute(button, "aria-pressed") == "false"
    pm.page.click(button)
    pm.page.wait_for_url(re.compile(rf".*msg=ticked#step-{step.id}$"), timeout=WAIT)
    pm.page.reload()
    assert pm.page.get_attribute(button, "aria-pressed") == "true"
    assert "済" in pm.page.locator(button).inner_text()
    assert pm.page.locator(f"li#step-{step.id} .step-head .status").inner_text() != "完了"
    assert "step.done" not in [a for a, _ in audit_actions(app, incident=incident)]


def test_the_report_form_shows_three_errors_at_once_in_japanese(people, server, shots):
    """Nothing chosen, nothing written: one answer names all three problems, each beside its field."""
    base, app = server
    staff = people(STAFF, viewport=PHONE).sign_in()
    staff.goto("/report")
    staff.page.select_option("#division", "")
    staff.page.fill("#data_items", "氏名と住所")
    staff.page.click("form.report button[type=submit]")
    staff.page.locator("#form-errors").wait_for(timeout=WAIT)
    for field, words in (
        ("division", "課室等を選んでください"),
        ("category", "事案の種類を選んでください"),
        ("summary", "何が起きたかを書いてください"),
    ):
        assert words in staff.page.locator(f"#{field}-error").inner_text()
    assert staff.page.locator(".field-error").count() == 3
    assert staff.page.locator("#data_items").input_value() == "氏名と住所"
    assert staff.page.get_attribute("#summary", "aria-describedby") == "summary-error"
    _a11y(staff, "report errors")
    staff.page.screenshot(path=str(shots / "i17-report-errors-phone.png"), full_page=True)


def test_the_audit_export_downloads_the_filtered_rows(people, server, shots):
    """Filter the audit log by actor and action, download CSV: exactly those rows; the export is audited."""
    base, app = server
    incident = _report(people(STAFF).sign_in())
    pm = people(PM).sign_in()
    pm.page.click(f"tr[data-incident='{incident}'] button[data-action=ack][data-stage=acknowledge]")
    pm.page.wait_for_url(re.compile(r".*msg=acked$"), timeout=WAIT)
    gm = people(GM).sign_in()
    gm.goto("/audit")
    gm.page.fill("#a-actor", PM)
    gm.page.fill("#a-action", "stage.acknowledged")
    gm.page.click("form.filters button[type=submit]")
    gm.page.wait_for_url(re.compile(r".*/audit\?.*actor=.*"), timeout=WAIT)
    shown = gm.page.locator("table.audit tbody tr").count()
    assert shown >= 1
    with gm.page.expect_download(timeout=WAIT) as download:
        gm.page.click("a[data-format=csv]")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text("utf-8-sig"))))
    assert len(rows) == shown and {(r["actor"], r["action"]) for r in rows} == {(PM, "stage.acknowledged")}
    assert "audit.exported" in [a for a, _ in audit_actions(app)]


def test_screenshots_of_every_page_on_phone_and_desktop_pass_the_accessibility_check(browser, people, server, shots):
    """Login, report, receipt, dashboard, incident, leadership and audit log: no unlabelled field,
    no nameless button, no duplicate id, no sideways scrolling on a phone."""
    base, app = server
    staff = people(STAFF).sign_in()
    incident = _report(staff)
    for label, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        person = Person(browser, base, STAFF, viewport=viewport)
        person.goto("/login")
        _a11y(person, "login")
        person.page.screenshot(path=str(shots / f"i17-login-{label}.png"), full_page=True)
        person.close()
    for email, path, name in (
        (STAFF, "/report", "report"),
        (STAFF, f"/incidents/{incident}/receipt", "receipt"),
        (PM, "/dashboard", "dashboard"),
        (PM, f"/incidents/{incident}", "incident"),
        (GM, "/leadership", "leadership"),
        (AUDIT, "/audit", "audit"),
        (STAFF, f"/incidents/{incident}", "incident-staff"),
    ):
        _shoot(browser, base, email, path, name, shots)


def test_the_dashboard_shows_a_new_report_without_reload(people, server, shots):
    """The PM's dashboard is open; a new report appears in its list by itself (polled fragment)."""
    base, app = server
    pm = people(PM).sign_in()
    pm.page.evaluate("window.__notReloaded = true")
    incident = _report(people(STAFF).sign_in())
    pm.page.locator(f"#dash-rows tr[data-incident='{incident}']").first.wait_for(timeout=WAIT)
    assert pm.page.evaluate("window.__notReloaded === true")
