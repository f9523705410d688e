"""A long recording spread over two real worker processes (`worker.chunk_claims`): both analyse chunks,
one report comes out, and killing the worker that holds a chunk only delays it."""

from __future__ import annotations

import contextlib
import json
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from classpulse.results import OUTPUT_FILES
from tests.helpers.service import Stack, wait_for
from tests.synthetic_video import build_synthetic_lecture

pytestmark = pytest.mark.slow

CHUNK_MINUTES = 0.2  # 12 s: the 40 s lecture becomes three chunks


@pytest.fixture(scope="module")
def stack(make_stack: Callable[..., Stack]) -> Stack:
    stack = make_stack("sqlite", CLASSPULSE_CHUNK_MINUTES=str(CHUNK_MINUTES), CLASSPULSE_MAX_UPLOAD_MB="50")
    stack.start_api()
    return stack


@pytest.fixture(scope="module")
def key(stack: Stack) -> str:
    return stack.create_key("chunks")


@pytest.fixture(scope="module")
def lecture(tmp_path_factory: pytest.TempPathFactory, faces_dir: Path) -> Path:
    video = tmp_path_factory.mktemp("lecture") / "lecture.mp4"
    build_synthetic_lecture(
        video, faces_dir, n_faces=3, duration_s=40.0, size=(640, 360), face_px=120, absent_s=(14.0, 19.0)
    )
    return video


@pytest.fixture(autouse=True)
def _stop_workers(stack: Stack) -> Iterator[None]:
    yield
    for name in ("worker", "worker2"):
        stack.kill(name, signal.SIGTERM)


def _finished_with_one_report(stack: Stack, key: str, job_id: str) -> dict:
    with stack.client(key) as client:
        job = stack.wait_job(client, job_id, timeout=300)
    assert job["status"] == "succeeded", job
    outputs = stack.data_dir / "outputs"
    assert {p.name for p in (outputs / job_id).iterdir()} == set(OUTPUT_FILES)
    assert not list(outputs.glob(".staging-*"))
    return json.loads((outputs / job_id / "summary.json").read_text())


def test_two_workers_share_the_chunks_of_one_recording(stack: Stack, key: str, lecture: Path) -> None:
    stack.start_worker("worker")
    stack.start_worker("worker2")
    summary = _finished_with_one_report(stack, key, stack.upload(key, lecture))

    assert [face["face_id"] for face in summary["faces"]] == [1, 2, 3]
    assert [face["pulse"]["mean_bpm"] for face in summary["faces"]] == pytest.approx([66, 78, 90], abs=1.5)
    assert summary["processing"]["frames_analysed"] == 600
    for name in ("worker", "worker2"):
        assert "job chunk" in stack.log(name), f"{name} analysed no chunk:\n{stack.log(name)[-2000:]}"


def test_killing_the_worker_of_a_chunk_still_gives_one_report(stack: Stack, key: str, lecture: Path) -> None:
    stack.start_worker("worker")
    stack.start_worker("worker2")
    job_id = stack.upload(key, lecture)

    def chunk_held_by_the_other_worker() -> tuple[str, str] | None:
        owner = (stack.job_row(job_id).worker or "").split("-")[0]
        for claim in (stack.data_dir / "outputs").glob(f".staging-{job_id}-*/chunks/*.claim"):
            with contextlib.suppress(FileNotFoundError):  # released or cleaned up meanwhile
                holder = claim.read_text().split("-")[0]
                if owner and holder and holder != owner:
                    return holder, claim.stem
        return None

    victim, index = wait_for(chunk_held_by_the_other_worker, 120, "a chunk claimed by the other worker")
    stack.kill(victim)
    summary = _finished_with_one_report(stack, key, job_id)
    assert [face["face_id"] for face in summary["faces"]] == [1, 2, 3]
    survivor = stack.log("worker2" if victim == "worker" else "worker")
    assert f"job chunk {index} " in survivor, "the owning attempt took the dead worker's chunk over"
