"""One typed settings object, read from OPSKNIGHT_* environment variables."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting of SPEC §12; CLI flags override the environment."""

    model_config = SettingsConfigDict(env_prefix="OPSKNIGHT_", extra="ignore")

    database_url: str = "sqlite://opsknight.db"
    redis_url: str | None = None
    # Keys in Redis start with this, so several installations (or test runs) can share one.
    redis_prefix: str = "opsknight"
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    rate_limits: str = "events=100/60,read=300/60,write=100/60"
    webhook_allow_private: bool = False
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # A request's headers must arrive within this, its body within body_timeout_seconds.
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    body_timeout_seconds: float = Field(default=30.0, gt=0)
    # Request bodies being received, all requests together, held in memory at most.
    max_pending_body_bytes: int = Field(default=64 * 1_048_576, ge=1024)
    # Where pages by email go out: smtp://user:pass@host:587?starttls=true, or smtps://…
    smtp_url: str | None = None
    smtp_from: str = "OpsKnight <opsknight@localhost>"
    # Apprise schemes users may save for chat, SMS and push (comma-separated; empty: any).
    notify_schemes: str = ""
    # The address people reach this server at, for the links in pages.
    public_url: str = "http://127.0.0.1:8080"
    # How long the acknowledge / resolve links in a page work.
    link_ttl_hours: float = Field(default=24.0, gt=0)
    # Proxies whose X-Forwarded-For is believed (addresses or networks, comma-separated).
    trusted_proxies: str = ""
    log_level: str = "INFO"
    time_scale: float = Field(default=1.0, gt=0)
    # How often the sweeper looks for due work a job missed (ended snoozes, escalation
    # steps, deliveries), in real seconds.
    sweep_seconds: float = Field(default=2.0, gt=0)
    # How long the audit log keeps its entries.
    audit_retention_days: int = Field(default=365, ge=1)
    # With Redis: also run a job worker inside `serve` (`serve --with-worker`).
    with_worker: bool = False
    # `opsknight worker` serves its own Prometheus metrics on this port (on `host`).
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)

    @field_validator("rate_limits")
    @classmethod
    def _check_rate_limits(cls, value: str) -> str:
        from opsknight.ratelimit import parse_limits

        parse_limits(value)  # raises ValueError with the reason
        return value

    @field_validator("smtp_url")
    @classmethod
    def _check_smtp_url(cls, value: str | None) -> str | None:
        from opsknight.notifications.email import parse_smtp_url

        if value:
            parse_smtp_url(value, "")  # raises ValueError with the reason
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
