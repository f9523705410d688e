"""Engagement reports: self-contained HTML and PDF from the pipeline's `summary.json` and `timeline.json`.

`render_html` gives the document, `html_to_pdf` prints it; `reports.charts` holds the individual SVG
charts. `reports.outputs` analyses a recording and writes them beside the JSON and CSV exports.
`reports.compare` and `reports.compare_report` put several sessions' summaries side by side (the course view).
"""

from .render import html_to_pdf, render_html

__all__ = ["html_to_pdf", "render_html"]
