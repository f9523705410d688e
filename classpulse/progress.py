"""Progress of an analysis: the stages it reports.

`analyze_to_dir` calls `on_progress(stage, fraction)` with each `Stage` in turn; the worker maps the stages
to overall percent (`worker.jobs.STAGE_SPANS`, which must cover every stage), the command line draws them
(`cli.progress.ProgressBar`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable


class Stage(enum.StrEnum):
    """The stages of one analysis, in the order they are reported."""

    PROBING = "probing"
    ANALYSING = "analysing frames"
    SUMMARISING = "summarising"
    WRITING = "writing report"
    DONE = "done"


#: `on_progress(stage, fraction)`: how far (0-1) the analysis is within `stage`.
Progress = Callable[[Stage, float], None]
