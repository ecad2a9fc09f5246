"""Direct mode never imports Prefect, so no CLI verb can start a Prefect server.

One subprocess (a clean interpreter) runs the verbs in turn through ``hokoku.cli.main`` and
records, after each, which ``prefect`` / ``flows`` modules are loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import DIVISION, PM, REPORTER, T0

PID = "INC-2027-0001"
VERBS = {
    "init": ["init", "--demo", "--now", T0.isoformat()],
    "report": [
        "report",
        "--division",
        DIVISION,
        "--category",
        "malware",
        "--summary",
        "x",
        "--reporter",
        REPORTER,
        "--now",
        T0.isoformat(),
    ],
    "tick": ["tick", "--now", "2027-02-01T10:31:00+09:00"],
    "show": ["show", PID, "--now", "2027-02-01T10:31:00+09:00"],
    "list": ["list", "--now", "2027-02-01T10:31:00+09:00"],
    "ack": ["ack", PID, "--as", PM, "--now", "2027-02-01T10:32:00+09:00"],
    "advance": ["advance", PID, "immediate-measures", "--as", PM, "--now", "2027-02-01T10:33:00+09:00"],
}

SCRIPT = r"""
import contextlib, io, json, sys
import hokoku.cli
verbs = json.loads(sys.argv[1])
report = {"before": sorted(m for m in sys.modules if m.split(".")[0] in ("prefect", "flows"))}
for name, args in verbs.items():
    with contextlib.redirect_stdout(io.StringIO()):
        code = hokoku.cli.main(args)
    report[name] = {"code": code, "loaded": sorted(m for m in sys.modules if m.split(".")[0] in ("prefect", "flows"))}
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOKOKU_", "PREFECT_"))}
    env["HOKOKU_HOME"] = str(tmp_path_factory.mktemp("imports") / "home")
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(VERBS)], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_importing_the_cli_loads_no_prefect(loaded):
    """`import hokoku.cli` alone pulls in neither prefect nor the flows package."""
    assert loaded["before"] == []


@pytest.mark.parametrize("verb", list(VERBS))
def test_direct_mode_verb_does_not_import_prefect(loaded, verb):
    """Without PREFECT_API_URL the verb succeeds and `prefect` is not in sys.modules afterwards."""
    assert loaded[verb]["code"] == 0
    assert loaded[verb]["loaded"] == []
