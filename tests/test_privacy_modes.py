"""What each privacy policy writes, file by file: `classpulse analyze --policy` on a shared 3 s clip with
three people, through the real pipeline, models and renderer; and the command line's refusals."""

from __future__ import annotations

import csv
import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from classpulse.emotion.labels import EMOTION_LABELS
from classpulse.results import CSV_HEADER, OUTPUT_FILES
from tests.helpers.service import CLIP

pytestmark = pytest.mark.slow

POLICIES = ("full", "aggregate", "no-emotion")
EMOTION_WORDS = re.compile(r"\b(" + "|".join(EMOTION_LABELS) + r")\b")


def _analyze(video: Path, out: Path, *flags: str, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "cli", "analyze", str(video), "--out", str(out), "--quiet", *flags],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory, videos_dir: Path) -> dict[str, dict]:
    """Each policy's output files, read once: timeline, summary, CSV rows, HTML and the PDF's text."""
    root = tmp_path_factory.mktemp("privacy")
    read = {}
    for policy in POLICIES:
        out = root / policy
        flags = ("--policy", policy, "--purpose", "research", "--consent")
        result = _analyze(videos_dir / CLIP, out, *flags)
        assert result.returncode == 0, result.stderr
        assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES)
        pdf = PdfReader(out / "report.pdf")
        read[policy] = {
            "timeline": json.loads((out / "timeline.json").read_text()),
            "summary_text": (out / "summary.json").read_text(),
            "summary": json.loads((out / "summary.json").read_text()),
            "csv": list(csv.reader((out / "faces.csv").open())),
            "html": html.unescape((out / "report.html").read_text()),
            "first_page": pdf.pages[0].extract_text(),
            "pdf": "\n".join(page.extract_text() for page in pdf.pages),
        }
    return read


def _labels_per_second(timeline: list) -> list[tuple[int, list[str]]]:
    return [(t, sorted(label for _, label in faces)) for t, faces in timeline]


@pytest.mark.parametrize("policy", POLICIES)
def test_every_output_records_the_policy_purpose_and_consent(outputs: dict, policy: str) -> None:
    out = outputs[policy]
    privacy = out["summary"]["privacy"]
    assert (privacy["policy"], privacy["purpose"], privacy["consent"]) == (policy, "research", True)
    first_page = " ".join(out["first_page"].split())
    assert "Analysis policy" in first_page and "Purpose research" in first_page
    assert "the people recorded were informed and agreed" in first_page
    assert privacy["timeline"] in " ".join(out["html"].split())
    assert out["csv"][0] == list(CSV_HEADER)
    assert out["summary"]["audience"]["faces_seen"] == 3


def test_full_keeps_per_face_results(outputs: dict) -> None:
    out = outputs["full"]
    faces = out["summary"]["faces"]
    assert len(faces) == 3 and all(face["pulse"]["series"] for face in faces)
    assert {row[1] for row in out["csv"][1:]} == {str(face["face_id"]) for face in faces}
    ids = {face_id for _, entries in out["timeline"] for face_id, _ in entries}
    assert ids == {face["face_id"] for face in faces}
    assert out["summary"]["models"]["emotion"] is not None and out["summary"]["processing"]["pulse"]
    assert 'class="face"' in out["html"] and "Face 1" in out["pdf"]


def test_aggregate_writes_audience_level_results_only(outputs: dict) -> None:
    out, full = outputs["aggregate"], outputs["full"]
    summary = out["summary"]
    assert summary["faces"] == [] and out["csv"] == [list(CSV_HEADER)]
    for per_face_key in ('"face_id"', '"series"', '"stress"', '"bpm"', '"box"', '"dominant_emotion"'):
        assert per_face_key not in out["summary_text"]
    assert not summary["processing"]["pulse"] and "pulse" not in summary["processing"]["stage_s"]
    # The same counts per second as the full run, but numbered 1..n within each second, sorted by label.
    assert _labels_per_second(out["timeline"]) == _labels_per_second(full["timeline"])
    for _, entries in out["timeline"]:
        assert [n for n, _ in entries] == list(range(1, len(entries) + 1))
        assert [label for _, label in entries] == sorted(label for _, label in entries)
    assert summary["audience"]["per_second"] == full["summary"]["audience"]["per_second"]
    assert summary["audience"]["overall_share"] == full["summary"]["audience"]["overall_share"]
    assert 'class="face"' not in out["html"] and "Faces at a glance" not in out["html"]
    assert "Face 1" not in out["pdf"] and "heart rate" not in out["first_page"].lower()
    assert "Audience expression over time" in out["pdf"]


def test_no_emotion_never_runs_the_expression_model(outputs: dict) -> None:
    out = outputs["no-emotion"]
    summary = out["summary"]
    assert summary["faces"] == [] and out["csv"] == [list(CSV_HEADER)]
    assert summary["models"]["emotion"] is None
    assert "expression worker" not in summary["processing"]["stage_s"]  # the classifier never ran
    assert not summary["processing"]["pulse"]
    audience = summary["audience"]
    assert audience["overall_share"] == {} and audience["moments"] == []
    assert all(set(counts) == {"readable", "unreadable"} for _, counts in audience["per_second"])
    assert {label for _, entries in out["timeline"] for _, label in entries} <= {"readable", "unreadable"}
    assert _labels_per_second(out["timeline"])[0] == (0, ["readable"] * 3)
    for text in (out["summary_text"], out["html"], out["pdf"]):
        assert not EMOTION_WORDS.search(text), EMOTION_WORDS.search(text)
    assert 'class="face"' not in out["html"] and "Overall expression mix" not in out["html"]
    assert "Audience presence over time" in out["pdf"] and "expression model was not run" in out["pdf"]


@pytest.mark.parametrize(
    ("env", "flags", "message"),
    [
        ({"CLASSPULSE_JURISDICTION": "eu"}, ("--purpose", "education"), "Art. 5(1)(f)"),
        (
            {"CLASSPULSE_JURISDICTION": "eu", "CLASSPULSE_POLICY": "aggregate"},
            ("--purpose", "workplace"),
            "2024/1689",
        ),
        ({"CLASSPULSE_JURISDICTION": "eu"}, ("--policy", "no-emotion"), "requires a purpose"),
        ({"CLASSPULSE_REQUIRE_CONSENT": "true"}, ("--policy", "no-emotion"), "consent=true"),
    ],
)
def test_the_command_line_refuses_what_the_rules_forbid(
    tmp_path: Path, videos_dir: Path, env: dict[str, str], flags: tuple[str, ...], message: str
) -> None:
    out = tmp_path / "report"
    result = _analyze(videos_dir / CLIP, out, *flags, env=env)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and message in result.stderr
    assert not out.exists()
