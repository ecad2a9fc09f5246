"""The text an operator writes in a configuration file (organisation, policy, playbook) in both
languages: one type for all of them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, StrictStr, field_validator
from pydantic_core import PydanticCustomError

from hokoku.i18n.lang import Lang, resolve_lang


def in_lang(lang: Lang | str, *, ja: str | None, en: str | None) -> str | None:
    """A text stored in both languages (two columns, two JSON fields), in ``lang``; the other
    language when the one asked for is missing."""
    first, second = (en, ja) if resolve_lang(lang) == "en" else (ja, en)
    return first or second


class LocalText(BaseModel):
    """A text in Japanese and English. Japanese is required; English falls back to Japanese
    where a file does not give it (playbooks); files that require both (organisation, policy)
    use :class:`BilingualText`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ja: StrictStr
    en: StrictStr | None = None

    @field_validator("ja")
    @classmethod
    def _ja_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise PydanticCustomError("empty_ja", "Japanese text (ja) is empty")
        return value

    def get(self, lang: Lang | str = "ja") -> str:
        """The text in ``lang``; English falls back to Japanese when missing."""
        return in_lang(lang, ja=self.ja, en=self.en) or self.ja


class BilingualText(LocalText):
    """A :class:`LocalText` whose English is required too."""

    en: StrictStr

    @field_validator("en")
    @classmethod
    def _en_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise PydanticCustomError("empty_en", "English text (en) is empty")
        return value
