"""core texts: ``key: (ja, en)``."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {  # hokoku/config/playbooks.py PHASE_LABELS
    "phase.detection": ("検知・分析", "Detection & analysis"),
    "phase.containment": ("封じ込め", "Containment"),
    "phase.eradication": ("根絶", "Eradication"),
    "phase.recovery": ("復旧", "Recovery"),
    "phase.post-incident": ("事後対応", "Post-incident"),
    # hokoku/config/playbooks.py _LABELS
    "playbook.articles": ("根拠条文", "Articles"),
    "playbook.immediate": ("■ 報告時に直ちに行うこと（報告者）", "■ Do at once when reporting (reporter)"),
    "playbook.steps": ("■ 対応手順", "■ Steps"),
    "playbook.phase": ("段階", "Phase"),
    "playbook.owner": ("担当", "Owner"),
    "playbook.due": ("期限", "Due"),
    "playbook.mandatory": ("必須", "mandatory"),
    "playbook.optional": ("任意", "optional"),
    "playbook.checklist": ("確認事項", "Checklist"),
    "playbook.evidence": ("記録すること", "Record"),
    "playbook.questions": ("■ 調査事項（報告書の項目）", "■ Investigation questions (report items)"),
    "playbook.prevention": ("■ 再発防止策", "■ Recurrence prevention"),
    "playbook.sep": (" ／ ", " | "),
    # articles of the regulation and the Act: 27 / 27-2 / 27-2-1
    "article.1": ("第{a}条", "Art. {a}"),
    "article.2": ("第{a}条第{b}項", "Art. {a}({b})"),
    "article.3": ("第{a}条第{b}項第{c}号", "Art. {a}({b})({c})"),
    # amounts of time; ``.one`` / ``.other`` as in CLDR plural rules (Japanese has one form)
    "unit.minutes.one": ("{n}分", "{n} minute"),
    "unit.minutes.other": ("{n}分", "{n} minutes"),
    "unit.hours.one": ("{n}時間", "{n} hour"),
    "unit.hours.other": ("{n}時間", "{n} hours"),
    "unit.days.one": ("{n}日", "{n} day"),
    "unit.days.other": ("{n}日", "{n} days"),
    "unit.business_days.one": ("{n}営業日", "{n} business day"),
    "unit.business_days.other": ("{n}営業日", "{n} business days"),
    "playbook.due_after.report": ("報告から{amount}", "{amount} after the report"),
    "playbook.due_after.previous": ("前の手順の期限から{amount}", "{amount} after the previous step's deadline"),
}
