"""The built wheel works on its own: installed outside the checkout, run from another directory.

The source tree is copied (so a stale ``build/`` in the checkout cannot leak into the wheel),
built with ``pip wheel --no-deps --no-build-isolation`` and installed with ``--no-deps`` into a
fresh virtual environment. To stay fast and offline that environment sees the test
environment's third-party packages through a ``.pth`` line; a plain directory line in a
``.pth`` file does not run the ``.pth`` files inside it, so the test environment's editable
``hokoku`` cannot shadow the wheel's (asserted below).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from tests.helpers import DIVISION, REPORTER, T0

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
#: The folders the wheel is built from (``tests/`` and the rest of the checkout stay behind).
SOURCES = [
    "pyproject.toml",
    "README.md",
    "prefect.yaml",
    "hokoku",
    "flows",
    "models",
    "notifiers",
    "templates",
    "playbooks",
]


def _copy_sources(dest: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    for name in SOURCES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(src, dest / name)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src, dist = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("dist")
    _copy_sources(src)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(dist), str(src)],
        check=True,
        cwd=dist,
    )
    (built,) = dist.glob("hokoku-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory) -> Path:
    """A fresh virtual environment holding the wheel (its ``bin/``)."""
    env = tmp_path_factory.mktemp("venv") / "env"
    venv.create(env, with_pip=False)
    python = env / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        cwd=env,
    )
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(purelib, "_hokoku_test_deps.pth").write_text("".join(f"{p}\n" for p in sorted(ours)))
    return env / "bin"


def _run(bin_dir: Path, *args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOKOKU_", "PREFECT_", "PYTHON"))}
    env |= {"HOKOKU_HOME": str(home), "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"}
    return subprocess.run([str(bin_dir / args[0]), *args[1:]], cwd=cwd, env=env, capture_output=True, text=True)


def test_wheel_holds_every_package_and_the_data(wheel):
    """The wheel has hokoku.flows/models/notifiers/templates/playbooks, the templates, playbooks,
    bundled data, migrations, static files and prefect.yaml (the symlink's target, not a link)."""
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in ("flows", "models", "notifiers", "templates", "playbooks", "core", "config", "data", "web"):
        assert f"hokoku/{package}/__init__.py" in names, package
    assert not any(
        n.startswith(("flows/", "models/", "notifiers/", "templates/", "playbooks/", "tests/")) for n in names
    )
    for folder, pattern in (("templates", "**/*"), ("playbooks", "*.yaml")):
        shipped = {str(p.relative_to(ROOT)) for p in (ROOT / folder).glob(pattern) if p.is_file()}
        shipped = {n for n in shipped if "__pycache__" not in n}
        assert {f"hokoku/{n}" for n in shipped} <= names, sorted({f"hokoku/{n}" for n in shipped} - names)
    for name in ("hokoku/data/policy.yaml", "hokoku/data/demo-org.yaml", "hokoku/migrations/alembic.ini"):
        assert name in names
    assert any(n.startswith("hokoku/web/static/") for n in names)
    with zipfile.ZipFile(wheel) as zf:
        assert zf.read("hokoku/flows/prefect.yaml") == (ROOT / "prefect.yaml").read_bytes()
    versions = {n.split("/")[-1] for n in names if n.startswith("hokoku/migrations/versions/")}
    assert versions >= {p.name for p in (ROOT / "hokoku/migrations/versions").glob("*.py")}


def test_installed_wheel_runs_demo_and_draft_from_elsewhere(installed, tmp_path):
    """From a directory outside the checkout, with a fresh HOKOKU_HOME: the wheel's hokoku (not the
    checkout's) runs the demo, files a report with its playbook's immediate actions, renders its
    messages and drafts documents in Markdown, HTML and Word."""
    elsewhere, home = tmp_path / "elsewhere", tmp_path / "home"
    elsewhere.mkdir()
    where = _run(
        installed,
        "python",
        "-c",
        "import hokoku, hokoku.templates, hokoku.playbooks, hokoku.flows; print(hokoku.__file__);"
        "print(hokoku.templates.__file__); print(hokoku.playbooks.__file__); print(hokoku.flows.__file__)",
        cwd=elsewhere,
        home=home,
    )
    assert where.returncode == 0, where.stderr
    env_root = installed.parent.resolve()
    for path in where.stdout.split():
        assert Path(path).resolve().is_relative_to(env_root), (path, env_root)

    demo = _run(installed, "hokoku", "demo", "--json", cwd=elsewhere, home=home)
    assert demo.returncode == 0, demo.stderr[-3000:]
    result = json.loads(demo.stdout)
    assert result["messages"] > 10 and result["audit"].startswith("OK"), result
    text = _run(installed, "hokoku", "demo", "--lang", "en", cwd=elsewhere, home=home)
    assert text.returncode == 0 and "Traceback" not in text.stderr, text.stderr[-3000:]
    assert "chain and signatures verified" in text.stdout

    at = T0.isoformat()
    assert _run(installed, "hokoku", "init", "--demo", cwd=elsewhere, home=home).returncode == 0
    filed = _run(
        installed,
        "hokoku",
        "report",
        "--division",
        DIVISION,
        "--category",
        "lost-device",
        "--summary",
        "USB stick with the survey list lost on the train",
        "--reporter",
        REPORTER,
        "--individuals",
        "120",
        "--now",
        at,
        "--json",
        cwd=elsewhere,
        home=home,
    )
    assert filed.returncode == 0, filed.stderr
    report = json.loads(filed.stdout)
    incident = report["incident"]
    assert report["immediate_actions"], "the lost-device playbook was not loaded"

    outbox = _run(installed, "hokoku", "outbox", "--json", cwd=elsewhere, home=home)
    assert outbox.returncode == 0, outbox.stderr
    messages = json.loads(outbox.stdout)
    assert messages and all(m["incident"] == incident for m in messages)
    assert any(incident in json.dumps(m, ensure_ascii=False) and "USB stick" in json.dumps(m) for m in messages)

    md = _run(installed, "hokoku", "draft", "ppc-preliminary", incident, "--now", at, cwd=elsewhere, home=home)
    assert md.returncode == 0, md.stderr
    assert incident in md.stdout and "120" in md.stdout
    html = _run(
        installed, "hokoku", "draft", "summary", incident, "--format", "html", "--now", at, cwd=elsewhere, home=home
    )
    assert html.returncode == 0 and html.stdout.lstrip().lower().startswith("<!doctype html"), html.stderr
    docx = elsewhere / "draft.docx"
    word = _run(
        installed,
        "hokoku",
        "draft",
        "ppc-preliminary",
        incident,
        "--format",
        "docx",
        "--out",
        str(docx),
        "--lang",
        "en",
        "--now",
        at,
        cwd=elsewhere,
        home=home,
    )
    assert word.returncode == 0, word.stderr
    assert zipfile.ZipFile(docx).read("word/document.xml").count(incident.encode()) >= 1
    assert not list(elsewhere.glob("hokoku*")) and not (elsewhere / "hokoku.db").exists()
