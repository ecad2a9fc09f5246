"""Loading YAML configuration with errors that name the file, the path and the problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from hokoku.core.exceptions import ConfigError
from hokoku.core.validation import M, validated


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


def validate(model: type[M], data: Any, *, source: str | Path) -> M:
    """``data`` read from ``source`` as a ``model``; a one-line :class:`ConfigError` otherwise."""
    return validated(model, data, source=Path(source).name if isinstance(source, Path) else source)
