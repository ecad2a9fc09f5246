"""One-line errors for data that does not fit a model: ``policy.yaml: stages[2].owner: unknown role 'x'``."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from hokoku.core.exceptions import ConfigError

M = TypeVar("M", bound=BaseModel)


def format_loc(loc: tuple[int | str, ...]) -> str:
    """``("institutes", 1, "divisions")`` → ``institutes[1].divisions``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def describe_error(err: ErrorDetails) -> str:
    """``institutes[1].divisions[0].protection_manager: email is missing``."""
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    if err["type"] == "missing" and loc:
        parent = format_loc(loc[:-1])
        return f"{parent + ': ' if parent else ''}{loc[-1]} is missing"
    if err["type"] == "extra_forbidden" and loc:
        parent = format_loc(loc[:-1])
        return f"{parent + ': ' if parent else ''}unknown field {loc[-1]!r}"
    msg = err["msg"].removeprefix("Value error, ")
    path = format_loc(loc)
    return f"{path}: {msg}" if path else msg


def validated(model: type[M], data: Any, *, source: str) -> M:
    """``data`` as a ``model``; :class:`ConfigError` naming ``source`` and the first bad field otherwise."""
    if data is None:
        raise ConfigError(f"{source}: the file is empty")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {describe_error(exc.errors()[0])}") from None
