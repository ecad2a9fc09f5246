"""Look-ups in the catalogue: ``t(key, lang, **params)``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TypeVar

from hokoku.i18n.catalogue import CATALOGUE
from hokoku.i18n.lang import Lang, resolve_lang

_D = TypeVar("_D")


class MissingText(KeyError):
    """A key that the catalogue does not hold (a programming error, never user input)."""

    def __str__(self) -> str:
        return f"no catalogue text for key {self.args[0]!r}"


def has_text(key: str) -> bool:
    return key in CATALOGUE


def t(key: str, lang: Lang | str, /, **params: object) -> str:
    """The text of ``key`` in ``lang``, with ``{name}`` placeholders filled from ``params``.

    An unknown key raises :class:`MissingText`: a typo should fail the test that renders it,
    not show the key to a user.
    """
    pair = CATALOGUE.get(key)
    if pair is None:
        raise MissingText(key)
    text = pair[1] if resolve_lang(lang) == "en" else pair[0]
    return text.format(**params) if params else text


def t_or(key: str, lang: Lang | str, default: _D, /, **params: object) -> str | _D:
    """Like :func:`t`, but ``default`` when the catalogue has no ``key`` (for open-ended keys such
    as audit actions that future versions may add)."""
    return t(key, lang, **params) if key in CATALOGUE else default


class LazyText:
    """A catalogue text looked up later, in the reader's language: a parameter of an error
    raised before anyone knows who will read it (``TransitionRefused(key=..., status=lazy(...))``)."""

    def __init__(self, key: str, /, **params: object) -> None:
        if key not in CATALOGUE:
            raise MissingText(key)
        self.key, self.params = key, params

    def localized(self, lang: Lang | str) -> str:
        return t(self.key, lang, **self.params)

    def __str__(self) -> str:
        return self.localized("en")


def lazy(key: str, /, **params: object) -> LazyText:
    """A :class:`LazyText`."""
    return LazyText(key, **params)


def plural(key: str, n: int, lang: Lang | str, /, **params: object) -> str:
    """``key.one`` when ``n`` is 1, else ``key.other``, with ``{n}`` filled (CLDR's two English
    forms; the Japanese texts of both forms are the same)."""
    return t(f"{key}.one" if n == 1 else f"{key}.other", lang, n=n, **params)


def texts(prefix: str, lang: Lang | str) -> Mapping[str, str]:
    """All texts whose key starts with ``prefix.``, keyed by the rest of the key."""
    start = prefix + "."
    return {key[len(start) :]: t(key, lang) for key in CATALOGUE if key.startswith(start)}


def join_list(items: list[str] | tuple[str, ...], lang: Lang | str) -> str:
    """Items joined as the language lists them: 「A、B」 / "A, B"."""
    return t("list.sep", lang).join(items)


class Section(Mapping[str, "str | Section"]):
    """The catalogue's texts under ``prefix`` in one language, as a read-only nested mapping:
    ``section("doc", "ja")["item_titles"]["cause"]`` (templates: ``L.item_titles.cause``).

    A name that completes a key is its text (``section("doc.events", lang)["incident.reported"]``);
    a name that starts keys opens the sub-section. Iterating yields the rest of every key under
    the prefix, so ``dict(section("doc.stage_status", lang))`` is the flat table.

    Python code reads it with :meth:`text` (a ``str``) and :meth:`table` (a flat ``Mapping[str, str]``):
    ``section[name]`` is typed ``str | Section`` because a name may be either, which is what
    templates need and what mypy makes Python callers narrow.
    """

    def __init__(self, prefix: str, lang: Lang | str) -> None:
        self._prefix = prefix
        self._lang = resolve_lang(lang)
        start = prefix + "."
        self._names = tuple(key[len(start) :] for key in CATALOGUE if key.startswith(start))

    def __getitem__(self, name: str) -> str | Section:
        key = f"{self._prefix}.{name}"
        if key in CATALOGUE:
            return t(key, self._lang)
        if key in _BRANCHES:
            return Section(key, self._lang)
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def text(self, name: str, /, **params: object) -> str:
        """The text ``name`` of this section (typed ``str`` for Python callers; templates index),
        with ``{name}`` placeholders filled from ``params``."""
        return t(f"{self._prefix}.{name}", self._lang, **params)

    def table(self, name: str, /) -> Mapping[str, str]:
        """The texts under ``name`` as a flat table (``labels.table("item_titles")["cause"]``)."""
        return texts(f"{self._prefix}.{name}", self._lang)

    def __len__(self) -> int:
        return len(self._names)

    def __repr__(self) -> str:
        return f"Section({self._prefix!r}, {self._lang!r})"


def _branches() -> frozenset[str]:
    out: set[str] = set()
    for key in CATALOGUE:
        parts = key.split(".")
        out.update(".".join(parts[:n]) for n in range(1, len(parts)))
    return frozenset(out)


_BRANCHES = _branches()


def section(prefix: str, lang: Lang | str) -> Section:
    """The texts under ``prefix`` in ``lang`` (see :class:`Section`)."""
    if prefix not in _BRANCHES:
        raise MissingText(prefix)
    return Section(prefix, lang)
