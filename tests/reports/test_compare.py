"""The course comparison: sessions in date order, the trend only from three indexed sessions, segment rows
for repeated labels, and a real PDF read back with pypdf. Summaries come from the producer's own functions
(`make_report_data`), never from hand-written JSON."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from pypdf import PdfReader

from classpulse.insights.markers import Marker
from classpulse.policy import Policy
from classpulse.results import Engagement, Summary
from reports import charts
from reports.compare import TREND_MIN_SESSIONS, compare
from reports.compare_report import comparison_html, write_comparison
from tests.helpers.reports import make_report_data

MARKERS = (
    Marker(0.0, None, "Introduction"),
    Marker(40.0, None, "Exercise"),
    Marker(90.0, None, "Discussion"),
)


def session(date: str, title: str, *, seed: int = 1, index: float | None = None, **changes) -> Summary:
    """A real summary for the session on `date`; `index` overrides its engagement index (the trend tests
    need known values)."""
    summary = make_report_data(seed=seed, session_date=date, title=title, **changes).summary
    if index is None:
        return summary
    engagement = replace(summary.insights.engagement, index=index)
    return replace(summary, insights=replace(summary.insights, engagement=engagement))


def pdf_text(path: Path) -> str:
    text = "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)
    return re.sub(r"\s+", " ", re.sub(r"(\w)-\n(\w)", r"\1\2", text))


def test_sessions_are_listed_in_date_order_then_by_title() -> None:
    given = [
        session("2025-03-21", "Week 4"),
        session("2025-03-07", "Week 2 b"),
        session("2025-02-28", "Week 1"),
        session("2025-03-07", "Week 2 a"),
    ]
    result = compare(given)
    assert [(s.number, s.date, s.title) for s in result.sessions] == [
        (1, "2025-02-28", "Week 1"),
        (2, "2025-03-07", "Week 2 a"),
        (3, "2025-03-07", "Week 2 b"),
        (4, "2025-03-21", "Week 4"),
    ]
    assert result.course == "Thermodynamics" and result.title == "Thermodynamics"
    assert compare(given, title="Spring term").title == "Spring term"


def test_a_session_shows_its_own_audience_results() -> None:
    summary = session("2025-03-14", "Week 3")
    (view,) = compare([summary]).sessions
    insights = summary.insights
    assert view.engagement == insights.engagement and view.attention == insights.attention.share
    assert view.affect == insights.affect and view.faces == summary.audience.faces_seen == 3
    assert view.duration_s == 125.0 and view.flags == len(insights.flags)
    top = view.top_expressions
    assert len(top) == 3 and [v for _, v in top] == sorted((v for _, v in top), reverse=True)
    assert top[0][1] == max(summary.audience.overall_share.values())


def test_mixed_courses_have_no_common_course() -> None:
    result = compare([session("2025-03-14", "A"), session("2025-03-21", "B", course="Optics")])
    assert result.course is None and result.title == "Session comparison"


def test_nothing_to_compare_is_an_error() -> None:
    with pytest.raises(ValueError, match="no session"):
        compare([])


def test_the_trend_needs_three_sessions_with_an_index() -> None:
    two = [session("2025-03-07", "1", index=40.0), session("2025-03-14", "2", index=60.0)]
    assert TREND_MIN_SESSIONS == 3 and compare(two).trend is None
    # A session without an index (no expressions) does not count towards the three.
    no_index = session("2025-03-21", "3")
    no_index = replace(
        no_index,
        insights=replace(no_index.insights, engagement=Engagement(None, 0.9, 0.8, None)),
    )
    assert compare([*two, no_index]).trend is None


@pytest.mark.parametrize(
    ("indices", "slope", "direction"),
    [
        ((40.0, 50.0, 60.0), 10.0, "rising"),
        ((70.0, 55.0, 64.0, 49.0), -5.4, "falling"),
        ((60, 60.5, 60), 0, "level"),
    ],
)
def test_the_trend_is_the_least_squares_slope_per_session(indices, slope, direction) -> None:
    summaries = [session(f"2025-03-{10 + i:02d}", f"S{i}", index=v) for i, v in enumerate(indices)]
    trend = compare(list(reversed(summaries))).trend
    assert trend is not None and trend.sessions == len(indices)
    assert trend.slope == pytest.approx(slope, abs=0.05) and trend.direction == direction
    mean_x, mean_y = (len(indices) + 1) / 2, sum(indices) / len(indices)
    assert trend.at(mean_x) == pytest.approx(mean_y)  # the line passes through the centroid


def test_segment_rows_are_the_labels_found_in_two_sessions() -> None:
    first = session("2025-03-07", "1", markers=MARKERS)
    second = session("2025-03-14", "2", markers=MARKERS[:2])
    other = session("2025-03-21", "3", markers=(Marker(0.0, None, "Lab"),))
    result = compare([other, second, first])
    assert [row.label for row in result.segments] == ["Introduction", "Exercise"]
    intro = result.segments[0]
    assert [cell.session for cell in intro.cells] == [1, 2]
    segment = first.insights.segments[0]
    assert intro.cells[0].engagement == segment.engagement.index
    assert intro.cells[0].attention == segment.attention.share
    assert intro.cells[0].top_expression[1] == max(segment.expression_share.values())
    # A single session lists all its own segments.
    assert [row.label for row in compare([first]).segments] == ["Introduction", "Exercise", "Discussion"]


def test_the_charts_print_every_value_and_mark_negative_with_stripes() -> None:
    svg = charts.engagement_sessions_chart([("1", "2025-03-07"), ("2", "2025-03-14")], [61.6, None], (60, 50))
    assert ">62</text>" in svg and "no index" in svg and "stroke-dasharray" in svg
    assert svg.index("stroke-dasharray") < svg.index(">62</text>")  # the value is drawn over the line
    polarity = charts.polarity_bars(["1", "2"], [(0.5, 0.3, 0.2), None])
    assert ">50%</text>" in polarity and ">30%</text>" in polarity and ">20%</text>" in polarity
    pattern_ids = re.findall(r'<pattern id="([^"]+)"', polarity)
    assert sorted(i.rsplit("-", 1)[0] for i in pattern_ids) == sorted(
        [charts.NEGATIVE_ID, charts.POSITIVE_ID]
    )
    assert all(f"url(#{i})" in polarity for i in pattern_ids) and "not measured" in polarity


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict:
    summaries = [
        session("2025-03-21", "Week four lecture", seed=4, markers=MARKERS, index=52.0),
        session("2025-03-07", "Week two lecture", seed=2, markers=MARKERS, index=71.0),
        session("2025-03-14", "Week three lecture", seed=3, markers=MARKERS, index=64.0),
    ]
    out = tmp_path_factory.mktemp("compare")
    paths = write_comparison(summaries, out)
    return {"out": out, "paths": paths, "text": pdf_text(out / "compare.pdf"), "html": paths[0].read_text()}


def test_writes_html_and_a_real_pdf_and_nothing_else(written) -> None:
    out = written["out"]
    assert sorted(p.name for p in out.iterdir()) == ["compare.html", "compare.pdf"]
    assert (out / "compare.pdf").read_bytes().startswith(b"%PDF")
    reader = PdfReader(out / "compare.pdf")
    assert len(reader.pages) >= 2
    assert float(reader.pages[0].mediabox.width) == pytest.approx(595.3, abs=1)  # A4


def test_the_pdf_lists_sessions_in_date_order_with_the_trend(written) -> None:
    text = written["text"]
    positions = [text.index(f"Week {n} lecture") for n in ("two", "three", "four")]
    assert positions == sorted(positions)
    assert "Classpulse course comparison" in text and "Thermodynamics" in text
    assert "was falling by 9.5 points per session" in text
    for heading in ("Engagement per session", "Expression mix per session", "Segments across sessions"):
        assert heading in text
    for label in ("Introduction", "Exercise", "Discussion"):
        assert label in text


def test_the_pdf_explains_the_measures_and_the_data_protection(written) -> None:
    text = written["text"]
    assert "Method and limitations" in text
    assert "100 \u00d7 (0.3 presence + 0.5 attention + 0.2 expressiveness)" in text
    assert "not a validated scale" in text and "Facial expressions are not feelings" in text
    assert "no face images, crops or identity features" in text and "personal data" in text


def test_the_html_is_self_contained_with_both_charts(written) -> None:
    html = written["html"]
    assert 'data-chart="engagement-sessions"' in html and 'data-chart="polarity-sessions"' in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "") and "https://" not in html
    assert "<img" not in html and "<script" not in html


def test_a_no_emotion_session_has_no_index_and_no_expression_section() -> None:
    summary = session("2025-03-14", "Presence only")
    summary = replace(
        summary,
        privacy=replace(summary.privacy, policy=Policy.NO_EMOTION.value),
        insights=replace(summary.insights, affect=None, engagement=Engagement(None, 0.9, 0.8, None)),
    )
    html = comparison_html([summary])
    assert "Expression mix per session" not in html and "no index" in html
    assert "analysis policy: no-emotion" in html


def test_hostile_titles_are_escaped() -> None:
    html = comparison_html([session("2025-03-14", "<script>alert(1)</script>")], title="<b>x</b>")
    assert "<script>alert" not in html and "&lt;script&gt;" in html and "<b>x</b>" not in html
