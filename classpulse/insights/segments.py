"""Split the recording into the segments the report compares: the customer's markers, or fixed windows."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import NamedTuple

from classpulse.insights.markers import Marker

#: Length of the fixed windows used without markers (seconds).
WINDOW_S = 300.0


class Span(NamedTuple):
    label: str
    start_s: float
    end_s: float


def clock(seconds: float, *, hours: bool = False) -> str:
    """Seconds -> "m:ss", or "h:mm:ss" when `seconds` reaches an hour or `hours` is set."""
    h, rest = divmod(round(max(0.0, float(seconds))), 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h or hours else f"{m}:{s:02d}"


def fixed_windows(duration_s: float, window_s: float = WINDOW_S) -> list[Span]:
    """[0, w), [w, 2w), ... up to the end, labelled by their clock times; one span for a short recording."""
    n = max(1, math.ceil(duration_s / window_s - 1e-9))
    bounds = [min(i * window_s, duration_s) for i in range(n)] + [duration_s]
    return [Span(f"{clock(a)}-{clock(b)}", a, b) for a, b in itertools.pairwise(bounds)]


def marker_spans(markers: Sequence[Marker], duration_s: float) -> list[Span]:
    """Each marker until its end, else until the next marker's start, else the end of the recording;
    clipped to the recording. Markers starting at or after the end are dropped (nothing to measure)."""
    spans = []
    for i, marker in enumerate(markers):
        if marker.start_s >= duration_s:
            continue
        end = marker.end_s
        if end is None:
            end = markers[i + 1].start_s if i + 1 < len(markers) else duration_s
        spans.append(Span(marker.label, marker.start_s, min(end, duration_s)))
    return spans


def plan_segments(markers: Sequence[Marker], duration_s: float) -> tuple[list[Span], str]:
    """The segments and where they come from ("markers" or "fixed windows"), as the report states it."""
    spans = marker_spans(markers, duration_s)
    if spans:
        return spans, "markers"
    return fixed_windows(duration_s), f"fixed {WINDOW_S / 60:g}-minute windows"
