"""The report's insights: attention and engagement, the segment table, the flags, the per-face measures and
the method's constants, in a real PDF read back with pypdf, under each privacy policy."""

from __future__ import annotations

import html
import logging
import re
from dataclasses import replace

import pytest

from classpulse.emotion.labels import EMOTION_LABELS
from classpulse.insights import attention, flags
from classpulse.insights.affect import CIRCUMPLEX
from classpulse.insights.markers import Marker
from classpulse.insights.measures import CURVE_SMOOTHING_S, ENGAGEMENT_WEIGHTS
from classpulse.insights.segments import WINDOW_S
from classpulse.policy import Policy
from classpulse.results import AnalysisResult, FlagKind
from reports import render_html
from tests.helpers.reports import STANDARD_FACES, FaceSpec, make_report_data
from tests.reports.test_render import pdf_text, sections, write_report

MARKERS = (
    Marker(0.0, None, "Introduction"),
    Marker(30.0, None, "Derivation on the board"),
    Marker(70.0, 100.0, "Exercise"),
    Marker(105.0, None, "Q&A"),
)
#: The standard faces and a fourth whose expression stays mostly sad: a negative-stretch flag.
FACES = (*STANDARD_FACES, FaceSpec(10, 125, mood="sad"))
EMOTION_WORDS = re.compile(r"\b(" + "|".join(EMOTION_LABELS) + r")\b")


class _Warnings(logging.Handler):
    """Collects the warnings WeasyPrint logs while one report is written."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def rendered(result: AnalysisResult, out) -> dict:
    """Write the outputs; the HTML as text (tags dropped), the PDF's text and WeasyPrint's warnings (the
    HarfBuzz-subset notice is about the host's libraries, not the report)."""
    warnings, logger = _Warnings(), logging.getLogger("weasyprint")
    logger.addHandler(warnings)
    try:
        html_path, pdf_path = write_report(result, out)
    finally:
        logger.removeHandler(warnings)
    raw = html_path.read_text(encoding="utf-8")
    return {
        "summary": result.summary,
        "html": raw,
        "flat": re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", raw))),
        "text": pdf_text(pdf_path),
        "warnings": [m for m in warnings.messages if "HarfBuzz" not in m],
    }


@pytest.fixture(scope="module")
def marked(tmp_path_factory):
    """The full report of a lecture with markers and a negative stretch of 0.5 min or more."""
    result = make_report_data(faces=FACES, markers=MARKERS, negative_stretch_min=0.5)
    return rendered(result, tmp_path_factory.mktemp("marked"))


def test_rendering_warns_of_nothing(marked):
    assert not marked["warnings"]  # e.g. "Anchor defined twice" from a pattern id used in two charts


@pytest.mark.parametrize(
    "heading",
    [
        "Attention and engagement",
        "Audience attention over time",
        "Audience valence and arousal over time",
        "Positive, neutral and negative expressions over time",
        "Segments",
        "Flags",
        "Engagement index",
        "Valence and arousal",
        "Segments and flags",
    ],
)
def test_the_insight_sections_are_in_the_pdf(marked, heading):
    assert heading in marked["text"]


def test_page_one_states_course_and_session_date_with_its_source(marked, tmp_path):
    assert "Course Thermodynamics" in marked["text"]
    assert "Session date 2025-03-14 (given with the job)" in marked["text"]
    summary = marked["summary"]
    found = replace(summary, session=replace(summary.session, course=None, date_source="recording"))
    flat = re.sub(r"\s+", " ", html.unescape(render_html(found)))
    assert "2025-03-14 (from the recording's metadata)" in flat and "<th>Course</th>" not in flat


def test_the_engagement_index_is_shown_with_its_components_and_weights(marked):
    engagement, text = marked["summary"].insights.engagement, marked["text"]
    assert f"{engagement.index:.0f} / 100 engagement index" in text
    for name, weight in ENGAGEMENT_WEIGHTS.items():
        assert f"{100 * getattr(engagement, name):.0f}% {name} (weight {weight:g})" in text
    times = "\N{MULTIPLICATION SIGN}"
    formula = " + ".join(f"{weight:g} {times} {name}" for name, weight in ENGAGEMENT_WEIGHTS.items())
    assert f"100 {times} ({formula})" in text


def test_the_segment_table_lists_every_segment_with_its_measures(marked):
    summary, text = marked["summary"], marked["text"]
    segments = summary.insights.segments
    assert [s.label for s in segments] == [m.label for m in MARKERS]
    table = text[text.index("Segments Segments from the markers") : text.index("Flags Stretches")]
    for segment in segments:
        row = f"{segment.index} " + "\N{EN DASH}".join(
            f"{int(t) // 60}:{int(t) % 60:02d}" for t in (segment.start_s, segment.end_s)
        )
        assert f"{row} {segment.label}" in table, row
        assert f"{100 * segment.attention.share:.0f}%" in table
        assert f"{segment.engagement.index:.0f} presence {100 * segment.engagement.presence:.0f}%" in table
        assert segment.affect is not None
        polarity = [100 * getattr(segment.affect, k) for k in ("positive", "neutral", "negative")]
        assert " / ".join(f"{p:.0f}%" for p in polarity) in table
    moments = summary.audience.moments
    numbered = {m.t: n for n, m in enumerate(moments, start=1)}
    for segment in segments:
        for moment in segment.moments:
            assert f"{numbered[moment.t]} ({int(moment.t) // 60}:{int(moment.t) % 60:02d})" in table


def test_flags_are_listed_with_who_when_how_long_evidence_and_threshold(marked):
    raised, text = marked["summary"].insights.flags, marked["text"]
    kinds = {flag.kind for flag in raised}
    assert {FlagKind.NEGATIVE_STRETCH, FlagKind.HEART_RATE_RISE} <= kinds
    listing = text[text.index("Flags Stretches") : text.index("Face 1 Time visible")]
    for flag in raised:
        assert f"Face {flag.face_id}" in listing
        assert flag.evidence in listing, flag.evidence
    negative = next(f for f in raised if f.kind is FlagKind.NEGATIVE_STRETCH)
    assert "Mostly negative expressions · Face 4 · 0:10\N{EN DASH}2:05 (1 min 55 s)" in listing
    assert (
        f"Threshold: raised when at least {flags.NEGATIVE_SHARE:.0%} of a person's readable seconds show "
        f"a negative expression for at least 0.5 min, with no two negative seconds more than "
        f"{flags.MAX_GAP_S:g} s"
    ) in listing
    assert negative.values["readable_s"] == 115 and "115 readable seconds" in listing
    for verdict in ("unhappy", "is sad", "bored", "disengaged", "stressed"):
        assert verdict not in listing, verdict


def test_each_face_has_its_attention_engagement_and_valence(marked):
    summary = marked["summary"]
    faces_html = sections(marked["html"])
    assert len(faces_html) == len(summary.faces) == 4
    for face, block in zip(summary.faces, faces_html, strict=True):
        flat = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", block)))
        engagement = face.engagement
        assert f"Engagement {engagement.index:.0f} / 100 (presence {100 * engagement.presence:.0f}%" in flat
        assert f"attention {100 * engagement.attention:.0f}%" in flat
        assert f"{face.affect.valence:+.2f}".replace("-", "\N{MINUS SIGN}") in flat
    overview = marked["text"][
        marked["text"].index("Faces at a glance") : marked["text"].index("Audience expr")
    ]
    for face in summary.faces:
        assert f"{100 * face.attention.share:.0f}% {face.engagement.index:.0f}" in overview


def test_the_method_states_the_constants_the_insights_used(marked):
    text = marked["text"]
    for fact in (
        f"turned less than about {attention.MAX_ABS_YAW_DEG}° sideways",
        f"at most {attention.MAX_ABS_YAW:g} of the eye distance",
        f"about {attention.MAX_PITCH_DOWN_DEG}° down or {attention.MAX_PITCH_UP_DEG}° up",
        f"the nose {attention.MIN_PITCH:g}\N{EN DASH}{attention.MAX_PITCH:g} of the way",
        f"Faces under {attention.MIN_FACE_PX:g} px",
        f"centred {CURVE_SMOOTHING_S} s window",
        f"windows of {WINDOW_S / 60:g} min",
        f"below {flags.ATTENTION_BELOW:.0%} for at least {flags.ATTENTION_MIN_S:g} s with at least "
        f"{flags.ATTENTION_MIN_FACES} faces judged",
        "Russell, 1980",
    ):
        assert fact in text, fact
    for label, (valence, arousal) in CIRCUMPLEX.items():
        point = f"{valence:+.2f}, {arousal:+.2f}".replace("-", "\N{MINUS SIGN}")
        assert f"at {point}" in marked["flat"], (label, point)


def test_no_markers_gives_fixed_windows_and_the_stretch_setting_changes_the_method(tmp_path):
    out = rendered(make_report_data(duration_s=620.0, negative_stretch_min=4.0), tmp_path)
    text = out["text"]
    assert f"cut into fixed {WINDOW_S / 60:g}-minute windows" in text
    assert "0:00\N{EN DASH}5:00 0:00-5:00" in text and "10:00\N{EN DASH}10:20" in text
    assert "negative expression for at least 4 min" in text and not out["warnings"]


def test_aggregate_keeps_audience_insights_and_hides_everyone_in_particular(tmp_path):
    out = rendered(
        make_report_data(faces=FACES, markers=MARKERS, negative_stretch_min=0.5, policy=Policy.AGGREGATE),
        tmp_path,
    )
    text = out["text"]
    assert not sections(out["html"]) and "Faces at a glance" not in text
    assert "Attention and engagement" in text and "Audience valence and arousal over time" in text
    assert "Derivation on the board" in text and "Positive, neutral and negative" in text
    assert not re.search(r"Face \d", text) and "No flag was raised" in text
    assert "only flags about the audience as a whole are raised" in text


def test_per_face_flags_never_show_where_the_policy_hides_per_face_data(marked):
    """Even if a summary under the aggregate policy carried them, the report drops flags about one face."""
    summary = marked["summary"]
    assert any(flag.face_id is not None for flag in summary.insights.flags)
    hidden = replace(summary, privacy=replace(summary.privacy, policy=Policy.AGGREGATE.value), faces=())
    flat = re.sub(r"\s+", " ", render_html(hidden))
    assert not re.search(r"Face \d", flat) and "No flag was raised" in flat
    assert "heart-rate rise" not in flat and "negative stretch" not in flat  # nor their rules in the method


def test_no_emotion_shows_presence_and_attention_without_any_expression(tmp_path):
    out = rendered(make_report_data(markers=MARKERS, policy=Policy.NO_EMOTION), tmp_path)
    text, page_html = out["text"], out["html"]
    assert not EMOTION_WORDS.search(text) and not EMOTION_WORDS.search(out["flat"])
    assert "Audience attention over time" in text and "Derivation on the board" in text
    for absent in (
        'data-chart="affect"',
        'data-chart="polarity"',
        "Valence and arousal",
        "Positive / neutral",
    ):
        assert absent not in page_html, absent
    assert (
        re.search("\N{EM DASH} ?engagement index", text)
        and "expressiveness component needs the expression model" in text
    )
    engagement = out["summary"].insights.engagement
    assert engagement.index is None and f"{100 * engagement.attention:.0f}% attention" in text
    assert 'data-chart="presence"' in page_html and not out["warnings"]


def test_faces_that_look_alike_render_without_duplicate_anchors(tmp_path):
    """Two people turned away for the same seconds draw identical strips; their pattern ids still differ."""
    result = make_report_data()
    face = result.summary.faces[1]  # its strip is hatched where it was turned away
    twins = replace(result.summary, faces=(face, replace(face, face_id=4)))
    out = rendered(replace(result, summary=twins), tmp_path)
    strips = [re.search(r'<pattern id="([^"]+)"', block).group(1) for block in sections(out["html"])]
    assert len(strips) == len(set(strips)) == 2 and not out["warnings"]
