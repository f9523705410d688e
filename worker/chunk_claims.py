"""A long recording spread over every running worker, through files in the attempt's staging folder.

The attempt that owns the job (`worker.jobs.JobRunner`) cuts the recording into chunks
(`classpulse.chunks.plan_chunks`), offers chunks 1..n-1 to the analysis queue (`CHUNK_TASK`) and then
works through the chunks itself, taking each one nobody has claimed. A chunk is claimed by creating
`chunks/<k>.claim` exclusively; its analyser touches the claim while it works and leaves `<k>.pkl` (an
atomic rename) when done. A claim left untouched for `reaper_stale_s` belongs to a dead worker: the owning
attempt takes the chunk over. When every result is there, the owning attempt stitches them
(`classpulse.pipeline.combine_chunks`) and publishes one report, so a killed chunk worker costs time, never
a second report. This plays the part of a Celery chord without a result backend: the job table and the
shared data folder stay the only state (workers on several machines must share the data folder).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from classpulse.chunks import ChunkResult

CHUNK_FOLDER = "chunks"


class ChunkFolder:
    """Claims and results of one attempt's chunks: `<staging>/chunks/<k>.claim` and `<k>.pkl`."""

    def __init__(self, staging: Path):
        self.path = staging / CHUNK_FOLDER

    def create(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)

    def exists(self) -> bool:
        return self.path.is_dir()

    def _claim(self, index: int) -> Path:
        return self.path / f"{index}.claim"

    def _result(self, index: int) -> Path:
        return self.path / f"{index}.pkl"

    def claim(self, index: int, worker: str) -> bool:
        """Take chunk `index` for `worker`; False if someone holds it already (or the folder is gone)."""
        try:
            fd = os.open(self._claim(index), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except (FileExistsError, FileNotFoundError):
            return False
        with os.fdopen(fd, "w") as fh:
            fh.write(worker)
        return True

    def take_over(self, index: int, worker: str, stale_s: float) -> bool:
        """Claim a chunk that is unclaimed, or whose claim has not been touched for `stale_s` seconds."""
        if self.claim(index, worker):
            return True
        try:
            age = time.time() - self._claim(index).stat().st_mtime
        except FileNotFoundError:
            return self.claim(index, worker)
        if age < stale_s or self.done(index):
            return False
        tmp = self.path / f".{index}.claim.{uuid.uuid4().hex[:8]}"
        tmp.write_text(worker)
        os.replace(tmp, self._claim(index))
        return True

    def release(self, index: int) -> None:
        """Give a chunk back after a failure, so the owning attempt runs it (and meets the error itself)."""
        self._claim(index).unlink(missing_ok=True)

    @contextlib.contextmanager
    def keep_claimed(self, index: int, every_s: float) -> Iterator[None]:
        """Touch the claim every `every_s` seconds while the block runs."""
        stop = threading.Event()

        def touch() -> None:
            while not stop.wait(every_s):
                with contextlib.suppress(FileNotFoundError):
                    os.utime(self._claim(index))

        thread = threading.Thread(target=touch, name=f"chunk-{index}-claim", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=5)

    def save(self, result: ChunkResult) -> None:
        """Write a chunk's result under a temporary name, then rename it into place."""
        index = result.chunk.index
        tmp = self.path / f".{index}.pkl.{uuid.uuid4().hex[:8]}"
        with tmp.open("wb") as fh:
            pickle.dump(result, fh, protocol=pickle.HIGHEST_PROTOCOL)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self._result(index))

    def done(self, index: int) -> bool:
        return self._result(index).exists()

    def load(self, index: int) -> ChunkResult:
        """A chunk's result. Only files our own workers wrote into the job's private folder are read."""
        with self._result(index).open("rb") as fh:
            return pickle.load(fh)


def run_chunk(
    folder: ChunkFolder,
    index: int,
    analyse: Callable[[], ChunkResult],
    *,
    touch_every_s: float,
) -> None:
    """Run a claimed chunk's analysis while keeping the claim fresh, and save its result; on an error the
    claim is released and the error raised."""
    try:
        with folder.keep_claimed(index, touch_every_s):
            result = analyse()
        folder.save(result)
    except BaseException:
        folder.release(index)
        raise
