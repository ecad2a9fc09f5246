"""Flow inputs: what a person typed reaches a Prefect flow as an opaque id; the text stays in
hokoku's database, encrypted, and the flow's outcome or refusal comes back the same way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from hokoku.core.exceptions import HokokuError, NotFound, TransitionRefused
from hokoku.models.flowinput import FlowInput
from hokoku.services import flowinput
from hokoku.store.db import transaction
from tests.helpers import T0

SECRET = "Summary-Zr4Ypangolin: 吉田 翔 lost a USB stick"


def _row(app, handle):
    with transaction(app.engine) as session:
        return session.execute(select(FlowInput).where(FlowInput.id == handle)).scalar_one_or_none()


def test_a_stashed_input_is_an_opaque_id_and_its_text_is_encrypted(demo_app):
    """The id says nothing about the input; the row holds ciphertext only; the flow reads it back."""
    handle = flowinput.stash(demo_app, kind="report", payload={"summary": SECRET, "now": T0})
    assert handle.startswith("in-") and "Zr4Y" not in handle
    row = _row(demo_app, handle)
    assert b"Zr4Y" not in row.payload_enc and SECRET.encode() not in row.payload_enc
    assert flowinput.load(demo_app, handle, kind="report") == {"summary": SECRET, "now": T0}
    with pytest.raises(NotFound):
        flowinput.load(demo_app, handle, kind="transition")  # another kind of flow cannot use it


def test_the_outcome_comes_back_once_and_the_row_is_deleted(demo_app):
    """collect returns what the flow recorded and deletes the row; a finished input cannot be reused."""
    handle = flowinput.stash(demo_app, kind="report", payload={"summary": SECRET})
    flowinput.finish(demo_app, handle, outcome={"incident": "INC-2027-0001", "notified": [{"email": "a@b"}]})
    with pytest.raises(NotFound):
        flowinput.load(demo_app, handle, kind="report")
    assert flowinput.collect(demo_app, handle) == {"incident": "INC-2027-0001", "notified": [{"email": "a@b"}]}
    assert _row(demo_app, handle) is None


def test_a_recorded_refusal_is_raised_again_with_its_class_and_message(demo_app):
    """The caller sees the service's own error (CLI: one line, exit 2); a bug stays a non-user error."""
    handle = flowinput.stash(demo_app, kind="transition", payload={"actor": "x@example.org"})
    flowinput.finish(demo_app, handle, error=TransitionRefused("stage containment cannot be skipped"))
    with pytest.raises(TransitionRefused, match="cannot be skipped"):
        flowinput.collect(demo_app, handle)
    handle = flowinput.stash(demo_app, kind="transition", payload={})
    flowinput.finish(demo_app, handle, error=KeyError("actor"))
    with pytest.raises(RuntimeError) as bug:
        flowinput.collect(demo_app, handle)
    assert not isinstance(bug.value, HokokuError) and "KeyError" in str(bug.value)


def test_nothing_recorded_collects_as_none(demo_app):
    """A flow run that never reached its step (Prefect down) leaves no outcome: None, row gone."""
    handle = flowinput.stash(demo_app, kind="report", payload={})
    assert flowinput.collect(demo_app, handle) is None
    assert _row(demo_app, handle) is None


def test_inputs_left_behind_are_purged_after_a_day(demo_app, monkeypatch):
    """An entry point that died mid-run leaves a row; the next stash a day later deletes it."""
    old = flowinput.stash(demo_app, kind="report", payload={"summary": SECRET})
    later = datetime.now(UTC) + flowinput.TTL + timedelta(minutes=1)
    monkeypatch.setattr(flowinput, "utcnow", lambda: later)
    new = flowinput.stash(demo_app, kind="report", payload={"summary": "x"})
    assert _row(demo_app, old) is None and _row(demo_app, new) is not None


def test_every_flow_takes_ids_codes_times_and_counts_only():
    """No flow or task parameter can carry report text, notes, names or addresses: each one is on
    an allow-list of ids, codes, times and counts (a new parameter must be added here knowingly)."""
    import inspect

    from prefect import Flow, Task

    import hokoku.flows.dispatch
    import hokoku.flows.documents
    import hokoku.flows.intake
    import hokoku.flows.stages
    import hokoku.flows.sweep

    allowed = {
        "input_id",
        "incident_id",
        "action",
        "stage",
        "now",
        "channel",
        "limit",
        "nid",
        "kind",
        "lang",
        "fmt",
        "out",
        "claim_id",
        "exclude",
    }  # claim_id: a random fencing token; exclude: notification ids
    seen = {}
    for module in (
        hokoku.flows.dispatch,
        hokoku.flows.documents,
        hokoku.flows.intake,
        hokoku.flows.stages,
        hokoku.flows.sweep,
    ):
        for obj in list(vars(module).values()) + list(getattr(module, "STAGE_FLOWS", {}).values()):
            if isinstance(obj, (Flow, Task)):
                seen[obj.name] = set(inspect.signature(obj.fn).parameters)
    assert "27-1 report received" in seen and "27-2 immediate measures" in seen and "apply transition" in seen
    assert {name: params - allowed for name, params in seen.items() if params - allowed} == {}
    assert seen["27-1 report received"] == {"input_id", "now"}


def test_the_prefect_auth_string_is_generated_once_with_mode_0600_unless_given(hokoku_home, monkeypatch):
    """serve's basic-auth string: random, kept in $HOKOKU_HOME/prefect (0600), reused; the
    environment's PREFECT_API_AUTH_STRING wins; the CLI's runner picks the file up."""
    import os
    import stat

    from hokoku.engine.prefect_server import auth_file, auth_string

    monkeypatch.delenv("PREFECT_API_AUTH_STRING", raising=False)
    monkeypatch.delenv("PREFECT_SERVER_API_AUTH_STRING", raising=False)
    assert auth_string(hokoku_home) is None
    made = auth_string(hokoku_home, create=True)
    assert made.startswith("hokoku:") and len(made) > 40
    assert stat.S_IMODE(auth_file(hokoku_home).stat().st_mode) == 0o600
    assert auth_string(hokoku_home, create=True) == made == auth_string(hokoku_home)
    monkeypatch.setenv("PREFECT_SERVER_API_AUTH_STRING", "ops:given")
    assert auth_string(hokoku_home) == "ops:given"
    monkeypatch.setenv("PREFECT_API_AUTH_STRING", "ops:client")
    assert auth_string(hokoku_home) == "ops:client"

    monkeypatch.delenv("PREFECT_API_AUTH_STRING")
    monkeypatch.delenv("PREFECT_SERVER_API_AUTH_STRING")
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    from hokoku.app import open_app
    from hokoku.engine.runner import FlowRunner, runner_for

    assert isinstance(runner_for(open_app()), FlowRunner)
    assert os.environ["PREFECT_API_AUTH_STRING"] == made
