"""The synthetic lecture builder: its file, its faces (real MTCNN) and its pulse, checked after encoding."""

from __future__ import annotations

import itertools
import json
from fractions import Fraction
from pathlib import Path

import ffmpeg
import numpy as np
import pytest

from tests.synthetic_video import GroundTruth, build_synthetic_lecture, plan_synthetic_lecture

MTCNN_TIMES_S = (2.0, 6.0, 10.0, 14.0, 18.0, 22.0)  # one frame per expression segment; 10 s: one face absent


@pytest.fixture(scope="module")
def lecture(tmp_path_factory, faces_dir: Path) -> tuple[Path, GroundTruth]:
    path = tmp_path_factory.mktemp("synthetic") / "lecture.mp4"
    return path, build_synthetic_lecture(path, faces_dir)


@pytest.fixture(scope="module")
def decoded(lecture) -> tuple[np.ndarray, dict[float, np.ndarray]]:
    """One streaming decode: mean RGB of the centre half of each tile per frame (T, n_faces, 3), and the
    frames at MTCNN_TIMES_S."""
    path, gt = lecture
    w, h = gt.size
    proc = (
        ffmpeg.input(str(path))
        .output("pipe:", format="rawvideo", pix_fmt="rgb24")
        .global_args("-loglevel", "error")
        .run_async(pipe_stdout=True)
    )
    wanted = {round(t * gt.fps): t for t in MTCNN_TIMES_S}
    traces, frames = [], {}
    while len(buf := proc.stdout.read(w * h * 3)) == w * h * 3:
        k = len(traces)
        frame = np.frombuffer(buf, np.uint8).reshape(h, w, 3)
        row = []
        for i in range(len(gt.faces)):
            x1, y1, x2, y2 = gt.box_at(i, k / gt.fps)
            q = (x2 - x1) // 4
            row.append(frame[y1 + q : y2 - q, x1 + q : x2 - q].reshape(-1, 3).mean(axis=0))
        traces.append(row)
        if k in wanted:
            frames[wanted[k]] = frame
    assert proc.wait() == 0
    return np.asarray(traces), frames


@pytest.fixture(scope="module")
def mtcnn():
    facenet_pytorch = pytest.importorskip("facenet_pytorch")
    return facenet_pytorch.MTCNN(keep_all=True, device="cpu")


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def pulse_spectrum(green: np.ndarray, gt: GroundTruth, face: int) -> tuple[np.ndarray, np.ndarray]:
    """Green trace (T,) -> (bpm axis, power): each run of frames with one photo shown is linearly detrended
    (removing the brightness steps between photos), absent frames are zero, Hann window, zero-padded FFT."""
    t = np.arange(len(green)) / gt.fps
    shown = [gt.expected_image(face, s) if gt.expected_visible(face, s) else "" for s in t]
    run = np.cumsum([False] + [a != b for a, b in itertools.pairwise(shown)])
    x = np.zeros(len(green))
    for r in np.unique(run):
        m = run == r
        if shown[np.argmax(m)]:
            x[m] = green[m] - np.polyval(np.polyfit(t[m], green[m], 1), t[m])
    n = 16 * len(x)
    return np.fft.rfftfreq(n, 1 / gt.fps) * 60, np.abs(np.fft.rfft(x * np.hanning(len(x)), n)) ** 2


def pulse_snr_db(bpm_axis: np.ndarray, power: np.ndarray, bpm: float) -> float:
    """Power within 6 bpm of `bpm` over the rest of the 42-180 bpm band, dB."""
    band = (bpm_axis >= 42) & (bpm_axis <= 180)
    near = band & (np.abs(bpm_axis - bpm) <= 6)
    return float(10 * np.log10(power[near].sum() / power[band & ~near].sum()))


def test_probes_as_h264_with_the_planned_format(lecture):
    path, gt = lecture
    probe = ffmpeg.probe(str(path))
    (video,) = [s for s in probe["streams"] if s["codec_type"] == "video"]
    assert video["codec_name"] == "h264"
    assert video["pix_fmt"] == "yuv420p"
    assert (video["width"], video["height"]) == gt.size == (1280, 720)
    assert float(Fraction(video["avg_frame_rate"])) == pytest.approx(gt.fps) == 25.0
    assert int(video["nb_frames"]) == gt.n_frames == 600
    assert float(probe["format"]["duration"]) == pytest.approx(gt.duration_s, abs=1 / gt.fps)
    assert not [p for p in path.parent.iterdir() if p != path]  # no temporary file left behind


@pytest.mark.parametrize("t", MTCNN_TIMES_S)
def test_mtcnn_finds_the_visible_faces_at_their_tiles(decoded, lecture, mtcnn, t):
    _, gt = lecture
    boxes, probs, _ = mtcnn.detect(decoded[1][t], landmarks=True)
    found = [] if boxes is None else [np.asarray(b, dtype=float) for b in boxes]
    expected = [gt.box_at(i, t) for i in range(len(gt.faces)) if gt.expected_visible(i, t)]
    assert len(expected) == (len(gt.faces) - 1 if t == 10.0 else len(gt.faces))
    assert len(found) == len(expected)
    assert min(np.asarray(probs, dtype=float)) > 0.9
    for box in expected:
        assert max(_iou(box, f) for f in found) > 0.3


@pytest.mark.parametrize("face", [0, 1, 2])
def test_pulse_survives_encoding(decoded, lecture, face):
    _, gt = lecture
    bpm_axis, power = pulse_spectrum(decoded[0][:, face, 1], gt, face)
    band = (bpm_axis >= 42) & (bpm_axis <= 180)
    peak = bpm_axis[band][np.argmax(power[band])]
    assert abs(peak - gt.faces[face].bpm) <= 1.5
    assert pulse_snr_db(bpm_axis, power, gt.faces[face].bpm) > 3.0


def test_schedule_visibility_and_identity(faces_dir):
    gt = plan_synthetic_lecture(faces_dir)
    assert [f.bpm for f in gt.faces] == [66.0, 78.0, 90.0]
    assert [gt.expected_visible(2, t) for t in (7.99, 8.0, 11.99, 12.0)] == [True, False, False, True]
    assert all(gt.expected_visible(i, 10.0) for i in (0, 1))
    for i, face in enumerate(gt.faces):
        assert face.schedule[0][0] == 0.0 and face.schedule[-1][1] == gt.duration_s
        assert len({label for _, _, label, _ in face.schedule}) >= 2  # the pool has several such people
        for start, end, label, image in face.schedule:
            assert gt.expected_label(i, (start + end) / 2) == label == Path(image).parent.name
            assert Path(image).name.startswith(face.person + "_")  # one identity per tile
        x1, y1, x2, y2 = face.tile_box
        assert 180 <= y2 - y1 <= 260 and 0 <= x1 < x2 <= gt.size[0] and 0 <= y1 < y2 <= gt.size[1]
    with pytest.raises(ValueError):
        gt.expected_label(0, gt.duration_s)


def test_deterministic_given_seed(tmp_path, faces_dir):
    small = dict(n_faces=2, duration_s=1.0, size=(640, 360), face_px=160, absent_s=(0.4, 0.6))
    a = build_synthetic_lecture(tmp_path / "a.mp4", faces_dir, seed=7, **small)
    b = build_synthetic_lecture(tmp_path / "b.mp4", faces_dir, seed=7, **small)
    assert a.to_json() == b.to_json() == plan_synthetic_lecture(faces_dir, seed=7, **small).to_json()
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()
    assert plan_synthetic_lecture(faces_dir, seed=8, **small).to_json() != a.to_json()
    assert json.loads(a.to_json())["faces"][0]["bpm"] == 66.0


def test_failed_encode_leaves_no_file(tmp_path, faces_dir):
    with pytest.raises(RuntimeError, match="ffmpeg"):
        build_synthetic_lecture(
            tmp_path / "x.mp4", faces_dir, preset="no-such-preset", duration_s=1.0, absent_face=None
        )
    assert list(tmp_path.iterdir()) == []
