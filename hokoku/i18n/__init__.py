"""One catalogue for every user-facing text, one language per run or request.

Why keyed pairs in Python modules rather than gettext ``.po``/``.mo`` files: hokoku speaks exactly
two languages, both maintained by the same team in the same change, and every text has a stable
key (``report.title``, ``err.input.bad_time``) rather than an English msgid. A dict of
``key: (ja, en)`` gives what gettext would — one place to look, a test that fails when a key lacks
a language or the two disagree on placeholders — without generated ``.mo`` files to compile at
build or run time, and it is importable by the pure core with no I/O at all.

Long prose stays in whole-text Jinja2 templates per language (``templates/messages/{ja,en}/``,
``templates/documents/{ja,en}/``): a Japanese notice is not a translation of the English one line
by line, and a template per language is the catalogue's form for prose. The short texts those
templates share with the code come from here, through the ``t`` global (:func:`install`).

- :data:`Lang`, :func:`resolve_lang` (strict, for settings and options), :func:`pick_lang`
  (lenient, for a visitor's cookie or query string).
- :func:`t` ``(key, lang, **params)``: the text.
- :class:`LocalText` / :class:`BilingualText`: texts written in configuration files.
- :func:`install`: the ``t`` global of a Jinja2 environment.
"""

from __future__ import annotations

from hokoku.i18n.catalogue import CATALOGUE
from hokoku.i18n.jinja import install
from hokoku.i18n.lang import DEFAULT_LANG, LANGS, Lang, is_lang, other_lang, pick_lang, resolve_lang
from hokoku.i18n.localtext import BilingualText, LocalText, in_lang
from hokoku.i18n.translate import (
    LazyText,
    MissingText,
    Section,
    has_text,
    join_list,
    lazy,
    plural,
    section,
    t,
    t_or,
    texts,
)

__all__ = [
    "CATALOGUE",
    "DEFAULT_LANG",
    "LANGS",
    "BilingualText",
    "Lang",
    "LazyText",
    "LocalText",
    "MissingText",
    "Section",
    "has_text",
    "in_lang",
    "install",
    "is_lang",
    "join_list",
    "lazy",
    "other_lang",
    "pick_lang",
    "plural",
    "resolve_lang",
    "section",
    "t",
    "t_or",
    "texts",
]
