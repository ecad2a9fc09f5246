"""Where the files shipped inside the ``hokoku`` distribution are: the bundled data, the
templates and the playbooks (``importlib.resources``, so an installed wheel finds them as an
editable checkout does)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def _dir(package: str) -> Path:
    return Path(str(files(package)))


def templates_dir() -> Path:
    """``templates/`` of the checkout, ``hokoku/templates`` of an installed wheel."""
    return _dir("hokoku.templates")


def playbooks_dir() -> Path:
    """The playbooks shipped with hokoku."""
    return _dir("hokoku.playbooks")


def data_file(name: str) -> Path:
    """A bundled data file (the default policy, the demo organisation)."""
    return _dir("hokoku.data") / name
