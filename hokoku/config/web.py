"""Settings of the web app (``HOKOKU_*`` environment variables, documented in the README)."""

from __future__ import annotations

import ipaddress

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOKOKU_", extra="ignore")

    #: Art. 13: reading more than this many incidents within the window warns the general manager.
    read_alert_threshold: int = Field(default=20, ge=1)
    read_alert_window_minutes: float = Field(default=10, gt=0)
    #: Lifetime of a web session (absolute, from sign-in).
    session_hours: float = Field(default=8, gt=0)
    #: Failed sign-ins per account and client address within the window before 429.
    login_max_failures: int = Field(default=5, ge=1, le=1_000_000)
    #: Failed sign-ins per account from any address within the window before 429.
    login_account_max_failures: int = Field(default=20, ge=1, le=1_000_000)
    login_window_minutes: float = Field(default=15, gt=0, le=525_600)
    #: Lifetime of a new personal API token, in days.
    token_days: int = Field(default=90, ge=1, le=3650)
    #: Reverse proxies (addresses or CIDRs, comma-separated) whose X-Forwarded-For is believed.
    trusted_proxies: str = ""
    #: Largest request body accepted (bytes); larger ones get 413.
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        for part in (p.strip() for p in value.split(",")):
            if part:
                try:
                    ipaddress.ip_network(part, strict=False)
                except ValueError:
                    raise ValueError(f"{part!r} is not an IP address or CIDR network") from None
        return value

    @property
    def proxy_networks(self) -> tuple:
        return tuple(
            ipaddress.ip_network(p.strip(), strict=False) for p in self.trusted_proxies.split(",") if p.strip()
        )


def load_web_settings(**overrides) -> WebSettings:
    from pydantic import ValidationError

    from hokoku.core.exceptions import ConfigError

    try:
        return WebSettings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        err = exc.errors()[0]
        name = "HOKOKU_" + str(err["loc"][0]).upper() if err["loc"] else "settings"
        raise ConfigError(f"{name}: {err['msg']}") from None
