"""The SVG chart functions: well-formed, labelled, bounded in size, honest about gaps. No WeasyPrint here."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from classpulse.emotion.labels import EMOTION_LABELS
from classpulse.faces.readability import UNREADABLE
from classpulse.pulse.heart_rate import REASON_FACE_TOO_SMALL, REASON_TOO_FEW_SAMPLES
from classpulse.results import EmotionSample, PulsePoint, SecondCounts, Summary
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


def all_charts(summary: Summary) -> dict[str, str]:
    face = summary.faces[0]
    duration = summary.video.duration_s
    audience = summary.audience
    return {
        "audience-mix": charts.audience_mix_chart(audience.per_second, duration, audience.moments),
        "emotion-strip": charts.emotion_strip(face.emotions, duration),
        "emotion-share": charts.emotion_share_bars(face.emotion_share),
        "heart-rate": charts.heart_rate_chart(face.pulse.series, duration, face.pulse.baseline_bpm),
    }


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
