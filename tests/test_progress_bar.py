"""The command line's progress bar (tqdm) when stderr is a log file rather than a terminal."""

from __future__ import annotations

import io

from classpulse.progress import Stage
from cli.progress import ProgressBar


def test_each_stage_is_one_line_of_log_ending_at_its_last_fraction() -> None:
    log = io.StringIO()
    bar = ProgressBar(log)
    for stage in Stage:
        for fraction in (0.0, 0.25, 0.5, 0.75, 1.0):
            bar(stage, fraction)
    bar(Stage.DONE, 0.4)  # a fraction may go back within its stage; the line shows the last one
    bar.close()
    lines = log.getvalue().rstrip("\n").split("\n")  # splitlines() would split at \r too
    assert len(lines) == len(Stage)
    for line, stage in zip(lines, Stage, strict=True):
        last = line.split("\r")[-1]
        assert last.startswith(stage) and ("40.0%" if stage is Stage.DONE else "100.0%") in last
