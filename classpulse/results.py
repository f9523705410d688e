"""The results of one analysis: the contract between the pipeline, the report writer and the service.

Units: seconds, pixels of the source video, bpm, dB; shares are fractions 0-1.
"""

from __future__ import annotations

#: The files of an analysis's output folder, with their media types.
OUTPUT_FILES: dict[str, str] = {
    "report.pdf": "application/pdf",
    "report.html": "text/html; charset=utf-8",
    "timeline.json": "application/json",
    "summary.json": "application/json",
    "faces.csv": "text/csv; charset=utf-8",
}
