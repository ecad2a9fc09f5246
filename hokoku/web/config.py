"""Settings of the web app (``HOKOKU_*`` environment variables, documented in the README)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOKOKU_", extra="ignore")

    #: Art. 13: reading more than this many incidents within the window warns the general manager.
    read_alert_threshold: int = Field(default=20, ge=1)
    read_alert_window_minutes: float = Field(default=10, gt=0)
    #: Lifetime of a web session (absolute, from sign-in).
    session_hours: float = Field(default=8, gt=0)
    #: Failed sign-ins per account and client address within the window before 429.
    login_max_failures: int = Field(default=5, ge=1)
    login_window_minutes: float = Field(default=15, gt=0)
    #: Largest request body accepted (bytes); larger ones get 413.
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)


def load_web_settings(**overrides) -> WebSettings:
    from pydantic import ValidationError

    from hokoku.exceptions import ConfigError

    try:
        return WebSettings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        err = exc.errors()[0]
        name = "HOKOKU_" + str(err["loc"][0]).upper() if err["loc"] else "settings"
        raise ConfigError(f"{name}: {err['msg']}") from None
