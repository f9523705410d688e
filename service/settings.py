"""Service configuration: one `Settings` read from `CLASSPULSE_*` environment variables.

Shared by the API (`api/`), the Celery worker and beat (`worker/`) and the service commands
(`cli/service.py`). Every duration is in seconds unless its name says otherwise (`_minutes`, `_days`);
sizes in MiB (`_mb`).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from classpulse.options import AnalysisOptions
from classpulse.policy import Jurisdiction, Policy, Purpose

#: Grace between the soft time limit (the task can clean up) and the hard one (the child is killed).
HARD_LIMIT_GRACE_S = 120
#: Extra time a broker keeps an unacknowledged message invisible beyond the longest hard limit.
VISIBILITY_MARGIN_S = 600


def default_data_dir() -> Path:
    """`$XDG_DATA_HOME/classpulse`, else `~/.local/share/classpulse` (absolute, independent of the cwd)."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "classpulse"


class Settings(BaseSettings):
    """Everything the service reads from its environment, validated once at start-up."""

    model_config = SettingsConfigDict(env_prefix="CLASSPULSE_", extra="ignore", frozen=True)

    # Where things live.
    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = None
    broker_url: str = "redis://localhost:6379/0"

    # API.
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    max_upload_mb: float = Field(default=4096, gt=0)
    max_image_mb: float = Field(default=20, gt=0)
    # Pixels, not bytes, are what decoding and detection cost: a black 9000x9000 PNG is 236 KB.
    max_image_pixels: int = Field(default=50_000_000, ge=1)
    max_video_pixels: int = Field(default=7680 * 4320, ge=1)
    max_video_duration_s: float = Field(default=4 * 3600, gt=0)
    # A client that sends nothing for this long is cut off (408) instead of holding a connection and a file.
    upload_idle_timeout_s: float = Field(default=60, gt=0)
    keep_uploads: bool = False
    # Web page: the key that signs its CSRF tokens (unset: a random one kept in <data_dir>/web-secret, shared
    # by every API process on that data directory), and whether its cookies are Secure (unset: when the
    # request came over https, as seen through the proxy headers).
    web_secret: SecretStr | None = None
    web_secure_cookies: bool | None = None

    # Worker and job limits. The soft limit of one job is base + per_video_s * duration, capped at max.
    worker_concurrency: int = Field(default=1, ge=1)
    job_time_base_s: float = Field(default=600, gt=0)
    job_time_per_video_s: float = Field(default=4.0, ge=0)
    job_time_max_s: float = Field(default=6 * 3600, gt=0)
    job_max_attempts: int = Field(default=3, ge=1)
    job_max_requeues: int = Field(default=10, ge=1)
    retry_backoff_s: float = Field(default=30, ge=0)
    retry_backoff_max_s: float = Field(default=600, ge=0)

    # A recording longer than chunk_minutes is cut into chunks that every running worker can take (0: never).
    chunk_minutes: float = Field(default=10, ge=0)

    # Liveness: a running job writes a heartbeat every heartbeat_s; the reaper treats a job as lost when its
    # heartbeat (running) or its enqueue (queued, message gone from the broker) is older than reaper_stale_s.
    heartbeat_s: float = Field(default=10, gt=0)
    progress_flush_s: float = Field(default=1.0, gt=0)
    reaper_stale_s: float = Field(default=120, gt=0)
    reaper_interval_s: float = Field(default=60, gt=0)

    # Archive runs.
    archive_dir: Path | None = None
    archive_glob: str = "**/*.mp4,**/*.mov,**/*.mkv,**/*.avi,**/*.webm,**/*.m4v"
    archive_scan_minutes: float = Field(default=15, gt=0)
    archive_customer: str = "archive"
    archive_settle_s: float = Field(default=60, ge=0)
    # What the archive's owner declares for every archive job (they run under CLASSPULSE_POLICY).
    archive_purpose: Purpose | None = None
    archive_consent: bool = False

    # Retention: finished jobs, their outputs and uploads older than this are purged (0 keeps them forever).
    retention_days: float = Field(default=30, ge=0)
    retention_interval_minutes: float = Field(default=60, gt=0)

    # Privacy (README, "Privacy modes"): the least restrictive analysis policy any job gets (a job may ask for
    # a stricter one), the jurisdiction whose rules refuse jobs (eu: a declared purpose, and no emotion
    # inference for education or workplaces), and whether every upload must assert consent.
    policy: Policy = Policy.FULL
    jurisdiction: Jurisdiction | None = None
    require_consent: bool = False

    # Insights: minutes a person must look negative before the report flags it, for jobs that set none.
    negative_stretch_minutes: float = Field(
        default=AnalysisOptions.negative_stretch_min, gt=0, allow_inf_nan=False
    )

    log_level: str = "INFO"

    @field_validator("data_dir", "archive_dir", mode="after")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        return None if value is None else value.expanduser().resolve()

    @field_validator(
        "archive_dir", "web_secret", "web_secure_cookies", "jurisdiction", "archive_purpose", mode="before"
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("web_secret", mode="after")
    @classmethod
    def _long_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("CLASSPULSE_WEB_SECRET must be at least 32 characters")
        return value

    @field_validator("database_url", mode="after")
    @classmethod
    def _driver(cls, value: str | None) -> str | None:
        """`postgresql://` and `postgres://` URLs use psycopg 3, the driver this project installs."""
        if not value:
            return None
        for prefix in ("postgresql://", "postgres://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        if not value.startswith(("sqlite", "postgresql+")):
            raise ValueError("CLASSPULSE_DATABASE_URL must be a sqlite:/// or postgresql:// URL")
        return value

    @field_validator("archive_glob", mode="after")
    @classmethod
    def _globs(cls, value: str) -> str:
        patterns = [p.strip() for p in value.split(",") if p.strip()]
        if not patterns:
            raise ValueError("CLASSPULSE_ARCHIVE_GLOB needs at least one pattern")
        if any(Path(p).is_absolute() or ".." in Path(p).parts for p in patterns):
            raise ValueError("CLASSPULSE_ARCHIVE_GLOB patterns are relative to CLASSPULSE_ARCHIVE_DIR")
        return ",".join(patterns)

    @field_validator("log_level", mode="after")
    @classmethod
    def _level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("CLASSPULSE_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.job_time_base_s > self.job_time_max_s:
            raise ValueError("CLASSPULSE_JOB_TIME_BASE_S must not exceed CLASSPULSE_JOB_TIME_MAX_S")
        if self.reaper_stale_s < 3 * self.heartbeat_s:
            raise ValueError(
                "CLASSPULSE_REAPER_STALE_S must be at least 3 x CLASSPULSE_HEARTBEAT_S, or live "
                "jobs would be re-queued between two heartbeats"
            )
        if self.retry_backoff_max_s + HARD_LIMIT_GRACE_S > self.visibility_timeout_s:
            raise ValueError("CLASSPULSE_RETRY_BACKOFF_MAX_S must stay below the broker visibility timeout")
        return self

    # Derived values: computed here so api/, worker/ and storage/ cannot disagree.

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'classpulse.db'}"

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def max_image_bytes(self) -> int:
        return int(self.max_image_mb * 1024 * 1024)

    @property
    def archive_patterns(self) -> list[str]:
        return self.archive_glob.split(",")

    def retry_delay_s(self, retries: int) -> float:
        """Seconds to wait before retry number `retries + 1` (0 for the first retry): doubling from
        `retry_backoff_s`, at least 1 s (an outage never becomes a busy loop), at most `retry_backoff_max_s`.

        Used for a failed attempt of a job and for a task that cannot reach the database alike."""
        return min(self.retry_backoff_max_s, max(1.0, self.retry_backoff_s) * 2**retries)

    def job_time_limits(self, duration_s: float | None) -> tuple[int, int]:
        """(soft, hard) time limits in seconds for a recording of `duration_s` s (unknown: the maximum)."""
        if duration_s is None or duration_s <= 0:
            soft = self.job_time_max_s
        else:
            soft = min(self.job_time_base_s + self.job_time_per_video_s * duration_s, self.job_time_max_s)
        return int(soft), int(soft) + HARD_LIMIT_GRACE_S

    @property
    def visibility_timeout_s(self) -> int:
        """Redis visibility timeout: longer than the longest hard limit, so a live job is never redelivered.

        A message whose worker died is therefore restored only after this long; the reaper (heartbeat-based)
        re-queues such jobs much sooner, and the task ignores the late duplicate: the job row says done.
        """
        return int(self.job_time_max_s) + HARD_LIMIT_GRACE_S + VISIBILITY_MARGIN_S


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read from the environment on first use."""
    return Settings()
