"""Fixed wording the drafts share across kinds and formats, in Japanese and English.

Prose belongs to the templates (``templates/documents/<lang>/``); this module holds the short
labels that several templates, and Python code that builds the drafts' context, need alike:
the nine report items, status names, the regimes' legal bases.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

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

_JA: dict[str, Any] = {
    "unknown": "現時点で未確定",
    "none": "—",
    "yes": "あり",
    "no": "なし",
    "field": "項目",
    "value": "内容",
    "draft_notice": (
        "本書は事案管理システムが事案の記録から自動作成した下書きです。"
        "提出・公表の前に、責任者が内容を確認し、必要な修正を加えてください。"
    ),
    "draft": "下書き",
    "incident_id": "事案番号",
    "generated_at": "作成日時",
    "diff_head": "速報 → 確報",
    "item_titles": {
        "summary": "概要",
        "data_items": "漏えい等が発生し、又は発生したおそれがある個人データ（保有個人情報）の項目",
        "individuals": "本人の数",
        "cause": "原因",
        "secondary_damage": "二次被害又はそのおそれの有無及びその内容",
        "individual_response": "本人への対応の実施状況",
        "publication": "公表の実施状況",
        "prevention": "再発防止のための措置",
        "other": "その他参考となる事項",
    },
    "regime": {
        "administrative_body": "行政機関等",
        "business_like": "個人情報取扱事業者と同様の規律に服する法人",
    },
    "stage_status": {
        "pending": "未着手",
        "notified": "対応待ち",
        "acknowledged": "対応中",
        "done": "完了",
        "skipped": "省略",
        "overdue": "期限超過",
    },
    "action_status": {"open": "実施中", "done": "実施済", "overdue": "実施中（期限超過）"},
    "incident_status": {"open": "対応中", "closed": "終結"},
    "diff_status": {
        "unchanged": "変更なし",
        "changed": "変更あり",
        "new": "新たに判明",
        "removed": "記載なし（速報には記載あり）",
        "unknown": "引き続き未確定",
    },
    "decision": {
        "confirmed": "判定を確認",
        "override_required": "判定を変更（報告を要する）",
        "override_not_required": "判定を変更（報告を要しない）",
    },
    "exempt_reason": {
        "high_grade_encryption": "高度な暗号化その他の個人の権利利益を保護するために必要な措置が講じられている",
    },
    "work_status": {
        "done": "実施済",
        "in_progress": "実施中",
        "not_done": "未実施",
        "unknown": "未確定",
        "skipped": "実施しない",
    },
    "status_line": "実施状況：{status}",
    "gap": "【未記入：{field}】",
    "public_fields": {
        "summary": "公表用の概要",
        "discovery": "発覚の経緯",
        "cause": "公表用の原因",
        "secondary_damage": "二次被害又はそのおそれ（公表用）",
        "measures": "本人向けの対応・講じた措置",
        "prevention": "公表用の再発防止策",
        "other": "その他参考となる事項（公表用）",
    },
    "data_items_field": "個人情報の項目（保護管理者が確認したもの）",
    "individuals_note": "（算定方法等）{text}",
    "headcount": "{count}人",
    "estimated": "（推計）",
    "occurred_at": "発生日時",
    "discovery": "発覚の経緯",
    "aware_at": "事態を知った日時",
    "discovered_by": {
        "staff": "当機構の職員が発見し、個人情報の保護管理者に報告しました。",
        "contractor": "業務の委託先から当機構に報告がありました。",
        "alert": "当機構の監視システムが検知しました。",
    },
    "notice_line": "{when}　{count}人に{method}により通知",
    "notice_substitute": "（通知が困難な方への代替措置：{substitute}）",
    "published_on": "（{when}公表）",
    "notice_methods": {
        "letter": "郵送",
        "post": "郵送",
        "mail": "郵送",
        "email": "電子メール",
        "e-mail": "電子メール",
        "phone": "電話",
        "telephone": "電話",
        "hand": "手渡し",
        "visit": "訪問",
        "web": "ウェブサイトへの掲載",
    },
    "contact_person": "担当者",
    "events": {
        "incident.reported": "事案を報告した",
        "tasks.created": "対応手順が登録された",
        "stage.started": "「{stage}」が始まった",
        "stage.acknowledged": "「{stage}」の受領を確認した",
        "stage.done": "「{stage}」を完了した",
        "stage.skipped": "「{stage}」を行わないこととした",
        "stage.reminder": "「{stage}」について督促した",
        "stage.escalation": "「{stage}」について上位者に連絡した",
        "stage.overdue": "「{stage}」が期限を過ぎた",
        "ack": "受領を確認した",
        "ack.refused": "受領の確認を受け付けなかった",
        "step.done": "手順「{step}」を完了した",
        "step.assigned": "手順「{step}」の担当者を指定した",
        "step.due_soon": "手順「{step}」の期限が近いことを通知した",
        "step.overdue": "手順「{step}」が期限を過ぎた",
        "step.reminder": "手順「{step}」について督促した",
        "prevention.added": "再発防止の措置を登録した",
        "prevention.done": "再発防止の措置を完了した",
        "prevention.assigned": "再発防止の措置の担当者を指定した",
        "prevention.due_soon": "再発防止の措置の期限が近いことを通知した",
        "prevention.overdue": "再発防止の措置が期限を過ぎた",
        "incident.triaged": "報告対象となる事態に該当するかを確認した",
        "reportability.decided": "個人情報保護委員会への報告の要否を判定した",
        "finding.recorded": "報告事項「{field}」を記録した",
        "public_text.recorded": "「{field}」を記録した",
        "notice.recorded": "本人への通知を記録した",
        "incident.closed": "事案を終結した",
        "incident.reopened": "事案の対応を再開した",
        "alert.attached": "監視システムの警告を追加した",
        "incident.viewed": "事案を閲覧した",
        "access.denied": "閲覧を拒否された",
    },
    "event_other": "記録を更新した",
    "timeline_sentence": "{when}　{actor}が{what}。",
    "timeline_sentence_system": "{when}　{what}。",
    "system_actor": "システム",
    "open_questions": {
        "item": "{title}：現時点で未確定",
        "no_triage": "報告対象となる事態に該当するか（トリアージ未実施）",
        "no_decision": "総括管理者による報告要否の判定（未了）",
        "estimated": "本人の数は{count}であり、確定していない",
        "stage": "{article} {title}：{status}",
    },
}

_EN: dict[str, Any] = {
    "unknown": "Not yet established",
    "none": "—",
    "yes": "yes",
    "no": "no",
    "field": "Item",
    "value": "Details",
    "draft_notice": (
        "Draft generated by hokoku from the incident record. The responsible people "
        "must check and correct it before it is submitted or published."
    ),
    "draft": "Draft",
    "incident_id": "Incident",
    "generated_at": "Generated",
    "diff_head": "Preliminary → final",
    "item_titles": {
        "summary": "Summary",
        "data_items": "Items of personal data (retained personal information) leaked, lost or damaged, or possibly so",
        "individuals": "Number of individuals",
        "cause": "Cause",
        "secondary_damage": "Secondary damage or risk of it, and its nature",
        "individual_response": "Response to the individuals concerned",
        "publication": "Publication",
        "prevention": "Measures to prevent recurrence",
        "other": "Other relevant matters",
    },
    "regime": {
        "administrative_body": "Administrative body",
        "business_like": "Body subject to the rules for businesses",
    },
    "stage_status": {
        "pending": "not started",
        "notified": "awaiting owner",
        "acknowledged": "in progress",
        "done": "done",
        "skipped": "skipped",
        "overdue": "overdue",
    },
    "action_status": {"open": "in progress", "done": "done", "overdue": "in progress (overdue)"},
    "incident_status": {"open": "open", "closed": "closed"},
    "diff_status": {
        "unchanged": "unchanged",
        "changed": "changed",
        "new": "newly established",
        "removed": "no longer stated (was in the preliminary report)",
        "unknown": "still not established",
    },
    "decision": {
        "confirmed": "assessment confirmed",
        "override_required": "assessment overridden: report required",
        "override_not_required": "assessment overridden: report not required",
    },
    "exempt_reason": {
        "high_grade_encryption": "the data was protected by high-grade encryption or an equivalent measure",
    },
    "work_status": {
        "done": "done",
        "in_progress": "in progress",
        "not_done": "not done",
        "unknown": "not yet established",
        "skipped": "will not be done",
    },
    "status_line": "Status: {status}",
    "gap": "[Not yet written: {field}]",
    "public_fields": {
        "summary": "public summary",
        "discovery": "how it was discovered",
        "cause": "public cause",
        "secondary_damage": "secondary damage (public)",
        "measures": "measures for the people affected",
        "prevention": "public recurrence prevention",
        "other": "other relevant matters (public)",
    },
    "data_items_field": "data items (confirmed by the protection manager)",
    "individuals_note": "(how it was counted) {text}",
    "headcount": "{count}",
    "estimated": " (estimated)",
    "occurred_at": "Occurred",
    "discovery": "How it was discovered",
    "aware_at": "Became aware",
    "discovered_by": {
        "staff": "A member of our staff discovered it and reported it to the protection manager.",
        "contractor": "A contractor reported it to us.",
        "alert": "Our monitoring detected it.",
    },
    "notice_line": "{when}: {count} notified by {method}",
    "notice_substitute": " (alternative measure for those who could not be notified: {substitute})",
    "published_on": " (published {when})",
    "notice_methods": {},
    "contact_person": "Contact person",
    "events": {
        "incident.reported": "reported the incident",
        "tasks.created": "the response steps were set up",
        "stage.started": "“{stage}” began",
        "stage.acknowledged": "acknowledged “{stage}”",
        "stage.done": "completed “{stage}”",
        "stage.skipped": "decided not to do “{stage}”",
        "stage.reminder": "sent a reminder for “{stage}”",
        "stage.escalation": "escalated “{stage}”",
        "stage.overdue": "“{stage}” became overdue",
        "ack": "acknowledged",
        "ack.refused": "refused an acknowledgement",
        "step.done": "completed the step “{step}”",
        "step.assigned": "assigned the step “{step}”",
        "step.due_soon": "the step “{step}” is due soon",
        "step.overdue": "the step “{step}” became overdue",
        "step.reminder": "sent a reminder for the step “{step}”",
        "prevention.added": "added a recurrence-prevention measure",
        "prevention.done": "completed a recurrence-prevention measure",
        "prevention.assigned": "assigned a recurrence-prevention measure",
        "prevention.due_soon": "a recurrence-prevention measure is due soon",
        "prevention.overdue": "a recurrence-prevention measure became overdue",
        "incident.triaged": "assessed whether the case is reportable",
        "reportability.decided": "decided whether to report to the Commission",
        "finding.recorded": "recorded the report item “{field}”",
        "public_text.recorded": "recorded the “{field}”",
        "notice.recorded": "recorded notices to individuals",
        "incident.closed": "closed the incident",
        "incident.reopened": "reopened the incident",
        "alert.attached": "attached a monitoring alert",
        "incident.viewed": "viewed the incident",
        "access.denied": "was refused access",
    },
    "event_other": "updated the record",
    "timeline_sentence": "{when}: {actor} {what}.",
    "timeline_sentence_system": "{when}: {what}.",
    "system_actor": "the system",
    "open_questions": {
        "item": "{title}: not yet established",
        "no_triage": "Whether the case is reportable (no triage recorded yet)",
        "no_decision": "The general manager's decision on reporting (not yet made)",
        "estimated": "The number of individuals, {count}, is an estimate",
        "stage": "{article} {title}: {status}",
    },
}


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    return value


LABELS: Mapping[str, Mapping[str, Any]] = MappingProxyType({"ja": _freeze(_JA), "en": _freeze(_EN)})
"""``LABELS[lang][name]``; nested tables such as ``LABELS["ja"]["item_titles"]["cause"]``."""
