"""The catalogue inside Jinja2 templates: ``{{ t("key", name=value) }}`` in the template's
language (the ``lang`` variable of the render context)."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, pass_context
from jinja2.runtime import Context

from hokoku.i18n.lang import pick_lang
from hokoku.i18n.translate import t as _t


@pass_context
def _t_in_context(context: Context, key: str, /, **params: Any) -> str:
    return _t(key, pick_lang(context.get("lang")), **params)


def install(env: Environment) -> Environment:
    """Give ``env`` the global ``t``; a render passes ``lang`` (Japanese when it does not)."""
    env.globals["t"] = _t_in_context
    return env
