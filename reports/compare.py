"""The course view: several sessions' summaries side by side, as a comparison the compare report draws.

Pure functions: `classpulse.results.Summary` records in, a `Comparison` out; nothing is read or rendered
here (`reports.compare_report` renders, `classpulse compare` and `GET /v1/courses/{course}/report.pdf`
load the summaries). Only audience-level numbers are compared, never a person's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from classpulse.insights.measures import ranked_shares
from classpulse.results import Affect, Engagement, InsightRules, Segment, Summary

#: Fewest sessions with an engagement index before a trend is stated: a line through two points always
#: fits, so it says nothing about a direction.
TREND_MIN_SESSIONS = 3
#: A slope smaller than this (index points per session, either way) is stated as level.
TREND_LEVEL_POINTS = 1.0
#: Most expressions listed per session, by share.
TOP_EXPRESSIONS = 3


@dataclass(frozen=True)
class SessionView:
    """One session's audience-level results. `number` is its place in date order (1 = earliest);
    `attention` the share of judged face-time facing the camera; `affect` its positive, neutral and
    negative shares (None without expressions or without readable face-time); `top_expressions` the most
    common expressions with their shares of readable face-time; `flags` how many prompts to look the
    session's report raised."""

    number: int
    title: str
    date: str
    date_source: str
    course: str | None
    policy: str
    duration_s: float
    faces: int
    engagement: Engagement
    attention: float | None
    affect: Affect | None
    top_expressions: tuple[tuple[str, float], ...]
    unreadable_share: float
    segment_source: str
    flags: int


@dataclass(frozen=True)
class SegmentCell:
    """One session's segment of a repeated label: its engagement index, attention share, affect and most
    common expression (label, share), None where not measured."""

    session: int
    engagement: float | None
    attention: float | None
    affect: Affect | None
    top_expression: tuple[str, float] | None


@dataclass(frozen=True)
class SegmentRow:
    """A segment label and the sessions that have it, in session order."""

    label: str
    cells: tuple[SegmentCell, ...]


@dataclass(frozen=True)
class Trend:
    """The least-squares line through (session number, engagement index) of the `sessions` sessions with
    an index: `slope` index points per session, and the fitted index at the first and last session."""

    slope: float
    intercept: float
    sessions: int
    direction: str  # "rising", "falling" or "level" (|slope| < TREND_LEVEL_POINTS)

    def at(self, number: int) -> float:
        """The fitted engagement index of session `number`."""
        return self.intercept + self.slope * number


@dataclass(frozen=True)
class Comparison:
    """Sessions in date order (then title), the segment labels they share, and the engagement trend (None
    with fewer than TREND_MIN_SESSIONS sessions with an index). `course` is the sessions' common label
    (None when they have none or differ). `rules` are the latest session's; `same_measures` says whether
    every session measured attention and engagement with the same constants."""

    title: str
    course: str | None
    sessions: tuple[SessionView, ...]
    segments: tuple[SegmentRow, ...]
    trend: Trend | None
    rules: InsightRules
    same_measures: bool


def session_title(summary: Summary) -> str:
    """The title the session's own report shows: the job's title, else the file name."""
    return (summary.video.title or "").strip() or summary.video.file


def _readable(affect: Affect | None) -> Affect | None:
    """The affect when some face-time was readable: without any, its zero shares would read as measured."""
    return affect if affect is not None and affect.readable_s > 0 else None


def _session_view(number: int, summary: Summary) -> SessionView:
    insights, audience = summary.insights, summary.audience
    return SessionView(
        number=number,
        title=session_title(summary),
        date=summary.session.date,
        date_source=summary.session.date_source,
        course=summary.session.course,
        policy=summary.privacy.policy,
        duration_s=summary.video.duration_s,
        faces=audience.faces_seen,
        engagement=insights.engagement,
        attention=insights.attention.share,
        affect=_readable(insights.affect),
        top_expressions=tuple(ranked_shares(audience.overall_share)[:TOP_EXPRESSIONS]),
        unreadable_share=audience.unreadable_share,
        segment_source=insights.rules.segment_source,
        flags=len(insights.flags),
    )


def _segment_cell(number: int, segment: Segment) -> SegmentCell:
    top = ranked_shares(segment.expression_share)
    return SegmentCell(
        session=number,
        engagement=segment.engagement.index,
        attention=segment.attention.share,
        affect=_readable(segment.affect),
        top_expression=top[0] if top else None,
    )


def shared_segments(summaries: Sequence[Summary]) -> tuple[SegmentRow, ...]:
    """Rows for the segment labels found in at least two of the sessions (in every one when there is a
    single session), in order of first appearance; a label repeated within a session counts its first
    segment. `summaries` are in session order."""
    cells: dict[str, list[SegmentCell]] = {}
    for number, summary in enumerate(summaries, start=1):
        seen: set[str] = set()
        for segment in summary.insights.segments:
            if segment.label not in seen:
                seen.add(segment.label)
                cells.setdefault(segment.label, []).append(_segment_cell(number, segment))
    need = min(2, len(summaries))
    return tuple(SegmentRow(label, tuple(row)) for label, row in cells.items() if len(row) >= need)


def engagement_trend(sessions: Sequence[SessionView]) -> Trend | None:
    """Least-squares slope of the engagement index over the session numbers, from the sessions that have
    an index; None with fewer than TREND_MIN_SESSIONS of them."""
    points = [(s.number, s.engagement.index) for s in sessions if s.engagement.index is not None]
    if len(points) < TREND_MIN_SESSIONS:
        return None
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sum((x - mean_x) ** 2 for x, _ in points)
    direction = "level" if abs(slope) < TREND_LEVEL_POINTS else "rising" if slope > 0 else "falling"
    return Trend(slope=slope, intercept=mean_y - slope * mean_x, sessions=n, direction=direction)


def _measures(rules: InsightRules) -> tuple:
    """The constants that define attention and engagement (not the segments or the flags)."""
    return (
        rules.attention_max_abs_yaw,
        rules.attention_min_pitch,
        rules.attention_max_pitch,
        rules.attention_min_face_px,
        tuple(sorted(rules.engagement_weights.items())),
    )


def compare(summaries: Sequence[Summary], title: str | None = None) -> Comparison:
    """The comparison of `summaries` (any order): sessions sorted by date, then title. `title` defaults to
    the common course label, else "Session comparison". Raises ValueError without a summary."""
    if not summaries:
        raise ValueError("nothing to compare: no session given")
    ordered = sorted(summaries, key=lambda s: (s.session.date, session_title(s)))
    sessions = tuple(_session_view(number, s) for number, s in enumerate(ordered, start=1))
    courses = {s.course for s in sessions}
    course = courses.pop() if len(courses) == 1 else None
    return Comparison(
        title=(title or "").strip() or course or "Session comparison",
        course=course,
        sessions=sessions,
        segments=shared_segments(ordered),
        trend=engagement_trend(sessions),
        rules=ordered[-1].insights.rules,
        same_measures=len({_measures(s.insights.rules) for s in ordered}) == 1,
    )
