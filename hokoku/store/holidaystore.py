"""A file that keeps the Japanese holiday tables between processes (:func:`hokoku.core.jpcalendar.use_store`).

Computing a year with the ``holidays`` library means importing it (all its calendars) and
running its rules: a tenth of a second or more, on every CLI call that counts business days.
The tables are kept as JSON in ``$HOKOKU_HOME/cache/``, in a file named for the installed
library's version, so that upgrading the library starts a new file. Unreadable or unwritable
files are ignored (the year is then computed, as without a store).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
from pathlib import Path


@functools.cache
def _library_tag() -> str | None:
    """A short tag for the installed ``holidays`` library (its location and version file), read
    without importing it; None when it is not installed."""
    spec = importlib.util.find_spec("holidays")
    if spec is None or not spec.origin:
        return None
    version = Path(spec.origin).with_name("version.py")
    try:
        ident = f"{spec.origin}\n{version.read_text()}\n{version.stat().st_mtime_ns}"
    except OSError:
        return None
    return hashlib.sha256(ident.encode()).hexdigest()[:16]


class HolidayFile:
    """One JSON file of ``{key: {date: name}}``, read once, rewritten atomically on each save."""

    def __init__(self, directory: Path):
        self.path = self.path_for(directory)
        self._data: dict | None = None

    @staticmethod
    def path_for(directory: Path) -> Path | None:
        tag = _library_tag()
        return directory / f"holidays-jp-{tag}.json" if tag else None

    def _read(self) -> dict:
        if self._data is None:
            try:
                self._data = json.loads(self.path.read_text(encoding="utf-8")) if self.path else {}
            except (OSError, ValueError):
                self._data = {}
            if not isinstance(self._data, dict):
                self._data = {}
        return self._data

    def load(self, key: str) -> dict[str, str] | None:
        table = self._read().get(key)
        return table if isinstance(table, dict) else None

    def save(self, key: str, table: dict[str, str]) -> None:
        data = self._read()
        data[key] = table
        if self.path is None:
            return
        import tempfile

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".holidays-")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, ensure_ascii=False)
            os.replace(tmp, self.path)
        except OSError:
            pass
