"""Human durations and deadline verdicts for the drafts, in Japanese and English.

Durations are shown to the minute (seconds are dropped), largest unit first, zero units left
out: ``1日3時間`` / ``1 d 3 h``, ``2時間10分`` / ``2 h 10 min``; less than a minute is
``1分未満`` / ``under 1 min``. A negative duration is shown by its size; the caller says which
way it points (:func:`deadline_verdict` does).
"""

from __future__ import annotations

from datetime import timedelta

from hokoku.i18n import is_lang, t


def _check_lang(lang: str) -> None:
    if not is_lang(lang):
        raise ValueError(f"unsupported language {lang!r}: expected 'ja' or 'en'")


def format_duration(value: timedelta, lang: str = "ja") -> str:
    """``1日3時間`` / ``1 d 3 h``; ``2時間10分`` / ``2 h 10 min``; ``1分未満`` / ``under 1 min``."""
    _check_lang(lang)
    total_minutes = int(abs(value).total_seconds()) // 60
    if total_minutes == 0:
        return t("dur.under_minute" if value else "dur.zero", lang)
    days, rest = divmod(total_minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    shape = "".join(letter for letter, n in (("d", days), ("h", hours), ("m", minutes)) if n)
    return t(f"dur.{shape}", lang, d=days, h=hours, m=minutes)


def deadline_verdict(*, due_at: object, met: bool | None, margin: timedelta | None, lang: str = "ja") -> str:
    """Whether a deadline was met, and by how much.

    ``margin`` is due minus done (negative when late); ``met`` None means still open.
    ``期限内（残り2時間10分）`` / ``met with 2 h 10 min to spare``; ``超過（1日3時間）`` /
    ``missed by 1 d 3 h``; ``未完了`` / ``still open``; ``期限なし`` / ``no deadline``.
    """
    _check_lang(lang)
    if due_at is None:
        return t("verdict.no_deadline", lang)
    if met is None:
        return t("verdict.open", lang)
    if margin is None:
        return t("verdict.met" if met else "verdict.missed", lang)
    return t("verdict.met_by" if met else "verdict.missed_by", lang, amount=format_duration(margin, lang))
