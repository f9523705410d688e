"""Write an analysis into its output folder: the JSON and CSV exports and the report, all or nothing."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from classpulse.atomic import atomic_outputs, write_text_synced
from classpulse.emotion.labels import EMOTION_LABELS

CSV_HEADER = ["t", "face_id", "emotion", *(f"p_{label}" for label in EMOTION_LABELS), "bpm", "quality_db"]
OUTPUT_FILES = ("timeline.json", "summary.json", "faces.csv", "report.html", "report.pdf")


def _csv_text(rows: list[list]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return buf.getvalue()


def write_outputs(summary: dict, timeline: list, rows: list[list], out_dir: Path) -> list[Path]:
    """Write timeline.json, summary.json, faces.csv, report.html and report.pdf; all or nothing."""
    from reports.render import html_to_pdf, render_html

    html = render_html(summary, timeline)
    texts = {
        "timeline.json": json.dumps(timeline, separators=(",", ":")),
        "summary.json": json.dumps(summary, indent=2),
        "faces.csv": _csv_text(rows),
        "report.html": html,
    }
    with atomic_outputs(out_dir, OUTPUT_FILES) as temps:
        for name, text in texts.items():
            write_text_synced(temps[name], text)
        html_to_pdf(html, temps["report.pdf"])
    return [out_dir / name for name in OUTPUT_FILES]
