"""Casework around the chain on real incidents: playbook steps as tasks (issue 4), triage and
statutory report stages, findings, notices, prevention actions and drafts (issue 5)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from hokoku.core.exceptions import InputError, TransitionRefused
from hokoku.core.timeutil import JST
from hokoku.services import records, tasks, transitions, triage
from hokoku.services.docdata import build_document_data
from hokoku.services.notifications import delivery_channels
from hokoku.services.queries import outbox, show_incident
from hokoku.services.sweep import sweep
from tests.helpers import GM, PM, PO, REPORTER, T0, minutes, report


def _advance_to_containment(app, incident):
    transitions.acknowledge(app, incident_id=incident, actor=PM, now=T0 + minutes(5))
    transitions.advance(app, incident_id=incident, stage="immediate-measures", actor=PM, now=T0 + minutes(20))


def _statuses(app, incident, now):
    return {s["code"]: s for s in show_incident(app, incident, now=now)["stages"]}


# -- issue 4: steps become tasks ------------------------------------------------------------
def test_a_malware_report_puts_the_playbook_steps_on_the_incident_with_owners_and_deadlines(demo_app):
    """Each malware step becomes a task owned by the holder of its role, due relative to the report."""
    incident = report(demo_app).public_id
    steps = {t["ref"]: t for t in tasks.list_tasks(demo_app, incident_id=incident, kind="step")}
    playbook = demo_app.playbooks["malware"]
    assert list(steps) == [s.id for s in playbook.steps]
    isolate = steps["isolate-host"]
    assert isolate["owner"] == PM and isolate["mandatory"] and isolate["phase"] == "containment"
    assert datetime.fromisoformat(isolate["due_at"]) == T0 + timedelta(minutes=30)


def test_the_immediate_actions_of_a_report_come_from_its_category_playbook(demo_app):
    """``report`` returns the playbook's immediate actions (malware: pull the LAN cable)."""
    result = report(demo_app)
    expected = [a.get("ja") for a in demo_app.playbooks["malware"].immediate_actions]
    assert result.immediate_actions == expected
    assert any("LANケーブル" in a for a in result.immediate_actions)
    lost = report(demo_app, category="lost-device", summary="USB stick lost on the train")
    assert lost.immediate_actions == [a.get("ja") for a in demo_app.playbooks["lost-device"].immediate_actions]


def test_a_step_is_reminded_before_its_deadline_and_marked_overdue_at_it(demo_app):
    """isolate-host (30 min): a due-soon reminder at 24 min, overdue at 30 min to owner and PM."""
    incident = report(demo_app).public_id
    assert not [e for e in sweep(demo_app, now=T0 + minutes(23)) if e.stage == "isolate-host"]
    soon = [e for e in sweep(demo_app, now=T0 + minutes(24)) if e.stage == "isolate-host"]
    assert [(e.kind, e.recipients) for e in soon] == [("step_due_soon", [PM])]
    late = [e for e in sweep(demo_app, now=T0 + minutes(30)) if e.stage == "isolate-host"]
    assert [e.kind for e in late] == ["step_overdue"]
    assert [e for e in sweep(demo_app, now=T0 + minutes(31)) if e.stage == "isolate-host"] == []
    kinds = [m["kind"] for m in outbox(demo_app, incident=incident) if m["kind"].startswith("task_")]
    assert kinds.count("task_due_soon") >= 1 and kinds.count("task_overdue") >= 1
    step = next(t for t in tasks.list_tasks(demo_app, incident_id=incident) if t["ref"] == "isolate-host")
    assert step["status"] == "overdue"


def test_containment_cannot_be_completed_while_a_mandatory_step_is_open_and_says_which(demo_app):
    """The 27-2 containment stage is refused naming the open mandatory steps; done steps unblock it."""
    incident = report(demo_app).public_id
    _advance_to_containment(demo_app, incident)
    with pytest.raises(TransitionRefused, match="isolate-host"):
        transitions.advance(demo_app, incident_id=incident, stage="containment", actor=PM, now=T0 + minutes(40))
    assert _statuses(demo_app, incident, T0 + minutes(40))["containment"]["status"] == "notified"
    blocking = [
        t["ref"]
        for t in tasks.list_tasks(demo_app, incident_id=incident, kind="step")
        if t["mandatory"] and t["phase"] != "post-incident"
    ]
    for i, ref in enumerate(blocking):
        tasks.complete_task(
            demo_app, incident_id=incident, ref=ref, actor=PO, now=T0 + minutes(41 + i), evidence=f"{ref} recorded"
        )
    transitions.advance(demo_app, incident_id=incident, stage="containment", actor=PM, now=T0 + minutes(60))
    assert _statuses(demo_app, incident, T0 + minutes(60))["containment"]["status"] == "done"


def test_steps_are_assigned_by_managers_only_and_the_new_owner_is_told(demo_app):
    """A manager reassigns a step (owner changes, a message is queued); staff may not."""
    incident = report(demo_app).public_id
    with pytest.raises(TransitionRefused):
        tasks.assign_task(
            demo_app, incident_id=incident, ref="isolate-host", to=PO, actor=REPORTER, now=T0 + minutes(1)
        )
    tasks.assign_task(demo_app, incident_id=incident, ref="isolate-host", to=PO, actor=PM, now=T0 + minutes(2))
    step = next(t for t in tasks.list_tasks(demo_app, incident_id=incident) if t["ref"] == "isolate-host")
    assert step["owner"] == PO
    assert [m["to"] for m in outbox(demo_app, incident=incident) if m["kind"] == "task_assigned"] == [PO]


def test_changing_the_category_at_triage_replaces_the_open_steps(demo_app):
    """Triage to lost-device skips the open malware steps and adds the lost-device ones."""
    incident = report(demo_app).public_id
    triage.triage(demo_app, incident_id=incident, actor=PM, now=T0 + minutes(10), category="lost-device")
    rows = tasks.list_tasks(demo_app, incident_id=incident, kind="step")
    open_refs = {t["ref"] for t in rows if t["status"] == "open"}
    malware_ids = {s.id for s in demo_app.playbooks["malware"].steps}
    # a step id both playbooks use gets the new category as prefix (refs stay unique per incident)
    assert open_refs == {
        s.id if s.id not in malware_ids else f"lost-device:{s.id}" for s in demo_app.playbooks["lost-device"].steps
    }
    assert {t["status"] for t in rows if t["ref"] == "isolate-host"} == {"skipped"}


# -- issue 5 / 10: triage, statutory stages -------------------------------------------------
KNOWN_NO = dict(sensitive=False, financial_risk=False, unauthorized_purpose=False, encrypted=False)


def _app_with_regime(tmp_path, regime: str):
    from hokoku.app import open_app
    from hokoku.config.org import DEMO_ORG
    from hokoku.services.setup import init

    org = tmp_path / "org.yaml"
    org.write_text(
        DEMO_ORG.read_text(encoding="utf-8").replace("regime: business_like", f"regime: {regime}"), encoding="utf-8"
    )
    init(open_app(), org_file=org, demo=False, now=T0)
    return open_app()


def test_150_people_under_the_administrative_regime_are_reportable_on_the_running_clocks(hokoku_home, tmp_path):
    """Reportable (PPC Rules Art. 43(iv)): the statutory stages, running since the report, keep
    their dues counted from awareness."""
    app = _app_with_regime(tmp_path, "administrative_body")
    incident = report(
        app, aware_at=datetime(2026, 12, 1, 10, 0, tzinfo=JST), now=datetime(2026, 12, 1, 11, 0, tzinfo=JST)
    ).public_id
    result = triage.triage(
        app, incident_id=incident, actor=PM, individuals=150, **KNOWN_NO, now=datetime(2026, 12, 1, 12, 0, tzinfo=JST)
    )
    assert result["status"] == "required" and result["required"] is True
    assert [g["code"] for g in result["grounds"]] == ["headcount"]
    assert "第43条" in result["grounds"][0]["citation_ja"]
    assert result["deadlines"]["final_due"] == "2027-01-04"
    stages = _statuses(app, incident, datetime(2026, 12, 1, 12, 0, tzinfo=JST))
    assert stages["ppc-preliminary"]["status"] == "notified" and stages["ppc-preliminary"]["owner"] == GM
    due = datetime.fromisoformat(stages["ppc-preliminary"]["due_at"]).astimezone(JST)
    assert (due.date(), due.hour, due.minute) == (date(2026, 12, 4), 23, 59)
    assert stages["ppc-final"]["status"] == "notified"  # in parallel, not after the preliminary
    assert stages["triage"]["status"] == "done"  # every fact known: the assessment is decided


def test_150_people_under_the_business_like_regime_are_not_reportable_once_the_general_manager_confirms(demo_app):
    """Under APPI Art. 26 (threshold 1,000) 150 people are not reportable on the facts; the
    statutory duties end only when the general manager confirms that."""
    incident = report(demo_app).public_id
    result = triage.triage(demo_app, incident_id=incident, actor=PM, individuals=150, **KNOWN_NO, now=T0 + minutes(30))
    assert result["status"] == "not_required" and result["grounds"] == []
    assert result["confirmed_by_general_manager"] is False
    assert _statuses(demo_app, incident, T0 + minutes(30))["ppc-preliminary"]["status"] == "notified"
    triage.decide(demo_app, incident_id=incident, actor=GM, decision="confirm", now=T0 + minutes(40))
    stages = _statuses(demo_app, incident, T0 + minutes(40))
    assert {stages[c]["status"] for c in ("ppc-preliminary", "ppc-final", "individual-notice")} == {"skipped"}


def test_the_general_manager_overrides_with_a_reason_and_others_may_not(demo_app):
    """Only the GM (or deputy) decides; an override needs a reason and skips or adds the stages."""
    incident = report(demo_app).public_id
    triage.triage(demo_app, incident_id=incident, actor=PM, individuals=150, now=T0 + minutes(10))
    with pytest.raises(TransitionRefused):
        triage.decide(
            demo_app, incident_id=incident, actor=PM, decision="not-required", reason="x", now=T0 + minutes(11)
        )
    with pytest.raises(InputError, match="reason"):
        triage.decide(demo_app, incident_id=incident, actor=GM, decision="not-required", now=T0 + minutes(11))
    result = triage.decide(
        demo_app,
        incident_id=incident,
        actor=GM,
        decision="not-required",
        reason="data was test data only",
        now=T0 + minutes(12),
    )
    assert result["required"] is False and result["decision"]["kind"] == "override_not_required"
    stages = _statuses(demo_app, incident, T0 + minutes(12))
    assert stages["ppc-preliminary"]["status"] == "skipped" and stages["ppc-final"]["status"] == "skipped"
    result = triage.decide(
        demo_app, incident_id=incident, actor=GM, decision="required", reason="recount", now=T0 + minutes(13)
    )
    assert _statuses(demo_app, incident, T0 + minutes(13))["ppc-preliminary"]["status"] == "notified"


def test_the_unauthorized_purpose_case_gets_the_60_day_final_report(demo_app):
    """Unauthorised purpose: final report due at day 60 (counted from awareness in Japan time)."""
    aware = datetime(2027, 2, 1, 9, 0, tzinfo=JST)
    incident = report(demo_app, aware_at=aware).public_id
    result = triage.triage(
        demo_app,
        incident_id=incident,
        actor=PM,
        unauthorized_purpose=True,
        individuals=3,
        encrypted=False,
        now=T0 + minutes(10),
    )
    assert result["required"] is True and result["deadlines"]["final_day_count"] == 60
    assert result["deadlines"]["final_due"] == "2027-04-01"  # day 60 = Thu 2027-04-01


def test_a_case_reportable_while_the_purpose_is_unknown_drafts_with_the_30_day_final_report(demo_app):
    """Sensitive data, purpose not yet known: reportable, and the drafts count the shorter 30 days
    (the earliest the final report can be due) instead of refusing the unknown fact."""
    aware = datetime(2027, 2, 1, 9, 0, tzinfo=JST)
    incident = report(demo_app, aware_at=aware).public_id
    result = triage.triage(
        demo_app, incident_id=incident, actor=PM, sensitive=True, encrypted=False, now=T0 + minutes(10)
    )
    assert result["required"] is True
    data = build_document_data(demo_app, incident_id=incident, now=T0 + minutes(20))
    assert data["ppc"]["final_day_count"] == 30


# -- findings, notices, prevention actions and drafts -------------------------------------------
def _drafted_items(data, lang="ja"):
    """The nine items as the drafts write them (findings plus the records, in words)."""
    from hokoku.documents.render import build_context

    return build_context("ppc-final", data, lang, "md")["items"]


def _reportable_incident(app):
    incident = report(app, summary="<script>alert(1)</script><!channel> survey PC infected").public_id
    triage.triage(
        app,
        incident_id=incident,
        actor=PM,
        individuals=150,
        individuals_estimated=True,
        **(KNOWN_NO | {"sensitive": True}),
        now=T0 + minutes(10),
    )
    triage.decide(app, incident_id=incident, actor=GM, decision="confirm", now=T0 + minutes(11))
    records.set_finding(
        app, incident_id=incident, item="data-items", text="氏名、住所、回答内容", actor=PM, now=T0 + minutes(20)
    )
    return incident


def test_prevention_actions_are_reminded_go_overdue_and_fill_item_8(demo_app):
    """A prevention action: due-soon reminder, overdue mark, and listed under item 8 with its status."""
    incident = _reportable_incident(demo_app)
    added = tasks.add_prevention_action(
        demo_app,
        incident_id=incident,
        title="マクロ無効化のポリシー適用",
        owner=PO,
        due_at=T0 + timedelta(days=10),
        actor=PM,
        now=T0,
    )
    assert added["ref"] == "P1"
    events = sweep(demo_app, now=T0 + timedelta(days=8, hours=1))
    assert ("prevention_due_soon", [PO]) in [(e.kind, e.recipients) for e in events if e.stage == "P1"]
    events = sweep(demo_app, now=T0 + timedelta(days=10, minutes=1))
    assert "prevention_overdue" in [e.kind for e in events if e.stage == "P1"]
    items = _drafted_items(build_document_data(demo_app, incident_id=incident, now=T0 + timedelta(days=11)))
    assert "・マクロ無効化のポリシー適用（実施中（期限超過））" in items["prevention"]


def test_notices_to_individuals_fill_item_6_and_findings_fill_their_items(demo_app):
    """Each notice batch appears in item 6; a playbook question's answer fills the item it maps to."""
    incident = _reportable_incident(demo_app)
    records.record_notice(
        demo_app,
        incident_id=incident,
        count=140,
        method="郵送",
        notified_at=T0 + timedelta(days=3),
        substitute="連絡のつかない10名はウェブサイトで公表",
        actor=PM,
        now=T0 + timedelta(days=3),
    )
    with pytest.raises(InputError):
        records.record_notice(demo_app, incident_id=incident, count=1, method=" ", notified_at=T0, actor=PM, now=T0)
    items = _drafted_items(build_document_data(demo_app, incident_id=incident, now=T0 + timedelta(days=4)))
    assert "140人に郵送により通知" in items["individual_response"]
    assert "ウェブサイトで公表" in items["individual_response"]
    assert items["individual_response"].startswith("実施状況：実施中")  # notices sent, the duty not closed
    assert items["data_items"] == "氏名、住所、回答内容"
    assert items["individuals"] == "150人（推計）"
    assert items["cause"] is None  # not yet established


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("fmt", ["md", "html"])
def test_every_draft_renders_from_a_real_incident(demo_app, lang, fmt):
    """Every kind renders from an incident built through the services; hostile text is inert."""
    from hokoku.documents.render import KINDS, render_draft

    incident = _reportable_incident(demo_app)
    transitions.acknowledge(demo_app, incident_id=incident, actor=PM, now=T0 + minutes(30))
    data = build_document_data(demo_app, incident_id=incident, now=T0 + timedelta(days=1), lang=lang)
    for kind in KINDS:
        text = render_draft(kind, data, lang=lang, fmt=fmt)
        assert incident in text
        assert "<script>" not in text
    final = render_draft("ppc-final", data, lang=lang, fmt=fmt)
    marker = "現時点で未確定" if lang == "ja" else "Not yet established"
    assert marker in final  # the cause is not established yet
    summary = render_draft("summary", data, lang=lang, fmt=fmt)
    assert ("期限内" if lang == "ja" else "met") in summary  # the acknowledgement deadline was met


def test_filing_the_preliminary_report_keeps_its_items_for_the_final_diff(demo_app):
    """Completing ppc-preliminary snapshots the nine items; a later finding shows as a change."""
    from hokoku.documents.render import render_draft

    incident = _reportable_incident(demo_app)
    transitions.advance(
        demo_app,
        incident_id=incident,
        stage="ppc-preliminary",
        actor=GM,
        now=T0 + timedelta(days=2),
        note="filed via the PPC form",
    )
    records.set_finding(
        demo_app,
        incident_id=incident,
        item="data_items",
        text="氏名、住所、電話番号、回答内容",
        actor=PM,
        now=T0 + timedelta(days=5),
    )
    data = build_document_data(demo_app, incident_id=incident, now=T0 + timedelta(days=6))
    assert data["preliminary_items"]["data_items"] == "氏名、住所、回答内容"
    assert data["items"]["data_items"] == "氏名、住所、電話番号、回答内容"
    final = render_draft("ppc-final", data, lang="ja", fmt="md")
    assert "電話番号" in final and "氏名、住所、回答内容" not in final  # the filed form carries the current items
    cover = render_draft("ppc-cover", data, lang="ja", fmt="md")  # the changes are on the internal cover page
    assert "電話番号" in cover and "氏名、住所、回答内容" in cover
