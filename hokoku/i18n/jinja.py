"""The catalogue inside Jinja2 templates: ``{{ t("key", name=value) }}`` in the template's
language (the ``lang`` variable of the render context)."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, pass_context
from jinja2.runtime import Context

from hokoku.i18n.lang import other_lang, pick_lang
from hokoku.i18n.localtext import in_lang
from hokoku.i18n.translate import t as _t


@pass_context
def _t_in_context(context: Context, key: str, /, **params: Any) -> str:
    return _t(key, pick_lang(context.get("lang")), **params)


@pass_context
def _in_lang_in_context(context: Context, *, ja: str | None, en: str | None) -> str | None:
    return in_lang(pick_lang(context.get("lang")), ja=ja, en=en)


@pass_context
def _other_lang_in_context(context: Context) -> str:
    return other_lang(pick_lang(context.get("lang")))


def install(env: Environment) -> Environment:
    """Give ``env`` the globals ``t(key, **params)``, ``in_lang(ja=…, en=…)`` (a text stored in
    both languages) and ``other_lang()``; a render passes ``lang`` (Japanese when it does not)."""
    env.globals.update(t=_t_in_context, in_lang=_in_lang_in_context, other_lang=_other_lang_in_context)
    return env
