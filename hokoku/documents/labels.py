"""Fixed wording the drafts share across kinds and formats, in Japanese and English.

Prose belongs to the templates (``templates/documents/<lang>/``); the short labels that several
templates, and Python code that builds the drafts' context, need alike — the nine report items,
status names, the regimes' legal bases — are the ``doc.*`` texts of the catalogue
(``hokoku/i18n/catalogue/documents.py``); :data:`LABELS` is their view per language.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from hokoku.i18n import LANGS, Section, section

#: Texts written (or approved) by the owner for the public, the person and the Commission. The
#: publication, the notice to individuals and the Commission drafts draw only from these and the
#: findings: never from the reporter's summary, stage notes or step notes.
PUBLIC_FIELDS: tuple[str, ...] = (
    "summary",
    "discovery",
    "cause",
    "secondary_damage",
    "measures",
    "prevention",
    "other",
)

LABELS: Mapping[str, Section] = MappingProxyType({lang: section("doc", lang) for lang in LANGS})
"""``LABELS[lang][name]``; nested tables such as ``LABELS["ja"]["item_titles"]["cause"]``."""
