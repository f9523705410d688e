"""Offline pass: join tracklets of the same person into one face and drop junk tracks.

A tracklet ends when a face is missed for a few detection rounds (camera off, someone walks in
front). If a later tracklet starts where an earlier one ended — same place and size, no time
overlap, within `max_gap_s` — it is taken to be the same person. Without a face-recognition model
(none ships offline) a different person taking the same seat would be merged too; the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from classpulse.faces.detections import box_centers, box_sizes


@dataclass(frozen=True)
class TrackletSpan:
    """What the merge needs of a tracklet: its id, time span (s), and boxes (4,) at both ends."""

    track_id: int
    first_s: float
    last_s: float
    first_box: np.ndarray
    last_box: np.ndarray


#: Tracklets shorter than this (seconds) are junk (a passing false detection) and are dropped.
MIN_TRACK_S = 1.0
#: The longest absence (seconds) across which two tracklets can still be joined into one face.
MAX_GAP_S = 60.0


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
    faces: list[list[TrackletSpan]] = []
    for span in kept:
        best, best_dist = None, max_distance
        for members in faces:
            tail = members[-1]
            gap = span.first_s - tail.last_s
            if gap <= 0 or gap > max_gap_s:
                continue
            ends = np.stack([tail.last_box, span.first_box])
            a, b = (float(size) for size in np.maximum(box_sizes(ends), 1e-6))
            if max(a, b) / min(a, b) > max_size_ratio:
                continue
            centre_a, centre_b = box_centers(ends)
            dist = float(np.linalg.norm(centre_a - centre_b)) / ((a + b) / 2)
            if dist <= best_dist:
                best, best_dist = members, dist
        if best is None:
            faces.append([span])
        else:
            best.append(span)
    return {s.track_id: face_id for face_id, members in enumerate(faces, start=1) for s in members}
