"""Audit lines for the events an operator must be able to account for: API keys created and revoked, and
every erasure of a job. One INFO line each on the `classpulse.audit` logger, with ids only: never a key, a
path, a file name or a title (they can be secrets or personal data). The logger keeps the name operators
filter on, `classpulse.audit`."""

from __future__ import annotations

import logging

log = logging.getLogger("classpulse.audit")


def audit(event: str, *, customer_id: int, job_id: str | None = None, reason: str | None = None) -> None:
    """Log `event` (e.g. "api key created", "job erased") for `customer_id` and, if given, `job_id`."""
    parts = [f"audit: {event}", f"customer_id={customer_id}"]
    if job_id is not None:
        parts.append(f"job_id={job_id}")
    if reason is not None:
        parts.append(f"reason={reason}")
    log.info(" ".join(parts))
