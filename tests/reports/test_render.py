"""The whole report: real WeasyPrint, real PDF, read back with pypdf.

The standard three-face report is rendered once per module; the edge cases render only what they check.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import replace
from pathlib import Path

import pytest
from pypdf import PdfReader

from classpulse.pulse import heart_rate, methods
from classpulse.results import OUTPUT_FILES, AnalysisResult, PhotoCheck, Summary
from reports import charts, render_html
from reports import render as render_module
from reports.outputs import write_outputs
from tests.helpers.reports import FaceSpec, make_report_data


def write_report(result: AnalysisResult, out: Path) -> tuple[Path, Path]:
    """The pipeline's writer: the report plus its JSON and CSV siblings."""
    write_outputs(result, out)
    return out / "report.html", out / "report.pdf"


def with_face_pulse(summary: Summary, index: int, **changes) -> Summary:
    """`summary` with fields of face `index`'s pulse replaced."""
    faces = list(summary.faces)
    faces[index] = replace(faces[index], pulse=replace(faces[index].pulse, **changes))
    return replace(summary, faces=tuple(faces))


def pdf_text(path: Path) -> str:
    """All page text, with hyphenation at line ends undone and whitespace collapsed."""
    text = "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)
    text = re.sub(r"(\w)-\n(\w)", r"\1\2", text)
    return re.sub(r"\s+", " ", text)


def sections(html: str) -> list[str]:
    """The HTML of each per-face section."""
    return re.findall(r'<section class="face".*?</section>', html, flags=re.S)


@pytest.fixture(scope="module")
def standard(tmp_path_factory):
    result = make_report_data()
    out = tmp_path_factory.mktemp("report")
    started = time.perf_counter()
    html_path, pdf_path = write_report(result, out)
    seconds = time.perf_counter() - started
    logging.getLogger(__name__).info("standard report rendered in %.2f s", seconds)
    return {
        "result": result,
        "summary": result.summary,
        "out": out,
        "html_path": html_path,
        "pdf_path": pdf_path,
        "html": html_path.read_text(encoding="utf-8"),
        "text": pdf_text(pdf_path),
    }


def test_writes_the_output_set_and_nothing_else(standard):
    assert sorted(p.name for p in standard["out"].iterdir()) == sorted(OUTPUT_FILES)


def test_pdf_is_a4_with_numbered_pages(standard):
    reader = PdfReader(standard["pdf_path"])
    assert 3 <= len(reader.pages) <= 10  # summary, insights, segments and flags, 3 faces, method
    width, height = float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    assert f"Page 1 of {len(reader.pages)}" in standard["text"]
    assert reader.metadata.title.startswith("Thermodynamics")


@pytest.mark.parametrize(
    "heading",
    [
        "Summary",
        "Notable moments",
        "Faces at a glance",
        "Audience expression over time",
        "Face 1",
        "Face 2",
        "Face 3",
        "Method and limitations",
        "Face detection and tracking",
        "Facial expressions",
        "Heart rate from video",
        "Privacy",
    ],
)
def test_pdf_has_section_headings(standard, heading):
    assert heading in standard["text"]


def test_pdf_states_recording_processing_and_model_facts(standard):
    text = standard["text"]
    for fact in (
        "thermo_week3.mp4",
        "2:05",
        "1280 \N{MULTIPLICATION SIGN} 720 px",
        "25 fps",
        "2025-03-14 10:22 UTC",
        "3 min 16 s",
        "version 0.1.0",
        "classpulse-fer 0.1.0",
        "66.3%",
        "0.63",
        "9f2c4e1ab37d",
        "facenet-pytorch MTCNN 2.6.0",
    ):
        assert fact in text, fact


def test_pdf_states_the_limitations(standard):
    text = standard["text"]
    for phrase in (
        "Facial expressions are not feelings",
        "posed and web-sourced",
        "noisy labels",
        "not a medical device",
        "not a validated stress measure",
        "own baseline",
        "head or camera moves",
        "processed locally",
        "no face images",
    ):
        assert phrase in text, phrase


def test_pdf_explains_pulse_reliability_per_face(standard):
    text = standard["text"]
    assert "not reliable (face too small in the picture)" in text  # face 2: all-null pulse
    assert "No reliable heart-rate estimate at any time" in text
    assert "Stress flag" in text and "1:00\N{EN DASH}1:18" in text  # face 1's stress window
    assert "pulse signal too weak or noisy" in text and "0:00\N{EN DASH}0:10 face missing or unusable" in text


def test_pulse_reasons_and_methods_match_the_pulse_package(standard):
    reasons = {value for name, value in vars(heart_rate).items() if name.startswith("REASON_")}
    assert reasons == set(render_module.PULSE_REASONS)
    used = {point.reason for face in standard["summary"].faces for point in face.pulse.series if point.reason}
    assert used <= reasons  # the fixture speaks the pipeline's vocabulary
    assert set(methods.PULSE_METHODS) <= set(render_module.PULSE_METHODS)


def test_the_stress_rule_is_stated(standard):
    html = standard["html"]
    assert "by more than 15 bpm and more than 15%" in html and "first 60 s of reliable estimates" in html


def test_the_merge_rule_and_its_measured_error_rates_are_stated(standard):
    tracker = standard["summary"].models.tracker
    flat = re.sub(r"\s+", " ", standard["html"])
    assert f"from its {tracker.descriptor_views} best views" in flat
    assert "within 0.4, wherever and whenever" in flat and "more than 0.55 apart" in flat
    assert "0.2% of pairs of two people (photos) would be joined" in flat
    assert "2.4% of pairs of views of one person within a recording would not" in flat


def test_accuracy_on_photos_of_other_people_is_stated_when_the_model_was_checked_on_them(standard):
    summary = standard["summary"]
    assert "photographs of other people" not in standard["html"]
    photos = PhotoCheck(source="photos", n=364, without_face=2, accuracy=0.539, macro_f1=0.477, recall={})
    emotion = replace(summary.models.emotion, photos=photos)
    html = render_html(replace(summary, models=replace(summary.models, emotion=emotion)))
    assert "On 364 labelled photographs of other people" in html and "53.9%" in html and "0.48" in html


def test_pdf_states_what_could_not_be_read(standard):
    text, html = standard["text"], standard["html"]
    assert "When an expression cannot be read" in text
    flat = re.sub(r"\s+", " ", html)
    for rule in (
        "under 24 px",
        "more than 0.35 of the eye distance",
        "outside 0.18\N{EN DASH}0.7 of the way",
        "Laplacian variance under 0.045",
    ):
        assert rule in flat, rule
    overall = standard["summary"].audience.unreadable_share
    assert f"For {round(100 * overall)}% of face-time the expression could not be read" in text
    face_2 = sections(html)[1]
    assert "Not readable</th><td>13% of sampled time (turned away 13%)" in face_2
    assert "Not readable</th><td>never" in sections(html)[0]
    for face in sections(html):
        assert "not readable" in face  # the strip's legend and caption
    hatch_ids = re.findall(f'<pattern id="({charts.HATCH_ID}[^"]*)"', html)
    assert len(hatch_ids) == len(set(hatch_ids)) == 3  # the audience mix, the polarity view, face 2's strip


def test_a_face_with_too_few_accepted_windows_says_so(standard):
    summary = with_face_pulse(standard["summary"], 0, mean_bpm=None, baseline_bpm=None, accepted_windows=3)
    html = render_html(summary)
    assert "not reliable (only 3 of its windows passed the quality check)" in html
    assert "only when at least 5 windows are shown" in html


def test_the_whole_track_estimate_is_shown_with_its_quality(standard):
    summary = with_face_pulse(
        standard["summary"],
        0,
        mean_bpm=None,
        baseline_bpm=None,
        accepted_windows=2,
        track_bpm=71.6,
        track_quality_db=-0.4,
        track_min_quality_db=-1.2,
        track_windows=29,
    )
    summary = with_face_pulse(
        summary, 1, track_bpm=None, track_quality_db=-3.4, track_min_quality_db=-1.2, track_windows=29
    )
    html = render_html(summary)
    assert "72 bpm (whole track)" in html  # overview table, where the mean is missing
    assert "quality -0.4 dB, needs -1.2 dB; 29 windows averaged" in html
    assert "withheld" in html and "quality -3.4 dB, needs -1.2 dB" in html
    assert "Viterbi path" in html and "in 99 % of trials" in html


def test_html_has_one_audience_chart_and_three_charts_per_face(standard):
    html = standard["html"]
    assert html.count('data-chart="audience-mix"') == 1
    faces = sections(html)
    assert len(faces) == 3
    for face in faces:
        for kind in ("emotion-strip", "emotion-share", "heart-rate"):
            assert face.count(f'data-chart="{kind}"') == 1, kind
    assert html.count('data-chart="emotion-share"') == 3 + 1  # plus the overall mix in the summary


def test_html_is_self_contained_and_has_no_face_images(standard):
    html = standard["html"]
    assert "<img" not in html and "data:image" not in html and "<image" not in html
    # url(#id) names the hatching pattern defined in the same chart; any other url( would be a fetch.
    assert not re.search(r"""(src|href)\s*=|url\((?!#)|@import""", html)


def test_zero_faces_gives_a_valid_report_saying_so(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        _, pdf_path = write_report(make_report_data(faces=()), tmp_path)
    # Nothing fetched, no CSS ignored; the HarfBuzz-subset notice is about the host's libraries, not us.
    problems = [r.getMessage() for r in caplog.records if "HarfBuzz" not in r.getMessage()]
    assert not problems
    text = pdf_text(pdf_path)
    assert "No faces were found in this recording" in text
    assert "Method and limitations" in text
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert html.count('data-chart="audience-mix"') == 1 and not sections(html)


def test_hostile_title_and_file_name_are_escaped():
    summary = make_report_data(title='<script>alert("x")</script>').summary
    summary = replace(summary, video=replace(summary.video, file="<img src=x onerror=alert(1)>.mp4"))
    html = render_html(summary)
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


def test_a_face_never_readable_and_a_run_without_pulse_render_with_dashes(standard):
    summary = standard["summary"]
    never_read = replace(
        summary.faces[1],
        dominant_emotion=None,
        emotion_share=dict.fromkeys(summary.faces[1].emotion_share, 0.0),
        confidence=replace(summary.faces[1].confidence, min=None, mean=None, median=None),
    )
    summary = replace(
        summary,
        faces=(summary.faces[0], never_read, summary.faces[2]),
        processing=replace(summary.processing, pulse=False),
    )
    face_2 = sections(render_html(summary))[1]
    assert "Dominant</th><td>—</td>" in face_2 and "min — · mean — · median —" in face_2
    assert "Heart rate was not measured: pulse analysis was switched off for this run." in face_2


def test_twenty_faces_one_hour_stays_bounded():
    moods = ("happy", "neutral", "sad", "surprise")
    faces = tuple(
        FaceSpec(60 * i, 3600 - 30 * i, mood=moods[i % 4], pulse=("good", "null")[i % 2], stress=(1500, 1700))
        for i in range(20)
    )
    html = render_html(make_report_data(duration_s=3600.0, faces=faces).summary)
    assert len(sections(html)) == 20
    assert len(html) < 1_000_000  # binned: about 25 kB per face whatever the length


def test_atomic_write_replaces_old_report_and_leaves_no_temp_files(standard, tmp_path, monkeypatch):
    (tmp_path / "report.html").write_text("old html")
    (tmp_path / "report.pdf").write_bytes(b"old pdf")

    def broken(html, target):
        Path(target).write_bytes(b"%PDF-partial")
        raise RuntimeError("disk full")

    monkeypatch.setattr(render_module, "html_to_pdf", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        write_report(standard["result"], tmp_path)
    assert (tmp_path / "report.html").read_text() == "old html"
    assert (tmp_path / "report.pdf").read_bytes() == b"old pdf"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.pdf"], "no temporary files"


def test_nothing_overflows_the_page_width():
    """Tables, charts and long unbroken names stay inside the text column on every page."""
    from weasyprint import HTML

    html = render_html(make_report_data(title="a_very_long_file_name_without_spaces_" * 4).summary)
    document = HTML(string=html, base_url=render_module.TEMPLATES.as_uri() + "/").render()

    def boxes(box):
        yield box
        for child in getattr(box, "children", ()):
            yield from boxes(child)

    for number, page in enumerate(document.pages, start=1):
        all_boxes = list(boxes(page._page_box))
        body = next(b for b in all_boxes if getattr(b, "element_tag", None) == "body")
        right = body.content_box_x() + body.width
        wide = [
            b.element_tag
            for b in all_boxes
            if getattr(b, "element_tag", None) not in (None, "html", "body")
            and b.position_x + b.margin_width() > right + 0.5
        ]
        assert not wide, f"page {number}: {wide}"
