"""Texts shared by every area: list separators, yes/no, units.  ``key: (ja, en)``."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    "list.sep": ("、", ", "),
    "list.and": ("・", " and "),
    "label.sep": ("：", ": "),
}
