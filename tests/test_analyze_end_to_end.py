"""`classpulse analyze` end to end on a synthetic lecture whose ground truth is exact.

Three real face photographs in tiles, one person per tile, expressions changing every 4 s, slight
motion, the third face absent from 8 s to 12 s, and a known pulse per face injected into skin colour;
H.264-encoded. The real CLI runs in a subprocess with the shipped models.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pypdf import PdfReader

from classpulse.emotion.labels import EMOTION_LABELS
from classpulse.faces.detections import box_iou
from tests.synthetic_video import GroundTruth, build_synthetic_lecture

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lecture(tmp_path_factory, faces_dir: Path) -> tuple[GroundTruth, Path]:
    """The synthetic video, analysed once for all tests in this module: (truth, output folder)."""
    root = tmp_path_factory.mktemp("synthetic")
    truth = build_synthetic_lecture(root / "lecture.mp4", faces_dir)
    out = root / "report"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            "analyze",
            str(root / "lecture.mp4"),
            "--out",
            str(out),
            "--title",
            "Synthetic lecture",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr
    return truth, out


def _face_for_tile(summary: dict, truth: GroundTruth) -> dict[int, int]:
    """Ground-truth face index -> reported face_id, by the best box overlap."""
    boxes = np.array([f["box"] for f in summary["faces"]], np.float32)
    tiles = np.array([f.tile_box for f in truth.faces], np.float32)
    iou = box_iou(tiles, boxes)
    assert (iou.max(1) > 0.3).all(), iou
    return {i: summary["faces"][int(iou[i].argmax())]["face_id"] for i in range(len(tiles))}


def test_one_face_id_per_person_even_across_the_gap(lecture) -> None:
    truth, out = lecture
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["faces"]) == len(truth.faces) == 3
    mapping = _face_for_tile(summary, truth)
    assert sorted(mapping.values()) == [1, 2, 3]
    absent = next(f for f in summary["faces"] if f["face_id"] == mapping[2])
    assert absent["visible_s"] == pytest.approx(truth.duration_s - 4.0, abs=1.5)


def test_timeline_lists_the_visible_faces_each_second(lecture) -> None:
    truth, out = lecture
    summary = json.loads((out / "summary.json").read_text())
    mapping = _face_for_tile(summary, truth)
    timeline = json.loads((out / "timeline.json").read_text())
    assert [entry[0] for entry in timeline] == list(range(int(truth.duration_s) + 1))
    for t, faces in timeline:
        assert all(label in EMOTION_LABELS for _, label in faces)
        listed = {face_id for face_id, _ in faces}
        for i in range(3):
            expected = truth.expected_visible(i, t)
            if abs(t - 8.0) > 1.0 and abs(t - 12.0) > 1.0 and t < truth.duration_s - 0.5:
                assert (mapping[i] in listed) == expected, (t, i)


def test_pulse_recovered_within_3_bpm(lecture) -> None:
    truth, out = lecture
    summary = json.loads((out / "summary.json").read_text())
    mapping = _face_for_tile(summary, truth)
    for i, face_truth in enumerate(truth.faces):
        face = next(f for f in summary["faces"] if f["face_id"] == mapping[i])
        assert face["pulse"]["mean_bpm"] is not None, face["pulse"]
        assert face["pulse"]["mean_bpm"] == pytest.approx(face_truth.bpm, abs=3.0)


def test_exports_agree_with_each_other(lecture) -> None:
    _, out = lecture
    summary = json.loads((out / "summary.json").read_text())
    timeline = json.loads((out / "timeline.json").read_text())
    with (out / "faces.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == sum(len(faces) for _, faces in timeline)
    first = rows[0]
    probs = [float(first[f"p_{label}"]) for label in EMOTION_LABELS]
    assert sum(probs) == pytest.approx(1.0, abs=1e-3)
    assert first["emotion"] == EMOTION_LABELS[int(np.argmax(probs))]
    assert summary["models"]["emotion"]["sha256"]
    assert summary["processing"]["realtime_factor"] > 0
    assert sorted(p.name for p in out.iterdir()) == [
        "faces.csv",
        "report.html",
        "report.pdf",
        "summary.json",
        "timeline.json",
    ]


def test_report_has_every_section_and_chart(lecture) -> None:
    _, out = lecture
    text = "\n".join(page.extract_text() for page in PdfReader(out / "report.pdf").pages)
    for heading in (
        "Synthetic lecture",
        "Summary",
        "Audience expression over time",
        "Face 1",
        "Face 2",
        "Face 3",
        "Method and limitations",
    ):
        assert heading in text
    html = (out / "report.html").read_text()
    assert html.count('data-chart="audience-mix"') == 1
    for kind in ("emotion-strip", "emotion-share", "heart-rate"):
        assert html.count(f'data-chart="{kind}"') >= 3, kind


def test_frontal_well_lit_faces_are_readable(lecture) -> None:
    """The synthetic lecture's faces are frontal photos: under 5 % of face-time may be called unreadable."""
    _, out = lecture
    summary = json.loads((out / "summary.json").read_text())
    assert summary["audience"]["unreadable_share"] < 0.05
    assert all(face["unreadable_share"] < 0.05 for face in summary["faces"])


def test_valence_follows_the_scheduled_expression(lecture) -> None:
    """Seconds scheduled happy read pleasant, seconds scheduled sad unpleasant (on average: the model is
    right on about half of these photos), and every readable row carries valence, arousal and attention."""
    truth, out = lecture
    summary = json.loads((out / "summary.json").read_text())
    tile_of = {face_id: i for i, face_id in _face_for_tile(summary, truth).items()}
    with (out / "faces.csv").open() as fh:
        rows = [r for r in csv.DictReader(fh) if r["emotion"] != "unreadable"]
    assert all(r["valence"] and r["arousal"] and r["attending"] == "1" for r in rows)
    valence: dict[str, list[float]] = {"happy": [], "sad": []}
    for r in rows:
        label = truth.expected_label(tile_of[int(r["face_id"])], int(r["t"]))
        if label in valence and int(r["t"]) % 4:  # not at a photo change (t = 0, 4, 8 ...)
            valence[label].append(float(r["valence"]))
    assert np.mean(valence["happy"]) > 0.3 and np.mean(valence["sad"]) < -0.1
    assert summary["insights"]["attention"]["share"] > 0.95
