"""Heart rate on the real rPPG clips of shared/data/videos against their reference heart rates.

Measured with this code (median bpm over 10 s windows, 1 s apart; "all" = every analysed window whatever
its quality, "accepted" = windows passing MIN_QUALITY_DB = 1 dB; error vs reference in brackets):

  ROI clips, 15 fps, whole frame as ROI; reference India video10 80.7, Sierra Leone video16 82.7 bpm
  clip                       POS all       CHROM all     accepted POS / CHROM   median SNR POS / CHROM
  India forehead             82.0 (+1.4)   117.7 (+37)   0/22 / 0/22            -3.4 / -4.6 dB
  India left cheek           126.2 (+46)   126.8 (+46)   0/22 / 0/22            -4.4 / -4.9 dB
  India right cheek          118.8 (+38)   110.7 (+30)   0/22 / 0/22            -4.6 / -5.0 dB
  Sierra Leone forehead      90.5 (+7.8)   86.9 (+4.2)   0/131 / 1/131          -4.1 / -3.8 dB
  Sierra Leone left cheek    90.6 (+7.8)   90.3 (+7.5)   0/131 / 1/131          -3.3 / -3.6 dB
  Sierra Leone right cheek   81.8 (-0.9)   91.9 (+9.2)   0/131 / 0/131          -3.9 / -3.8 dB
  These are dark, tiny (25-60 px, upscaled), lossy patches: every 10 s window is at noise level, so the
  gate rightly withholds (almost) all of them, and only the forehead medians come near the reference.
  The India clips carry a strong 120 bpm (2 Hz) artefact that wins on the cheeks.

  Selfie (phone, H.264), reference 68 bpm; decoded at 270x480, MTCNN on every 15th frame, box held
  POS   all 68.8 (+0.8), accepted 1/28: 66.7         median SNR -2.9 dB
  CHROM all 70.6 (+2.6), accepted 2/28: median 66.2  median SNR -3.1 dB
  green all 70.0 (+2.0), accepted 0/28               median SNR -1.1 dB

Whole-track estimate and Viterbi tracking (classpulse.pulse.tracking; POS, peak of the SNR-weighted
average spectrum, its SNR against the noise-calibrated gate for that many windows):

  clip                       peak of average   SNR / gate dB    reported
  India forehead             82.6 (+1.9)       -3.9 / -0.8      nothing
  India left / right cheek   120.6 / 118.5     -7.5 / -6.4      nothing
  Sierra Leone forehead      82.4 (-0.3)       -6.3 / -2.9      nothing
  Sierra Leone left / right  61.9 / 76.3       -4.1 / -5.5      nothing
  Selfie (this fixture)      67.9 (-0.1)       -2.3 / -1.2      nothing
  The foreheads' and the selfie's averages peak within 2 bpm of the reference, but no average clears
  what pure noise of the same length reaches 1 time in 200, so nothing is reported; the cheeks' peaks
  are wrong and are withheld too.

Run with -rP to see the current numbers.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from classpulse.pulse import heart_rate_series, skin_mean_rgb, track_series
from classpulse.pulse.tracking import track_quality_gate_db

ROI_FS = 15.0
SELFIE = "rppg_selfie_subjectD_ref68bpm_30fps_34s.mp4"
SELFIE_SIZE = (270, 480)  # half resolution: the face is still ~100 px wide
DETECT_EVERY = 15


def _medians(rgb: np.ndarray, times: np.ndarray, method: str) -> tuple[float, float | None, int, int, float]:
    """(median bpm of all analysed windows, median of accepted ones, n accepted, n analysed, median SNR)."""
    everything = heart_rate_series(rgb, times, method=method, min_quality_db=-np.inf)
    analysed = [w for w in everything if w.bpm is not None]
    accepted = [w for w in heart_rate_series(rgb, times, method=method) if w.accepted]
    return (
        float(np.median([w.bpm for w in analysed])),
        float(np.median([w.bpm for w in accepted])) if accepted else None,
        len(accepted),
        len(analysed),
        float(np.median([w.quality_db for w in analysed])),
    )


@pytest.fixture(scope="module")
def roi_traces(videos_dir: Path, video_reader) -> dict[str, tuple[np.ndarray, float]]:
    """file -> (mean RGB per frame (T, 3) of the whole frame, reference bpm). The clips are pure skin."""
    _, frames = video_reader
    traces = {}
    with (videos_dir / "rppg_roi_ground_truth.csv").open() as fh:
        for row in csv.DictReader(fh):
            rgb = np.array([f.reshape(-1, 3).mean(axis=0) for f in frames(videos_dir / row["file"], 50, 50)])
            traces[row["file"]] = rgb, float(row["mean_hr_bpm"])
    return traces


def test_roi_clips_forehead_near_reference_and_gate_rejects_noise_level_windows(roi_traces) -> None:
    report = []
    for name, (rgb, ref) in roi_traces.items():
        times = np.arange(len(rgb)) / ROI_FS
        for method in ("pos", "chrom"):
            med_all, med_acc, n_acc, n_all, snr = _medians(rgb, times, method)
            report.append((name, method, med_all, med_acc, n_acc, n_all, snr, ref))
            print(
                f"{name:45s} {method:5s} all {med_all:6.1f} ({med_all - ref:+5.1f})"
                f" accepted {n_acc}/{n_all}, median SNR {snr:5.1f} dB, reference {ref:.1f}"
            )
            # Every window is at noise level: at most a few may slip through the gate.
            assert n_acc <= 0.05 * n_all + 1
    for source in ("India_video10", "Sierra_Leone_video16"):
        best = min(abs(r[2] - r[7]) for r in report if source in r[0] and "forehead" in r[0])
        assert best < 5.0, f"{source} forehead: best POS/CHROM median is {best:.1f} bpm off"


@pytest.fixture(scope="module")
def selfie_trace(videos_dir: Path, video_reader, detect_face) -> tuple[np.ndarray, np.ndarray]:
    """Skin mean RGB per frame (T, 3) and frame times (T,) s of the selfie clip."""
    fps, frames = video_reader
    path = videos_dir / SELFIE
    rgb = []
    face = None
    for i, frame in enumerate(frames(path, *SELFIE_SIZE)):
        if i % DETECT_EVERY == 0:
            face = detect_face(frame) or face  # hold the last box in between (and through misses)
        rgb.append(np.full(3, np.nan) if face is None else skin_mean_rgb(frame, *face)[0])
    return np.array(rgb), np.arange(len(rgb)) / fps(path)


def test_selfie_heart_rate_matches_the_contact_reference(selfie_trace) -> None:
    rgb, times = selfie_trace
    assert np.isfinite(rgb).all() and times[-1] > 33.0
    accepted = []
    for method in ("pos", "chrom", "green"):
        everything = heart_rate_series(rgb, times, method=method, min_quality_db=-np.inf)
        analysed = [w.bpm for w in everything if w.bpm is not None]
        passed = [w.bpm for w in heart_rate_series(rgb, times, method=method) if w.accepted]
        accepted += passed
        print(
            f"{SELFIE} {method:5s} all {np.median(analysed):6.1f} ({np.median(analysed) - 68:+5.1f})"
            f" accepted {len(passed)}/{len(analysed)}: {np.round(passed, 1)}, reference 68"
        )
        if method == "pos":
            assert abs(np.median(analysed) - 68.0) < 5.0
    # Few windows of this compressed clip pass the gate (1-3 of 84), but those that do are right.
    assert accepted and abs(np.median(accepted) - 68.0) < 5.0


def _tracked(rgb: np.ndarray, times: np.ndarray, ref: float, name: str) -> tuple[float | None, list[float]]:
    """Track estimate (bpm or None) and the reported window rates of one trace, printed with the reference."""
    tracked = track_series(heart_rate_series(rgb, times))
    e = tracked.estimate
    reported = [w.bpm for w in tracked.windows if w.bpm is not None]
    gate = track_quality_gate_db(e.windows)
    print(
        f"{name:45s} track {e.bpm} (peak {e.peak_bpm:5.1f}, SNR {e.quality_db:5.2f} dB, gate {gate:5.2f}, "
        f"{e.windows} windows) "
        f"reported {len(reported)}/{len(tracked.windows)}, reference {ref:.1f}"
    )
    return e.bpm, reported


def test_tracking_never_reports_a_wrong_rate_on_the_real_clips(roi_traces, selfie_trace) -> None:
    """The real clips sit at noise level over their 27-137 s: whatever the tracking reports (today:
    nothing) must be right, within 5 bpm for the track and 10 bpm for any window."""
    clips = [(name, rgb, np.arange(len(rgb)) / ROI_FS, ref) for name, (rgb, ref) in roi_traces.items()]
    clips.append((SELFIE, *selfie_trace, 68.0))
    for name, rgb, times, ref in clips:
        track, reported = _tracked(rgb, times, ref, name)
        assert track is None or abs(track - ref) <= 5.0, name
        assert all(abs(bpm - ref) <= 10.0 for bpm in reported), name
