"""Tracks keep one id per person through motion and short misses; long gaps are re-joined offline."""

from __future__ import annotations

import cv2
import numpy as np

from classpulse.faces.merge import TrackletSpan, merge_tracklets
from classpulse.faces.tracker import FaceTracker
from tests.helpers.faces import canvas_with


def _gray(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def test_ids_stay_stable_while_faces_move_between_detections(detector, face_photos) -> None:
    tracker = FaceTracker()
    ids_seen, errors = set(), []
    for i in range(31):
        true_x = np.array([100 + 3 * i, 700 - 2 * i], float)
        frame = canvas_with(face_photos[:2], [(int(true_x[0]), 200), (int(true_x[1]), 250 + i)])
        dets = detector.detect([frame])[0] if i % 10 == 0 else None
        visible = tracker.update(_gray(frame), dets).visible
        assert len(visible) == 2
        ids_seen.update(visible.track_id.tolist())
        centres = visible.centers[np.argsort(visible.centers[:, 0]), 0]
        if dets is not None:
            box_offset = centres - true_x
        else:
            errors.extend(np.abs(centres - true_x - box_offset))
    assert ids_seen == {1, 2}
    assert max(errors) < 4, "optical flow carries boxes with the faces between detections"


def test_a_face_gone_too_long_ends_and_comes_back_as_a_new_tracklet(detector, face_photos) -> None:
    tracker = FaceTracker(max_misses=1)
    photo = face_photos[:1]
    ended = []
    ids = []
    for i in range(6):
        frame = (
            canvas_with(photo, [(400, 200)]) if i not in (2, 3) else np.full((720, 1280, 3), 120, np.uint8)
        )
        update = tracker.update(_gray(frame), detector.detect([frame])[0])
        ended += update.ended
        ids.append(update.visible.track_id.tolist())
    assert ids == [[1], [1], [], [], [2], [2]]
    assert ended == [1]


def test_merge_joins_tracklets_at_the_same_place_and_drops_junk() -> None:
    box = np.array([100, 100, 200, 200], np.float32)
    spans = [
        TrackletSpan(1, 0.0, 8.0, box, box),
        TrackletSpan(2, 12.0, 30.0, box + 5, box + 5),  # same place after a gap: same person
        TrackletSpan(3, 2.0, 30.0, box + 400, box + 400),  # someone else
        TrackletSpan(4, 5.0, 5.4, box + 800, box + 800),  # junk: shorter than 1 s
        TrackletSpan(5, 9.0, 11.0, box + 120, box + 120),  # overlaps nobody, but too far away
    ]
    assert merge_tracklets(spans) == {1: 1, 2: 1, 3: 2, 5: 3}


def test_merge_never_joins_overlapping_tracklets() -> None:
    box = np.array([0, 0, 100, 100], np.float32)
    spans = [TrackletSpan(1, 0.0, 10.0, box, box), TrackletSpan(2, 5.0, 15.0, box, box)]
    assert merge_tracklets(spans) == {1: 1, 2: 2}
