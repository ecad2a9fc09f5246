"""``hokoku demo``: a fictional incident through the whole Chapter 9 chain on a simulated clock.

Runs in a throw-away data directory (nothing of the user's is touched), with the bundled
fictional organisation and the outbox notifier, and prints each step and the final timeline.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hokoku.app import App
from hokoku.config.settings import Settings
from hokoku.core.exceptions import TransitionRefused
from hokoku.core.statuses import TaskStatus
from hokoku.core.timeutil import JST, fmt_jst
from hokoku.i18n import join_list, resolve_lang, section
from hokoku.i18n import t as tr
from hokoku.store.db import dispose_engines

T0 = datetime(2027, 2, 1, 10, 0, tzinfo=JST)  # a Monday morning
PM, DEPUTY, PO = "nakamura.pm@example.org", "kobayashi.pm2@example.org", "kato.po@example.org"
GM, REPORTER = "suzuki.gm@example.org", "yoshida@example.org"


@contextmanager
def _demo_app(lang: str):
    home = Path(tempfile.mkdtemp(prefix="hokoku-demo-"))
    settings = Settings.model_validate({"home": home, "lang": lang})  # lang: HOKOKU_LANG or the caller's
    settings = settings.model_copy(
        update={
            "database_url": None,
            "secret_key": None,
            "policy_file": None,
            "playbook_dir": None,
            "slack_bot_token": None,
            "smtp_host": None,
        }
    )
    try:
        yield App(settings)
    finally:
        dispose_engines()
        shutil.rmtree(home, ignore_errors=True)


def run_demo(*, lang: str | None = None, use_prefect: bool = False, as_json: bool = False) -> dict:
    lang = resolve_lang(lang or os.environ.get("HOKOKU_LANG"), where="HOKOKU_LANG")
    t = section("demo", lang)
    with _demo_app(lang) as app:
        from hokoku.engine.runner import DirectRunner, FlowRunner
        from hokoku.services.setup import init

        init(app, org_file=None, demo=True, now=T0 - timedelta(days=1))
        server = None
        if use_prefect:  # the chain on the console, not Prefect's INFO lines (an expected refusal is no ERROR)
            os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")
            import logging

            logging.getLogger("prefect").setLevel(logging.CRITICAL)
        if use_prefect and not os.environ.get("PREFECT_API_URL"):
            from hokoku.engine.prefect_server import auth_string, start_local_server

            server, url = start_local_server(app.settings.home)
            os.environ["PREFECT_API_URL"] = url
            os.environ["PREFECT_API_AUTH_STRING"] = auth_string(app.settings.home, create=True)
        os.environ.setdefault("HOKOKU_HOME", str(app.settings.home))
        runner = FlowRunner(app) if use_prefect else DirectRunner(app)
        try:
            return _scenario(app, runner, t, lang, as_json)
        finally:
            if server is not None:
                _drain_prefect()  # send the queued events and logs while the server still answers
                from hokoku.engine.prefect_server import stop_local_server

                stop_local_server(app.settings.home, server)
                os.environ.pop("PREFECT_API_URL", None)
                os.environ.pop("PREFECT_API_AUTH_STRING", None)


def _drain_prefect(timeout: float = 10) -> None:
    """Flush Prefect's event and log workers now, so none retries a stopped server at exit."""
    try:
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogWorker

        for worker in (EventsWorker, APILogWorker):
            worker.drain_all(timeout=timeout)
    except Exception:
        pass


def _scenario(app: App, runner, t: Mapping, lang: str, as_json: bool) -> dict:
    from hokoku import cli_format
    from hokoku.services.auditops import verify
    from hokoku.services.queries import outbox, show_incident

    quiet = as_json

    def say(at: datetime, text: str) -> None:
        if not quiet:
            print(f"{t['step']} {fmt_jst(at)}  {text}")

    def tick(at: datetime) -> None:
        result = runner.tick(now=at)
        for e in result["sweep"]:
            say(at, cli_format.sweep_line(e, lang))
        sent = sum(1 for d in result["dispatch"] if d["outcome"] == "sent")
        if sent:
            say(at, tr("demo.delivered", lang, count=sent))

    if not quiet:
        print(t["title"])
        print()
    r = runner.report(
        division="IDS-SURVEY",
        category="malware",
        summary=t["summary"],
        reporter=REPORTER,
        aware_at=T0 - timedelta(minutes=20),
        now=T0,
    )
    inc = r.public_id
    say(T0, f"report {inc} by {REPORTER} (malware, IDS-SURVEY)")
    for a in r.immediate_actions:
        say(T0, f"  - {a}")
    tick(T0)
    tick(T0 + timedelta(minutes=15))
    tick(T0 + timedelta(minutes=30))
    at = T0 + timedelta(minutes=32)
    try:
        runner.ack(incident_id=inc, actor=REPORTER, now=at)
    except TransitionRefused as exc:
        say(at, tr("demo.ack_refused", lang, who=REPORTER, refused=t["refused"], error=exc))
    at = T0 + timedelta(minutes=34)
    runner.ack(incident_id=inc, actor=DEPUTY, now=at)
    say(at, f"ack by {DEPUTY} (deputy) → 27-2 immediate measures start")
    from hokoku.services.records import record_notice
    from hokoku.services.triage import decide, triage

    def do_triage(at: datetime) -> str:
        r = triage(
            app,
            incident_id=inc,
            actor=PM,
            now=at,
            sensitive=False,
            financial_risk=False,
            unauthorized_purpose=True,
            encrypted=False,
            individuals=150,
            individuals_estimated=True,
        )
        return f"triage by {PM}: {r['summary']}"

    def do_confirm(at: datetime) -> str:
        r = decide(app, incident_id=inc, actor=GM, decision="confirm", now=at)
        return f"reportability confirmed by {GM} ({r['status']})"

    def do_notice(at: datetime) -> str:
        record_notice(
            app, incident_id=inc, count=150, method=t["notice"], notified_at=at, actor=GM, now=at, complete=True
        )
        return f"notice to 150 individuals recorded by {GM} → individual-notice done"

    steps = [
        (T0 + timedelta(minutes=50), "immediate-measures", PM, t["imm"]),
        (T0 + timedelta(hours=1, minutes=10), do_triage, None, None),
        (T0 + timedelta(hours=2), do_confirm, None, None),
        (T0 + timedelta(days=1, hours=5), "containment", PM, t["cont"]),
        (T0 + timedelta(days=2), "ppc-preliminary", GM, t["ppc_pre"]),
        (T0 + timedelta(days=3), "investigation-report", PM, t["inv"]),
        (T0 + timedelta(days=4), "dg-report", GM, t["dg"]),
        (T0 + timedelta(days=8), "publication", GM, t["pub"]),
        (T0 + timedelta(days=8, hours=1), do_notice, None, None),
        (T0 + timedelta(days=10), "commission-information", GM, t["ppc"]),
        (T0 + timedelta(days=15), "ppc-final", GM, t["ppc_final"]),
        (T0 + timedelta(days=16), "root-cause", PM, t["rc"]),
    ]
    tick_times = [T0 + timedelta(hours=1, minutes=20), T0 + timedelta(days=2), T0 + timedelta(days=5)]
    from hokoku.services.tasks import complete_task, list_tasks

    step_done: dict[
        object, list[tuple[datetime, Any]]
    ] = {  # playbook steps done before containment can complete (27-2)
        "containment": [
            (T0 + timedelta(days=1, minutes=20 * i), ref)
            for i, ref in enumerate(t for t in (x["ref"] for x in list_tasks(app, incident_id=inc, kind="step")))
        ],
    }
    for at, stage, who, note in steps:
        for done_at, ref in step_done.get(stage, []):
            task = next(x for x in list_tasks(app, incident_id=inc, kind="step") if x["ref"] == ref)
            if task["phase"] == "post-incident" or task["status"] == TaskStatus.DONE:
                continue
            complete_task(app, incident_id=inc, ref=ref, actor=PO, now=done_at, evidence=f"{ref}: {t['evidence']}")
            say(done_at, f"playbook step {ref} ({task['title']}) done by {PO}")
        for tt in [x for x in tick_times if x < at]:
            tick(tt)
            tick_times.remove(tt)
        if callable(stage):
            say(at, stage(at))
            tick(at)
            continue
        result = runner.advance(incident_id=inc, stage=stage, actor=who, now=at, note=note)
        started = tr("demo.started", lang, stages=join_list(result.started, lang)) if result.started else ""
        closed = tr("demo.closed", lang) if result.closed else ""
        say(at, tr("demo.stage_done", lang, stage=stage, who=who, started=started, closed=closed))
        tick(at)
    end = T0 + timedelta(days=16, minutes=5)
    shown = show_incident(app, inc, now=end)
    verified = verify(app, public_keys=app.keyring.public_keys())
    messages = outbox(app, incident=inc)
    if as_json:
        data = {"incident": shown, "audit": verified.message(), "messages": len(messages)}
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return data
    print()
    cli_format.print_show(shown, lang)
    print()
    print(f"{t['verify']}: {verified.message(lang)}")
    sent = sum(1 for m in messages if m["status"] == "sent")
    print(tr("demo.outbox", lang, count=len(messages), sent=sent))
    return {"incident": shown, "audit": verified.message(), "messages": len(messages)}
