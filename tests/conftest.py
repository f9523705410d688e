"""Fixtures shared by all tests: where the shared data lives, and skipping cleanly without it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CLASSPULSE_SHARED_DIR", REPO.parent / "shared")) / "data"


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared data not found at {path} (set CLASSPULSE_SHARED_DIR or clone beside ../shared)")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """`../shared/data`, or skip the test with the reason."""
    return _require(SHARED)


@pytest.fixture(scope="session")
def videos_dir(shared_data: Path) -> Path:
    return _require(shared_data / "videos")


@pytest.fixture(scope="session")
def faces_dir(shared_data: Path) -> Path:
    return _require(shared_data / "faces" / "images")


@pytest.fixture(scope="session")
def fer_npz(shared_data: Path) -> Path:
    return _require(shared_data / "fer2013" / "fer2013_train_publictest.npz")


@pytest.fixture(scope="session")
def ferplus_npz(shared_data: Path) -> Path:
    return _require(shared_data / "fer2013" / "ferplus_votes_train_publictest.npz")
