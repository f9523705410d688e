"""A progress bar on stderr: stage, percent and ETA; one line per update when stderr is not a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """Callable as `on_progress(stage, fraction)`. Redraws at most `min_interval_s` apart."""

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
