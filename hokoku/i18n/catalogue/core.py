"""The pure core's words: phases, articles, units, roles, statutory prose, playbook labels. ``key: (ja, en)``."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    # the phases of a playbook step
    "phase.detection": ("検知・分析", "Detection & analysis"),
    "phase.containment": ("封じ込め", "Containment"),
    "phase.eradication": ("根絶", "Eradication"),
    "phase.recovery": ("復旧", "Recovery"),
    "phase.post-incident": ("事後対応", "Post-incident"),
    # `hokoku playbook show`
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
    # statutory duties (hokoku.core.statutory): regimes, grounds, facts, the reportability summary
    "sentence.end": ("。", "."),
    "statutory.basis.administrative_body": (
        "個人情報保護法第{act}条第1項、個人情報保護法施行規則第{rules}条（報告対象となる事態）・第{report}条（報告事項）",
        "APPI Art. {act}(1); PPC Rules Art. {rules} (reportable cases) and Art. {report} (report)",
    ),
    "statutory.basis.business_like": (
        "個人情報保護法第{act}条第1項（第58条第1項・第125条により適用）、個人情報保護法施行規則第{rules}条（報告対象となる事態）・第{report}条（報告事項）",
        "APPI Art. {act}(1) (applied by Art. 58(1) and Art. 125); PPC Rules Art. {rules} (reportable cases) and Art. {report} (report)",
    ),
    "statutory.regime.administrative_body": (
        "行政機関等（個人情報保護法第{act}条）",
        "administrative body (APPI Art. {act})",
    ),
    "statutory.regime.business_like": (
        "個人情報取扱事業者と同様の規律（個人情報保護法第{act}条）",
        "business-like body (APPI Art. {act})",
    ),
    "statutory.citation": (
        "個人情報保護法施行規則第{article}条第{item}号（{what}）",
        "PPC Rules Art. {article}({item}) ({what})",
    ),
    "statutory.ground.sensitive": ("要配慮個人情報", "sensitive personal information"),
    "statutory.ground.financial": (
        "不正利用により財産的被害が生じるおそれ",
        "risk of financial damage from unauthorised use",
    ),
    "statutory.ground.unauthorized_purpose": (
        "不正の目的をもって行われたおそれ",
        "possibly done for an unauthorised purpose",
    ),
    "statutory.ground.headcount": ("本人の数が{limit}人を超える", "more than {limit} individuals"),
    "statutory.fact.sensitive": ("要配慮個人情報の有無", "sensitive personal information"),
    "statutory.fact.financial_risk": ("財産的被害のおそれの有無", "risk of financial damage"),
    "statutory.fact.unauthorized_purpose": ("不正の目的によるおそれの有無", "unauthorised purpose"),
    "statutory.fact.individuals": ("本人の数", "number of individuals"),
    "statutory.fact.encrypted": ("高度な暗号化等の措置の有無", "high-grade encryption"),
    "statutory.cite_sep": ("、", "; "),
    "statutory.reason_sep": ("・", ", "),
    "statutory.summary.required": (
        "個人情報保護委員会への報告が必要（{regime}）：{cited}。",
        "Report to the PPC required ({regime}): {cited}.",
    ),
    "statutory.summary.undecided": (
        "報告要否は未確定（{regime}）：{missing}が判明していない。報告対象となる可能性があるものとして扱い、速報・確報の期限は把握時点から進行する。",
        "Undecided ({regime}): not yet known: {missing}. Treated as possibly reportable: the preliminary and final report clocks run from awareness.",
    ),
    "statutory.summary.would_apply": ("該当し得る事態：{cited}。", " Would apply: {cited}."),
    "statutory.summary.exempt": (
        "個人情報保護委員会への報告は不要（{regime}）：高度な暗号化等の措置が講じられており、全ての事態が除外される",
        "No report to the PPC required ({regime}): the data was protected by high-grade encryption, which exempts every case",
    ),
    "statutory.summary.exempt_cited": ("（除外がなければ該当：{cited}）。", " (would otherwise apply: {cited})."),
    "statutory.summary.not_required": (
        "個人情報保護委員会への報告は不要（{regime}）：個人情報保護法施行規則第{article}条第1号から第4号までのいずれにも該当しない。",
        "No report to the PPC required ({regime}): no case in PPC Rules Art. {article} items 1–4 applies.",
    ),
    "statutory.summary.people": ("本人の数：{people}。", " Individuals: {people}."),
    "statutory.people.unknown": ("不明", "unknown"),
    "statutory.people.count": ("{count}人", "{count}"),
    "statutory.people.estimated": ("（推計）", " (estimated)"),
    "statutory.rule.preliminary": (
        "速報は速やかに（委員会ガイドライン：おおむね3〜5日以内）：把握日（{aware}、日本時間）の{days}日後の{target}を目標とする（土日祝日による繰り延べはしない）。",
        "Preliminary report promptly (PPC guidance: roughly 3–5 days): target {days} days after the awareness date {aware} (Japan time), i.e. {target}; not moved for weekends or holidays.",
    ),
    "statutory.rule.unauthorized_case": ("（不正の目的によるおそれがある事態）", " (unauthorised-purpose case)"),
    "statutory.rule.final_head": (
        "確報は{count}日以内{case}：把握日（{aware}、日本時間）を1日目として{count}日目は{nominal}。",
        "Final report within {count} days{case}: the awareness date {aware} (Japan time) is day 1, so day {count} is {nominal}.",
    ),
    "statutory.rule.final_kept": (
        "土曜日・日曜日・祝日・年末年始の閉庁日のいずれにも当たらないため、期限は{due}。",
        " It is not a Saturday, Sunday, national holiday or year-end closure day, so the final report is due {due}.",
    ),
    "statutory.rule.skipped_sep": ("、", "; "),
    "statutory.rule.final_moved": (
        "{first}のため、土曜日・日曜日・祝日・年末年始の閉庁日のいずれでもない翌日以降の日に繰り延べ（{skipped}）→ {due}",
        " That day is not a business day ({first}), so the due date moves to the next day that is not a Saturday, Sunday, national holiday or year-end closure day (skipped: {skipped}) → {due}.",
    ),
    # roles of the regulation (hokoku.core.roles)
    "role.director_general": ("機構長", "Director-General"),
    "role.general_manager": ("総括管理者", "General Manager"),
    "role.audit_officer": ("監査責任者", "Audit Officer"),
    "role.institute_manager": ("研究所等管理者", "Institute Manager"),
    "role.protection_manager": ("保護管理者", "Protection Manager"),
    "role.protection_officer": ("保護担当者", "Protection Officer"),
    "role.staff": ("職員等", "Staff"),
    "role.reporter": ("報告者", "Reporter"),
    "role.deputy": ("代理者", "Deputy"),
    "statutory.rule.notice": (
        "個人情報保護法第{act}条第2項：報告対象となる事態では本人に通知する（困難な場合は、本人の権利利益を保護するため必要な代替措置）。目標期限は把握時点から{deadline}（内規）。",
        "APPI Art. {act}(2): when the incident is reportable the individuals concerned are notified (where that is difficult, an alternative measure protects them). Policy target: {deadline} from awareness.",
    ),
    "statutory.set_aside": ("報告不要と判断（総括管理者）", "decided not reportable (general manager)"),
    # the status of a stage of the chain (hokoku.core.chain)
    "stage_status.pending": ("未開始", "not started"),
    "stage_status.notified": ("通知済み・未確認", "notified, not acknowledged"),
    "stage_status.acknowledged": ("受領確認済み", "acknowledged"),
    "stage_status.overdue": ("期限超過", "overdue"),
    "stage_status.done": ("完了", "done"),
    "stage_status.skipped": ("省略", "skipped"),
}
