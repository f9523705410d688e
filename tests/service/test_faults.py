"""Fault tests on real processes: workers killed mid-job, and a broker that loses its queue.

Each test prints one line of measurements (`pytest -s` shows them) for the closing note of the issue.
"""

from __future__ import annotations

import io
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from pypdf import PdfReader

from classpulse.results import OUTPUT_FILES
from tests.helpers.service import Stack, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def key(stack: Stack) -> str:
    return stack.create_key("faults")


@pytest.fixture(autouse=True)
def _stop_processes(stack: Stack) -> Iterator[None]:
    yield
    for name in ("worker", "worker2", "beat"):
        stack.kill(name, signal.SIGTERM)


def _assert_one_set_of_outputs(stack: Stack, key: str, job: dict) -> None:
    assert job["status"] == "succeeded", job
    assert {p.name for p in (stack.data_dir / "outputs" / job["id"]).iterdir()} == set(OUTPUT_FILES)
    assert not list((stack.data_dir / "outputs").glob(".staging-*"))
    with stack.client(key) as client:
        pdf = client.get(job["links"]["report_pdf"]).content
    assert pdf.startswith(b"%PDF") and len(PdfReader(io.BytesIO(pdf)).pages) >= 1


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


def test_sigkill_whole_worker_mid_job(stack: Stack, key: str, clip: Path, redis_client: redis.Redis) -> None:
    """SIGKILL the worker (main process and pool child) mid-job; a new worker plus the reaper finish it."""
    stack.start_beat()  # the reaper, every 2 s; a job is lost after 6 s without heartbeat
    stack.start_worker()
    job_id = stack.upload(key, clip)
    with stack.client(key) as client:
        running = stack.wait_job(
            client, job_id, statuses=("running",), timeout=120, where=lambda j: j["progress"] >= 10
        )
        stack.kill("worker", signal.SIGKILL)
        killed_at = time.monotonic()
        assert stack.job_row(job_id).status == "running"  # nobody is left to say otherwise
        stack.start_worker("worker2")
        requeued = stack.wait_job(
            client,
            job_id,
            statuses=("queued", "running"),
            timeout=60,
            where=lambda j: j["attempts"] == 2 or "re-queued" in (j["stage"] or ""),
        )
        requeued_after = time.monotonic() - killed_at
        job = stack.wait_job(client, job_id, timeout=240)
    total = time.monotonic() - killed_at
    _assert_one_set_of_outputs(stack, key, job)
    row = stack.job_row(job_id)
    assert job["attempts"] == 2 and row.requeues == 1, (job, row.requeues)
    assert "stopped responding; re-queued" in stack.log("beat")
    print(
        f"\n[fault] SIGKILL worker at {running['progress']:.0f}% ({running['stage']}): "
        "re-queued by the reaper "
        f"after {requeued_after:.1f} s ({requeued['stage']}), succeeded {total:.1f} s after the kill, "
        f"attempts={job['attempts']}, requeues={row.requeues}, outputs={sorted(OUTPUT_FILES)}"
    )

    # The killed worker's message is still unacknowledged in Redis; it would come back after the visibility
    # timeout. Deliver such a duplicate now: the task must see the finished job and do nothing.
    before = stack.job_row(job_id)
    from worker.app import create_celery
    from worker.queue import JobQueue

    JobQueue(stack.settings(), create_celery(stack.settings())).publish(job_id=job_id, duration_s=3.4)
    wait_for(lambda: f"job {job_id}: finished, nothing to do" in stack.log("worker2"), 60, "the duplicate")
    after = stack.job_row(job_id)
    assert (after.status, after.attempts, after.finished_at) == ("succeeded", 2, before.finished_at)


def test_sigkill_pool_child_mid_job(stack: Stack, key: str, clip: Path) -> None:
    """SIGKILL only the pool process: reject_on_worker_lost redelivers at once, without the reaper."""
    worker = stack.start_worker()
    job_id = stack.upload(key, clip)
    with stack.client(key) as client:
        running = stack.wait_job(
            client, job_id, statuses=("running",), timeout=120, where=lambda j: j["progress"] >= 10
        )
        (child,) = _children(worker.pid)
        signal_at = time.monotonic()
        os.kill(child, signal.SIGKILL)
        job = stack.wait_job(client, job_id, timeout=240)
    total = time.monotonic() - signal_at
    _assert_one_set_of_outputs(stack, key, job)
    row = stack.job_row(job_id)
    assert job["attempts"] == 2 and row.requeues == 0, (job, row.requeues)  # no reaper involved (none runs)
    assert "WorkerLostError" in stack.log("worker") or "exited with" in stack.log("worker")
    print(
        f"\n[fault] SIGKILL pool child at {running['progress']:.0f}%: message redelivered at once "
        f"(reject_on_worker_lost), succeeded {total:.1f} s after the kill, attempts={job['attempts']}, "
        f"requeues={row.requeues}"
    )


def test_flushall_while_queued(stack: Stack, key: str, clip: Path, redis_client: redis.Redis) -> None:
    """The broker loses the queue (FLUSHALL) while a job waits and no worker runs; the reaper re-publishes."""
    assert "worker" not in stack.procs and "beat" not in stack.procs
    job_id = stack.upload(key, clip)
    db = int(stack.env["CLASSPULSE_BROKER_URL"].rsplit("/", 1)[1])
    broker = redis.Redis.from_url(stack.env["CLASSPULSE_BROKER_URL"])
    assert broker.llen("analysis") == 1 and broker.get(f"classpulse:enqueued:{job_id}")
    redis_client.flushall()
    flushed_at = time.monotonic()
    assert broker.llen("analysis") == 0 and stack.job_row(job_id).status == "queued"
    stack.start_worker()
    stack.start_beat()
    with stack.client(key) as client:
        job = stack.wait_job(client, job_id, timeout=240)
    total = time.monotonic() - flushed_at
    _assert_one_set_of_outputs(stack, key, job)
    row = stack.job_row(job_id)
    assert job["attempts"] == 1 and row.requeues == 1, (job, row.requeues)
    assert "its queue message is gone" in stack.log("beat")
    print(
        f"\n[fault] FLUSHALL (redis db {db}) with the job queued and no worker: re-published by the reaper, "
        f"succeeded {total:.1f} s after the flush (stale threshold 6 s), attempts={job['attempts']}, "
        f"requeues={row.requeues}"
    )
