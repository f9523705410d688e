"""Attention end to end on a synthetic lecture of real photos (real MTCNN, tracker, pose rule): one
person's photo is replaced by a turned-away one for 20 s, and only those seconds lose attention."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from PIL import Image, ImageOps

from classpulse.options import AnalysisOptions
from classpulse.pipeline import analyze
from classpulse.video.probe import probe
from tests.synthetic_video import plan_synthetic_lecture, render_lecture

pytestmark = pytest.mark.slow

# The pool's most turned face: |yaw| 0.58 eye distances under MTCNN (about 55 degrees on the generic face
# of classpulse.insights.attention); its mirror image turns the other way.
TURNED = "happy/Hugo_Conte_0001.jpg"
AWAY_S = (20, 40)


def test_a_face_turned_away_for_20_s_loses_attention_there_and_only_there(
    tmp_path: Path, faces_dir: Path
) -> None:
    turned = faces_dir / TURNED
    mirrored = tmp_path / "turned_mirrored.jpg"
    ImageOps.mirror(Image.open(turned)).save(mirrored)
    gt = plan_synthetic_lecture(
        faces_dir, n_faces=2, duration_s=60.0, fps=15.0, size=(640, 360), face_px=160,
        expression_period_s=100.0, absent_face=None, drift_px=2, seed=5,
    )  # fmt: skip
    first, second = gt.faces
    _, _, label, photo = first.schedule[0]
    a, b = AWAY_S
    mid = (a + b) / 2
    schedule = ((0.0, a, label, photo), (a, mid, "happy", str(turned)), (mid, b, "happy", str(mirrored)))
    schedule += ((b, 60.0, label, photo),)
    gt = dataclasses.replace(gt, faces=(dataclasses.replace(first, schedule=schedule), second))
    render_lecture(tmp_path / "lecture.mp4", gt)

    result = analyze(probe(tmp_path / "lecture.mp4"), AnalysisOptions(pulse=False))
    per_second = result.summary.insights.per_second
    judged = [s.judged for s in per_second if s.t < 60]
    attending = {s.t: s.attending for s in per_second if s.t < 60}
    assert min(judged) == 2, judged
    # one second of slack at each edge: landmarks of a tracked face are refreshed every detection round (1 s)
    assert all(attending[t] == 1 for t in range(a + 1, b - 1)), attending
    assert all(attending[t] == 2 for t in (*range(0, a - 1), *range(b + 1, 60))), attending
    faces = result.summary.faces
    assert sorted(round(f.attention.share, 1) for f in faces) == [0.7, 1.0]
