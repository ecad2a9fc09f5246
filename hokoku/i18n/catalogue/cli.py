"""The command line's words: ``key: (ja, en)`` (one language per run: ``--lang`` or HOKOKU_LANG)."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    # hokoku report
    "cli.report.incident": ("事案番号: {incident}", "Incident: {incident}"),
    "cli.report.notified": ("通知先:", "Notified:"),
    "cli.report.notified_line": ("  - {email}（{role}、{kind}）", "  - {email} ({role}, {kind})"),
    "cli.report.do_now": ("いま直ちに行うこと:", "Do this now:"),
    "cli.report.alert_opened": (
        "{incident} を作成しました（警告 {alerts} 件）",
        "opened {incident} ({alerts} alert(s))",
    ),
    "cli.report.alert_attached": (
        "{incident} に追加しました（警告 {alerts} 件）",
        "attached to {incident} ({alerts} alert(s))",
    ),
    # hokoku tick
    "cli.tick.at": ("{at} の定期処理", "tick at {at}"),
    "cli.tick.nothing": ("  期限の来たものはありません", "  nothing due"),
    "cli.tick.nobody": ("（宛先なし）", "(nobody resolved)"),
    "cli.tick.kind.reminder": ("督促 第{number}回", "reminder #{number}"),
    "cli.tick.kind.escalation": ("エスカレーション 第{level}段階", "escalation level {level}"),
    "cli.tick.kind.overdue": ("期限超過", "overdue"),
    "cli.tick.sweep": ("  {kind}: {incident} {stage} → {who}", "  {kind}: {incident} {stage} → {who}"),
    "cli.tick.delivery": (
        "  配信 {outcome}: {channel} → {recipient}{tail}",
        "  delivery {outcome}: {channel} → {recipient}{tail}",
    ),
    # hokoku show
    "cli.show.serious": ("  特に重大", "  SERIOUS"),
    "cli.show.times": (
        "  把握: {aware}   報告: {reported}   報告者: {reporter}",
        "  first known: {aware}   reported: {reported}   reporter: {reporter}",
    ),
    "cli.show.summary": ("  概要: {summary}", "  summary: {summary}"),
    "cli.show.late": (
        "  ⚠ 報告の遅れ: 把握から{minutes}分後に報告（許容 {tolerance}、第27条第1項「直ちに」）",
        "  ⚠ late report: reported {minutes} min after awareness (tolerance {tolerance}; 27-1 says at once)",
    ),
    "cli.show.reportability": ("  委員会への報告: {summary}", "  report to the Commission: {summary}"),
    "cli.show.policy": ("  方針: {policy}（{sha}）", "  policy: {policy} ({sha})"),
    "cli.show.col.stage": ("段階", "stage"),
    "cli.show.col.article": ("条", "art."),
    "cli.show.col.owner": ("担当", "owner"),
    "cli.show.col.status": ("状態", "status"),
    "cli.show.col.due": ("期限", "due"),
    "cli.show.overdue": ("  ⚠ 期限超過", "  ⚠ OVERDUE"),
    "cli.show.failures": ("  配信失敗:", "  delivery failures:"),
    "cli.show.timeline": ("  経過:", "  timeline:"),
    "cli.stage_status.pending": ("未着手", "pending"),
    "cli.stage_status.notified": ("通知済", "notified"),
    "cli.stage_status.acknowledged": ("受領済", "acknowledged"),
    "cli.stage_status.done": ("完了", "done"),
    "cli.stage_status.skipped": ("省略", "skipped"),
    "cli.stage_status.overdue": ("期限超過", "overdue"),
    # hokoku list / outbox / steps
    "cli.list.none": ("事案はありません", "no incidents"),
    "cli.list.overdue": (" 期限超過", " OVERDUE"),
    "cli.list.row": (
        "{incident}  {status:<6} {category:<20} {division:<12} {stages}  次の期限 {due}{flag}",
        "{incident}  {status:<6} {category:<20} {division:<12} {stages}  next due {due}{flag}",
    ),
    "cli.outbox.empty": ("送信待ちの通知はありません", "outbox is empty"),
    "cli.outbox.subject": ("  件名: {subject}", "  Subject: {subject}"),
    "cli.tasks.none": ("手順はありません", "no steps"),
    "cli.tasks.row": (
        "{mark} {ref:<24} {status:<8} {phase:<14} 期限 {due}  {owner}\n    {title}",
        "{mark} {ref:<24} {status:<8} {phase:<14} due {due}  {owner}\n    {title}",
    ),
    # hokoku org
    "cli.org.head": ("{organisation}  [規律: {regime}]", "{organisation}  [regime: {regime}]"),
    "cli.org.basis": ("  報告義務の根拠: {basis}", "  basis: {basis}"),
    "cli.org.headcount": ("  人数基準: {line}", "  headcount line: {line}"),
    "cli.org.deputy": ("（代理者: {name} <{email}>）", " (deputy: {name} <{email}>)"),
    "statutory.headcount_line": (
        "本人の数が{limit}人を超える場合に報告対象",
        "reportable when more than {limit} individuals",
    ),
    # hokoku triage / reportability
    "cli.assess.head": (
        "{incident}: 個人情報保護委員会への報告 {state}（{regime}、{basis}）",
        "{incident}: statutory report to the Commission {state} (regime: {regime}; {basis})",
    ),
    "cli.assess.state.required": ("要", "REQUIRED"),
    "cli.assess.state.not_required": ("不要", "not required"),
    "cli.assess.state.undecided": ("未確定（報告対象となる可能性あり）", "UNDECIDED (possibly reportable)"),
    "cli.assess.yes": ("あり", "yes"),
    "cli.assess.no": ("なし", "no"),
    "cli.assess.unknown": ("不明", "unknown"),
    "cli.assess.facts": (
        "  事実: 要配慮個人情報 {sensitive}、財産的被害のおそれ {financial}、不正の目的 {purpose}、高度な暗号化 {encrypted}、本人の数 {people}",
        "  facts: sensitive {sensitive}, financial risk {financial}, unauthorised purpose {purpose}, encrypted {encrypted}, individuals {people}",
    ),
    "cli.assess.decision": ("  判定: {kind}（{by}、{at}）{reason}", "  decision: {kind} by {by} at {at}{reason}"),
    "cli.assess.undecided": (
        "  未確定: 不明な事実を記録する（hokoku triage）か、総括管理者が判定する（hokoku reportability --override required|not-required --reason）",
        "  undecided: record the unknown facts (hokoku triage) or the general manager decides (hokoku reportability --override required|not-required --reason)",
    ),
    "cli.assess.awaiting": (
        "  総括管理者の確認待ち（hokoku reportability --confirm | --override）",
        "  awaiting the general manager's confirmation (hokoku reportability --confirm | --override)",
    ),
    "cli.assess.deadlines": (
        "  速報の目標日: {preliminary}、確報の期限: {final}",
        "  preliminary report target: {preliminary}; final report due: {final}",
    ),
    # results of the acting verbs
    "cli.ack.done": (
        "{incident}: {stages} の受領を確認しました{started}",
        "{incident}: acknowledged {stages}{started}",
    ),
    "cli.started": ("。開始: {stages}", "; started {stages}"),
    "cli.advance.completed": (
        "{incident}: {stages} を完了しました{started}{closed}",
        "{incident}: completed {stages}{started}{closed}",
    ),
    "cli.advance.skipped": (
        "{incident}: {stages} を省略しました{started}{closed}",
        "{incident}: skipped {stages}{started}{closed}",
    ),
    "cli.advance.closed": ("。事案を終結しました", "; incident closed"),
    "cli.init.done": (
        "{home} を初期化しました\n  データベース: {database}\n  組織: {organisation}（{source}）\n  鍵ファイル: {key}、監査署名鍵: {audit_key}（{audit_key_id}）\n  監査公開鍵: {public_keys}（このホスト以外にも控えを保管してください）",
        "initialised {home}\n  database: {database}\n  organisation: {organisation} ({source})\n  key file: {key}; audit signing key {audit_key} ({audit_key_id})\n  audit public keys: {public_keys} (keep a copy off this host)",
    ),
    "cli.init.created": ("作成", "created"),
    "cli.init.kept": ("既存のものを使用", "kept"),
    "cli.audit.key_line": ("{key_id}  {status:<8} {public_key}", "{key_id}  {status:<8} {public_key}"),
    "cli.audit.checkpoint": (
        "チェックポイント seq {seq} を {file} に書きました",
        "checkpoint seq {seq} written to {file}",
    ),
    "cli.audit.rotated": (
        "監査署名鍵 {previous} -> {key_id}。公開鍵: {public_keys}",
        "audit key {previous} -> {key_id}; public keys: {public_keys}",
    ),
    "cli.deadlines.regime": ("{basis}\n", "{basis}\n"),
    "cli.deadlines.body": (
        "把握日: {aware}\n速報の目標日: {preliminary}\n確報の期限: {final}\n{rule}",
        "aware date: {aware}\npreliminary report target: {preliminary}\nfinal report due: {final}\n{rule}",
    ),
    "cli.playbook.lint_ok": ("OK: {dirs}", "OK: {dirs}"),
    "cli.alert_source.added": (
        "監視元 {source} を登録しました。トークン（この一度だけ表示）:\n{token}",
        "alert source {source} added; its token (shown once):\n{token}",
    ),
    "cli.amend.done": (
        "{incident}: 把握日時 {previous} → {aware_at}",
        "{incident}: awareness time {previous} → {aware_at}",
    ),
    "cli.amend.moved": ("\n  {stage}: 期限 {old} → {new}", "\n  {stage}: due {old} → {new}"),
    "cli.step.done": ("{incident}: {ref} を完了しました", "{incident}: {ref} done"),
    "cli.step.assigned": ("{incident}: {ref} の担当者を {owner} にしました", "{incident}: {ref} assigned to {owner}"),
    "cli.action.added": (
        "{incident}: 再発防止策 {ref}（担当 {owner}、期限 {due}）",
        "{incident}: prevention action {ref} for {owner}, due {due}",
    ),
    "cli.completed": ("。完了: {stages}", "; {stages} done"),
    "cli.notice.recorded": (
        "{incident}: 本人{count}人への通知を記録しました{completed}",
        "{incident}: notice to {count} individuals recorded{completed}",
    ),
    "cli.notice.difficult": (
        "{incident}: 通知が困難なため代替措置（{alternative}）を記録しました{completed}",
        "{incident}: notifying is difficult; alternative measure ({alternative}) recorded{completed}",
    ),
    "cli.finding.recorded": ("{incident}: {item}{question} を記録しました", "{incident}: {item}{question} recorded"),
    "cli.public_text.recorded": (
        "{incident}: 公表用の文 {field} を記録しました",
        "{incident}: public text {field} recorded",
    ),
    "cli.wrote": ("{file} に書きました", "wrote {file}"),
    "cli.db.stamped": ("移行前のスキーマを記録しました。", "stamped pre-migration schema; "),
    "cli.db.upgraded": (
        "{database}: {stamped}{old} -> {new} に更新しました",
        "{database}: {stamped}upgraded {old} -> {new}",
    ),
    "cli.db.already": ("{database}: {stamped}すでに {new} です", "{database}: {stamped}already at {new}"),
    "cli.db.empty": ("（空）", "(empty)"),
    "cli.db.current": ("{database}: 現在 {current}、最新 {head}{hint}", "{database}: at {current}; head {head}{hint}"),
    "cli.db.no_schema": ("（スキーマなし）", "(no schema)"),
    "cli.db.run_upgrade": ("（`hokoku db upgrade` を実行してください）", " (run `hokoku db upgrade`)"),
    "cli.user.password": ("パスワード: ", "password: "),
    "cli.user.password_again": ("パスワード（確認）: ", "password again: "),
    "cli.user.created": ("{user} のアカウントを作成しました", "account for {user} created"),
    "cli.user.passwd": (
        "{user} のパスワードを変更しました。{sessions}件のセッションを終了しました",
        "password of {user} changed; {sessions} session(s) ended",
    ),
    "cli.user.token_created": (
        "{user} の API トークン（id {id}、この一度だけ表示、Authorization: Bearer で使用）:\n{token}",
        "API token for {user} (id {id}; shown once; use as Authorization: Bearer):\n{token}",
    ),
    "cli.user.no_tokens": ("{user}: API トークンはありません", "{user}: no API tokens"),
    "cli.user.token_line": (
        "{id}  {prefix:<12}  {status:<8}  作成 {created}  有効期限 {expires}  最終使用 {used}",
        "{id}  {prefix:<12}  {status:<8}  created {created}  expires {expires}  last used {used}",
    ),
    "cli.token_status.active": ("有効", "active"),
    "cli.token_status.revoked": ("失効", "revoked"),
    "cli.token_status.expired": ("期限切れ", "expired"),
    "cli.user.revoked": ("{user} のトークン {id} を失効させました", "token {id} of {user} revoked"),
    "cli.user.already_revoked": (
        "{user} のトークン {id} はすでに失効しています",
        "token {id} of {user} was already revoked",
    ),
    "cli.user.disabled": (
        "アカウント {user} を無効にしました。セッション{sessions}件を終了し、トークン{tokens}件を失効させました",
        "account {user} disabled; {sessions} session(s) ended, {tokens} token(s) revoked",
    ),
    "cli.user.enabled": (
        "アカウント {user} を有効にしました（以前のトークンは失効したままです）",
        "account {user} enabled (old tokens stay revoked)",
    ),
    # the audit verification's result
    "audit.result.ok": (
        "OK: 監査記録{events}件について、ハッシュの連鎖と署名を検証しました{anchor}",
        "OK: {events} audit events, chain and signatures verified{anchor}",
    ),
    "audit.result.anchor": (
        "（署名された先頭が、チェックポイント seq {seq}（{at}、{source}）と一致）",
        " (signed head; matches checkpoint seq {seq} of {at}, {source})",
    ),
    "audit.result.failed_row": (
        "失敗: 監査記録 seq {seq}（行 id {id}）: {reason}",
        "FAILED at audit event seq {seq} (row id {id}): {reason}",
    ),
    "audit.result.failed_seq": ("失敗: 監査記録 seq {seq}: {reason}", "FAILED at audit seq {seq}: {reason}"),
    "audit.result.failed": ("失敗: {reason}", "FAILED: {reason}"),
    # hokoku demo
    "demo.title": (
        "hokoku デモ: 架空の事案が第9章の全段階を進みます（模擬時計）",
        "hokoku demo: a fictional incident through every Chapter 9 stage (simulated clock)",
    ),
    "demo.step": ("▶", ">"),
    "demo.refused": ("拒否（正しい動作）", "refused (as it should be)"),
    "demo.verify": ("監査ログの検証", "audit log verification"),
    "demo.delivered": ("  {count}件の通知を送信箱に配信しました", "  {count} message(s) delivered to the outbox"),
    "demo.stage_done": ("{stage} を {who} が完了{started}{closed}", "{stage} done by {who}{started}{closed}"),
    "demo.started": (" → {stages}", " → {stages}"),
    "demo.closed": (" → 事案を終結", " → incident closed"),
    "demo.outbox": ("送信箱: {count}件（配信済み {sent}件）", "outbox: {count} messages ({sent} delivered)"),
    "demo.ack_refused": ("{who} による受領確認: {refused}: {error}", "ack by {who}: {refused}: {error}"),
    # the demo's fictional incident
    "demo.summary": (
        "調査データ室の端末PC-17に身代金要求画面が表示された。共有フォルダ上の社会調査個票データ（約150名分）が暗号化された可能性がある。",
        "PC-17 in the survey office shows a ransom note; survey microdata (about 150 people) on the shared folder may be encrypted.",
    ),
    "demo.imm": (
        "PC-17のLANケーブルを抜いた。アカウントを停止し、共有フォルダを読み取り専用にした。",
        "Pulled PC-17's LAN cable; disabled the account; set the share read-only.",
    ),
    "demo.cont": (
        "感染端末を隔離・保全し、同一セグメントの端末を走査した。バックアップから共有フォルダを復旧した。",
        "Isolated and preserved the host, scanned the segment, restored the share from backup.",
    ),
    "demo.inv": (
        "不審メールの添付ファイルから感染。暗号化前の外部送信の痕跡は通信ログ上見当たらない。",
        "Infected via a mail attachment; network logs show no exfiltration before encryption.",
    ),
    "demo.dg": (
        "機構長に事案の内容・経緯・被害状況を報告した。",
        "Reported content, course and damage to the director-general.",
    ),
    "demo.rc": (
        "原因: マクロ付き文書の実行制限が未適用。対策: マクロ無効化のグループポリシー、標的型メール訓練。",
        "Cause: macro execution not restricted. Measures: macro-blocking group policy, phishing drills.",
    ),
    "demo.pub": ("ウェブサイトで事実関係と再発防止策を公表した。", "Published the facts and measures on the website."),
    "demo.notice": ("書面（郵送）", "letter (post)"),
    "demo.ppc_pre": (
        "個人情報保護委員会に速報を提出した（報告フォーム）。",
        "Filed the preliminary report with the Commission (report form).",
    ),
    "demo.ppc_final": (
        "個人情報保護委員会に確報を提出した（報告フォーム）。",
        "Filed the final report with the Commission (report form).",
    ),
    "demo.ppc": ("個人情報保護委員会事務局に情報提供した。", "Informed the Commission's secretariat."),
    "demo.evidence": ("記録票に記入・写真保存", "recorded on the evidence sheet with photos"),
}
