"""The ``hokoku`` command line.

Every verb that acts takes ``--now`` to simulate time and ``--json`` for scripts. Errors the
user can fix print one line and exit with status 2. No verb but ``serve`` (and ``demo
--prefect``) starts a Prefect server: the verbs call the services directly, or the Prefect
flows when ``PREFECT_API_URL`` points at a running server.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

from hokoku.clock import utcnow
from hokoku.core.exceptions import HokokuError, InputError, NotFound, NotInitialised
from hokoku.i18n import Lang, in_lang, join_list, pick_lang, resolve_lang, t, t_or

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, status 2
        self.exit(EXIT_USAGE, f"hokoku: {message} (see `{self.prog} --help`)\n")


def _now(args) -> datetime:
    """The real clock, or ``--now`` once it has passed the clock rules (checked once per call)."""
    from hokoku.core.timeutil import parse_instant

    if not getattr(args, "now", None):
        return utcnow()
    if getattr(args, "checked_now", None) is None:
        now = parse_instant(args.now, what="--now")
        _check_now(args, now)
        args.checked_now = now
    return args.checked_now


def _check_now(args, now: datetime) -> None:
    """Simulated time only on demo databases (or ``HOKOKU_ALLOW_SIMULATED_TIME=1``); never
    earlier than the incident's latest recorded event (verbs acting on an incident ``--as``)."""
    from hokoku.app import open_app
    from hokoku.services import auditops

    app = open_app()
    if args.verb == "init":  # no database yet: the demo organisation may use simulated time
        real = utcnow()
        if args.org and not app.settings.allow_simulated_time and abs(now - real) > auditops.MAX_CLOCK_SKEW:
            raise InputError(key="err.cli.simulated_time", what="--now")
        return
    app.check_ready(keys=False)
    incident = getattr(args, "incident", None) if getattr(args, "as_", None) else None
    auditops.check_now(app, now, incident=incident)


def _emit(args, data, human) -> None:
    if getattr(args, "json", False):
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        human(data)


def _say(args, data: dict, key: str, **fields: str) -> None:
    """``--json``: the data; else the catalogue line ``key`` with each parameter taken from the
    data's field of that name (``user="user"`` fills ``{user}`` with ``data["user"]``)."""
    _emit(args, data, lambda d: print(t(key, _lang(args), **{param: d[field] for param, field in fields.items()})))


def _app():
    from hokoku.app import open_app

    app = open_app()
    app.check_ready()
    return app


def _lang(args) -> Lang:
    """The run's one language: ``--lang``, else ``HOKOKU_LANG``, else Japanese."""
    if getattr(args, "lang", None):
        return args.lang
    if getattr(args, "run_lang", None) is None:
        from hokoku.app import open_app

        args.run_lang = open_app().settings.lang
    return args.run_lang


def _reader(args):
    """The application for a verb that only reads: its services answer in the run's language."""
    return _app().view_in(_lang(args))


def _runner(app):
    from hokoku.engine.runner import runner_for

    return runner_for(app)


# -- verbs ----------------------------------------------------------------------------------
def cmd_init(args) -> None:
    from hokoku.app import open_app
    from hokoku.services.setup import init

    result = init(open_app(), org_file=Path(args.org) if args.org else None, demo=args.demo, now=_now(args))
    lang = _lang(args)
    _emit(
        args,
        result,
        lambda r: print(
            t(
                "cli.init.done",
                lang,
                home=r["home"],
                database=r["database"],
                organisation=r["organisation"],
                source=r["source"],
                key=t("cli.init.created" if r["key_created"] else "cli.init.kept", lang),
                audit_key=t("cli.init.created" if r["audit_key_created"] else "cli.init.kept", lang),
                audit_key_id=r["audit_key_id"],
                public_keys=r["audit_public_keys"],
            )
        ),
    )


def cmd_report(args) -> None:
    from hokoku import cli_format
    from hokoku.core.timeutil import parse_instant

    app = _app()
    aware = parse_instant(args.aware_at, what="--aware-at") if args.aware_at else None
    occurred = parse_instant(args.occurred_at, what="--occurred-at") if args.occurred_at else None
    if args.source == "alert":
        from hokoku.services.alerts import ingest_alert

        data = ingest_alert(
            app,
            source=args.alert_source,
            division=args.division,
            category=args.category,
            summary=args.summary,
            now=_now(args),
            aware_at=aware,
            dedup_key=args.dedup_key,
            details={"reporter": args.reporter},
        )
        _emit(
            args,
            data,
            lambda d: print(
                t(
                    "cli.report.alert_opened" if d["created"] else "cli.report.alert_attached",
                    _lang(args),
                    incident=d["incident"],
                    alerts=d["alerts"],
                )
            ),
        )
        return
    result = _runner(app).report(
        division=args.division,
        category=args.category,
        summary=args.summary,
        reporter=args.reporter,
        aware_at=aware,
        serious=args.serious,
        now=_now(args),
        entry=args.source or "staff",
        source="alert" if args.source == "alert" else "cli",
        occurred_at=occurred,
        data_items=args.data_items,
        individuals=args.individuals,
    )
    _emit(
        args,
        result.to_json(),
        lambda r: cli_format.print_report(_in_run_lang(app, args.category, r, _lang(args)), _lang(args)),
    )


def cmd_ack(args) -> None:
    app = _app()
    result = _runner(app).ack(incident_id=args.incident, actor=args.as_, now=_now(args), stage=args.stage)
    _emit(
        args,
        result.to_json(),
        lambda r: print(
            t(
                "cli.ack.done",
                _lang(args),
                incident=r["incident"],
                stages=join_list(r["stages"], _lang(args)),
                started=_started(r, _lang(args)),
            )
        ),
    )


def cmd_advance(args) -> None:
    app = _app()
    result = _runner(app).advance(
        incident_id=args.incident,
        stage=args.stage,
        actor=args.as_,
        now=_now(args),
        note=args.note,
        skip_reason=args.skip_reason,
    )
    key = "cli.advance.skipped" if args.skip_reason is not None else "cli.advance.completed"
    lang = _lang(args)
    _emit(
        args,
        result.to_json(),
        lambda r: print(
            t(
                key,
                lang,
                incident=r["incident"],
                stages=join_list(r["stages"], lang),
                started=_started(r, lang),
                closed=t("cli.advance.closed", lang) if r["closed"] else "",
            )
        ),
    )


def cmd_tick(args) -> None:
    from hokoku import cli_format

    app = _app()
    result = _runner(app).tick(now=_now(args))
    _emit(args, result, lambda r: cli_format.print_tick(r, _lang(args)))


def cmd_show(args) -> None:
    from hokoku import cli_format
    from hokoku.services.queries import show_incident

    data = show_incident(_reader(args), args.incident, now=_now(args))
    _emit(args, data, lambda d: cli_format.print_show(d, _lang(args)))


def cmd_list(args) -> None:
    from hokoku import cli_format
    from hokoku.services.queries import list_incidents

    data = list_incidents(_reader(args), open_only=args.open, now=_now(args))
    _emit(args, data, lambda rows: cli_format.print_list(rows, _lang(args)))


def cmd_outbox(args) -> None:
    from hokoku import cli_format
    from hokoku.services.queries import outbox

    data = outbox(_reader(args), incident=args.incident)
    _emit(args, data, lambda rows: cli_format.print_outbox(rows, _lang(args)))


def cmd_audit_verify(args) -> None:
    from hokoku.app import open_app
    from hokoku.services import auditops

    app = open_app()
    app.check_ready(keys=False)  # verification needs no secret: no data key, no audit key
    result = auditops.verify(
        app,
        public_keys_file=Path(args.public_keys) if args.public_keys else None,
        checkpoint_file=Path(args.checkpoint) if args.checkpoint else None,
    )
    _emit(
        args,
        {
            "ok": result.ok,
            "events": result.events,
            "bad_seq": result.bad_seq,
            "bad_id": result.bad_id,
            "reason": result.reason,
            "checkpoint": result.checkpoint,
            "message": result.message(_lang(args)),
        },
        lambda r: print(r["message"]),
    )
    if not result.ok:
        sys.exit(1)


def cmd_audit_keys(args) -> None:
    from hokoku.app import open_app
    from hokoku.services import auditops

    app = open_app()
    app.check_ready(keys=False)
    data = auditops.list_keys(app)
    _emit(args, data, lambda d: [print(t("cli.audit.key_line", _lang(args), **k)) for k in d["keys"]])


def cmd_audit_checkpoint(args) -> None:
    from hokoku.security.checkpoints import checkpoint_file
    from hokoku.services import auditops

    app = _app()
    cp = auditops.write_checkpoint(app, force=True)
    if cp is None:
        raise NotInitialised(key="err.cli.no_audit")
    data = {**cp.to_json(), "file": str(checkpoint_file(app))}
    _say(args, data, "cli.audit.checkpoint", seq="seq", file="file")


def cmd_audit_rotate_key(args) -> None:
    from hokoku.services import auditops

    app = _app()
    r = auditops.rotate_key(app, now=_now(args), actor="hokoku:cli")
    _say(args, r, "cli.audit.rotated", previous="previous", key_id="key_id", public_keys="public_keys")


def cmd_org(args) -> None:
    from hokoku import cli_format
    from hokoku.services.queries import describe_org

    data = describe_org(_reader(args))
    _emit(args, data, lambda d: cli_format.print_org(d, _lang(args)))


def cmd_demo(args) -> None:
    from hokoku.demo import run_demo

    run_demo(lang=_lang(args), use_prefect=args.prefect, as_json=args.json)


def cmd_serve(args) -> None:
    from hokoku.engine.serve import serve

    serve(host=args.host, port=args.port, demo=args.demo, flows=not args.no_flows, prefect_host=args.prefect_host)


def cmd_deadlines_ppc(args) -> None:
    from hokoku.core.statutory import ppc_deadlines
    from hokoku.core.timeutil import parse_instant
    from hokoku.services.queries import regime_detail

    result = ppc_deadlines(
        parse_instant(args.aware_at, what="--aware-at"), unauthorized_purpose=args.unauthorized_purpose
    )
    data = result.to_json_dict()
    lang = _lang(args)
    regime = args.regime or _initialised_regime()
    if regime:
        data["regime"] = regime_detail(regime)
    _emit(
        args,
        data,
        lambda d: print(
            (
                t(
                    "cli.deadlines.regime",
                    lang,
                    basis=in_lang(lang, ja=d["regime"]["basis_ja"], en=d["regime"]["basis"]),
                )
                if d.get("regime")
                else ""
            )
            + t(
                "cli.deadlines.body",
                lang,
                aware=d["aware_date"],
                preliminary=d["preliminary_target"],
                final=d["final_due"],
                rule=in_lang(lang, ja=d["rule_ja"], en=d["rule"]),
            )
        ),
    )


def _initialised_regime() -> str | None:
    """The regime of the initialised organisation, when there is one (else None)."""
    from hokoku.app import open_app
    from hokoku.services.organisation import organisation

    app = open_app()
    try:
        app.check_ready()
    except HokokuError:
        return None
    return organisation(app).organisation.regime


def cmd_playbook_list(args) -> None:
    from hokoku.app import open_app
    from hokoku.config.playbooks import playbook_list_rows

    app = open_app()
    rows = playbook_list_rows(app.playbooks, _lang(args))
    _emit(args, [r._asdict() for r in rows], lambda rs: [print("  ".join(str(v) for v in r.values())) for r in rs])


def cmd_playbook_show(args) -> None:
    from hokoku.app import open_app
    from hokoku.config.playbooks import render_playbook_text

    app = open_app()
    playbook = app.playbooks.get(args.category)
    if playbook is None:
        raise NotFound(key="err.unknown.category", value=repr(args.category), known=", ".join(sorted(app.playbooks)))
    _emit(args, playbook.model_dump(mode="json"), lambda _p: print(render_playbook_text(playbook, _lang(args))))


def cmd_playbook_lint(args) -> None:
    from hokoku.app import open_app
    from hokoku.config.playbooks import lint, playbook_dirs

    dirs = [Path(args.dir)] if args.dir else playbook_dirs(open_app().settings.playbook_dir)
    errors = lint(dirs)
    _emit(
        args,
        {"ok": not errors, "errors": [str(e) for e in errors]},
        lambda r: print(
            "\n".join(r["errors"])
            if r["errors"]
            else t("cli.playbook.lint_ok", _lang(args), dirs=join_list([str(d) for d in dirs], _lang(args)))
        ),
    )
    if errors:
        sys.exit(1)


def cmd_alert_source_add(args) -> None:
    from hokoku.services.alerts import add_source

    token = add_source(_app(), name=args.name, now=_now(args))
    _emit(
        args,
        {"source": args.name, "token": token},
        lambda d: print(t("cli.alert_source.added", _lang(args), source=d["source"], token=d["token"])),
    )


def cmd_triage(args) -> None:
    from hokoku import cli_format
    from hokoku.services.triage import triage

    given = {
        name: getattr(args, name)
        for name in ("sensitive", "financial_risk", "unauthorized_purpose", "encrypted")
        if getattr(args, name) is not None
    }
    given = {k: {"yes": True, "no": False, "unknown": None}[v] for k, v in given.items()}
    if args.individuals is not None:
        given["individuals"] = None if args.individuals == "unknown" else args.individuals
        given["individuals_estimated"] = args.estimated
    elif args.estimated:
        given["individuals_estimated"] = True
    app = _app()
    result = triage(
        app,
        incident_id=args.incident,
        actor=args.as_,
        now=_now(args),
        serious=args.serious,
        category=args.category,
        **given,
    )
    _emit(args, result, lambda r: cli_format.print_assessment(_assessment_in(app, r, _lang(args)), _lang(args)))


def cmd_amend(args) -> None:
    from hokoku.core.timeutil import parse_instant
    from hokoku.services.amend import amend_awareness

    r = amend_awareness(
        _app(),
        incident_id=args.incident,
        aware_at=parse_instant(args.aware_at, what="--aware-at"),
        reason=args.reason,
        actor=args.as_,
        now=_now(args),
    )
    _emit(
        args,
        r,
        lambda d: print(
            t("cli.amend.done", _lang(args), incident=d["incident"], previous=d["previous"], aware_at=d["aware_at"])
            + "".join(
                t("cli.amend.moved", _lang(args), stage=m["stage"], old=m["old_due_at"], new=m["new_due_at"])
                for m in d["moved"]
            )
        ),
    )


def cmd_reportability(args) -> None:
    from hokoku import cli_format
    from hokoku.services.triage import decide, show_assessment

    app = _app()
    if args.confirm or args.override:
        result = decide(
            app,
            incident_id=args.incident,
            actor=args.as_ or "",
            now=_now(args),
            decision="confirm" if args.confirm else args.override,
            reason=args.reason,
        )
    else:
        result = show_assessment(app.view_in(_lang(args)), incident_id=args.incident)
    _emit(args, result, lambda r: cli_format.print_assessment(_assessment_in(app, r, _lang(args)), _lang(args)))


def cmd_step_list(args) -> None:
    from hokoku import cli_format
    from hokoku.services.tasks import list_tasks

    rows = list_tasks(_reader(args), incident_id=args.incident, kind=None if args.all else "step")
    _emit(args, rows, lambda rs: cli_format.print_tasks(rs, _lang(args)))


def cmd_step_done(args) -> None:
    from hokoku.services.tasks import complete_task

    r = complete_task(
        _app(),
        incident_id=args.incident,
        ref=args.step,
        actor=args.as_,
        now=_now(args),
        note=args.note,
        evidence=args.evidence,
    )
    _say(args, r, "cli.step.done", incident="incident", ref="ref")


def cmd_step_assign(args) -> None:
    from hokoku.services.tasks import assign_task

    r = assign_task(_app(), incident_id=args.incident, ref=args.step, to=args.to, actor=args.as_, now=_now(args))
    _say(args, r, "cli.step.assigned", incident="incident", ref="ref", owner="owner")


def cmd_action_add(args) -> None:
    from hokoku.core.timeutil import parse_instant
    from hokoku.services.tasks import add_prevention_action

    r = add_prevention_action(
        _app(),
        incident_id=args.incident,
        title=args.title,
        owner=args.owner,
        due_at=parse_instant(args.due, what="--due"),
        actor=args.as_,
        now=_now(args),
    )
    _say(args, r, "cli.action.added", incident="incident", ref="ref", owner="owner", due="due_at")


def cmd_action_list(args) -> None:
    from hokoku import cli_format
    from hokoku.services.tasks import list_tasks

    rows = list_tasks(_reader(args), incident_id=args.incident, kind="prevention")
    _emit(args, rows, lambda rs: cli_format.print_tasks(rs, _lang(args)))


def cmd_notice_add(args) -> None:
    from hokoku.core.timeutil import parse_instant
    from hokoku.services.records import record_notice

    now = _now(args)
    r = record_notice(
        _app(),
        incident_id=args.incident,
        count=args.count,
        method=args.method,
        notified_at=parse_instant(args.at, what="--at") if args.at else now,
        actor=args.as_,
        now=now,
        substitute=args.substitute,
        complete=args.complete,
    )
    _emit(
        args,
        r,
        lambda d: print(
            t(
                "cli.notice.recorded",
                _lang(args),
                incident=d["incident"],
                count=d["count"],
                completed=_completed(d, _lang(args)),
            )
        ),
    )


def cmd_notice_difficult(args) -> None:
    from hokoku.services.records import record_notice_difficult

    r = record_notice_difficult(
        _app(),
        incident_id=args.incident,
        reason=args.reason,
        alternative=args.alternative,
        measure=args.measure,
        count=args.count,
        actor=args.as_,
        now=_now(args),
    )
    _emit(
        args,
        r,
        lambda d: print(
            t(
                "cli.notice.difficult",
                _lang(args),
                incident=d["incident"],
                alternative=d["alternative"],
                completed=_completed(d, _lang(args)),
            )
        ),
    )


def cmd_finding_set(args) -> None:
    from hokoku.services.records import set_finding

    r = set_finding(_app(), incident_id=args.incident, item=args.item, text=args.text, actor=args.as_, now=_now(args))
    _emit(
        args,
        r,
        lambda d: print(
            t(
                "cli.finding.recorded",
                _lang(args),
                incident=d["incident"],
                item=d["item"],
                question=f" ({d['question']})" if d["question"] else "",
            )
        ),
    )


def cmd_finding_list(args) -> None:
    from hokoku.services.records import list_findings

    data = list_findings(_app(), incident_id=args.incident)

    def human(d):
        for item, answers in d["findings"].items():
            for a in answers:
                print(f"{item}{' / ' + a['question'] if a['question'] else ''}  {a['at']}  {a['by']}\n  {a['text']}")

    _emit(args, data, human)


def cmd_public_text(args) -> None:
    from hokoku.services.records import list_public_texts, set_public_text

    app = _app()
    if args.text is None:
        data = list_public_texts(app, incident_id=args.incident)
        _emit(args, data, lambda d: [print(f"{k}\n  {v}") for k, v in d["texts"].items()] or None)
        return
    if not args.as_:
        raise InputError(key="err.cli.public_text_as", what="--as")
    if not args.field:
        raise InputError(key="err.cli.public_text_field", what="--field")
    r = set_public_text(
        app, incident_id=args.incident, field=args.field, text=args.text, actor=args.as_, now=_now(args)
    )
    _say(args, r, "cli.public_text.recorded", incident="incident", field="field")


def cmd_draft(args) -> None:
    from hokoku.documents.render import render_draft
    from hokoku.services.docdata import build_document_data

    app = _app()
    lang = _lang(args)
    data = build_document_data(app, incident_id=args.incident, now=_now(args), lang=lang)
    if args.format == "docx":
        from hokoku.documents.docx import render_docx

        if not args.out:
            raise InputError(key="err.cli.docx_out", what="--out")
        Path(args.out).write_bytes(render_docx(args.kind, data, lang=lang))
        print(t("cli.wrote", lang, file=args.out))
        return
    text = render_draft(args.kind, data, lang=lang, fmt=args.format)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(t("cli.wrote", lang, file=args.out))
    else:
        sys.stdout.write(text)


def cmd_db_upgrade(args) -> None:
    from hokoku.app import open_app
    from hokoku.services.setup import _redact, upgrade

    app = open_app()
    result = upgrade(app, revision=args.revision, now=utcnow())
    data = {"database": _redact(app.settings.effective_database_url), **result}
    _emit(
        args,
        data,
        lambda d: print(
            t(
                "cli.db.upgraded" if d["from"] != d["to"] else "cli.db.already",
                _lang(args),
                database=d["database"],
                stamped=t("cli.db.stamped", _lang(args)) if d["stamped"] else "",
                old=d["from"] or t("cli.db.empty", _lang(args)),
                new=d["to"],
            )
        ),
    )


def cmd_db_current(args) -> None:
    from hokoku.app import open_app
    from hokoku.migrations import current_revision, head_revision
    from hokoku.services.setup import _redact

    app = open_app()
    current, head = current_revision(app.engine), head_revision()
    data = {
        "database": _redact(app.settings.effective_database_url),
        "current": current,
        "head": head,
        "up_to_date": current == head,
    }
    _emit(
        args,
        data,
        lambda d: print(
            t(
                "cli.db.current",
                _lang(args),
                database=d["database"],
                current=d["current"] or t("cli.db.no_schema", _lang(args)),
                head=d["head"],
                hint="" if d["up_to_date"] else t("cli.db.run_upgrade", _lang(args)),
            )
        ),
    )


# -- web accounts (hokoku.services.accounts) ----------------------------------------------------------
def _read_password(args, *, confirm: bool = True) -> str:
    """One line from stdin with ``--password-stdin``; else asked twice without echo."""
    if args.password_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    import getpass

    first = getpass.getpass(t("cli.user.password", _lang(args)))
    if confirm and getpass.getpass(t("cli.user.password_again", _lang(args))) != first:
        raise InputError(key="err.cli.password_differs")
    return first


def cmd_user_add(args) -> None:
    from hokoku.services.accounts import add_user

    app = _app()
    r = add_user(app, email=args.email, password=_read_password(args), now=_now(args))
    _say(args, r, "cli.user.created", user="user")


def cmd_user_passwd(args) -> None:
    from hokoku.services.accounts import set_password

    app = _app()
    r = set_password(app, email=args.email, password=_read_password(args), now=_now(args))
    _say(args, r, "cli.user.passwd", user="user", sessions="sessions_ended")


TOKEN_VERBS = ("create", "list", "revoke")


def cmd_user_token(args) -> None:
    """``user token [create] EMAIL`` · ``user token list EMAIL`` · ``user token revoke ID|PREFIX``."""
    from hokoku.services.accounts import create_api_token, list_api_tokens, revoke_api_token

    words = list(args.words)
    verb = words.pop(0) if words[0] in TOKEN_VERBS else "create"
    if len(words) != 1:
        raise InputError(key="err.cli.token_usage")
    (target,) = words
    app = _app()
    if verb == "create":
        token = create_api_token(app, email=target, now=_now(args), days=args.days)
        _emit(
            args,
            {"user": target.strip().lower(), "token": token, "id": _token_id(token)},
            lambda d: print(t("cli.user.token_created", _lang(args), user=d["user"], id=d["id"], token=d["token"])),
        )
    elif verb == "list":
        rows = list_api_tokens(app, email=target, now=_now(args))

        def human(rows):
            if not rows:
                print(t("cli.user.no_tokens", _lang(args), user=target))
            for r in rows:
                print(
                    t(
                        "cli.user.token_line",
                        _lang(args),
                        id=r["id"],
                        prefix=r["prefix"] or "-",
                        status=t_or(f"cli.token_status.{r['status']}", _lang(args), r["status"]),
                        created=r["created_at"],
                        expires=r["expires_at"],
                        used=r["last_used_at"] or "-",
                    )
                )

        _emit(args, rows, human)
    else:
        r = revoke_api_token(app, ref=target, now=_now(args))
        _emit(
            args,
            r,
            lambda d: print(
                t(
                    "cli.user.revoked" if d["was_active"] else "cli.user.already_revoked",
                    _lang(args),
                    id=d["id"],
                    user=d["user"],
                )
            ),
        )


def _token_id(token: str) -> str:
    from hokoku.services.accounts import digest

    return digest(token)[:12]


def _days(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 3650:
        raise argparse.ArgumentTypeError(f"{text!r} is not between 1 and 3650")
    return value


#: Largest whole number a count on the command line may be (the database keeps 32-bit integers).
MAX_COUNT = 1_000_000_000


def _bounded_int(text: str) -> int:
    """``int(text)``; more than :data:`MAX_COUNT` (in size) is refused in one line."""
    value = int(text)
    if abs(value) > MAX_COUNT:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is more than {MAX_COUNT:,}")
    return value


def cmd_user_disable(args) -> None:
    from hokoku.services.accounts import disable_user

    r = disable_user(_app(), email=args.email, now=_now(args))
    _say(args, r, "cli.user.disabled", user="user", sessions="sessions_ended", tokens="tokens_revoked")


def cmd_user_enable(args) -> None:
    from hokoku.services.accounts import enable_user

    r = enable_user(_app(), email=args.email, now=_now(args))
    _say(args, r, "cli.user.enabled", user="user")


# -- parser ---------------------------------------------------------------------------------
def _count(text: str) -> int:
    try:
        value = _bounded_int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is negative")
    return value


def _yes_no_unknown(text: str) -> str:
    value = text.strip().lower()
    if value not in ("yes", "no", "unknown"):
        raise argparse.ArgumentTypeError(f"{text!r} is not yes, no or unknown")
    return value


def _count_or_unknown(text: str) -> int | str:
    if text.strip().lower() == "unknown":
        return "unknown"
    value = _count(text)
    from hokoku.core.statutory import MAX_INDIVIDUALS

    if value > MAX_INDIVIDUALS:
        raise argparse.ArgumentTypeError(f"{text!r} is more than {MAX_INDIVIDUALS:,}")
    return value


def _lang_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lang", type=_language, metavar="ja|en", help="language of the output (default: HOKOKU_LANG, else ja)"
    )


def _language(text: str) -> str:
    try:
        return resolve_lang(text, where="--lang")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--lang: ")) from None


def _started(r: dict, lang: str) -> str:
    return t("cli.started", lang, stages=join_list(r["started"], lang)) if r["started"] else ""


def _completed(d: dict, lang: str) -> str:
    return t("cli.completed", lang, stages=join_list(d["completed"], lang)) if d["completed"] else ""


def _in_run_lang(app, category: str, r: dict, lang: str) -> dict:
    """A report's result with the playbook's immediate actions in the run's language (the
    notifications keep the organisation's)."""
    playbook = app.playbooks.get(category)
    if playbook is None or len(playbook.immediate_actions) != len(r["immediate_actions"]):
        return r
    return {**r, "immediate_actions": [a.get(lang) for a in playbook.immediate_actions]}


def _assessment_in(app, r: dict, lang: str) -> dict:
    """An assessment's summary in the run's language."""
    from hokoku.services.triage import show_assessment

    if lang == app.settings.lang:
        return r
    return {**show_assessment(app.view_in(lang), incident_id=r["incident"]), "decision": r.get("decision")}


def _leaf(parser: argparse.ArgumentParser, func, *, acts: bool) -> None:
    """Finish a sub-verb: ``--json`` always, ``--now`` when it acts, and its handler."""
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    _lang_option(parser)
    if acts:
        parser.add_argument("--now", metavar="ISO8601", help="simulate the current time (default: the real clock)")
    parser.set_defaults(func=func)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="hokoku", description="Incident-response workflow for personal-data incidents (Chapter 9).")
    sub = p.add_subparsers(dest="verb", required=True, parser_class=_Parser)

    def verb(name, func, help_, *, acts=True):
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.set_defaults(func=func)
        sp.add_argument("--json", action="store_true", help="machine-readable output")
        _lang_option(sp)
        if acts:
            sp.add_argument("--now", metavar="ISO8601", help="simulate the current time (default: the real clock)")
        return sp

    sp = verb("init", cmd_init, "create the data directory, key file and database; load the organisation")
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--org", metavar="FILE", help="organisation file (YAML)")
    g.add_argument("--demo", action="store_true", help="load the bundled fictional organisation")

    sp = verb("report", cmd_report, "report an incident (27-1): prints its id, who was told and what to do now")
    sp.add_argument("--division", required=True, metavar="CODE")
    sp.add_argument("--category", required=True, metavar="CAT")
    sp.add_argument("--summary", required=True, metavar="TEXT")
    sp.add_argument("--reporter", required=True, metavar="EMAIL")
    sp.add_argument("--aware-at", metavar="ISO8601", help="when the reporter first knew (default: now)")
    sp.add_argument("--occurred-at", metavar="ISO8601", help="when it happened, if known")
    sp.add_argument("--data-items", metavar="TEXT", help="what personal data is concerned (e.g. 氏名、住所)")
    sp.add_argument("--individuals", type=_count, metavar="N", help="roughly how many people (an estimate)")
    sp.add_argument("--serious", action="store_true", help="especially serious (特に重大): tighter timings")
    sp.add_argument("--source", choices=["staff", "contractor", "alert"], help="who reports (default staff)")
    sp.add_argument("--dedup-key", metavar="KEY", help="alerts: repeats with this key within the window attach")
    sp.add_argument("--alert-source", default="cli", metavar="NAME", help="alerts: the monitor's name (default cli)")

    sp = verb("ack", cmd_ack, "acknowledge the stages awaiting you")
    sp.add_argument("incident")
    sp.add_argument("--as", dest="as_", required=True, metavar="EMAIL")
    sp.add_argument("--stage", help="acknowledge only this stage (code or article)")

    sp = verb("advance", cmd_advance, "complete a stage (or skip it with a reason)")
    sp.add_argument("incident")
    sp.add_argument("stage", help="stage code (e.g. containment) or article (e.g. 27-3)")
    sp.add_argument("--as", dest="as_", required=True, metavar="EMAIL")
    sp.add_argument("--note", metavar="TEXT")
    sp.add_argument("--skip-reason", metavar="TEXT", help="skip the stage instead, for this reason")

    verb("tick", cmd_tick, "one sweep (reminders, escalations, overdue marks) and one dispatch")

    sp = verb("show", cmd_show, "an incident's stages, owners, due times and timeline")
    sp.add_argument("incident")

    sp = verb("list", cmd_list, "incidents")
    sp.add_argument("--open", action="store_true", help="open incidents only")

    sp = verb("outbox", cmd_outbox, "every message hokoku has queued or sent, as rendered", acts=False)
    sp.add_argument("--incident", metavar="ID")

    sp = sub.add_parser("audit", help="the audit log")
    asub = sp.add_subparsers(dest="audit_verb", required=True, parser_class=_Parser)
    av = asub.add_parser(
        "verify", help="check the hash chain, signatures, signed head and checkpoints (no secret needed)"
    )
    av.add_argument(
        "--public-keys",
        metavar="FILE",
        help="trusted public keys kept outside this host "
        "(`hokoku audit keys --json`; default: $HOKOKU_HOME/audit-public-keys.json)",
    )
    av.add_argument(
        "--checkpoint", metavar="FILE", help="checkpoints kept elsewhere (e.g. from the audit officer's mail)"
    )
    _leaf(av, cmd_audit_verify, acts=False)
    ak = asub.add_parser("keys", help="the audit public keys the chain names")
    _leaf(ak, cmd_audit_keys, acts=False)
    ac = asub.add_parser("checkpoint", help="append a signed checkpoint of the head to the checkpoint file")
    _leaf(ac, cmd_audit_checkpoint, acts=False)
    ar = asub.add_parser("rotate-key", help="make a new audit signing key current (the change is signed by the old)")
    _leaf(ar, cmd_audit_rotate_key, acts=True)

    verb("org", cmd_org, "the loaded organisation: institutes, divisions, people by role", acts=False)

    sp = verb("demo", cmd_demo, "a fictional incident through the whole chain on a simulated clock", acts=False)
    sp.add_argument("--prefect", action="store_true", help="run through the Prefect flows (starts a local server)")

    sp = verb("serve", cmd_serve, "run the flows (sweep and dispatch every minute) and the web endpoints", acts=False)
    sp.add_argument("--host", default="127.0.0.1")
    sp.add_argument("--port", type=int, default=8000)
    sp.add_argument(
        "--demo",
        action="store_true",
        help="initialise the demo organisation first if needed; make and print demo sign-in accounts",
    )
    sp.add_argument("--no-flows", action="store_true", help="serve the web app only (no Prefect server, no flows)")
    sp.add_argument(
        "--prefect-host",
        default=None,
        help="address Prefect's local server listens on (default $HOKOKU_PREFECT_HOST or 127.0.0.1)",
    )

    sp = sub.add_parser("deadlines", help="statutory deadlines")
    dsub = sp.add_subparsers(dest="deadline_verb", required=True, parser_class=_Parser)
    dp = dsub.add_parser("ppc", help="preliminary and final report dates for the Commission")
    dp.add_argument("--aware-at", required=True, metavar="ISO8601")
    dp.add_argument("--unauthorized-purpose", action="store_true", help="60-day case")
    dp.add_argument(
        "--regime",
        choices=["administrative_body", "business_like"],
        help="cite this regime's provisions (default: the initialised organisation's)",
    )
    _leaf(dp, cmd_deadlines_ppc, acts=False)

    sp = verb("triage", cmd_triage, "record triage facts; shows whether a report to the Commission is required")
    sp.add_argument("incident")
    sp.add_argument("--as", dest="as_", required=True, metavar="EMAIL")
    sp.add_argument("--serious", action="store_true", help="especially serious (特に重大)")
    yn = {"type": _yes_no_unknown, "metavar": "yes|no|unknown"}
    sp.add_argument("--sensitive", **yn, help="sensitive (要配慮) personal information involved")
    sp.add_argument("--financial-risk", **yn, help="risk of financial damage from unauthorised use")
    sp.add_argument("--unauthorized-purpose", **yn, help="possibly done for an unauthorised purpose")
    sp.add_argument(
        "--individuals", type=_count_or_unknown, metavar="N|unknown", help="number of individuals (known or estimated)"
    )
    sp.add_argument("--estimated", action="store_true", help="the number of individuals is an estimate")
    sp.add_argument("--encrypted", **yn, help="the data was encrypted to a high standard")
    sp.add_argument("--category", metavar="CAT", help="change the category (its playbook steps replace the old)")
    sp.epilog = "Facts not given keep their previous value; a new incident starts with every fact unknown."

    sp = verb(
        "amend",
        cmd_amend,
        "correct the awareness time (protection manager or general manager); the statutory clocks move with it",
    )
    sp.add_argument("incident")
    sp.add_argument(
        "--aware-at", required=True, metavar="ISO8601", help="the corrected time the organisation became aware"
    )
    sp.add_argument("--reason", required=True, metavar="TEXT")
    sp.add_argument("--as", dest="as_", required=True, metavar="EMAIL")

    sp = verb("reportability", cmd_reportability, "show, confirm or override the statutory-report assessment")
    sp.add_argument("incident")
    sp.add_argument("--as", dest="as_", metavar="EMAIL", help="the general manager (or deputy), to decide")
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--confirm", action="store_true")
    g.add_argument("--override", choices=["required", "not-required"])
    sp.add_argument("--reason", metavar="TEXT", help="why (required for an override)")

    sp = sub.add_parser("step", help="playbook steps on an incident")
    ssub = sp.add_subparsers(dest="step_verb", required=True, parser_class=_Parser)
    sl = ssub.add_parser("list", help="steps with owner, deadline, status")
    sl.add_argument("incident")
    sl.add_argument("--all", action="store_true", help="include recurrence-prevention actions")
    _leaf(sl, cmd_step_list, acts=False)
    sd = ssub.add_parser("done", help="complete a step (or prevention action), with note and evidence")
    sd.add_argument("incident")
    sd.add_argument("step")
    sd.add_argument("--as", dest="as_", required=True, metavar="EMAIL")
    sd.add_argument("--note", metavar="TEXT")
    sd.add_argument("--evidence", metavar="TEXT")
    _leaf(sd, cmd_step_done, acts=True)
    sa = ssub.add_parser("assign", help="give a step to someone")
    sa.add_argument("incident")
    sa.add_argument("step")
    sa.add_argument("--to", required=True, metavar="EMAIL")
    sa.add_argument("--as", dest="as_", required=True, metavar="EMAIL")
    _leaf(sa, cmd_step_assign, acts=True)

    sp = sub.add_parser("action", help="recurrence-prevention actions (27-5)")
    asub2 = sp.add_subparsers(dest="action_verb", required=True, parser_class=_Parser)
    aa = asub2.add_parser("add", help="add an action with owner and due date")
    aa.add_argument("incident")
    aa.add_argument("--title", required=True)
    aa.add_argument("--owner", required=True, metavar="EMAIL")
    aa.add_argument("--due", required=True, metavar="ISO8601")
    aa.add_argument("--as", dest="as_", required=True, metavar="EMAIL")
    _leaf(aa, cmd_action_add, acts=True)
    al = asub2.add_parser("list", help="the incident's prevention actions")
    al.add_argument("incident")
    _leaf(al, cmd_action_list, acts=False)
    ad = asub2.add_parser("done", help="complete an action")
    ad.add_argument("incident")
    ad.add_argument("step", metavar="ACTION")
    ad.add_argument("--as", dest="as_", required=True, metavar="EMAIL")
    ad.add_argument("--note", metavar="TEXT")
    ad.add_argument("--evidence", metavar="TEXT")
    _leaf(ad, cmd_step_done, acts=True)

    sp = sub.add_parser("notice", help="notices to affected individuals (28-1)")
    nsub = sp.add_subparsers(dest="notice_verb", required=True, parser_class=_Parser)
    na = nsub.add_parser("add", help="record one batch of notices")
    na.add_argument("incident")
    na.add_argument("--count", type=_count, required=True, metavar="N")
    na.add_argument("--method", required=True, help="letter, email, phone, ...")
    na.add_argument("--at", metavar="ISO8601", help="when they were told (default: now)")
    na.add_argument("--substitute", metavar="TEXT", help="substitute measure for those who could not be reached")
    na.add_argument(
        "--complete",
        action="store_true",
        help="every individual concerned is now told or covered: the notice duty is done",
    )
    na.add_argument("--as", dest="as_", required=True, metavar="EMAIL")
    _leaf(na, cmd_notice_add, acts=True)
    nd = nsub.add_parser(
        "difficult",
        help="notifying the individuals is difficult: record why and the alternative "
        "measure taken (APPI 26(2) proviso); completes the notice duty",
    )
    nd.add_argument("incident")
    nd.add_argument("--reason", required=True, metavar="TEXT", help="why notifying is difficult")
    nd.add_argument("--alternative", required=True, choices=["publication", "other"])
    nd.add_argument("--measure", required=True, metavar="TEXT", help="the alternative measure taken")
    nd.add_argument("--count", type=_count, default=0, metavar="N", help="individuals it covers")
    nd.add_argument("--as", dest="as_", required=True, metavar="EMAIL")
    _leaf(nd, cmd_notice_difficult, acts=True)

    sp = sub.add_parser("finding", help="answers that fill the Commission's nine items")
    fsub = sp.add_subparsers(dest="finding_verb", required=True, parser_class=_Parser)
    fs = fsub.add_parser("set", help="record an answer for an item or a playbook question")
    fs.add_argument("incident")
    fs.add_argument(
        "item",
        help="summary, data_items, individuals, cause, secondary_damage, individual_response, "
        "publication, prevention, other, or a playbook question id",
    )
    fs.add_argument("--text", required=True)
    fs.add_argument("--as", dest="as_", required=True, metavar="EMAIL")
    _leaf(fs, cmd_finding_set, acts=True)
    fl = fsub.add_parser("list", help="every answer recorded")
    fl.add_argument("incident")
    _leaf(fl, cmd_finding_list, acts=False)

    sp = verb(
        "public-text",
        cmd_public_text,
        "texts written for the public and the person (publication, notice, Commission drafts)",
    )
    sp.add_argument("incident")
    sp.add_argument(
        "--field", choices=["summary", "discovery", "cause", "secondary_damage", "measures", "prevention", "other"]
    )
    sp.add_argument("--text", metavar="TEXT", help="the text (without --text: list the texts in force)")
    sp.add_argument("--as", dest="as_", metavar="EMAIL")

    sp = verb("draft", cmd_draft, "draft a document from the incident", acts=True)
    sp.add_argument(
        "kind",
        choices=[
            "ppc-preliminary",
            "ppc-final",
            "ppc-cover",
            "ppc-information",
            "publication",
            "individual-notice",
            "investigation-report",
            "dg-report",
            "summary",
        ],
    )
    sp.add_argument("incident")
    sp.add_argument(
        "--format",
        choices=["md", "html", "docx"],
        default="md",
        help="md (default), html (print-ready page) or docx (Word; needs --out)",
    )
    sp.add_argument("--out", metavar="FILE")

    sp = sub.add_parser("alert-source", help="monitors allowed to post alerts (POST /api/alerts)")
    xsub = sp.add_subparsers(dest="alert_verb", required=True, parser_class=_Parser)
    xa = xsub.add_parser("add", help="register a monitor and print its token once")
    xa.add_argument("name")
    _leaf(xa, cmd_alert_source_add, acts=True)

    sp = sub.add_parser("playbook", help="response playbooks")
    psub = sp.add_subparsers(dest="playbook_verb", required=True, parser_class=_Parser)
    pl = psub.add_parser("list", help="categories and their playbooks")
    _leaf(pl, cmd_playbook_list, acts=False)
    ps = psub.add_parser("show", help="one playbook")
    ps.add_argument("category")
    _leaf(ps, cmd_playbook_show, acts=False)
    pn = psub.add_parser("lint", help="validate playbooks; every error with file and line")
    pn.add_argument("dir", nargs="?")
    _leaf(pn, cmd_playbook_lint, acts=False)

    sp = sub.add_parser("db", help="the database schema (migrations)")
    dbsub = sp.add_subparsers(dest="db_verb", required=True, parser_class=_Parser)
    du = dbsub.add_parser("upgrade", help="apply the schema migrations (alembic upgrade)")
    du.add_argument("revision", nargs="?", default="head", help="target revision (default head)")
    _leaf(du, cmd_db_upgrade, acts=False)
    dc = dbsub.add_parser("current", help="the schema revision of the database, and the newest one")
    _leaf(dc, cmd_db_current, acts=False)

    sp = sub.add_parser("user", help="sign-in accounts for the web app and API tokens")
    usub = sp.add_subparsers(dest="user_verb", required=True, parser_class=_Parser)
    for name, func, help_ in (
        ("add", cmd_user_add, "make an account for a person of the organisation file"),
        ("passwd", cmd_user_passwd, "set a new password (ends the account's sessions)"),
    ):
        up = usub.add_parser(name, help=help_, description=help_)
        up.add_argument("email")
        up.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
        _leaf(up, func, acts=True)
    ut = usub.add_parser(
        "token",
        help="personal API tokens: [create] EMAIL (print a new one), list EMAIL, revoke ID|PREFIX",
        description="user token [create] EMAIL: print a new personal API token (expires after "
        "HOKOKU_TOKEN_DAYS, default 90). user token list EMAIL: the account's tokens. "
        "user token revoke ID|PREFIX: revoke one (its id from list, or its start hkp_…).",
    )
    ut.add_argument("words", nargs="+", metavar="[create|list|revoke] EMAIL|ID")
    ut.add_argument(
        "--days", type=_days, metavar="N", help="lifetime of a new token in days (default HOKOKU_TOKEN_DAYS)"
    )
    _leaf(ut, cmd_user_token, acts=True)
    for name, func, help_ in (
        ("disable", cmd_user_disable, "disable an account: no sign-in, sessions end, tokens revoked"),
        ("enable", cmd_user_enable, "enable a disabled account again"),
    ):
        up = usub.add_parser(name, help=help_, description=help_)
        up.add_argument("email")
        _leaf(up, func, acts=True)
    return p


def _undecodable(argv: list[str]) -> str | None:
    """The first argument that is not valid UTF-8 (the shell passed raw bytes), if any."""
    for i, arg in enumerate(argv, start=1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            return f"argument {i} ({arg.encode('utf-8', 'replace').decode()[:40]!r}) is not valid UTF-8 text"
    return None


def _error_lang(args) -> Lang:
    """The run's language for an error line: never fails (the settings may be what is wrong)."""
    import os

    return pick_lang(getattr(args, "lang", None), getattr(args, "run_lang", None), os.environ.get("HOKOKU_LANG"))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    bad = _undecodable(argv)
    if bad:
        print(f"hokoku: {bad}", file=sys.stderr)
        return EXIT_USAGE
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
        sys.stdout.flush()
    except HokokuError as exc:
        print(f"hokoku: {exc.localized(_error_lang(args))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and the reader left: stop quietly
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except (NotADirectoryError, FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        where = f": {exc.filename}" if exc.filename else ""
        print(f"hokoku: {exc.strerror or exc}{where} (check HOKOKU_HOME and the paths given)", file=sys.stderr)
        return EXIT_USAGE
    return 0


if __name__ == "__main__":
    sys.exit(main())
