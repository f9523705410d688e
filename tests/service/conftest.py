"""Fixtures for the service tests: a private Redis server, the shared clip and deployments (`Stack`, in
tests/helpers/service.py) torn down after each module."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from tests.helpers.service import CLIP, Stack, database_url, free_port, wait_for


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private redis-server on a free port, no persistence (so FLUSHALL and restarts lose everything)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port, socket_connect_timeout=1)

    def up() -> bool:
        with contextlib.suppress(redis.RedisError):
            return bool(client.ping())
        return False

    try:
        wait_for(up, 10, "redis-server to start")
        yield f"redis://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def redis_client(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url)


@pytest.fixture(scope="session")
def clip(videos_dir: Path) -> Path:
    path = videos_dir / CLIP
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    return path


@pytest.fixture(scope="session")
def redis_db_numbers() -> Iterator[int]:
    """A distinct Redis database number per stack, so stacks never consume each other's messages."""
    return iter(range(1, 16))


@pytest.fixture(scope="module")
def make_stack(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, redis_db_numbers: Iterator[int]
) -> Iterator[Callable[..., Stack]]:
    """Factory: `make_stack(kind="sqlite" | "postgresql", **extra_env)`; all torn down after the module."""
    stacks: list[Stack] = []
    dbs = contextlib.ExitStack()

    def make(kind: str = "sqlite", **extra_env: str) -> Stack:
        root = tmp_path_factory.mktemp(f"stack-{kind}")
        url = dbs.enter_context(database_url(kind, root))
        stack = Stack(
            root, database_url=url, broker_url=f"{redis_url}/{next(redis_db_numbers)}", extra_env=extra_env
        )
        stacks.append(stack)
        return stack

    with dbs:
        try:
            yield make
        finally:
            for stack in stacks:
                stack.stop_all()
            from storage.db import dispose_engines

            dispose_engines()


@pytest.fixture(scope="module")
def stack(make_stack: Callable[..., Stack]) -> Stack:
    """A SQLite stack with the API running; tests start workers as they need them. Modules that need
    another stack define their own `stack`."""
    stack = make_stack("sqlite")
    stack.start_api()
    return stack
