"""Every short user-facing text of hokoku, keyed, in Japanese and English.

One module per area (``web``, ``cli``, ``documents``, ``core``, ``errors``...), each a dict
``key: (ja, en)``; this package merges them into :data:`CATALOGUE` and refuses a key defined
twice. Placeholders are ``str.format`` fields (``{incident}``); both languages of a key name the
same fields (``tests/test_i18n_catalogue.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from hokoku.i18n.catalogue import cli, common, core, documents, errors, services, web

_AREAS = (common, core, documents, services, web, cli, errors)


def _merge() -> Mapping[str, tuple[str, str]]:
    merged: dict[str, tuple[str, str]] = {}
    for area in _AREAS:
        for key, pair in area.TEXTS.items():
            if key in merged:
                raise RuntimeError(f"catalogue key {key!r} is defined twice ({area.__name__})")
            merged[key] = pair
    return MappingProxyType(merged)


CATALOGUE: Mapping[str, tuple[str, str]] = _merge()
"""``CATALOGUE[key] == (ja, en)``."""
