"""Loading YAML configuration with errors that name the file, the path and the problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from hokoku.core.exceptions import ConfigError

M = TypeVar("M", bound=BaseModel)


def read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}{where}: YAML syntax error: {problem}") from None


def format_loc(loc: tuple[int | str, ...]) -> str:
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


def validate(model: type[M], data: Any, *, source: str | Path) -> M:
    name = Path(source).name if isinstance(source, Path) else source
    if data is None:
        raise ConfigError(f"{name}: the file is empty")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{name}: {describe_error(exc.errors()[0])}") from None
