"""The command line's progress bar: one tqdm bar per stage on stderr, with percent and ETA."""

from __future__ import annotations

import sys
from typing import TextIO

from tqdm import tqdm

BAR_FORMAT = "{desc:<18} [{bar:30}] {percentage:5.1f}% ETA {remaining}"


class ProgressBar:
    """Callable as `on_progress(stage, fraction)`: a new bar for each stage, kept on screen when the next
    one starts. On a terminal a bar redraws every `min_interval_s`; when stderr is not a terminal (a log
    file, a pipe) only every `log_interval_s`, so a stage costs one line of log instead of hundreds."""

    def __init__(
        self, stream: TextIO = sys.stderr, min_interval_s: float = 0.2, log_interval_s: float = 30.0
    ):
        self.stream = stream
        self.interval_s = min_interval_s if stream.isatty() else log_interval_s
        self._stage: str | None = None
        self._bar: tqdm | None = None

    def __call__(self, stage: str, fraction: float) -> None:
        if stage != self._stage or self._bar is None:
            self.close()
            self._stage = stage
            self._bar = tqdm(
                total=100, desc=stage, file=self.stream, mininterval=self.interval_s, bar_format=BAR_FORMAT
            )
        percent = round(100 * min(max(fraction, 0.0), 1.0), 1)
        self._bar.update(percent - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
