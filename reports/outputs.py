"""A recording's output folder: analyse it, then write the JSON and CSV exports and the report beside
them, all or nothing. The adapter between the analysis library and the renderer, used by the command line
and the worker: `classpulse` itself never imports `reports`.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from classpulse.atomic import atomic_outputs, write_text_synced
from classpulse.emotion.labels import EMOTION_LABELS
from classpulse.options import AnalysisOptions
from classpulse.progress import Progress, Stage
from classpulse.results import OUTPUT_FILES
from classpulse.video.probe import VideoInfo, probe
from reports import render

CSV_HEADER = ["t", "face_id", "emotion", *(f"p_{label}" for label in EMOTION_LABELS), "bpm", "quality_db"]


def _csv_text(rows: list[list]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return buf.getvalue()


def write_outputs(summary: dict, timeline: list, rows: list[list], out_dir: Path) -> list[Path]:
    """Write timeline.json, summary.json, faces.csv, report.html and report.pdf; all or nothing."""
    html = render.render_html(summary, timeline)
    texts = {
        "timeline.json": json.dumps(timeline, separators=(",", ":")),
        "summary.json": json.dumps(summary, indent=2),
        "faces.csv": _csv_text(rows),
        "report.html": html,
    }
    with atomic_outputs(out_dir, OUTPUT_FILES) as temps:
        for name, text in texts.items():
            write_text_synced(temps[name], text)
        render.html_to_pdf(html, temps["report.pdf"])
    return [out_dir / name for name in OUTPUT_FILES]


def analyze_to_dir(
    video: Path | VideoInfo, out_dir: Path, options: AnalysisOptions, on_progress: Progress | None = None
) -> dict:
    """Probe (unless given the probe's result), analyse and write every output into `out_dir`; returns the
    summary. Raises `InputError`. The pipeline (and torch) is imported here, on first use."""
    from classpulse.pipeline import analyze

    info = video if isinstance(video, VideoInfo) else probe(Path(video))
    if on_progress:
        on_progress(Stage.PROBING, 1.0)
    result = analyze(info, options, on_progress)
    if on_progress:
        on_progress(Stage.WRITING, 0.0)
    write_outputs(result["summary"], result["timeline"], result["rows"], Path(out_dir))
    if on_progress:
        on_progress(Stage.DONE, 1.0)
    return result["summary"]
