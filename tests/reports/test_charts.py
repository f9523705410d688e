"""The SVG chart functions: well-formed, labelled, bounded in size, honest about gaps. No WeasyPrint here."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from classpulse.emotion.labels import EMOTION_LABELS
from classpulse.faces.readability import UNREADABLE
from classpulse.insights.affect import POLARITY_GROUPS
from classpulse.insights.markers import Marker
from classpulse.policy import Policy
from classpulse.pulse.heart_rate import REASON_FACE_TOO_SMALL, REASON_TOO_FEW_SAMPLES
from classpulse.results import AudienceSecond, EmotionSample, PulsePoint, SecondCounts, Summary
from reports import charts, formatting
from tests.helpers.reports import FaceSpec, make_report_data

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # raises on anything unescaped
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox", "").startswith("0 0 ")
    return root


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def rects_filled(root: ET.Element, colour: str) -> list[tuple[float, float]]:
    """x extents of the rects painted `colour`, legend swatches excluded."""
    return [
        (float(r.get("x")), float(r.get("x")) + float(r.get("width")))
        for r in root.findall(f"{SVG}rect")
        if r.get("fill") == colour
    ]


def test_one_colour_per_label_all_distinct():
    assert tuple(charts.EMOTION_COLOURS) == EMOTION_LABELS
    assert len(set(charts.EMOTION_COLOURS.values())) == len(EMOTION_LABELS)


def all_charts(summary: Summary, *, segments: bool = False) -> dict[str, str]:
    """Every chart of the full report; with `segments`, the time charts mark `insights.segments`."""
    face = summary.faces[0]
    duration = summary.video.duration_s
    audience, insights = summary.audience, summary.insights
    marks = insights.segments if segments else ()
    return {
        "audience-mix": charts.audience_mix_chart(audience.per_second, duration, audience.moments, marks),
        "emotion-strip": charts.emotion_strip(face.emotions, duration, segments=marks),
        "emotion-share": charts.emotion_share_bars(face.emotion_share),
        "heart-rate": charts.heart_rate_chart(face.pulse.series, duration, face.pulse.baseline_bpm, marks),
        "attention": charts.attention_chart(insights.per_second, duration, marks, 0.5),
        "affect": charts.affect_chart(insights.per_second, duration, marks),
        "polarity": charts.polarity_chart(audience.per_second, duration, marks),
    }


MARKERS = (Marker(0.0, None, "Intro"), Marker(30.0, None, "Derivation"), Marker(70.0, 100.0, "Exercise"))


def segment_marks(root: ET.Element) -> ET.Element | None:
    return root.find(f"{SVG}g[@class='segment-marks']")


def test_every_time_chart_marks_the_segments_the_same_way():
    summary = make_report_data(markers=MARKERS).summary
    segments = summary.insights.segments
    assert [(s.start_s, s.end_s) for s in segments] == [(0, 30), (30, 70), (70, 100)]
    presence = make_report_data(markers=MARKERS, policy=Policy.NO_EMOTION).summary.audience.per_second
    time_charts = {
        kind: svg for kind, svg in all_charts(summary, segments=True).items() if kind != "emotion-share"
    }
    time_charts["presence"] = charts.presence_chart(presence, 125.0, segments)
    for kind, svg in time_charts.items():
        marks = segment_marks(parse(svg))
        assert marks is not None, kind
        # Boundaries at 30 and 70 s and the third segment's end at 100 s, not 0 s (the time axes run to
        # 125 or 126 s: the last sample's second).
        xs = sorted(float(line.get("x1")) for line in marks.iter(f"{SVG}line"))
        seconds = [(x - charts.LEFT) / 660 * 125 for x in xs]
        assert seconds == pytest.approx([30, 70, 100], abs=1), kind
        assert [t for t in texts(marks)] == ["1 Intro", "2 Derivation", "3 Exercise"], kind
    for kind, svg in all_charts(summary).items():
        assert segment_marks(parse(svg)) is None, kind  # no segments given, nothing drawn


def test_segment_labels_too_wide_for_their_segment_are_numbers():
    summary = make_report_data(markers=(Marker(0, 2, "A very long label for two seconds"),)).summary
    root = parse(charts.attention_chart(summary.insights.per_second, 125.0, summary.insights.segments))
    assert texts(segment_marks(root)) == ["1"]


def test_the_compact_view_fills_with_patterns_that_read_in_grayscale():
    per_second = [
        SecondCounts(
            t, {**dict.fromkeys(EMOTION_LABELS, 0), "happy": 1, "sad": 1, "neutral": 1, UNREADABLE: 1}
        )
        for t in range(20)
    ]
    root = parse(charts.polarity_chart(per_second, 20.0))
    patterns = {p.get("id").rsplit("-", 1)[0]: p.get("id") for p in root.iter(f"{SVG}pattern")}
    assert set(patterns) == {charts.POSITIVE_ID, charts.NEGATIVE_ID, charts.HATCH_ID}
    fills = [p.get("fill") for p in root.iter(f"{SVG}polygon")]
    expected = [f"url(#{patterns[charts.POSITIVE_ID]})", charts.POLARITY_FILLS["neutral"]]
    expected += [f"url(#{patterns[charts.NEGATIVE_ID]})", f"url(#{patterns[charts.HATCH_ID]})"]
    assert fills == expected  # stacked positive, neutral, negative, not readable
    labels = texts(root)
    for group, members in POLARITY_GROUPS.items():
        assert f"{group} ({', '.join(members)})" in labels
    assert charts.UNREADABLE_WORDS in labels


def audience(t: int, attention: float | None, valence: float | None) -> AudienceSecond:
    judged = 0 if attention is None else 2
    return AudienceSecond(t, judged, judged, judged, attention, judged, valence, valence, None)


def test_attention_chart_shows_unjudged_time_as_such_and_the_flag_threshold():
    per_second = [audience(t, None if 20 <= t < 40 else 0.8, None) for t in range(60)]
    root = parse(charts.attention_chart(per_second, 60.0, (), 0.5))
    (grey,) = rects_filled(root, charts.UNRELIABLE)
    assert grey == pytest.approx((charts.LEFT + 660 / 3, charts.LEFT + 2 * 660 / 3), abs=1)
    assert len(list(root.iter(f"{SVG}polyline"))) == 2  # broken where nothing was judged
    assert {"no face judged", "flag threshold"} <= set(texts(root))
    dashed = [line for line in root.findall(f"{SVG}line") if line.get("stroke") == charts.STRESS]
    assert len(dashed) == 1


def test_affect_chart_zooms_to_half_scale_only_when_every_value_fits():
    small = parse(charts.affect_chart([audience(t, 1.0, 0.3) for t in range(30)], 30.0))
    large = parse(charts.affect_chart([audience(t, 1.0, -0.8) for t in range(30)], 30.0))
    assert "+0.5" in texts(small) and "\N{MINUS SIGN}1.0" in texts(large)
    nobody = parse(charts.affect_chart([audience(t, None, None) for t in range(30)], 30.0))
    assert "No face was readable in this recording." in texts(nobody)


def test_every_chart_names_its_kind_and_has_legend_and_time_axis():
    for kind, svg in all_charts(make_report_data().summary).items():
        root = parse(svg)
        assert root.get("data-chart") == kind
        assert f"chart-{kind}" in root.get("class")
        labels = texts(root)
        if kind == "emotion-share":
            assert set(EMOTION_LABELS) <= set(labels)
        else:
            assert "0:00" in labels and "2:00" in labels  # 125 s recording: m:ss ticks
        if kind in ("audience-mix", "emotion-strip"):
            assert set(EMOTION_LABELS) <= set(labels)
        if kind == "heart-rate":
            legend = {
                "heart rate (bpm)",
                "own baseline",
                "no reliable estimate",
                "stress flag (above own baseline)",
            }
            assert legend <= set(labels)


def test_audience_chart_numbers_the_moments_in_time_order():
    audience = make_report_data().summary.audience
    root = parse(charts.audience_mix_chart(audience.per_second, 125.0, audience.moments))
    circles = [float(c.get("cx")) for c in root.iter(f"{SVG}circle")]
    numbers = [t for t in texts(root) if t.isdigit() and len(t) == 1]
    assert len(circles) == len(audience.moments) > 1 and circles == sorted(circles)
    assert numbers == [str(n) for n in range(1, len(circles) + 1)]


def test_two_hour_video_is_binned_to_a_bounded_svg():
    spec = FaceSpec(0, 7200, hidden=((3000, 3600),), stress=(1000, 1300), motion=((5000, 5100),))
    long_svgs = all_charts(make_report_data(duration_s=7200.0, faces=(spec, spec)).summary)
    short_svgs = all_charts(make_report_data().summary)
    for kind, svg in long_svgs.items():
        root = parse(svg)
        assert len(svg) < 3 * len(short_svgs[kind]) + 20_000, kind
        if kind != "emotion-share":
            assert "2:00" in texts(root) and "1:59:59" not in "".join(texts(root))  # h:mm ticks
        if kind in ("audience-mix", "heart-rate"):
            assert "time (h:mm)" in texts(root)
    points = sum(len(p.get("points").split()) for p in parse(long_svgs["audience-mix"]).iter(f"{SVG}polygon"))
    assert points <= 4 * charts.MAX_BINS * len(EMOTION_LABELS)


def test_strip_leaves_gaps_where_the_face_was_not_visible():
    emotions = [EmotionSample(t, "happy", 0.8) for t in range(40)]
    emotions += [EmotionSample(t, "sad", 0.6) for t in range(60, 100)]
    root = parse(charts.emotion_strip(emotions, 100.0))
    happy = rects_filled(root, charts.EMOTION_COLOURS["happy"])
    sad = rects_filled(root, charts.EMOTION_COLOURS["sad"])
    assert len(happy) == 1 and len(sad) == 1  # consecutive seconds merge into one segment each
    assert happy[0][1] < sad[0][0] - 100  # 20 s of 100 s on a 660-unit axis is a visible gap


def test_heart_rate_chart_all_null_says_so_and_has_no_line():
    series = [PulsePoint(float(t), None, None, REASON_FACE_TOO_SMALL, None, None) for t in range(50)]
    root = parse(charts.heart_rate_chart(series, 60.0, None))
    assert not list(root.iter(f"{SVG}polyline"))
    assert "No reliable heart-rate estimate for this face." in texts(root)
    assert rects_filled(root, charts.UNRELIABLE)


def test_heart_rate_chart_shades_unreliable_and_marks_stress():
    series = [PulsePoint(float(t), None, None, REASON_TOO_FEW_SAMPLES, None, None) for t in range(10)]
    series += [
        PulsePoint(float(t), 70.0 + (20 if 30 <= t < 40 else 0), 3.0, None, 30 <= t < 40, 0.9)
        for t in range(10, 60)
    ]
    root = parse(charts.heart_rate_chart(series, 60.0, 70.0))
    (shade,) = rects_filled(root, charts.UNRELIABLE)
    stress = rects_filled(root, charts.STRESS)
    assert shade[0] == pytest.approx(charts.LEFT) and stress  # shaded from t=0; stress band drawn
    assert len(list(root.iter(f"{SVG}polyline"))) == 1


@pytest.mark.parametrize("duration", [0.0, 1.0, 125.0])
def test_charts_without_faces_or_samples_are_valid(duration):
    nobody = {label: 0 for label in charts.MIX_FILLS}
    parse(charts.audience_mix_chart([SecondCounts(0, nobody)], duration))
    parse(charts.emotion_strip([], duration))
    parse(charts.emotion_share_bars(dict.fromkeys(EMOTION_LABELS, 0.0)))
    parse(charts.heart_rate_chart([], duration))


def test_formatting():
    assert formatting.clock(125) == "2:05"
    assert formatting.clock(3725) == "1:02:05"
    assert formatting.clock(None) == formatting.DASH
    assert formatting.span(125) == "2 min 05 s"
    assert formatting.span(7200) == "2 h 00 min"
    assert formatting.percent(0.456) == "46%"
    assert formatting.number(72.44, 0, "bpm") == "72 bpm"
    assert formatting.compact(25.0) == "25" and formatting.compact(23.976) == "23.976"
    assert formatting.compact(60, 0) == "60" and formatting.compact(100.0) == "100"
    assert formatting.timestamp("2025-03-14T10:22:05+00:00") == "2025-03-14 10:22 UTC"
    assert formatting.timestamp("yesterday") == "yesterday"


def test_unreadable_moments_are_hatched_and_named_in_the_legends():
    emotions = [EmotionSample(t, "happy", 0.8) for t in range(20)]
    emotions += [EmotionSample(t, UNREADABLE, None) for t in range(20, 40)]
    strip = parse(charts.emotion_strip(emotions, 40.0))
    assert charts.UNREADABLE_WORDS in texts(strip)
    hatch_id = strip.find(f"{SVG}defs/{SVG}pattern").get("id")
    assert hatch_id.startswith(charts.HATCH_ID)
    (hatched,) = rects_filled(strip, f"url(#{hatch_id})")  # the segment; the legend's swatch is in <g>
    assert hatched[0] == pytest.approx(charts.LEFT + 660 / 2, abs=1)

    per_second = [
        SecondCounts(t, {**dict.fromkeys(EMOTION_LABELS, 0), "sad": 1, UNREADABLE: 1 if t < 5 else 0})
        for t in range(10)
    ]
    mix = parse(charts.audience_mix_chart(per_second, 10.0))
    assert charts.UNREADABLE_WORDS in texts(mix)
    hatch_id = mix.find(f"{SVG}defs/{SVG}pattern").get("id")
    assert hatch_id != strip.find(f"{SVG}defs/{SVG}pattern").get("id"), "one id per chart"
    fills = [p.get("fill") for p in mix.iter(f"{SVG}polygon")]
    assert fills == [charts.EMOTION_COLOURS["sad"], f"url(#{hatch_id})"], "hatching stacked on top"


def test_two_faces_with_the_same_strip_get_distinct_pattern_ids():
    emotions = [EmotionSample(t, UNREADABLE, None) for t in range(10)]
    ids = {
        parse(charts.emotion_strip(emotions, 10.0, uid=f"face-{n}")).find(f"{SVG}defs/{SVG}pattern").get("id")
        for n in (1, 2)
    }
    assert len(ids) == 2  # one HTML document holds both: an id defined twice is ambiguous
