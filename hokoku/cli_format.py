"""Human-readable output of the CLI verbs (the ``--json`` forms are the data itself).

Every line is in the run's one language (``--lang`` or ``HOKOKU_LANG``), from the catalogue.
"""

from __future__ import annotations

from datetime import datetime

from hokoku.core.statuses import StageStatus
from hokoku.core.timeutil import fmt_jst
from hokoku.i18n import in_lang, join_list, t, t_or


def _t(value: str | None) -> str:
    return fmt_jst(datetime.fromisoformat(value)) if value else "-"


def print_report(r: dict, lang: str) -> None:
    print(t("cli.report.incident", lang, incident=r["incident"]))
    print(t("cli.report.notified", lang))
    for n in r["notified"]:
        print(t("cli.report.notified_line", lang, email=n["email"], role=n["role"], kind=n["kind"]))
    print(t("cli.report.do_now", lang))
    for i, action in enumerate(r["immediate_actions"], 1):
        print(f"  {i}. {action}")


def sweep_line(e: dict, lang: str) -> str:
    """One sweep event: ``reminder #2: INC-… stage → who``."""
    who = join_list(e["recipients"], lang) or t("cli.tick.nobody", lang)
    kind = t_or(f"cli.tick.kind.{e['kind']}", lang, e["kind"], number=e.get("number"), level=e.get("level"))
    return t("cli.tick.sweep", lang, kind=kind, incident=e["incident"], stage=e["stage"], who=who)


def print_tick(r: dict, lang: str) -> None:
    print(t("cli.tick.at", lang, at=_t(r["now"])))
    if not r["sweep"] and not r["dispatch"]:
        print(t("cli.tick.nothing", lang))
    for e in r["sweep"]:
        print(sweep_line(e, lang))
    for d in r["dispatch"]:
        tail = f" ({d['error']})" if d.get("error") else ""
        print(
            t(
                "cli.tick.delivery",
                lang,
                outcome=d["outcome"],
                channel=d["channel"],
                recipient=d["recipient"],
                tail=tail,
            )
        )


def print_show(d: dict, lang: str) -> None:
    print(
        f"{d['incident']}  [{d['status']}]  {d['category']}  {d['division']} {d['division_name']}"
        + (t("cli.show.serious", lang) if d["serious"] else "")
    )
    print(
        t(
            "cli.show.times",
            lang,
            aware=_t(d["aware_at"]),
            reported=_t(d["reported_at"]),
            reporter=d["reporter"],
        )
    )
    print(t("cli.show.summary", lang, summary=d["summary"]))
    delay = d["report_delay"]
    if delay["late"]:
        print(t("cli.show.late", lang, minutes=delay["minutes"], tolerance=delay["tolerance"]))
    print(t("cli.show.reportability", lang, summary=d["reportability"]["summary"]))
    print(t("cli.show.policy", lang, policy=d["policy"], sha=d["policy_sha256"][:12]))
    print()
    header = [t(f"cli.show.col.{c}", lang) for c in ("stage", "article", "owner", "status", "due")]
    print(f"  {header[0]:<26}{header[1]:<7}{header[2]:<28}{header[3]:<14}{header[4]}")
    for s in d["stages"]:
        status = t_or(f"cli.stage_status.{s['status']}", lang, s["status"])
        flag = t("cli.show.overdue", lang) if s["overdue"] and s["status"] != StageStatus.OVERDUE else ""
        ack = f" ack:{s['acknowledged_by']}" if s["acknowledged_by"] and s["status"] != StageStatus.DONE else ""
        level = f" esc:{s['escalation_level']}" if s["escalation_level"] else ""
        print(
            f"  {s['code']:<26}{s['article']:<7}{(s['owner'] or '-'):<28}{status + level + ack:<14}{_t(s['due_at'])}{flag}"
        )
    if d["delivery_failures"]:
        print()
        print(t("cli.show.failures", lang))
        for f in d["delivery_failures"]:
            print(f"    {f['channel']} → {f['recipient']}: {f['error']}")
    print()
    print(t("cli.show.timeline", lang))
    for ev in d["timeline"]:
        stage = ev["data"].get("stage")
        print(f"    {_t(ev['at'])}  {ev['action']:<22} {stage or '':<24} {ev['actor']}")


def print_list(rows: list[dict], lang: str) -> None:
    if not rows:
        print(t("cli.list.none", lang))
    for r in rows:
        print(
            t(
                "cli.list.row",
                lang,
                incident=r["incident"],
                status=r["status"],
                category=r["category"],
                division=r["division"],
                stages=",".join(r["current_stages"]) or "-",
                due=_t(r["next_due_at"]),
                flag=t("cli.list.overdue", lang) if r["overdue"] else "",
            )
        )


def print_outbox(rows: list[dict], lang: str) -> None:
    if not rows:
        print(t("cli.outbox.empty", lang))
    for r in rows:
        print(
            f"#{r['id']} [{r['status']}] {r['channel']} → {r['to']}  {r['kind']}  {r['incident'] or ''} {r['stage'] or ''}"
        )
        print(t("cli.outbox.subject", lang, subject=r["subject"]))
        for line in (r["body"] or "").splitlines():
            print(f"  | {line}")
        print()


def print_org(d: dict, lang: str) -> None:
    labels = d["role_labels"]

    def who(p):
        dep = t("cli.org.deputy", lang, name=p["deputy"]["name"], email=p["deputy"]["email"]) if p.get("deputy") else ""
        return f"{p['name']} <{p['email']}>{dep}"

    r = d["regime_detail"]
    print(t("cli.org.head", lang, organisation=d["organisation"], regime=d["regime"]))
    print(f"  {in_lang(lang, ja=r['label_ja'], en=r['label'])}")
    print(t("cli.org.basis", lang, basis=in_lang(lang, ja=r["basis_ja"], en=r["basis"])))
    print(t("cli.org.headcount", lang, line=in_lang(lang, ja=r["headcount_line_ja"], en=r["headcount_line"])))
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


def print_assessment(d: dict, lang: str) -> None:
    state = t(f"cli.assess.state.{d['status']}", lang)
    basis = in_lang(lang, ja=d.get("basis_ja"), en=d["basis"])
    print(t("cli.assess.head", lang, incident=d["incident"], state=state, regime=d["regime"], basis=basis))
    facts = d["facts"]
    shown = {True: t("cli.assess.yes", lang), False: t("cli.assess.no", lang), None: t("cli.assess.unknown", lang)}
    if facts["individuals"] is None:
        people = t("statutory.people.unknown", lang)
    else:
        people = t("statutory.people.count", lang, count=f"{facts['individuals']:,}") + (
            t("statutory.people.estimated", lang) if facts["individuals_estimated"] else ""
        )
    print(
        t(
            "cli.assess.facts",
            lang,
            sensitive=shown[facts["sensitive"]],
            financial=shown[facts["financial_risk"]],
            purpose=shown[facts["unauthorized_purpose"]],
            encrypted=shown[facts["encrypted"]],
            people=people,
        )
    )
    print(f"  {d['summary']}")
    for g in d["grounds"]:
        print(f"  - {in_lang(lang, ja=g['citation_ja'], en=g['citation_en'])}")
    if d.get("decision"):
        dec = d["decision"]
        reason = t("label.sep", lang) + dec["reason"] if dec["reason"] else ""
        print(t("cli.assess.decision", lang, kind=dec["kind"], by=dec["by_name"], at=_t(dec["at"]), reason=reason))
    elif d["status"] == "undecided":
        print(t("cli.assess.undecided", lang))
    else:
        print(t("cli.assess.awaiting", lang))
    if d.get("deadlines"):
        dl = d["deadlines"]
        print(t("cli.assess.deadlines", lang, preliminary=dl["preliminary_target"], final=dl["final_due"]))
        print(f"  {in_lang(lang, ja=dl['rule_ja'], en=dl['rule'])}")


def print_tasks(rows: list[dict], lang: str) -> None:
    if not rows:
        print(t("cli.tasks.none", lang))
    for r in rows:
        print(
            t(
                "cli.tasks.row",
                lang,
                mark="*" if r["mandatory"] else " ",
                ref=r["ref"],
                status=r["status"],
                phase=r["phase"] or "",
                due=_t(r["due_at"]),
                owner=r["owner"] or "-",
                title=r["title"],
            )
        )
