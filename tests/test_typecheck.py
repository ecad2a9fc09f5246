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


SNIPPET = """
from sqlmodel import Field, SQLModel, select


class Thing(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str


class Draft(SQLModel):
    name: str


reveal_type(Thing.name)
reveal_type(Thing(name="a").name)
query = select(Thing).where(Thing.name == "a", Thing.id.in_([1, 2])).order_by(Thing.id.desc())
select(Thing).where(Thing.name)
Thing.nmae
"""


@pytest.mark.slow
def test_sqlmodel_plugin_types_class_fields_as_columns_and_still_catches_mistakes(tmp_path):
    """``Thing.name`` is a column (``==``, ``.in_``, ``.desc()`` check), ``thing.name`` a str; misuse fails."""
    api = pytest.importorskip("mypy.api")
    source = tmp_path / "snippet.py"
    source.write_text(SNIPPET, encoding="utf-8")
    cwd = os.getcwd()
    os.chdir(ROOT)  # the plugin and paths in pyproject.toml are relative to the checkout
    try:
        out, err, status = api.run(
            [str(source), "--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(tmp_path / "cache")]
        )
    finally:
        os.chdir(cwd)
    lines = [line.split(": ", 1)[1] for line in out.splitlines() if line.startswith(str(source))]
    assert 'note: Revealed type is "sqlalchemy.orm.attributes.InstrumentedAttribute[str]"' in lines, out
    assert 'note: Revealed type is "str"' in lines, out
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 2, out + err
    assert '"where"' in errors[0] and "[arg-type]" in errors[0]  # a str column is not a condition
    assert '"nmae"' in errors[1]
    assert status == 1
