"""Errors shown to people: hokoku's own exceptions and the audit verification's reasons. ``key: (ja, en)``."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
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
