"""Human-readable output of the CLI verbs (the ``--json`` forms are the data itself)."""

from __future__ import annotations

from datetime import datetime

from hokoku.core.statuses import StageStatus
from hokoku.core.timeutil import fmt_jst

_STATUS_JA = {
    "pending": "未着手",
    "notified": "通知済",
    "acknowledged": "受領済",
    "done": "完了",
    "skipped": "省略",
    "overdue": "期限超過",
}


def _t(value: str | None) -> str:
    return fmt_jst(datetime.fromisoformat(value)) if value else "-"


def print_report(r: dict, lang: str) -> None:
    ja = lang == "ja"
    print(f"{'事案番号' if ja else 'Incident'}: {r['incident']}")
    print("通知先:" if ja else "Notified:")
    for n in r["notified"]:
        print(f"  - {n['email']} ({n['role']}, {n['kind']})")
    print("いま直ちに行うこと:" if ja else "Do this now:")
    for i, action in enumerate(r["immediate_actions"], 1):
        print(f"  {i}. {action}")


def print_tick(r: dict) -> None:
    print(f"tick at {_t(r['now'])}")
    if not r["sweep"] and not r["dispatch"]:
        print("  nothing due")
    for e in r["sweep"]:
        who = ", ".join(e["recipients"]) or "(nobody resolved)"
        extra = (
            f" level {e['level']}"
            if e["kind"] == "escalation"
            else (f" #{e['number']}" if e["kind"] == "reminder" else "")
        )
        print(f"  {e['kind']}{extra}: {e['incident']} {e['stage']} → {who}")
    for d in r["dispatch"]:
        tail = f" ({d['error']})" if d.get("error") else ""
        print(f"  delivery {d['outcome']}: {d['channel']} → {d['recipient']}{tail}")


def print_show(d: dict, lang: str) -> None:
    ja = lang == "ja"
    print(
        f"{d['incident']}  [{d['status']}]  {d['category']}  {d['division']} {d['division_name']}"
        + ("  特に重大" if d["serious"] and ja else "  SERIOUS" if d["serious"] else "")
    )
    print(
        f"  {'把握' if ja else 'first known'}: {_t(d['aware_at'])}   {'報告' if ja else 'reported'}: {_t(d['reported_at'])}"
        f"   {'報告者' if ja else 'reporter'}: {d['reporter']}"
    )
    print(f"  {'概要' if ja else 'summary'}: {d['summary']}")
    delay = d["report_delay"]
    if delay["late"]:
        print(
            f"  ⚠ {'報告の遅れ' if ja else 'late report'}: "
            + (
                f"把握から{delay['minutes']}分後に報告（許容 {delay['tolerance']}、第27条第1項「直ちに」）"
                if ja
                else f"reported {delay['minutes']} min after awareness (tolerance {delay['tolerance']}; 27-1 says at once)"
            )
        )
    rep = d["reportability"]
    print(f"  {'委員会への報告' if ja else 'report to the Commission'}: {rep['summary']}")
    print(f"  policy: {d['policy']} ({d['policy_sha256'][:12]})")
    print()
    header = ("段階", "条", "担当", "状態", "期限") if ja else ("stage", "art.", "owner", "status", "due")
    print(f"  {header[0]:<26}{header[1]:<7}{header[2]:<28}{header[3]:<14}{header[4]}")
    for s in d["stages"]:
        status = _STATUS_JA.get(s["status"], s["status"]) if ja else s["status"]
        flag = ("  ⚠ 期限超過" if ja else "  ⚠ OVERDUE") if s["overdue"] and s["status"] != StageStatus.OVERDUE else ""
        ack = f" ack:{s['acknowledged_by']}" if s["acknowledged_by"] and s["status"] != StageStatus.DONE else ""
        level = f" esc:{s['escalation_level']}" if s["escalation_level"] else ""
        print(
            f"  {s['code']:<26}{s['article']:<7}{(s['owner'] or '-'):<28}{status + level + ack:<14}{_t(s['due_at'])}{flag}"
        )
    if d["delivery_failures"]:
        print()
        print("  配信失敗:" if ja else "  delivery failures:")
        for f in d["delivery_failures"]:
            print(f"    {f['channel']} → {f['recipient']}: {f['error']}")
    print()
    print("  経過:" if ja else "  timeline:")
    for ev in d["timeline"]:
        stage = ev["data"].get("stage")
        print(f"    {_t(ev['at'])}  {ev['action']:<22} {stage or '':<24} {ev['actor']}")


def print_list(rows: list[dict]) -> None:
    if not rows:
        print("no incidents")
    for r in rows:
        flag = " OVERDUE" if r["overdue"] else ""
        print(
            f"{r['incident']}  {r['status']:<6} {r['category']:<20} {r['division']:<12} "
            f"{','.join(r['current_stages']) or '-'}  next due {_t(r['next_due_at'])}{flag}"
        )


def print_outbox(rows: list[dict]) -> None:
    if not rows:
        print("outbox is empty")
    for r in rows:
        print(
            f"#{r['id']} [{r['status']}] {r['channel']} → {r['to']}  {r['kind']}  {r['incident'] or ''} {r['stage'] or ''}"
        )
        print(f"  Subject: {r['subject']}")
        for line in (r["body"] or "").splitlines():
            print(f"  | {line}")
        print()


def print_org(d: dict) -> None:
    labels = d["role_labels"]

    def who(p):
        dep = f" (deputy: {p['deputy']['name']} <{p['deputy']['email']}>)" if p.get("deputy") else ""
        return f"{p['name']} <{p['email']}>{dep}"

    r = d["regime_detail"]
    print(f"{d['organisation']}  [regime: {d['regime']}]")
    print(f"  {r['label_ja']} / {r['label']}")
    print(f"  報告義務の根拠 / basis: {r['basis_ja']} / {r['basis']}")
    print(f"  人数基準 / headcount line: {r['headcount_line_ja']} / {r['headcount_line']}")
    for role in ("director_general", "general_manager", "audit_officer"):
        print(f"  {labels[role]}: {who(d[role])}")
    for inst in d["institutes"]:
        print(f"  {inst['code']}  {inst['name']}")
        print(f"    {labels['institute_manager']}: {who(inst['institute_manager'])}")
        for div in inst["divisions"]:
            print(f"    {div['code']}  {div['name']}")
            print(f"      {labels['protection_manager']}: {who(div['protection_manager'])}")
            for p in div["protection_officers"]:
                print(f"      {labels['protection_officer']}: {who(p)}")
            for p in div["staff"]:
                print(f"      {labels['staff']}: {who(p)}")


def print_assessment(d: dict) -> None:
    state = {"required": "REQUIRED", "not_required": "not required", "undecided": "UNDECIDED (possibly reportable)"}
    print(
        f"{d['incident']}: statutory report to the Commission {state[d['status']]} (regime: {d['regime']}; "
        f"{d['basis']})"
    )
    facts = d["facts"]
    shown = {True: "yes", False: "no", None: "unknown"}
    people = (
        "unknown"
        if facts["individuals"] is None
        else (f"{facts['individuals']:,}" + (" (estimated)" if facts["individuals_estimated"] else ""))
    )
    print(
        f"  facts: sensitive {shown[facts['sensitive']]}, financial risk {shown[facts['financial_risk']]}, "
        f"unauthorised purpose {shown[facts['unauthorized_purpose']]}, encrypted {shown[facts['encrypted']]}, "
        f"individuals {people}"
    )
    print(f"  {d['summary']}")
    for g in d["grounds"]:
        print(f"  - {g['citation_ja']} / {g['citation_en']}")
    if d.get("decision"):
        dec = d["decision"]
        print(
            f"  decision: {dec['kind']} by {dec['by_name']} at {_t(dec['at'])}"
            + (f": {dec['reason']}" if dec["reason"] else "")
        )
    elif d["status"] == "undecided":
        print(
            "  undecided: record the unknown facts (hokoku triage) or the general manager decides "
            "(hokoku reportability --override required|not-required --reason)"
        )
    else:
        print("  awaiting the general manager's confirmation (hokoku reportability --confirm | --override)")
    if d.get("deadlines"):
        dl = d["deadlines"]
        print(f"  preliminary report target: {dl['preliminary_target']}; final report due: {dl['final_due']}")
        print(f"  {dl['rule_ja']}")


def print_tasks(rows: list[dict]) -> None:
    if not rows:
        print("no steps")
    for r in rows:
        mand = "*" if r["mandatory"] else " "
        print(
            f"{mand} {r['ref']:<24} {r['status']:<8} {(r['phase'] or ''):<14} due {_t(r['due_at'])}  "
            f"{r['owner'] or '-'}\n    {r['title']}"
        )
