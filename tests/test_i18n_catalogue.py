"""The catalogue: every key in both languages, the same placeholders, one resolver, one text type."""

from __future__ import annotations

import string

import pytest
from jinja2 import Environment
from pydantic import ValidationError

from hokoku.i18n import (
    CATALOGUE,
    BilingualText,
    LocalText,
    MissingText,
    install,
    join_list,
    other_lang,
    pick_lang,
    plural,
    resolve_lang,
    section,
    t,
    t_or,
)
from hokoku.i18n.catalogue import _AREAS


def _fields(text: str) -> set[str]:
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@pytest.mark.parametrize("key", sorted(CATALOGUE))
def test_every_key_has_japanese_and_english_with_the_same_placeholders(key):
    """A key without ja or en, or whose two texts name different placeholders, fails here."""
    pair = CATALOGUE[key]
    assert isinstance(pair, tuple) and len(pair) == 2, f"{key}: not a (ja, en) pair"
    ja, en = pair
    assert isinstance(ja, str) and ja.strip(), f"{key}: Japanese text missing"
    assert isinstance(en, str) and en.strip(), f"{key}: English text missing"
    assert _fields(ja) == _fields(en), f"{key}: placeholders differ: ja {_fields(ja)} / en {_fields(en)}"


def test_no_key_is_defined_in_two_areas():
    """The areas are merged into one catalogue; a key in two of them would shadow a text."""
    seen: dict[str, str] = {}
    for area in _AREAS:
        for key in area.TEXTS:
            assert key not in seen, f"{key} in {seen.get(key)} and {area.__name__}"
            seen[key] = area.__name__


def test_a_text_is_looked_up_in_the_language_asked_for_with_its_parameters():
    assert t("form.summary.long", "ja", n=25_000, limit=20_000) == "長すぎます（25,000文字、上限20,000文字）。"
    assert t("form.summary.long", "en", n=25_000, limit=20_000) == "Too long (25,000 characters; at most 20,000)."


def test_an_unknown_key_raises_rather_than_showing_the_key():
    with pytest.raises(MissingText, match="no catalogue text for key 'nav.nowhere'"):
        t("nav.nowhere", "ja")
    assert t_or("nav.nowhere", "en", None) is None


def test_plural_forms_follow_the_number_in_english_only():
    assert plural("unit.hours", 1, "en") == "1 hour"
    assert plural("unit.hours", 4, "en") == "4 hours"
    assert plural("unit.hours", 1, "ja") == plural("unit.hours", 1, "ja") == "1時間"


def test_lists_are_joined_as_each_language_writes_them():
    assert join_list(["A", "B"], "ja") == "A、B"
    assert join_list(["A", "B"], "en") == "A, B"


@pytest.mark.parametrize(
    ("value", "lang"), [(None, "ja"), ("", "ja"), ("ja", "ja"), ("EN", "en"), ("en-GB", "en"), ("ja_JP", "ja")]
)
def test_the_resolver_accepts_both_languages_in_their_usual_spellings(value, lang):
    assert resolve_lang(value) == lang


def test_the_resolver_refuses_another_language_in_one_line_naming_where():
    with pytest.raises(ValueError, match=r"^HOKOKU_LANG: unknown language 'fr' \(use ja or en\)$"):
        resolve_lang("fr", where="HOKOKU_LANG")


def test_a_visitors_choice_falls_back_to_japanese_when_it_names_no_language():
    assert pick_lang("de", None, "en") == "en"
    assert pick_lang("xx") == "ja"
    assert other_lang("ja") == "en" and other_lang("en") == "ja"


def test_a_section_reads_nested_labels_and_keys_that_contain_dots():
    labels = section("doc", "en")
    assert labels["item_titles"]["cause"] == "Cause"
    assert section("doc.events", "ja")["incident.reported"] == "事案を報告した"
    assert dict(section("doc.incident_status", "en")) == {"open": "open", "closed": "closed"}
    assert section("doc.events", "en").get("no.such.event") is None


def test_local_text_falls_back_to_japanese_and_bilingual_text_requires_english():
    assert LocalText(ja="概要").get("en") == "概要"
    assert LocalText(ja="概要", en="Summary").get("en") == "Summary"
    with pytest.raises(ValidationError, match="Japanese text"):
        LocalText(ja="  ")
    with pytest.raises(ValidationError):
        BilingualText(ja="概要")


def test_templates_use_the_catalogue_in_the_language_of_the_render():
    env = install(Environment(autoescape=True))
    template = env.from_string('{{ t("nav.report") }} / {{ t("form.summary.long", n=3, limit=2) }}')
    assert template.render(lang="en") == "Report / Too long (3 characters; at most 2)."
    assert template.render() == "報告する / 長すぎます（3文字、上限2文字）。"
