"""Texts the services put into messages and Slack: channels, action buttons, stall labels. ``key: (ja, en)``."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    "channel.slack": ("Slack", "Slack"),
    "channel.email": ("メール", "email"),
    "slack.acked_line": ("✅ {name} が {when} に確認しました", "✅ {name} acknowledged at {when}"),
    # the buttons of a Slack message
    "action.acknowledge": ("受領確認", "Acknowledge"),
    "action.mark_done": ("完了にする", "Mark done"),
    "action.open": ("hokoku で開く", "Open in hokoku"),
    "action.link": ("受領確認（ブラウザ）", "Acknowledge (browser)"),
    # what the stall alert found late
    "stall.stage": ("段階（催促・エスカレーション・期限超過の判定）", "Stages (reminders, escalations, overdue marks)"),
    "stall.task": ("手順・再発防止策の期限", "Playbook steps and prevention actions"),
    "stall.notification": ("未配信の通知", "Undelivered notifications"),
}
