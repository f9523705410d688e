"""`classpulse evaluate pulse`: the pulse stage on one recording, against a reference heart rate if given.

Face mode runs the whole analysis pipeline and reports the face with the largest median box; whole-frame
mode treats every pixel as skin (for skin-only clips such as the shared ROI patches) and runs the same
heart-rate series and tracking on the frame's mean colour.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from classpulse.options import AnalysisOptions
from classpulse.pulse.heart_rate import MIN_QUALITY_DB, heart_rate_series
from classpulse.results import Face, Pulse, as_dict
from classpulse.summary import pulse_summary
from classpulse.video.probe import InputError, probe

# Whole-frame mode decodes at this long side: the frame mean needs no detail, and area-scaled frames
# average the same pixels.
WHOLE_FRAME_MAX_SIDE = 320


def read_truth(truth: str, video: Path) -> float:
    """Reference bpm from a number, or from a CSV with a `file` column and a `mean_hr_bpm` or
    `reference_bpm` column (the shared ground-truth files), looked up by the video's file name."""
    try:
        return float(truth)
    except ValueError:
        pass
    path = Path(truth)
    if not path.is_file():
        raise InputError(f"--truth {truth!r} is neither a number nor a CSV file")
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            if row.get("file") == video.name:
                value = row.get("mean_hr_bpm") or row.get("reference_bpm")
                if value is None:
                    raise InputError(f"{path}: needs a mean_hr_bpm or reference_bpm column")
                return float(value)
    raise InputError(f"{path}: no row for {video.name}")


def _whole_frame_pulse(video: Path, options: AnalysisOptions) -> Pulse:
    from classpulse.video.decode import analysis_rate, iter_frames

    info = probe(video)
    rgb, times = [], []
    for frame in iter_frames(
        info, fps=analysis_rate(info, cap=options.max_fps), max_side=WHOLE_FRAME_MAX_SIDE
    ):
        rgb.append(frame.rgb.reshape(-1, 3).mean(axis=0))
        times.append(frame.t)
    if len(rgb) < 2:
        raise InputError(f"{video.name}: fewer than two frames decoded")
    series = heart_rate_series(np.array(rgb), np.array(times), method=options.pulse_method)
    pulse, _ = pulse_summary(series)
    return pulse


def _face_pulse(video: Path, options: AnalysisOptions) -> Face:
    from classpulse.pipeline import analyze

    faces = analyze(probe(video), options).summary.faces
    if not faces:
        raise InputError(f"{video.name}: no face was tracked (try --whole-frame for skin-only clips)")
    return max(faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))


def evaluate_pulse(
    video: Path,
    *,
    truth: str | None = None,
    whole_frame: bool = False,
    method: str = "pos",
    max_fps: float = AnalysisOptions.max_fps,
) -> dict:
    """The pulse result for one recording, analysed at up to `max_fps` frames per second (the source rate
    when lower), as a JSON-ready dict: `max_fps`, the face's `pulse` fields of summary.json (series rows
    `[t, bpm, quality_db, reason, stress, confidence]`), `window_gate_passed` (windows whose own SNR
    reached MIN_QUALITY_DB, the acceptance rule before tracking), and with a `truth` (bpm, or CSV as in
    `read_truth`): `truth_bpm`, `track_error_bpm`, `window_mae_bpm` over the reported windows and
    `coverage` (reported windows over all windows). InputError or ValueError for bad input."""
    options = AnalysisOptions(pulse_method=method, max_fps=max_fps)  # bad values fail before decoding
    reference = None if truth is None else read_truth(truth, video)
    if whole_frame:
        face_id, pulse = None, _whole_frame_pulse(video, options)
    else:
        face = _face_pulse(video, options)
        face_id, pulse = face.face_id, face.pulse
    series = pulse.series
    reported = np.array([p.bpm for p in series if p.bpm is not None], dtype=float)
    result = {
        "video": video.name,
        "mode": "whole_frame" if whole_frame else "largest_face",
        "method": method,
        "max_fps": max_fps,
        "face_id": face_id,
        **as_dict(pulse),
        "windows": len(series),
        "window_gate_passed": sum(
            1 for p in series if p.quality_db is not None and p.quality_db >= MIN_QUALITY_DB
        ),
    }
    if reference is not None:
        track = pulse.track_bpm
        result |= {
            "truth_bpm": reference,
            "track_error_bpm": None if track is None else round(track - reference, 1),
            "window_mae_bpm": (
                round(float(np.mean(np.abs(reported - reference))), 2) if len(reported) else None
            ),
            "coverage": round(len(reported) / len(series), 3) if series else 0.0,
        }
    return result
