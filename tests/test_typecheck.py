"""The type-check set-up: mypy sees the mapped packages, and SQLModel columns are typed as columns."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
LINKS = ROOT / ".ci" / "mypy" / "path" / "hokoku"


def _code_packages() -> dict[str, Path]:
    """Mapped packages (``hokoku.flows`` → ``flows/``) that hold Python modules, not only data."""
    mapping = PYPROJECT["tool"]["setuptools"]["package-dir"]
    return {
        name: ROOT / folder
        for name, folder in mapping.items()
        if any(p.name != "__init__.py" for p in (ROOT / folder).glob("*.py"))
    }


def test_every_mapped_code_package_is_linked_where_mypy_looks():
    """A package-dir mapping without its link under .ci/mypy/path would be invisible to mypy."""
    for name, folder in _code_packages().items():
        link = LINKS / name.split(".", 1)[1]
        assert link.is_symlink(), f"{link.relative_to(ROOT)} missing: mypy cannot find {name}"
        assert link.resolve() == folder.resolve(), f"{link.relative_to(ROOT)} points at {link.resolve()}"
    assert (LINKS / "__init__.py").resolve() == (ROOT / "hokoku" / "__init__.py").resolve()


def test_mypy_checks_every_mapped_code_package():
    """``[tool.mypy] packages`` names hokoku and each mapped package with code."""
    packages = set(PYPROJECT["tool"]["mypy"]["packages"])
    assert {"hokoku", *_code_packages()} <= packages


MODELS = """
from sqlmodel import Field, SQLModel


class Thing(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str


class Draft(SQLModel):
    name: str
"""

USE = """
from sqlmodel import select

from snippet_models import Draft, Thing

reveal_type(Thing.name)
reveal_type(Thing(name="a").name)
reveal_type(Draft(name="a").name)
query = select(Thing).where(Thing.name == "a", Thing.id.in_([1, 2])).order_by(Thing.id.desc())
select(Thing).where(Thing.name)
Thing.nmae
"""


def _mypy(tmp_path: Path) -> tuple[list[str], str]:
    api = pytest.importorskip("mypy.api")
    cwd = os.getcwd()
    os.chdir(ROOT)  # the plugin and paths in pyproject.toml are relative to the checkout
    try:
        out, err, _ = api.run(
            [
                str(tmp_path / "snippet_use.py"),
                str(tmp_path / "snippet_models.py"),
                "--config-file",
                str(ROOT / "pyproject.toml"),
                "--cache-dir",
                str(tmp_path / "cache"),
            ]
        )
    finally:
        os.chdir(cwd)
    prefix = str(tmp_path / "snippet_use.py") + ":"
    return [line.split(": ", 1)[1] for line in out.splitlines() if line.startswith(prefix)], out + err


@pytest.mark.slow
def test_sqlmodel_plugin_types_class_fields_as_columns_and_still_catches_mistakes(tmp_path):
    """``Thing.name`` is a column (``==``, ``.in_``, ``.desc()`` check), ``thing.name`` a str; misuse
    fails — also on a second run that takes the models from mypy's cache."""
    (tmp_path / "snippet_models.py").write_text(MODELS, encoding="utf-8")
    (tmp_path / "snippet_use.py").write_text(USE, encoding="utf-8")
    for run in ("cold cache", "models from the cache"):
        lines, out = _mypy(tmp_path)
        assert lines[:3] == [
            'note: Revealed type is "sqlalchemy.orm.attributes.InstrumentedAttribute[str]"',
            'note: Revealed type is "str"',
            'note: Revealed type is "str"',
        ], f"{run}: {out}"
        errors = [line for line in lines if line.startswith("error:")]
        assert len(errors) == 2, f"{run}: {out}"
        assert '"where"' in errors[0] and "[arg-type]" in errors[0]  # a str column is not a condition
        assert '"nmae"' in errors[1]
        (tmp_path / "snippet_use.py").write_text(USE + "\n# changed: checked again\n", encoding="utf-8")
