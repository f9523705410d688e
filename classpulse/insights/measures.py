"""Attention, affect and engagement of some faces over some seconds, and the audience second by second.

Engagement index = 100 x (0.3 presence + 0.5 attention + 0.2 expressiveness), each component 0-1:
- presence: the share of the seconds each face of the room was in view, averaged over the room (everyone
  seen in the recording; for one face, that face);
- attention: the share of present, pose-judged seconds spent facing the camera;
- expressiveness: the mean of 1 - p(neutral) over readable seconds: any expression, pleasant or not.
Attention weighs most because head pose is the most direct and most reliable observation; expressiveness
least because it rests on the expression model, the least reliable part. These weights are a design
choice, not a validated scale: the report always prints the components beside the index.
"""

from __future__ import annotations

import numpy as np

from classpulse.emotion.labels import EMOTION_LABELS
from classpulse.insights.affect import NEGATIVE, POSITIVE, expressiveness, polarity, valence_arousal
from classpulse.insights.attention import ATTENDING, NOT_JUDGED
from classpulse.insights.seconds import Grid
from classpulse.results import Affect, Attention, AudienceSecond, Engagement

ENGAGEMENT_WEIGHTS = {"presence": 0.3, "attention": 0.5, "expressiveness": 0.2}
#: Seconds of the centred window the audience curves are averaged over (sums of counts, not of ratios).
CURVE_SMOOTHING_S = 15


def _r(x: float | None, nd: int = 3) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), nd)


def attention_of(grid: Grid) -> Attention:
    judged = grid.attention != NOT_JUDGED
    n = int(judged.sum())
    return Attention(
        share=_r((grid.attention == ATTENDING).sum() / n) if n else None,
        judged_s=n,
        present_s=int(grid.present.sum()),
    )


def affect_of(grid: Grid) -> Affect:
    probs = grid.probs[grid.readable]
    if not len(probs):
        return Affect(None, None, 0.0, 0.0, 0.0, 0)
    valence, arousal = valence_arousal(probs)
    groups = polarity(probs)
    n = len(probs)
    return Affect(
        valence=_r(valence.mean()),
        arousal=_r(arousal.mean()),
        positive=round(float((groups == POSITIVE).sum() / n), 4),
        neutral=round(float(((groups != POSITIVE) & (groups != NEGATIVE)).sum() / n), 4),
        negative=round(float((groups == NEGATIVE).sum() / n), 4),
        readable_s=n,
    )


def engagement_index(
    presence: float | None, attention: float | None, expressive: float | None
) -> float | None:
    """The weighted index 0-100, None when a component is missing."""
    parts = {"presence": presence, "attention": attention, "expressiveness": expressive}
    if any(v is None or not np.isfinite(v) for v in parts.values()):
        return None
    return round(100 * sum(ENGAGEMENT_WEIGHTS[k] * v for k, v in parts.items()), 1)


def engagement_of(grid: Grid, room: int, *, expressions: bool) -> Engagement:
    """`room`: how many faces presence is counted against (everyone seen; 1 for one face)."""
    seconds = grid.present.shape[1]
    presence = grid.present.sum() / (room * seconds) if room and seconds else None
    attention = attention_of(grid).share
    readable = grid.probs[grid.readable]
    expressive = float(expressiveness(readable).mean()) if expressions and len(readable) else None
    return Engagement(
        index=engagement_index(presence, attention, expressive),
        presence=_r(presence),
        attention=attention,
        expressiveness=_r(expressive),
    )


def expression_share(grid: Grid) -> tuple[dict[str, float], float]:
    """Shares of readable face-seconds per most probable class, and the share of present ones unreadable."""
    readable = grid.readable
    labels = grid.probs[readable].argmax(-1) if readable.any() else np.zeros(0, int)
    counts = np.bincount(labels, minlength=len(EMOTION_LABELS)) / max(len(labels), 1)
    present = int(grid.present.sum())
    unreadable = (present - int((readable & grid.present).sum())) / max(present, 1)
    return {k: round(float(c), 4) for k, c in zip(EMOTION_LABELS, counts, strict=True)}, round(unreadable, 4)


def ranked_shares(share: dict[str, float]) -> list[tuple[str, float]]:
    """An `expression_share`'s expressions with a share above 0, most common first (the reports list them)."""
    return sorted(((k, v) for k, v in share.items() if v > 0), key=lambda kv: -kv[1])


def _window_sum(x: np.ndarray, width: int) -> np.ndarray:
    """Centred moving sum over `width` samples, the window clipped at both ends."""
    csum = np.concatenate([[0.0], np.cumsum(x, dtype=np.float64)])
    idx = np.arange(len(x))
    lo = np.clip(idx - width // 2, 0, len(x))
    hi = np.clip(idx + width - width // 2, 0, len(x))
    return csum[hi] - csum[lo]


def audience_seconds(grid: Grid, *, expressions: bool) -> tuple[AudienceSecond, ...]:
    """Counts per second, and attention, valence, arousal and engagement averaged over CURVE_SMOOTHING_S
    (ratios of summed counts, so a second with one face weighs less than one with twenty)."""
    present = grid.present.sum(0)
    judged = (grid.attention != NOT_JUDGED).sum(0)
    attending = (grid.attention == ATTENDING).sum(0)
    readable_mask = grid.readable
    readable = readable_mask.sum(0)
    probs = np.where(readable_mask[..., None], grid.probs, 0.0)
    valence, arousal = valence_arousal(probs)
    expressive = np.where(readable_mask, expressiveness(probs), 0.0)
    w = CURVE_SMOOTHING_S
    room = max(len(grid.face_ids), 1)

    def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
        num, den = _window_sum(num, w), _window_sum(den, w)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / np.maximum(den, 1), np.nan)

    attention = ratio(attending, judged)
    presence = _window_sum(present, w) / (room * _window_sum(np.ones_like(present), w))
    val, aro, expr = (ratio(x.sum(0), readable) for x in (valence, arousal, expressive))
    rows = []
    for t in range(grid.present.shape[1]):
        engagement = engagement_index(presence[t], attention[t], expr[t] if expressions else None)
        rows.append(
            AudienceSecond(
                t=t,
                present=int(present[t]),
                judged=int(judged[t]),
                attending=int(attending[t]),
                attention=_r(attention[t]),
                readable=int(readable[t]) if expressions else 0,
                valence=_r(val[t]) if expressions else None,
                arousal=_r(aro[t]) if expressions else None,
                engagement=engagement,
            )
        )
    return tuple(rows)
