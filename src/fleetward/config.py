"""Settings read from FLEETWARD_* environment variables (and CLI flags)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from fleetward.domain.forwarding import parse_networks


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FLEETWARD_", extra="ignore")

    data_dir: Path = Path("./data")
    # Empty means the embedded default: a SQLite file inside data_dir.
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    # Public base URL, used in links Fleetward hands out (webhook URLs, mails).
    base_url: str = ""
    # Requests with a larger body are refused with 413 before they are read whole.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    session_ttl_hours: int = Field(default=12, ge=1)
    # Failed logins allowed per account (e-mail address) in the window, and per client
    # address across all accounts: much higher, as a whole office or everyone behind a
    # reverse proxy may share one address.
    login_max_failures: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=100, ge=1)
    login_window_seconds: int = Field(default=900, ge=1)
    # Proxies (comma-separated IPs or CIDRs) whose X-Forwarded-For and
    # X-Forwarded-Proto are believed; empty: none, the connecting address is the client.
    forwarded_allow_ips: str = ""
    # Networks (comma-separated IPs or CIDRs) that calls to tenant-supplied URLs
    # (webhook subscriptions, chat webhooks, provider APIs) may reach although they
    # are private, loopback or link-local; empty: public addresses only.
    outbound_allow_cidrs: str = ""
    # E-mail notifications: the SMTP server that relays them. Empty host: no e-mail
    # is sent, and each e-mail copy fails at once, saying so on the notification.
    smtp_host: str = ""
    # 587 (submission, STARTTLS); 465 means TLS from the first byte; 25 plain relays.
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = "Fleetward <fleetward@localhost>"
    # Require STARTTLS before logging in and sending (off only for a local relay).
    smtp_starttls: bool = True
    # Set when served over HTTPS so session cookies carry the Secure flag.
    secure_cookies: bool = False
    # Fernet keys for secrets kept at rest, newest first (comma-separated): the first
    # seals, all open. Empty: a key file in data_dir.
    secret_key: str = ""
    # Timeline events recorded longer ago than this are deleted: by the server every
    # timeline_cleanup_interval_seconds, and by `fleetward timeline cleanup`.
    timeline_retention_days: int = Field(default=90, ge=1)
    timeline_cleanup_interval_seconds: int = Field(default=6 * 3600, ge=1)
    # Published domain events and finished outbox jobs older than this are deleted:
    # by the server every outbox_cleanup_interval_seconds, and by `fleetward outbox cleanup`.
    outbox_retention_days: int = Field(default=30, ge=1)
    outbox_cleanup_interval_seconds: int = Field(default=6 * 3600, ge=1)
    # Off: the server runs no jobs of its own (cleanup is then left to the CLI).
    scheduler_enabled: bool = True
    # Requests for another tenant's ids waiting to be recorded in the owner's audit
    # log; beyond it they are dropped and counted, so a flood costs no memory.
    cross_tenant_queue_size: int = Field(default=10_000, ge=1)
    log_level: str = "INFO"
    log_json: bool = True

    @field_validator("forwarded_allow_ips", "outbound_allow_cidrs")
    @classmethod
    def _proxies_are_addresses(cls, value: str) -> str:
        return ",".join(str(network) for network in parse_networks(value))

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'fleetward.db').resolve()}"

    def public_base_url(self) -> str:
        return self.base_url.rstrip("/") or f"http://{self.host}:{self.port}"
