"""Render the course comparison (`reports.compare.Comparison`) as self-contained HTML and PDF.

The same machinery as the single report (`reports.render`: its Jinja environment and filters, its offline
WeasyPrint printer, report.css) with its own template, `templates/compare.html.j2`, and `compare.css`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from markupsafe import Markup

from classpulse.atomic import atomic_outputs, write_text_synced
from classpulse.policy import Policy
from classpulse.results import Summary

from . import charts
from .compare import TREND_LEVEL_POINTS, TREND_MIN_SESSIONS, Comparison, compare
from .render import DATE_SOURCES, STYLESHEET, TEMPLATES, _environment, html_to_pdf, pdf_bytes

TEMPLATE_NAME = "compare.html.j2"
COMPARE_STYLESHEET = TEMPLATES / "compare.css"
#: The files `write_comparison` writes.
COMPARE_FILES = ("compare.html", "compare.pdf")


def _charts(comparison: Comparison) -> dict[str, Markup]:
    sessions = comparison.sessions
    trend = comparison.trend
    line = None if trend is None else (trend.at(sessions[0].number), trend.at(sessions[-1].number))
    engagement = charts.engagement_sessions_chart(
        [(str(s.number), s.date) for s in sessions], [s.engagement.index for s in sessions], line
    )
    polarity = charts.polarity_bars(
        [f"{s.number} · {s.date}" for s in sessions],
        [
            None if s.affect is None else (s.affect.positive, s.affect.neutral, s.affect.negative)
            for s in sessions
        ],
    )
    return {"engagement_chart": Markup(engagement), "polarity_chart": Markup(polarity)}


def build_context(comparison: Comparison) -> dict:
    """Everything compare.html.j2 shows, with the charts drawn."""
    sessions = comparison.sessions
    css = STYLESHEET.read_text(encoding="utf-8") + COMPARE_STYLESHEET.read_text(encoding="utf-8")
    return {
        "c": comparison,
        "sessions": sessions,
        "first_date": sessions[0].date,
        "last_date": sessions[-1].date,
        "date_sources": sorted(
            {(s.date_source, DATE_SOURCES.get(s.date_source, s.date_source)) for s in sessions}
        ),
        "expressions": any(Policy(s.policy).infers_emotions for s in sessions),
        "policies": sorted({s.policy for s in sessions}),
        "segment_sources": sorted({s.segment_source for s in sessions}),
        "trend_min_sessions": TREND_MIN_SESSIONS,
        "trend_level_points": TREND_LEVEL_POINTS,
        "indexed_sessions": sum(1 for s in sessions if s.engagement.index is not None),
        "colours": charts.EMOTION_COLOURS,
        "css": Markup(css),
        **_charts(comparison),
    }


def render_comparison_html(comparison: Comparison) -> str:
    """The comparison as one self-contained HTML document (inline CSS and SVG, no external URLs)."""
    return _environment().get_template(TEMPLATE_NAME).render(**build_context(comparison))


def comparison_html(summaries: Sequence[Summary], title: str | None = None) -> str:
    """The comparison of `summaries` (`reports.compare.compare`) as one HTML document."""
    return render_comparison_html(compare(summaries, title))


def comparison_pdf(summaries: Sequence[Summary], title: str | None = None) -> bytes:
    """The comparison of `summaries` as PDF bytes (the API serves it without storing it)."""
    return pdf_bytes(comparison_html(summaries, title))


def write_comparison(summaries: Sequence[Summary], out_dir: Path, title: str | None = None) -> list[Path]:
    """Compare `summaries` and write compare.html and compare.pdf into `out_dir`, all or nothing."""
    html = comparison_html(summaries, title)
    with atomic_outputs(out_dir, COMPARE_FILES) as temps:
        write_text_synced(temps["compare.html"], html)
        html_to_pdf(html, temps["compare.pdf"])
    return [out_dir / name for name in COMPARE_FILES]
