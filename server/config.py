"""Configuration from environment variables; each one is documented in docs/configuration.md."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from cryptography.fernet import Fernet
from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def project_root() -> Path:
    """The checkout this package runs from (the directory holding pyproject.toml: `make install` installs
    it editable), which `make run` starts in; the current directory when installed elsewhere."""
    checkout = Path(__file__).resolve().parent.parent
    return checkout if (checkout / "pyproject.toml").is_file() else Path.cwd()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ENGAGE_", extra="ignore")

    database_url: str | None = Field(default=None, validation_alias=AliasChoices("DATABASE_URL"))
    redis_url: str | None = Field(default=None, validation_alias=AliasChoices("REDIS_URL"))

    # Where local state lives (var/: the SQLite file, the development secrets, the embedded Redis's data),
    # so that every process finds the same store and secrets from any directory. A relative
    # ENGAGE_VAR_DIR is taken inside ENGAGE_HOME.
    home: Path = Field(default_factory=project_root)
    var_dir: Path = Path("var")
    grpc_host: str = "127.0.0.1"
    grpc_port: int = 50051
    max_receive_message_bytes: int = 16 * 1024 * 1024
    max_concurrent_rpcs: int = 256
    shutdown_grace_seconds: float = 10.0
    db_pool_size: int = 20
    # PostgreSQL: opening a connection, waiting for one of the pool, and one statement (the server
    # cancels it; the driver gives up a second later when the database does not answer at all) are
    # bounded, so that a call fails UNAVAILABLE within seconds while the store is down, never hangs.
    # A call's longest statement measured 0.44 s (an ingest message of 5,000 transactions); a worker's
    # 1.4 s (an insight chunk of 10,000 users), so workers get their own, longer bound (below arq's
    # 40 s job timeout, so that a job fails as STORE_TIMEOUT and is retried rather than cancelled).
    db_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    db_pool_timeout_seconds: float = Field(default=5.0, gt=0)
    db_statement_timeout_seconds: float = Field(default=5.0, gt=0)
    worker_db_statement_timeout_seconds: float = Field(default=30.0, gt=0)
    # grpc.health.v1 readiness: checked this often (the database on a connection of its own, and Redis);
    # a check without an answer within the timeout is NOT_SERVING.
    health_interval_seconds: float = Field(default=2.0, gt=0)
    health_timeout_seconds: float = Field(default=3.0, gt=0)

    jwt_secret: str | None = None
    jwt_public_key: str | None = None  # PEM text, or @/path/to/key.pem
    jwt_private_key: str | None = None  # only for `engagectl token mint` with RS256
    jwt_issuer: str = "engage"
    jwt_audience: str = "engage-api"
    jwt_leeway_seconds: int = 30
    # How long a process (server or worker) trusts what it read of a tenant (exists, disabled) before it
    # reads it again: a tenant disabled or deleted takes effect everywhere within this; 0 = read each time.
    tenant_cache_seconds: float = Field(default=30, ge=0)

    queue_name: str = "engage:queue"
    worker_max_jobs: int = 20
    # Domain-event jobs one process handles at once (the rest of its jobs wait their turn): their handlers
    # are CPU-bound Python, and a job holding its accounts' locks would wait for the others' CPU meanwhile.
    bus_jobs_per_worker: int = Field(default=2, ge=1)
    # How long after an ingested batch's commit its TransactionsPosted job starts: the job takes in the
    # batches committed meanwhile (up to ten events), so a live stream's handlers run once for several
    # batches instead of once each; their set-up reads and commits cost as much as a few hundred
    # postings' work (docs/events.md#costs). 0: at once.
    bus_gather_seconds: float = Field(default=0.1, ge=0, le=5)
    # How long an idle worker waits before looking at the queue again (arq's default, 0.5 s, caps a
    # worker at max_jobs per half second and adds up to that much latency to every message).
    worker_poll_delay_seconds: float = 0.05
    # The server runs the trigger_rules handler of each ingested batch itself, right after the commit, so
    # that banners are readable within milliseconds; the workers' job stays the safety net
    # (docs/triggers.md#latency). false: the queue alone.
    triggers_in_process: bool = True
    # On SIGTERM/SIGINT a worker takes no new job and lets the running ones finish for up to this long
    # (a batch of sends ends within its lease) before it cancels them; 0 = cancel at once.
    worker_shutdown_wait_seconds: int = Field(default=25, ge=0)
    # A transaction posted more than this many days before it is ingested is history (backfill) even in a
    # live stream: it moves balances but fires no real-time insight, alert or message; 0 = no such limit.
    live_window_days: float = Field(default=7, ge=0)
    retry_backoff_seconds: float = 5.0  # first retry delay of a failed job; doubles each try, with jitter
    # Engagement: channel secrets are sealed with the first of these Fernet keys (comma-separated;
    # the others still open older secrets during a key rotation). Unset: a key kept under var/.
    secrets_keys: str | None = None
    otp_ttl_seconds: int = 300
    otp_max_attempts: int = 5
    # Codes sent to one customer in any hour, at most (each is an SMS the bank pays for).
    otp_max_sends_per_hour: int = Field(default=10, ge=1)
    otp_digits: int = 6
    # Goals a customer may have ACTIVE at once (TOO_MANY_ACTIVE_GOALS past it).
    goals_max_active: int = Field(default=10, ge=1)
    delivery_max_tries: int = 8
    # The wait before the first retry of a temporary delivery error; it doubles with each try.
    delivery_retry_base_seconds: float = 15.0
    # A worker holds a delivery this long while it sends; past it another worker may take it over.
    delivery_lease_seconds: int = 30
    default_rate_limit_per_second: int = 100
    # Public base URL of the delivery-receipt endpoint (providers post delivery reports there), and the
    # local port the server listens on for them; 0 = no receipt endpoint.
    receipts_base_url: str | None = None
    receipts_port: int = 0
    # The local port of the pass web service Apple Wallet calls (register devices, fetch updated passes,
    # download new ones); 0 = off. Wallets reach it at an apple_pass configuration's web_service_url.
    # `make run` turns it on at the gRPC port + 2 when it is not set.
    pass_web_service_port: int = Field(default=0, ge=0, le=65535)
    # Networks the workers may send to although they are not public (loopback, private, link-local),
    # comma-separated, e.g. a bank's own mail relay: '10.1.2.3/32'. Public addresses are always allowed.
    provider_networks_allowed: str = ""
    # Prometheus /metrics of the server and of a worker process (each its own port; 0 = off), on
    # grpc_host.
    metrics_port: int = 0
    worker_metrics_port: int = 0
    log_level: str = "INFO"
    # auto: readable lines on a terminal (structlog's console renderer), JSON lines to a pipe or file.
    log_format: Literal["auto", "json", "console"] = "auto"
    # The event loop of `python -m server` and `python -m workers`.
    event_loop: Literal["uvloop", "asyncio"] = "uvloop"

    @model_validator(mode="after")
    def _anchor_var_dir(self) -> Settings:
        self.home = self.home.expanduser().resolve()
        self.var_dir = self.home / self.var_dir.expanduser()  # an absolute var_dir stays as it is
        return self

    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.var_dir / 'engage.db').resolve()}"

    def live_window(self) -> dt.timedelta | None:
        """How old a posting of a live stream may be and still be news (None: any age)."""
        return dt.timedelta(days=self.live_window_days) if self.live_window_days else None

    def hmac_secret(self) -> str | None:
        """The HS256 secret: configured, or else a random one kept under var/ for development."""
        if self.jwt_secret:
            return self.jwt_secret
        if self.jwt_public_key:
            return None  # RS256 only
        return _var_secret(self.var_dir, "jwt-secret", lambda: secrets.token_urlsafe(48))

    def secret_keys(self) -> list[str]:
        """Fernet keys for channel secrets: configured, or else one kept under var/ for development."""
        if self.secrets_keys:
            return [k.strip() for k in self.secrets_keys.split(",") if k.strip()]
        return [_var_secret(self.var_dir, "secrets-key", lambda: Fernet.generate_key().decode())]


def _var_secret(var_dir: Path, name: str, make: Callable[[], str]) -> str:
    path = var_dir / name
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


def read_key(value: str | None) -> str | None:
    if value and value.startswith("@"):
        return Path(value[1:]).read_text()
    return value
