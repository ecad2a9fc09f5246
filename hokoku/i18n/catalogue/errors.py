"""Errors shown to people: hokoku's own exceptions and the audit verification's reasons. ``key: (ja, en)``."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    # a field's problem: "<field>: <problem>"
    "err.field": ("{name}: {error}", "{name}: {error}"),
    "err.as_is": ("{error}", "{error}"),
    "err.date.format": (
        "{what}: {value} は日付（YYYY-MM-DD）ではありません",
        "{what}: {value} is not a date (YYYY-MM-DD)",
    ),
    "err.whole_number": ("{what}: {value} は整数ではありません", "{what}: {value} is not a whole number"),
    "err.at_most": ("{what}: {limit}以下で入力してください", "{what}: at most {limit}"),
    "err.not_negative": ("{what}: 0以上で入力してください", "{what}: must be 0 or more"),
    "err.one_of": ("{what}: {value} は次のいずれでもありません: {choices}", "{what}: {value} is not one of {choices}"),
    "err.reason.skip": ("{what}: 段階を省略するには理由が必要です", "{what}: skipping a stage needs a reason"),
    "err.reason.override": ("{what}: 判定を変更するには理由が必要です", "{what}: an override needs a reason"),
    "err.reason.amend": (
        "{what}: 把握日時を訂正する理由を書いてください",
        "{what}: say why the awareness time is corrected",
    ),
    "err.too_long": (
        "{what}: 長すぎます（{n}文字、上限{limit}文字）",
        "{what}: too long ({n} characters; at most {limit})",
    ),
    # times given on the command line or in a form
    "err.time.format": (
        "{what}: {value} は ISO 8601 形式の日時ではありません（例: 2026-12-01T10:00:00+09:00）",
        "{what}: {value} is not an ISO 8601 time (e.g. 2026-12-01T10:00:00+09:00)",
    ),
    "err.time.range": (
        "{what}: {value} は範囲外です（{first}年〜{last}年）",
        "{what}: {value} is out of range (years {first}–{last})",
    ),
    # a report (CLI, web form, API)
    "err.report.summary_empty": (
        "{what}: 概要が空です。何が起きたかを書いてください",
        "{what}: the summary is empty; say what happened",
    ),
    "err.report.summary_missing": ("{what}: 何が起きたかを書いてください", "{what}: say what happened"),
    "err.report.division_missing": (
        "{what}: 情報を管理する課室等を選んでください",
        "{what}: choose the division that manages the information",
    ),
    "err.report.category_missing": ("{what}: 事案の種類を選んでください", "{what}: choose the kind of incident"),
    "err.report.aware_future": (
        "{what}: 最初に気づいた日時が未来になっています",
        "{what}: the time first known is in the future",
    ),
    "err.report.occurred_future": (
        "{what}: 発生した日時が未来になっています",
        "{what}: the time it happened is in the future",
    ),
    "err.report.occurred_after": (
        "{what}: 発生した日時が、最初に気づいた日時より後になっています",
        "{what}: the time it happened is after the time it was first known",
    ),
    "err.report.individuals": (
        "{what}: 0から{limit}までの整数で入力してください",
        "{what}: must be a whole number from 0 to {limit}",
    ),
    # names that do not exist
    "err.unknown.category": (
        "事案の種類 {value} はありません（種類: {known}）",
        "unknown category {value} (categories: {known})",
    ),
    "err.unknown.person": ("{value} は組織ファイルにいません", "unknown person {value}: not in the organisation file"),
    "err.unknown.incident": ("事案 {value} はありません", "unknown incident {value}"),
    "err.unknown.division": ("課室等 {value} はありません", "unknown division {value}"),
    "err.unknown.division_known": (
        "課室等 {value} はありません（登録されているもの: {known}）",
        "unknown division {value} (known: {known})",
    ),
    "err.unknown.stage": ("段階 {value} はありません（段階: {known}）", "unknown stage {value} (stages: {known})"),
    "err.unknown.step": (
        "プレイブック {playbook} に手順 {value} はありません（手順: {known}）",
        "no step {value} in playbook {playbook} (steps: {known})",
    ),
    "err.stage.ambiguous": (
        "段階 {value} は複数に当たります: {codes}。コードで指定してください",
        "stage {value} is ambiguous: {codes}; use the code",
    ),
    # transitions the chain refuses (hokoku.core.chain)
    "err.stage.started": ("段階 {code} はすでに始まっています", "stage {code} has already started"),
    "err.stage.due_fixed": (
        "段階 {code} は「{status}」のため、期限を変更できません",
        "stage {code} is {status}; its due time cannot move",
    ),
    "err.stage.not_started": (
        "段階 {code} はまだ始まっていないため、受領確認できません",
        "stage {code} has not started yet; nothing to acknowledge",
    ),
    "err.stage.already": ("段階 {code} はすでに「{status}」です", "stage {code} is already {status}"),
    "err.stage.already_acked": (
        "段階 {code} はすでに {by} が受領確認しています",
        "stage {code} was already acknowledged by {by}",
    ),
    "err.stage.statutory_skip": (
        "段階 {code} は法令上の義務のため省略できません。完了するか、総括管理者が報告不要と判定したときに終わります（hokoku reportability）",
        "stage {code} is a statutory duty and cannot be skipped: it ends when it is done, or when the general manager decides that no report is required (hokoku reportability)",
    ),
    "err.stage.no_skip": (
        "段階 {code}（{article}）は方針により省略できません",
        "stage {code} ({article}) cannot be skipped under the policy",
    ),
    "err.stage.skip_reason": (
        "段階 {code} を省略するには理由が必要です（--skip-reason）",
        "skipping stage {code} needs a reason (--skip-reason)",
    ),
    "err.stage.by_intake": ("段階 {code} は報告そのもので完了します", "stage {code} is completed by the report itself"),
    "err.stage.by_assessment": (
        "段階 {code} は報告要否の判定で完了します。事実を記録する（hokoku triage）か、総括管理者が判定してください（hokoku reportability）",
        "stage {code} is completed when the reportability assessment is decided: record the facts (hokoku triage) or the general manager's decision (hokoku reportability)",
    ),
    "err.stage.by_notice": (
        "段階 {code} は本人への通知の記録で完了します: hokoku notice add ... --complete、又は hokoku notice difficult ...（通知が困難で代替措置をとった場合）",
        "stage {code} is completed by notice records: hokoku notice add ... --complete, or hokoku notice difficult ... (notifying is difficult and the alternative measure taken)",
    ),
    "err.stage.before": (
        "段階 {code} は {open} が完了するまで完了できません",
        "stage {code} cannot be completed before {open} is done",
    ),
    "err.stage.before_start": (
        "段階 {code} は始まる前に完了できません",
        "stage {code} cannot be completed before it starts",
    ),
    "err.stage.not_entitled": (
        "{actor} は段階 {code} を{verb}できません。できるのは担当者（{owners}）、代理者又はエスカレーション先の者です",
        "{actor} may not {verb} stage {code}: only its owner ({owners}), a deputy or someone on its escalation ladder may",
    ),
    "err.verb.acknowledge": ("受領確認", "acknowledge"),
    "err.verb.complete": ("完了", "complete"),
    "err.verb.skip": ("省略", "skip"),
    "err.nobody": ("なし", "nobody"),
    # the command line's own checks
    "err.cli.simulated_time": (
        "{what}: 模擬時刻はデモ用のデータベースでのみ使えます（又は HOKOKU_ALLOW_SIMULATED_TIME=1 を設定）",
        "{what}: simulated time is only for demo databases (or set HOKOKU_ALLOW_SIMULATED_TIME=1)",
    ),
    "err.cli.no_audit": (
        "監査ログが空です: チェックポイントを作るものがありません",
        "the audit log is empty: nothing to checkpoint",
    ),
    "err.cli.public_text_as": (
        "{what}: 公表用の文を書く人（事案の責任者のメールアドレス）を指定してください",
        "{what}: say who writes the public text (an incident manager's email)",
    ),
    "err.cli.public_text_field": (
        "{what}: どの公表用の文かを指定してください（summary、discovery、cause など）",
        "{what}: say which public text (summary, discovery, cause, ...)",
    ),
    "err.cli.docx_out": (
        "{what}: Word 文書には書き出すファイルが必要です（--out FILE.docx）",
        "{what}: a Word document needs a file to write (--out FILE.docx)",
    ),
    "err.cli.password_differs": ("password: 2回の入力が一致しません", "password: the two entries differ"),
    "err.cli.token_usage": (
        "使い方: hokoku user token [create] EMAIL | list EMAIL | revoke ID|PREFIX",
        "usage: hokoku user token [create] EMAIL | list EMAIL | revoke ID|PREFIX",
    ),
    "err.fact": (
        "{what}: {value} は yes、no、unknown のいずれでもありません",
        "{what}: {value} is not yes, no or unknown",
    ),
    # why the audit chain does not verify (hokoku.security.audit.verify)
    "audit.why.checkpoint_key": (
        "チェックポイント {source} は監査鍵 {key} で署名されていますが、この鍵は信頼する公開鍵にありません（公開鍵ファイルが差し替えられた可能性）",
        "checkpoint {source} was signed by audit key {key}, which is not among the trusted public keys (public-key file replaced?)",
    ),
    "audit.why.checkpoint_signature": (
        "チェックポイント {source}: 署名を検証できません",
        "checkpoint {source}: signature does not verify",
    ),
    "audit.why.seq_missing": (
        "記録 seq {seq} がありません（削除された可能性）",
        "event seq {seq} is missing (deleted?)",
    ),
    "audit.why.seq_order": ("記録 seq {seq} の順序が正しくありません", "event seq {seq} is out of order"),
    "audit.why.chain": ("前の記録とのハッシュの連鎖が一致しません", "prev_hash does not match the previous event"),
    "audit.why.edited": (
        "内容がハッシュと一致しません（改変されています）",
        "content does not match its hash (edited)",
    ),
    "audit.why.untrusted_key": (
        "鍵 {key} で署名されていますが、この鍵は信頼する公開鍵にありません",
        "signed by key {key}, which is not among the trusted public keys",
    ),
    "audit.why.inactive_key": (
        "鍵 {key} で署名されていますが、この時点で有効な監査鍵は {active} です",
        "signed by key {key}, but the chain's active audit key is {active}",
    ),
    "audit.why.signature": ("署名を検証できません", "signature does not verify"),
    "audit.why.untrusted_new_key": (
        "監査鍵 {key} を導入していますが、この鍵は信頼する公開鍵にありません",
        "introduces audit key {key}, which is not among the trusted public keys",
    ),
    "audit.why.diverges": (
        "記録の連鎖が seq {seq} でチェックポイント {source}（{at}）と食い違っています（履歴が書き換えられた可能性）",
        "the chain diverges from checkpoint {source} of {at} at seq {seq} (history rewritten?)",
    ),
    "audit.why.ends_early": (
        "記録の連鎖が seq {last} で終わっており、チェックポイント {source}（{at}、seq {seq}）より前です: 記録が削除されています",
        "the chain ends at seq {last}, before checkpoint {source} of {at} at seq {seq}: events were deleted",
    ),
    "audit.why.head_missing": ("監査ログの先頭（head）がありません", "the audit head is missing"),
    "audit.why.head_missing_empty": (
        "監査ログの先頭（head）がなく、ログも空です（消去された可能性）",
        "the audit head is missing and the log is empty (wiped?)",
    ),
    "audit.why.head_mismatch": (
        "最後の記録が削除されています（先頭が一致しません）",
        "the last events were deleted (head does not match)",
    ),
    "audit.why.head_unsigned": ("監査ログの先頭に署名がありません", "the audit head is unsigned"),
    "audit.why.head_key": (
        "監査ログの先頭は {key} で署名されていますが、有効な監査鍵は {active} です",
        "the audit head is signed by {key}, not by the chain's active audit key {active}",
    ),
    "audit.why.head_signature": ("監査ログの先頭の署名を検証できません", "the audit head's signature does not verify"),
}
