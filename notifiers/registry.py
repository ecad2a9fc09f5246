"""Build the notifiers the settings configure; the outbox notifier is always there."""

from __future__ import annotations

from hokoku.notifiers.base import Notifier
from hokoku.notifiers.outbox import OutboxNotifier


def build_notifiers(settings) -> dict[str, Notifier]:
    notifiers: dict[str, Notifier] = {"outbox": OutboxNotifier()}
    if settings.slack_bot_token:
        from hokoku.notifiers.slack import SlackNotifier

        notifiers["slack"] = SlackNotifier(
            settings.slack_bot_token.get_secret_value(),
            base_url=settings.slack_api_url,
            incident_channel=settings.slack_incident_channel,
        )
    if settings.smtp_host:
        from hokoku.notifiers.email import EmailNotifier, PlaintextAuthRefused

        try:
            notifiers["email"] = EmailNotifier(
                settings.smtp_host,
                settings.smtp_port,
                security=settings.smtp_security,
                username=settings.smtp_username,
                password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
                mail_from=settings.mail_from,
                allow_plaintext_auth=settings.smtp_allow_plaintext_auth,
            )
        except PlaintextAuthRefused as exc:
            from hokoku.core.exceptions import ConfigError

            raise ConfigError(str(exc)) from None
    return notifiers
