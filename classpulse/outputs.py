"""Write an analysis into its output folder: every file under a temporary name, renamed at the end.

A crash or a bad input therefore leaves either the complete previous set or nothing new.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from classpulse.emotion.model import EMOTION_LABELS

CSV_HEADER = ["t", "face_id", "emotion", *(f"p_{label}" for label in EMOTION_LABELS), "bpm", "quality_db"]
OUTPUT_FILES = ("timeline.json", "summary.json", "faces.csv", "report.html", "report.pdf")


def _csv_text(rows: list[list]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return buf.getvalue()


def write_outputs(result: dict, out_dir: Path) -> list[Path]:
    """Write timeline.json, summary.json, faces.csv, report.html and report.pdf; returns their paths."""
    from reports.render import html_to_pdf, render_html

    out_dir.mkdir(parents=True, exist_ok=True)
    summary, timeline = result["summary"], result["timeline"]
    html = render_html(summary, timeline)
    texts = {
        "timeline.json": json.dumps(timeline, separators=(",", ":")),
        "summary.json": json.dumps(summary, indent=2),
        "faces.csv": _csv_text(result["rows"]),
        "report.html": html,
    }
    temps = {name: out_dir / f".{name}.partial" for name in OUTPUT_FILES}
    try:
        for name, text in texts.items():
            temps[name].write_text(text, encoding="utf-8")
        html_to_pdf(html, temps["report.pdf"])
        for name, tmp in temps.items():
            tmp.replace(out_dir / name)
    finally:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)
    return [out_dir / name for name in OUTPUT_FILES]
