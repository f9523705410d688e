"""Service test helpers: SQLite or PostgreSQL databases, and one deployment (`Stack`) whose API, workers and
beat run as subprocesses (`python -m cli ...`), driven over HTTP with httpx."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
CLIP = "group_3people_standing_270p_3s.mp4"
PG_ADMIN_URL = os.environ.get("CLASSPULSE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")

#: Fast liveness settings for the tests: heartbeat every second, a job is lost after 6 s of silence.
FAST_ENV = {
    "CLASSPULSE_HEARTBEAT_S": "1",
    "CLASSPULSE_PROGRESS_FLUSH_S": "0.5",
    "CLASSPULSE_REAPER_STALE_S": "6",
    "CLASSPULSE_REAPER_INTERVAL_S": "2",
    "CLASSPULSE_RETRY_BACKOFF_S": "1",
    "CLASSPULSE_MAX_UPLOAD_MB": "0.5",
    "CLASSPULSE_ARCHIVE_SETTLE_S": "0",
    "CLASSPULSE_LOG_LEVEL": "INFO",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], object], timeout: float, what: str, interval: float = 0.25) -> object:
    """Poll `condition` until it returns something truthy; fail the test with `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


# --- databases --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for one test module, dropped afterwards; skips when none is reachable."""
    import psycopg

    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        pytest.skip(
            f"PostgreSQL not reachable at {PG_ADMIN_URL} ({type(exc).__name__}); "
            "set CLASSPULSE_TEST_PG_URL to run the PostgreSQL variants"
        )
    name = f"classpulse_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            base = PG_ADMIN_URL.rsplit("/", 1)[0]
            yield f"{base}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def database_url(kind: str, tmp_dir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_dir / 'classpulse.db'}"
    else:
        with postgres_database() as url:
            yield url


# --- the service as subprocesses --------------------------------------------------------------------------


class Stack:
    """One deployment: a data folder, a database, a Redis db number, and the processes started on them."""

    def __init__(
        self, root: Path, *, database_url: str, broker_url: str, extra_env: dict[str, str] | None = None
    ):
        self.root = root
        self.data_dir = root / "data"
        self.logs = root / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            **FAST_ENV,
            "CLASSPULSE_DATA_DIR": str(self.data_dir),
            "CLASSPULSE_DATABASE_URL": database_url,
            "CLASSPULSE_BROKER_URL": broker_url,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
            "OMP_NUM_THREADS": "2",
            **(extra_env or {}),
        }
        self.procs: dict[str, subprocess.Popen] = {}
        self.port: int | None = None

    # Settings and in-process access to the same store.

    def settings(self):
        from service.settings import Settings

        overrides = {
            k[len("CLASSPULSE_") :].lower(): v
            for k, v in self.env.items()
            if k.startswith("CLASSPULSE_") and k not in ("CLASSPULSE_TEST_PG_URL", "CLASSPULSE_SHARED_DIR")
        }
        return Settings(**overrides)

    def engine(self):
        from storage.db import get_engine, init_db

        engine = get_engine(self.settings().sqlalchemy_url)
        init_db(engine)
        return engine

    def job_row(self, job_id: str):
        from storage import crud
        from storage.db import session_scope

        with session_scope(self.engine()) as session:
            return crud.get_job(session, job_id=job_id)

    def create_key(self, customer: str) -> str:
        from storage import crud
        from storage.db import session_scope

        with session_scope(self.engine()) as session:
            return crud.create_api_key(session, customer=crud.get_or_create_customer(session, name=customer))

    # Processes.

    def start(self, name: str, *args: str) -> subprocess.Popen:
        """`python -m cli <args>` in a new session (so a signal reaches its children)."""
        log = (self.logs / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli", *args],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.procs[name] = proc
        return proc

    def start_api(self) -> None:
        self.port = free_port()
        self.start("api", "serve", "--host", "127.0.0.1", "--port", str(self.port))
        wait_for(self._healthy, 60, f"the API to answer /healthz\n{self.log('api')}")

    def _healthy(self) -> bool:
        if self.procs["api"].poll() is not None:
            pytest.fail(f"the API exited with {self.procs['api'].returncode}:\n{self.log('api')}")
        try:
            return httpx.get(f"{self.base_url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def start_worker(self, name: str = "worker") -> subprocess.Popen:
        proc = self.start(name, "worker", "--concurrency", "1", "--name", f"{name}-{uuid.uuid4().hex[:6]}@%h")
        wait_for(lambda: "ready." in self.log(name) or proc.poll() is not None, 60, f"{name} to be ready")
        assert proc.poll() is None, self.log(name)
        return proc

    def start_beat(self) -> subprocess.Popen:
        proc = self.start("beat", "beat", "--name", f"beat-{uuid.uuid4().hex[:6]}@%h")
        wait_for(lambda: "ready." in self.log("beat") or proc.poll() is not None, 60, "beat to be ready")
        assert proc.poll() is None, self.log("beat")
        return proc

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group of `name` (the Celery main process and its pool children)."""
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.kill(name, signal.SIGTERM)

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # HTTP.

    @property
    def base_url(self) -> str:
        assert self.port is not None, "start_api() first"
        return f"http://127.0.0.1:{self.port}"

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=60)

    def upload(self, key: str, video: Path) -> str:
        """POST `video` as a job of the key's customer; returns the job id (asserts 202)."""
        with self.client(key) as client, video.open("rb") as fh:
            response = client.post("/v1/jobs", files={"file": (video.name, fh, "video/mp4")})
        assert response.status_code == 202, response.text
        return response.json()["id"]

    def wait_job(
        self,
        client: httpx.Client,
        job_id: str,
        statuses: tuple[str, ...] = ("succeeded", "failed"),
        timeout: float = 240,
        where: Callable[[dict], bool] | None = None,
    ) -> dict:
        def poll() -> dict | None:
            body = client.get(f"/v1/jobs/{job_id}").json()
            return body if body.get("status") in statuses and (where is None or where(body)) else None

        return wait_for(
            poll,
            timeout,
            f"job {job_id} to reach {statuses}\n--- worker logs ---\n"
            + "\n".join(self.log(n)[-3000:] for n in ("worker", "worker2", "beat")),
        )
