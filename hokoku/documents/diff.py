"""What changed in the nine report items between the preliminary (速報) and final (確報) reports.

Each item gets one status:

* ``unchanged`` — the same text (ignoring trailing spaces and blank lines at either end);
* ``changed`` — both reports state it but differently; ``lines`` is a line diff (difflib);
* ``new`` — not established in the preliminary report, established now;
* ``removed`` — stated in the preliminary report, no longer stated (someone should check);
* ``unknown`` — still not established.

An empty or blank string counts as not established, like ``None``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

ITEM_KEYS: tuple[str, ...] = (
    "summary",
    "data_items",
    "individuals",
    "cause",
    "secondary_damage",
    "individual_response",
    "publication",
    "prevention",
    "other",
)
"""The nine report items in the order of PPC Rules Art. 8(1) / Art. 44."""

Status = Literal["unchanged", "changed", "new", "removed", "unknown"]
Op = Literal["-", "+", " "]


@dataclass(frozen=True)
class ItemDiff:
    """One item's change: ``lines`` holds ``(op, text)`` pairs, ``-`` old, ``+`` new, `` `` both."""

    number: int
    key: str
    status: Status
    old: str | None
    new: str | None
    lines: tuple[tuple[Op, str], ...] = ()


def normalise(text: object) -> str | None:
    """The text with trailing spaces and outer blank lines removed; None when blank or None."""
    if text is None:
        return None
    lines = [line.rstrip() for line in str(text).replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    cleaned = "\n".join(lines).strip("\n")
    return cleaned if cleaned.strip() else None


def line_diff(old: str, new: str) -> tuple[tuple[Op, str], ...]:
    """A readable line diff: shared lines once, replaced lines as old (``-``) then new (``+``)."""
    a, b = old.split("\n"), new.split("\n")
    out: list[tuple[Op, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            out.extend((" ", line) for line in a[i1:i2])
            continue
        out.extend(("-", line) for line in a[i1:i2])
        out.extend(("+", line) for line in b[j1:j2])
    return tuple(out)


def diff_item(number: int, key: str, old: object, new: object) -> ItemDiff:
    """Compare one item's preliminary and final text."""
    before, after = normalise(old), normalise(new)
    if before is None and after is None:
        status: Status = "unknown"
    elif before is None:
        status = "new"
    elif after is None:
        status = "removed"
    elif before == after:
        status = "unchanged"
    else:
        return ItemDiff(number, key, "changed", before, after, line_diff(before, after))
    return ItemDiff(number, key, status, before, after)


def diff_items(preliminary: Mapping[str, object] | None, final: Mapping[str, object]) -> list[ItemDiff]:
    """The nine items' changes, in report order; no preliminary snapshot = nothing was stated."""
    before = preliminary or {}
    return [diff_item(n, key, before.get(key), final.get(key)) for n, key in enumerate(ITEM_KEYS, start=1)]
