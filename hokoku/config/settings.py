"""Configuration from ``HOKOKU_*`` environment variables (pydantic-settings).

Every variable is documented in the README. Secrets are ``SecretStr`` so they never print.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_PLACEHOLDERS = {"changeme", "change-me", "secret", "xxx", "todo"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOKOKU_", extra="ignore")

    home: Path = Field(default_factory=lambda: Path.home() / ".hokoku")
    database_url: str | None = None
    secret_key: SecretStr | None = None
    #: The audit signing key (Ed25519 seeds, base64, comma-separated, first current); else the
    #: key file ``keys/audit-signing.key``. Not derived from the data key.
    audit_signing_key: SecretStr | None = None
    #: Where signed audit checkpoints are appended (default ``$HOKOKU_HOME/audit-checkpoints``).
    audit_checkpoint_dir: Path | None = None
    #: Allow ``--now`` far from the real clock on a database not made with ``init --demo``.
    allow_simulated_time: bool = False
    policy_file: Path | None = None
    playbook_dir: str | None = None
    lang: Literal["ja", "en"] = "ja"
    public_url: str = "http://127.0.0.1:8000"

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_incident_channel: str | None = None

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: Literal["none", "starttls", "ssl"] = "none"
    #: SMTP AUTH over a connection without TLS is refused unless this is set (1).
    smtp_allow_plaintext_auth: bool = False
    mail_from: str = "hokoku@localhost"

    #: Lifetime of the signed acknowledgement link in each escalation mail.
    ack_link_ttl_hours: float = Field(default=24, gt=0)
    #: A Slack (email) message not delivered this long after it was queued, or failed for good,
    #: is also sent by email (Slack). 0 turns the time-based fallback off (failures still fall back).
    fallback_after_minutes: float = Field(default=10, ge=0)
    #: How long a dispatcher's claim on an outbox row lasts without renewal (database clock). A
    #: live sender renews it while it works; a crashed one's rows return to the pool after this.
    outbox_lease_seconds: float = Field(default=60, gt=0)
    #: Self-check (hokoku.core.stall): a due item this many minutes past its time means the
    #: engine stalled; the general manager is alerted (once an hour). 0 turns the check off.
    stall_alert_minutes: float = Field(default=10, ge=0)
    #: Channel health (hokoku.services.channelhealth): a channel failing this long gets one
    #: summary alert to the general manager and the protection officers (0: off).
    channel_down_alert_minutes: float = Field(default=10, ge=0)
    #: Pinged (HTTP GET) after each healthy live sweep, so that its silence alarms a monitor elsewhere.
    heartbeat_url: str | None = None
    #: Where ``hokoku serve`` makes Prefect's local server listen (its API asks for basic auth).
    prefect_host: str = "127.0.0.1"

    @field_validator(
        "secret_key", "audit_signing_key", "slack_signing_secret", "slack_bot_token", "slack_app_token", "smtp_password"
    )
    @classmethod
    def _refuse_placeholders(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().strip().lower() in _PLACEHOLDERS:
            raise ValueError("is a placeholder; set a real secret")
        return value

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'hokoku.db'}"

    @property
    def key_file(self) -> Path:
        return self.home / "keys" / "secret.key"

    @property
    def audit_key_file(self) -> Path:
        return self.home / "keys" / "audit-signing.key"

    @property
    def checkpoint_dir(self) -> Path:
        return self.audit_checkpoint_dir or self.home / "audit-checkpoints"

    @property
    def public_keys_file(self) -> Path:
        return self.home / "audit-public-keys.json"


def load_settings(**overrides) -> Settings:
    """Settings from the environment, with explicit overrides (CLI flags) on top."""
    from pydantic import ValidationError

    from hokoku.core.exceptions import ConfigError

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        err = exc.errors()[0]
        name = "HOKOKU_" + str(err["loc"][0]).upper() if err["loc"] else "settings"
        raise ConfigError(f"{name}: {err['msg']}") from None
