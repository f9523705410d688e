"""Chunked analysis (`classpulse.chunks`): the plan, the border stitching, and a chunked run against a
single pass on a synthetic lecture with exact ground truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from classpulse.chunks import CHUNK_OVERLAP_S, ID_STRIDE, Chunk, ChunkResult, plan_chunks, stitch
from classpulse.track_record import TrackRecord

FPS = 15.0


def test_chunks_cover_every_frame_once_and_warm_up_before_their_part() -> None:
    chunks = plan_chunks(125.0, FPS, 30.0)
    assert [(c.start, c.end) for c in chunks] == [(0, 450), (450, 900), (900, 1350), (1350, None)]
    assert chunks[0].first == 0
    assert all(c.start - c.first == CHUNK_OVERLAP_S * FPS for c in chunks[1:])
    assert [c.last for c in chunks] == [False, False, False, True]


def test_a_short_remainder_joins_the_last_chunk() -> None:
    assert [(c.start, c.end) for c in plan_chunks(70.0, FPS, 30.0)] == [(0, 450), (450, None)]
    assert len(plan_chunks(10.0, FPS, 30.0)) == 1


def test_chunks_must_be_longer_than_their_overlap() -> None:
    with pytest.raises(ValueError, match="overlap"):
        plan_chunks(100.0, FPS, CHUNK_OVERLAP_S)


def _record(track_id: int, times: np.ndarray, x: float) -> TrackRecord:
    record = TrackRecord(track_id)
    for t in times:
        record.add_frame(float(t), np.array([x, 0, x + 50, 50], dtype=np.float32), np.ones(3), 50.0)
        record.add_emotion(float(t), np.full(7, 1 / 7))
    return record


def _frames(a: float, b: float) -> np.ndarray:
    return np.arange(round(a * FPS), round(b * FPS)) / FPS


def test_stitching_joins_a_face_seen_by_both_chunks_and_keeps_others_apart() -> None:
    first = Chunk(index=0, fps=FPS, first=0, start=0, end=300)  # owns 0-20 s
    second = Chunk(index=1, fps=FPS, first=210, start=300, end=None)  # decodes from 14 s, owns 20 s on
    results = [
        ChunkResult(
            chunk=second,
            records=[
                _record(ID_STRIDE + 1, _frames(14, 40), x=100),  # the same person as track 1
                _record(ID_STRIDE + 2, _frames(14, 18), x=300),  # seen only in the warm-up
                _record(ID_STRIDE + 3, _frames(25, 40), x=500),  # arrives after the border
            ],
            frames=300,
            decoded_end_s=40.0,
        ),
        ChunkResult(
            chunk=first,
            records=[_record(1, _frames(0, 20), x=100), _record(2, _frames(5, 18), x=300)],
            frames=300,
            decoded_end_s=20.0,
        ),
    ]
    records = {r.track_id: r for r in stitch(results)}
    assert sorted(records) == [1, 2, ID_STRIDE + 3]
    joined = records[1]
    assert joined.first_s == 0 and joined.last_s == pytest.approx(40 - 1 / FPS)
    assert np.all(np.diff(joined.frame_times) > 0), "no frame twice"
    assert len(joined.emotion_times) == len(joined.frame_times)
    assert len(joined.rgb) == len(joined.frame_times), "the trace is joined for the pulse"
    assert records[2].last_s < 18


@pytest.mark.slow
def test_chunked_run_in_two_processes_matches_a_single_pass(tmp_path: Path, faces_dir: Path) -> None:
    from classpulse.options import AnalysisOptions
    from classpulse.pipeline import analyze, analyze_in_chunks
    from classpulse.video.probe import probe
    from tests.synthetic_video import build_synthetic_lecture

    video = tmp_path / "lecture.mp4"
    build_synthetic_lecture(
        video, faces_dir, n_faces=3, duration_s=40.0, size=(640, 360), face_px=120, absent_s=(14.0, 19.0)
    )
    info, options = probe(video), AnalysisOptions()
    single = analyze(info, options)
    chunked = analyze_in_chunks(info, options, chunk_s=12.0, workers=2)  # three chunks, two borders

    persons = [f.face_id for f in single.summary.faces]
    assert persons == [f.face_id for f in chunked.summary.faces] == [1, 2, 3]
    a = {(t, f.face_id): f.label for t, faces in single.timeline for f in faces}
    b = {(t, f.face_id): f.label for t, faces in chunked.timeline for f in faces}
    assert sum(a.get(key) == label for key, label in b.items()) >= 0.95 * max(len(a), len(b))
    for one, many in zip(single.summary.faces, chunked.summary.faces, strict=True):
        bpm_one = {p.t: p.bpm for p in one.pulse.series if p.bpm is not None}
        bpm_many = {p.t: p.bpm for p in many.pulse.series if p.bpm is not None}
        common = bpm_one.keys() & bpm_many.keys()
        assert len(common) >= 0.9 * len(bpm_one)
        assert max(abs(bpm_one[t] - bpm_many[t]) for t in common) <= 1.0
    assert chunked.summary.processing.frames_analysed == single.summary.processing.frames_analysed
