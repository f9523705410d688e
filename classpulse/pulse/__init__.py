"""Pulse from video: skin colour per face and frame -> rPPG signal -> windowed spectra -> heart rate per
window and per track (spectrum averaging, Viterbi peak tracking) -> rise flags.

Everything here is a pure function on numpy arrays; decoding, detection and tracking live elsewhere.
The function `heart_rate` is not re-exported: it would shadow the module `classpulse.pulse.heart_rate`.
"""

from classpulse.pulse.heart_rate import (
    MIN_QUALITY_DB,
    REASON_FACE_TOO_SMALL,
    REASON_LOW_QUALITY,
    REASON_OFF_TRACK,
    REASON_TOO_FEW_SAMPLES,
    HeartRateWindow,
    heart_rate_series,
)
from classpulse.pulse.methods import HR_BAND_BPM, PULSE_METHODS, chrom, get_method, green, pos
from classpulse.pulse.skin import skin_mean_rgb, skin_mean_rgb_many, skin_regions
from classpulse.pulse.stress import baseline_bpm, stress_flags
from classpulse.pulse.tracking import TrackedPulse, TrackEstimate, track_estimate, track_series, viterbi_track

__all__ = [
    "HR_BAND_BPM",
    "MIN_QUALITY_DB",
    "PULSE_METHODS",
    "REASON_FACE_TOO_SMALL",
    "REASON_LOW_QUALITY",
    "REASON_OFF_TRACK",
    "REASON_TOO_FEW_SAMPLES",
    "HeartRateWindow",
    "TrackEstimate",
    "TrackedPulse",
    "baseline_bpm",
    "chrom",
    "get_method",
    "green",
    "heart_rate_series",
    "pos",
    "skin_mean_rgb",
    "skin_mean_rgb_many",
    "skin_regions",
    "stress_flags",
    "track_estimate",
    "track_series",
    "viterbi_track",
]
