"""Heart-rate rise over a person's own resting baseline, as a flag for the report.

Caution: an elevated heart rate is NOT a validated measure of stress. Exercise, posture, caffeine,
temperature, talking and laughing raise it too, and camera-based heart rate has errors of several bpm.
The report may call these windows "heart rate above own baseline", never a diagnosis of anything.
"""

from __future__ import annotations

import numpy as np

from classpulse.pulse.heart_rate import HeartRateWindow

# A rise counts only if it clears BOTH margins. +15 bpm is about three times the typical window error
# of rPPG in good conditions (~5 bpm) and larger than breathing-related swings at rest (~5-10 bpm);
# +15 % keeps people with a high resting rate (where 15 bpm is a smaller change) from being flagged for
# ordinary variation.
BASELINE_S = 60.0
RISE_BPM = 15.0
RISE_FRACTION = 0.15
# The baseline comes from the first `baseline_s` seconds of accepted windows when at least this many
# exist there (10 one-second steps of 10 s windows span >= 19 s of video); else from the whole track.
MIN_BASELINE_WINDOWS = 10
# A face's mean heart rate, baseline and rise flags are reported only from at least this many accepted
# 10 s windows (1 s apart, so >= 14 s of video): one window that clears the quality gate can still be a
# wrong peak, as on compressed webcam video; several agreeing windows rarely are.
MIN_ACCEPTED_WINDOWS = 5


def baseline_bpm(series: list[HeartRateWindow], *, baseline_s: float = BASELINE_S) -> float | None:
    """The person's own resting heart rate (bpm): the median of accepted windows whose centre lies within
    `baseline_s` seconds of the first accepted one, or of all accepted windows when fewer than
    MIN_BASELINE_WINDOWS fall there; None when no window was accepted. The median ignores the odd
    wrong window.
    """
    accepted = [(w.t, w.bpm) for w in series if w.bpm is not None]
    if not accepted:
        return None
    t0 = accepted[0][0]
    early = [bpm for t, bpm in accepted if t - t0 <= baseline_s]
    chosen = early if len(early) >= MIN_BASELINE_WINDOWS else [bpm for _, bpm in accepted]
    return float(np.median(chosen))


def stress_flags(
    series: list[HeartRateWindow],
    *,
    baseline_s: float = BASELINE_S,
    rise_bpm: float = RISE_BPM,
    rise_fraction: float = RISE_FRACTION,
) -> list[bool | None]:
    """Per window (same order as `series`): True when bpm > baseline + rise_bpm AND
    bpm > baseline * (1 + rise_fraction), False otherwise, None where bpm is None or no baseline exists.
    """
    base = baseline_bpm(series, baseline_s=baseline_s)
    if base is None:
        return [None] * len(series)
    limit = max(base + rise_bpm, base * (1.0 + rise_fraction))
    return [None if w.bpm is None else w.bpm > limit for w in series]
