"""A recording's output folder: analyse it, then write the JSON and CSV exports and the report beside
them, all or nothing. The adapter between the analysis library and the renderer, used by the command line
and the worker: `classpulse` itself never imports `reports`.
"""

from __future__ import annotations

from pathlib import Path

from classpulse.atomic import atomic_outputs, write_text_synced
from classpulse.chunks import DEFAULT_CHUNK_MINUTES
from classpulse.options import AnalysisOptions
from classpulse.progress import Progress, Stage
from classpulse.results import OUTPUT_FILES, AnalysisResult, Summary, faces_csv, summary_json, timeline_json
from classpulse.video.probe import VideoInfo, probe
from reports import render


def write_outputs(result: AnalysisResult, out_dir: Path) -> list[Path]:
    """Write timeline.json, summary.json, faces.csv, report.html and report.pdf; all or nothing."""
    texts = {
        "timeline.json": timeline_json(result.timeline),
        "summary.json": summary_json(result.summary),
        "faces.csv": faces_csv(result.rows),
    }
    texts["report.html"] = render.render_html(result.summary)
    with atomic_outputs(out_dir, OUTPUT_FILES) as temps:
        for name, text in texts.items():
            write_text_synced(temps[name], text)
        render.html_to_pdf(texts["report.html"], temps["report.pdf"])
    return [out_dir / name for name in OUTPUT_FILES]


def analyze_to_dir(
    video: Path | VideoInfo,
    out_dir: Path,
    options: AnalysisOptions,
    on_progress: Progress | None = None,
    *,
    workers: int = 1,
    chunk_minutes: float = DEFAULT_CHUNK_MINUTES,
) -> Summary:
    """Probe (unless given the probe's result), analyse and write every output into `out_dir`; returns the
    summary. With `workers` > 1, a recording longer than `chunk_minutes` is analysed in chunks by that many
    processes. Raises `InputError`. The pipeline (and torch) is imported here, on first use."""
    from classpulse.pipeline import analyze, analyze_in_chunks

    info = video if isinstance(video, VideoInfo) else probe(Path(video))
    if on_progress:
        on_progress(Stage.PROBING, 1.0)
    if workers > 1 and info.duration_s > chunk_minutes * 60:
        result = analyze_in_chunks(info, options, chunk_minutes * 60, workers, on_progress)
    else:
        result = analyze(info, options, on_progress)
    if on_progress:
        on_progress(Stage.WRITING, 0.0)
    write_outputs(result, Path(out_dir))
    if on_progress:
        on_progress(Stage.DONE, 1.0)
    return result.summary
