"""Offline pass: join tracklets of the same person into one face and drop junk tracks.

A tracklet ends when a face is missed for a few detection rounds (camera off, someone walks in front, a
head turned away). A later tracklet is joined to an earlier face when
- both have a face descriptor (`classpulse.faces.identity`: faces of at least MIN_CHIP_FACE_PX) and the
  descriptors are closer than `SAME_PERSON_DISTANCE`, wherever and whenever in the recording it appears; or
- it starts where that face was last seen (same place and size, within `max_gap_s`), unless their
  descriptors say they are two people (farther apart than `DIFFERENT_PERSON_DISTANCE`).
A face never holds two tracklets that are visible at the same moment: two faces in one frame are two
people. Among several candidates the closest in appearance wins, then the closest in place.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from classpulse.faces.detections import box_centers, box_sizes
from classpulse.faces.identity import DIFFERENT_PERSON_DISTANCE, SAME_PERSON_DISTANCE, unit


@dataclass(frozen=True)
class TrackletSpan:
    """What the merge needs of a tracklet: its id, time span (s), boxes (4,) at both ends, and its face
    descriptor (128,) unit vector, None when no view was large enough."""

    track_id: int
    first_s: float
    last_s: float
    first_box: np.ndarray
    last_box: np.ndarray
    descriptor: np.ndarray | None = None


#: Tracklets shorter than this (seconds) are junk (a passing false detection) and are dropped.
MIN_TRACK_S = 1.0
#: The longest absence (seconds) across which two tracklets can be joined by place alone.
MAX_GAP_S = 60.0


def _place_distance(earlier: TrackletSpan, later: TrackletSpan, max_size_ratio: float) -> float:
    """Distance in face sizes from where `earlier` was last seen to where `later` starts; inf when their
    sizes differ by more than `max_size_ratio`."""
    ends = np.stack([earlier.last_box, later.first_box])
    a, b = (float(size) for size in np.maximum(box_sizes(ends), 1e-6))
    if max(a, b) / min(a, b) > max_size_ratio:
        return np.inf
    centre_a, centre_b = box_centers(ends)
    return float(np.linalg.norm(centre_a - centre_b)) / ((a + b) / 2)


class _Face:
    """A face being built: its tracklets, and the mean descriptor of those that have one."""

    def __init__(self, span: TrackletSpan):
        self.members = [span]
        self._sum = None if span.descriptor is None else span.descriptor.astype(np.float64)

    def add(self, span: TrackletSpan) -> None:
        self.members.append(span)
        if span.descriptor is not None:
            self._sum = span.descriptor.astype(np.float64) + (0 if self._sum is None else self._sum)

    def appearance_distance(self, span: TrackletSpan) -> float | None:
        if self._sum is None or span.descriptor is None:
            return None
        return float(np.linalg.norm(unit(self._sum) - span.descriptor))

    def overlaps(self, span: TrackletSpan) -> bool:
        return any(m.first_s <= span.last_s and span.first_s <= m.last_s for m in self.members)

    @property
    def last(self) -> TrackletSpan:
        return max(self.members, key=lambda m: m.last_s)


def merge_tracklets(
    spans: list[TrackletSpan],
    *,
    min_span_s: float = MIN_TRACK_S,
    max_gap_s: float = MAX_GAP_S,
    max_distance: float = 0.5,
    max_size_ratio: float = 1.5,
) -> dict[int, int]:
    """Tracklet id -> face id (1, 2, ... by first appearance); tracklets under `min_span_s` are left out.

    max_distance is in face sizes between the earlier tracklet's last box and the later one's first box.
    """
    kept = sorted(
        (s for s in spans if s.last_s - s.first_s >= min_span_s), key=lambda s: (s.first_s, s.track_id)
    )
    faces: list[_Face] = []
    for span in kept:
        best, best_key = None, (np.inf, np.inf)
        for face in faces:
            if face.overlaps(span):
                continue
            looks = face.appearance_distance(span)
            tail = face.last
            gap = span.first_s - tail.last_s
            place = _place_distance(tail, span, max_size_ratio) if 0 < gap <= max_gap_s else np.inf
            same_look = looks is not None and looks <= SAME_PERSON_DISTANCE
            same_place = place <= max_distance and (looks is None or looks <= DIFFERENT_PERSON_DISTANCE)
            key = (np.inf if looks is None else looks, place)
            if (same_look or same_place) and key < best_key:
                best, best_key = face, key
        if best is None:
            faces.append(_Face(span))
        else:
            best.add(span)
    return {s.track_id: face_id for face_id, face in enumerate(faces, start=1) for s in face.members}
