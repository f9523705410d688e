"""Tables: customers, their API keys (hashed), jobs (the source of truth for every job) and archive files."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from classpulse.options import COURSE_MAX_CHARS
from storage.db import Base, UTCDateTime, utcnow


class JobStatus(enum.StrEnum):
    """Job states: queued -> running -> succeeded | failed; running -> queued when re-queued or retried."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    #: The end states (plain strings, not a member: the status column holds strings).
    FINISHED = enum.nonmember((SUCCEEDED, FAILED))


class JobSource(enum.StrEnum):
    """Where a job's recording comes from: an API upload, or a file found by an archive scan."""

    UPLOAD = "upload"
    ARCHIVE = "archive"


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiKey(Base):
    """A key is `cp_<prefix>_<secret>`; only the prefix (for lookup) and sha256 of the whole key are kept."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    key_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Job(Base):
    """One analysis of one recording. Lease + heartbeat make at most one live attempt own the job."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_customer_created", "customer_id", "created_at"),
        Index("ix_jobs_status_heartbeat", "status", "heartbeat_at"),
        Index("ix_jobs_customer_course", "customer_id", "course"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # uuid4 hex: unguessable
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED)
    stage: Mapped[str | None] = mapped_column(String(120), nullable=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)  # percent, 0-100
    error: Mapped[str | None] = mapped_column(Text, nullable=True)

    title: Mapped[str | None] = mapped_column(String(200), nullable=True)
    course: Mapped[str | None] = mapped_column(String(COURSE_MAX_CHARS), nullable=True)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source: Mapped[str] = mapped_column(String(16), default=JobSource.UPLOAD)
    source_path: Mapped[str | None] = mapped_column(Text, nullable=True)  # None once an upload is deleted
    filename: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    video: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # probe facts
    wall_s: Mapped[float | None] = mapped_column(Float, nullable=True)

    attempts: Mapped[int] = mapped_column(Integer, default=0)  # claims by a worker (retries included)
    requeues: Mapped[int] = mapped_column(Integer, default=0)  # re-publications by the reaper
    task_id: Mapped[str | None] = mapped_column(
        String(64), nullable=True
    )  # the Celery message last published
    lease: Mapped[str | None] = mapped_column(String(32), nullable=True)  # the running attempt's token
    worker: Mapped[str | None] = mapped_column(String(200), nullable=True)

    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    enqueued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ArchiveFile(Base):
    """A version of an archive file seen by a scan, keyed by sha256(path, size, mtime_ns): enqueued once.

    Rows outlive their job (retention or erasure sets `job_id` to NULL) so an unchanged file is never redone.
    """

    __tablename__ = "archive_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    path: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    job_id: Mapped[str | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), nullable=True, index=True
    )
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
