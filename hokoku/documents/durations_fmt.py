"""Human durations and deadline verdicts for the drafts, in Japanese and English.

Durations are shown to the minute (seconds are dropped), largest unit first, zero units left
out: ``1日3時間`` / ``1 d 3 h``, ``2時間10分`` / ``2 h 10 min``; less than a minute is
``1分未満`` / ``under 1 min``. A negative duration is shown by its size; the caller says which
way it points (:func:`deadline_verdict` does).
"""

from __future__ import annotations

from datetime import timedelta

_UNITS = {
    "ja": (("日", "時間", "分"), "", "1分未満"),
    "en": (("d", "h", "min"), " ", "under 1 min"),
}


def _check_lang(lang: str) -> None:
    if lang not in _UNITS:
        raise ValueError(f"unsupported language {lang!r}: expected 'ja' or 'en'")


def format_duration(value: timedelta, lang: str = "ja") -> str:
    """``1日3時間`` / ``1 d 3 h``; ``2時間10分`` / ``2 h 10 min``; ``1分未満`` / ``under 1 min``."""
    _check_lang(lang)
    (day, hour, minute), sep, tiny = _UNITS[lang]
    total_minutes = int(abs(value).total_seconds()) // 60
    if total_minutes == 0:
        return tiny if value else ("0分" if lang == "ja" else "0 min")
    days, rest = divmod(total_minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [(days, day), (hours, hour), (minutes, minute)]
    return sep.join(f"{n}{sep}{unit}" for n, unit in parts if n)


def deadline_verdict(*, due_at: object, met: bool | None, margin: timedelta | None, lang: str = "ja") -> str:
    """Whether a deadline was met, and by how much.

    ``margin`` is due minus done (negative when late); ``met`` None means still open.
    ``期限内（残り2時間10分）`` / ``met with 2 h 10 min to spare``; ``超過（1日3時間）`` /
    ``missed by 1 d 3 h``; ``未完了`` / ``still open``; ``期限なし`` / ``no deadline``.
    """
    _check_lang(lang)
    ja = lang == "ja"
    if due_at is None:
        return "期限なし" if ja else "no deadline"
    if met is None:
        return "未完了" if ja else "still open"
    if margin is None:
        if met:
            return "期限内" if ja else "met"
        return "超過" if ja else "missed"
    amount = format_duration(margin, lang)
    if met:
        return f"期限内（残り{amount}）" if ja else f"met with {amount} to spare"
    return f"超過（{amount}）" if ja else f"missed by {amount}"
