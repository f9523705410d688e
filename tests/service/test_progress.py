"""The job's overall progress: every stage the analysis reports has its span of the 0-100 scale."""

from __future__ import annotations

from pathlib import Path

from classpulse.options import AnalysisOptions
from classpulse.progress import Stage
from reports.outputs import analyze_to_dir
from worker.jobs import STAGE_SPANS, overall_progress


def test_the_stage_spans_cover_every_stage_in_order() -> None:
    assert list(STAGE_SPANS) == list(Stage)
    bounds = [bound for span in STAGE_SPANS.values() for bound in span]
    assert bounds == sorted(bounds) and bounds[0] == 0 and bounds[-1] < 100
    assert overall_progress(Stage.ANALYSING, 0.5, previous=0.0) == 46.0
    assert overall_progress(Stage.PROBING, 1.0, previous=46.0) == 46.0, "never backwards"


def test_every_stage_the_pipeline_reports_has_a_span(clip: Path, tmp_path: Path) -> None:
    reported: list[Stage] = []

    def record(stage: Stage, fraction: float) -> None:
        if not reported or reported[-1] != stage:
            reported.append(stage)

    analyze_to_dir(clip, tmp_path / "out", AnalysisOptions(pulse=False), on_progress=record)
    assert reported == list(Stage)
    assert all(stage in STAGE_SPANS for stage in reported)
