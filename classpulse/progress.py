"""Progress of an analysis: the stages it reports, and a progress bar on stderr for the command line.

`analyze_to_dir` calls `on_progress(stage, fraction)` with each `Stage` in turn; the worker maps the stages
to overall percent (`worker.jobs.STAGE_SPANS`, which must cover every stage), the command line draws them.
"""

from __future__ import annotations

import enum
import sys
import time
from collections.abc import Callable
from typing import TextIO


class Stage(enum.StrEnum):
    """The stages of one analysis, in the order they are reported."""

    PROBING = "probing"
    ANALYSING = "analysing frames"
    SUMMARISING = "summarising"
    WRITING = "writing report"
    DONE = "done"


#: `on_progress(stage, fraction)`: how far (0-1) the analysis is within `stage`.
Progress = Callable[[Stage, float], None]


class ProgressBar:
    """Callable as `on_progress(stage, fraction)`: stage, percent and ETA on stderr, redrawn at most
    `min_interval_s` apart; one line per tenth of a stage when stderr is not a terminal."""

    def __init__(self, stream: TextIO = sys.stderr, width: int = 30, min_interval_s: float = 0.2):
        self.stream, self.width, self.min_interval_s = stream, width, min_interval_s
        self._tty = stream.isatty()
        self._stage: str | None = None
        self._stage_started = self._last_draw = 0.0
        self._last_decile = -1

    def __call__(self, stage: str, fraction: float) -> None:
        now = time.monotonic()
        if stage != self._stage:
            if self._tty and self._stage is not None:
                self.stream.write("\n")
            self._stage, self._stage_started, self._last_decile = stage, now, -1
        elif now - self._last_draw < self.min_interval_s and fraction < 1.0:
            return
        self._last_draw = now
        fraction = min(max(fraction, 0.0), 1.0)
        elapsed = now - self._stage_started
        eta = f"ETA {elapsed * (1 - fraction) / fraction:5.0f}s" if 0.02 < fraction < 1.0 else " " * 9
        filled = int(self.width * fraction)
        line = f"{stage:<18} [{'#' * filled}{'.' * (self.width - filled)}] {fraction * 100:5.1f}% {eta}"
        if self._tty:
            self.stream.write("\r" + line)
        elif int(fraction * 10) > self._last_decile:
            self._last_decile = int(fraction * 10)
            self.stream.write(line.rstrip() + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self._tty and self._stage is not None:
            self.stream.write("\n")
            self.stream.flush()
