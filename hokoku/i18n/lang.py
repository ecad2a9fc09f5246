"""The two languages hokoku speaks, and the one way to turn an outside value into one of them."""

from __future__ import annotations

from typing import Final, Literal, TypeGuard

Lang = Literal["ja", "en"]
LANGS: Final[tuple[Lang, ...]] = ("ja", "en")
DEFAULT_LANG: Final[Lang] = "ja"


def is_lang(value: object) -> TypeGuard[Lang]:
    """True for exactly ``"ja"`` and ``"en"``."""
    return value in LANGS


def resolve_lang(value: str | None, *, where: str = "language") -> Lang:
    """``ja`` or ``en`` from a setting, an option or a header value; ``None`` or blank → ``ja``.

    Accepts the region forms ``ja-JP`` / ``en_GB`` and any case; anything else is refused with a
    one-line ``ValueError`` naming ``where`` (e.g. ``HOKOKU_LANG``, ``--lang``).
    """
    if value is None or not value.strip():
        return DEFAULT_LANG
    base = value.strip().replace("_", "-").split("-", 1)[0].lower()
    if is_lang(base):
        return base
    raise ValueError(f"{where}: unknown language {value!r} (use ja or en)")


def pick_lang(*candidates: str | None) -> Lang:
    """The first candidate that names a language (lenient: for cookies, query strings and headers
    a visitor controls); Japanese when none does."""
    for candidate in candidates:
        try:
            if candidate and candidate.strip():
                return resolve_lang(candidate)
        except ValueError:
            continue
    return DEFAULT_LANG


_OTHER: Final[dict[Lang, Lang]] = {"ja": "en", "en": "ja"}


def other_lang(lang: Lang | str) -> Lang:
    """The language a page's switch offers: English on a Japanese page and vice versa."""
    return _OTHER[resolve_lang(lang)]
