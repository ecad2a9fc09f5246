"""services texts: ``key: (ja, en)``."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    "channel.slack": ("Slack", "Slack"),
    "channel.email": ("メール", "email"),
    "slack.acked_line": ("✅ {name} が {when} に確認しました", "✅ {name} acknowledged at {when}"),
}
