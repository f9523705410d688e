"""Carry faces through every frame between detections and give each one a stable track id.

Detection runs only every `detect_every` seconds, so between detections each track is moved by sparse
optical flow (Lucas-Kanade on corners inside the face box, median displacement), computed on a copy of
the frame whose short side is at most `FLOW_SHORT_SIDE` px: face motion is measured as well at that
size, for a quarter of the cost on 720p. On a detection frame, tracks and detections are matched
one-to-one (Hungarian) on centre distance measured in face sizes, gated so a match never jumps further
than a fraction of a face. Tracks survive `max_misses` detection rounds without a match (a head turned
away, a hand over the face, a camera switched off for a moment) before they end, hidden meanwhile;
ended tracks are reported so the caller can finalise them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

from classpulse.faces.detections import Faces

FLOW_SHORT_SIDE = 360
# A face's flow is trusted when at least MIN_AGREEING of its points move within MAX_SPREAD face sizes of
# their median and that median moves less than MAX_STEP face sizes in one frame (a head in a lecture moves
# a few percent of its size per frame; corners left on a background that replaced the face scatter).
MIN_AGREEING, MAX_SPREAD, MAX_STEP = 0.5, 0.1, 0.25
# 20 corners per face in 11x11 windows, at most 10 iterations: 0.48 ms for 9 faces at 360p, against 1.56 ms
# for 40 corners in 15x15 windows and 20 iterations; every point still converged on the 720p gallery.
_LK_PARAMS = {
    "winSize": (11, 11),
    "maxLevel": 2,
    "criteria": (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 10, 0.03),
}


@dataclass
class _Track:
    track_id: int
    box: np.ndarray
    landmarks: np.ndarray
    confidence: float
    points: np.ndarray = field(default_factory=lambda: np.zeros((0, 1, 2), np.float32))
    misses: int = 0


def _boxes_of(tracks: list[_Track]) -> Faces:
    """The tracks' boxes as `Faces` (for its sizes and centres); scores and landmarks left at zero."""
    n = len(tracks)
    return Faces(np.array([t.box for t in tracks]).reshape(-1, 4), np.zeros(n), np.zeros((n, 5, 2)))


@dataclass
class TrackerUpdate:
    """`visible`: the faces seen in this frame, with `track_id` set; `ended`: ids that will not return;
    `started`: how many tracks the detections of this frame opened."""

    visible: Faces
    ended: list[int]
    started: int = 0


class FaceTracker:
    """Flow-carried, detection-corrected face tracks. One instance per video; `reset()` between videos.

    max_misses: detection rounds a track may go unmatched before it ends (hidden meanwhile).
    max_distance: gate on centre distance, in face sizes (mean of the two boxes' sizes).
    max_size_ratio: gate on the ratio of the two boxes' sizes.
    """

    def __init__(
        self,
        max_misses: int = 4,
        max_distance: float = 0.6,
        max_size_ratio: float = 1.6,
        flow_points: int = 20,
    ):
        if max_misses < 0 or max_distance <= 0 or max_size_ratio < 1 or flow_points < 4:
            raise ValueError("tracker settings out of range")
        self.max_misses = max_misses
        self.max_distance = max_distance
        self.max_size_ratio = max_size_ratio
        self.flow_points = flow_points
        self.reset()

    def reset(self) -> None:
        self._tracks: list[_Track] = []
        self._ids = itertools.count(1)
        self._gray: np.ndarray | None = None  # the last frame advanced to, full size
        self._small: np.ndarray | None = None  # the same at flow size
        self._scale = 1.0  # flow size / full size

    @property
    def boxes(self) -> np.ndarray:
        """(n, 4) boxes of every track, hidden ones (missed at the last detections) included."""
        return np.array([t.box for t in self._tracks], dtype=np.float32).reshape(-1, 4)

    def advance(self, gray: np.ndarray) -> np.ndarray:
        """Carry every track to this frame (h, w) uint8 by optical flow; returns `boxes`."""
        self._scale = min(1.0, FLOW_SHORT_SIDE / min(gray.shape))
        small = (
            gray
            if self._scale == 1.0
            else cv2.resize(gray, None, fx=self._scale, fy=self._scale, interpolation=cv2.INTER_AREA)
        )
        if self._small is not None and self._small.shape == small.shape and self._tracks:
            self._flow(self._small, small)
        self._gray, self._small = gray, small
        return self.boxes

    def update(self, gray: np.ndarray, detections: Faces | None) -> TrackerUpdate:
        """Advance all tracks to this frame (unless `advance` already did) and match `detections` (None on
        frames without detection) to them."""
        if gray is not self._gray:
            self.advance(gray)
        ended: list[int] = []
        started = 0
        if detections is not None:
            ended, started = self._associate(detections)
        live = [t for t in self._tracks if t.misses == 0]
        visible = Faces(
            np.array([t.box for t in live]).reshape(-1, 4),
            np.array([t.confidence for t in live]),
            np.array([t.landmarks for t in live]).reshape(-1, 5, 2),
            np.array([t.track_id for t in live], dtype=np.int64),
        )
        return TrackerUpdate(visible=visible, ended=ended, started=started)

    def finish(self) -> list[int]:
        """End every remaining track (end of video)."""
        ended = [t.track_id for t in self._tracks]
        self._tracks = []
        return ended

    def _flow(self, prev: np.ndarray, cur: np.ndarray) -> None:
        moving = [t for t in self._tracks if len(t.points)]
        if not moving:
            return
        p0 = np.concatenate([t.points for t in moving])
        p1, status, _ = cv2.calcOpticalFlowPyrLK(prev, cur, p0, None, **_LK_PARAMS)
        ok = status.reshape(-1).astype(bool)
        sizes = _boxes_of(moving).sizes
        start = 0
        for track, size in zip(moving, sizes.tolist(), strict=True):
            n = len(track.points)
            good = ok[start : start + n]
            moved = (p1[start : start + n] - p0[start : start + n]).reshape(-1, 2)[good] / self._scale
            start += n
            shift = self._coherent_shift(moved, size)
            if shift is None:  # the face left, or was covered: hold the box until a detection decides
                track.points = np.zeros((0, 1, 2), np.float32)
                continue
            track.box = track.box + np.tile(shift, 2)
            track.landmarks = track.landmarks + shift
            track.points = p1[start - n : start][good].reshape(-1, 1, 2)

    @staticmethod
    def _coherent_shift(moved: np.ndarray, face_px: float) -> np.ndarray | None:
        """The median displacement (2,) of a face's tracked points (k, 2), full-size pixels, or None when
        it is not a face moving: too few points, points moving apart (a face vanishing into background
        drags its corners anywhere), or a jump of more than MAX_STEP face sizes in one frame."""
        if len(moved) < 4:
            return None
        shift = np.median(moved, axis=0)
        agree = np.linalg.norm(moved - shift, axis=1) <= MAX_SPREAD * face_px
        if agree.mean() < MIN_AGREEING or np.linalg.norm(shift) > MAX_STEP * face_px:
            return None
        return shift

    def _seed_points(self, box: np.ndarray) -> np.ndarray:
        """Corners inside the box, found in its own crop of the flow-size frame (flow coordinates)."""
        small = self._small
        h, w = small.shape
        x1, y1, x2, y2 = np.clip(np.round(box * self._scale), 0, [w, h, w, h]).astype(int)
        if x2 - x1 < 4 or y2 - y1 < 4:
            return np.zeros((0, 1, 2), np.float32)
        pts = cv2.goodFeaturesToTrack(small[y1:y2, x1:x2], self.flow_points, 0.01, max(2.0, (x2 - x1) / 12))
        if pts is None:
            return np.zeros((0, 1, 2), np.float32)
        return (pts + np.array([x1, y1], np.float32)).astype(np.float32)

    def _associate(self, detections: Faces) -> tuple[list[int], int]:
        """Match detections to tracks, open tracks for the rest; returns (ended ids, tracks opened)."""
        tracks = self._tracks
        matched_t: set[int] = set()
        matched_d: set[int] = set()
        if tracks and len(detections):
            t_faces = _boxes_of(tracks)
            t_size, d_size = t_faces.sizes, detections.sizes
            scale = np.maximum((t_size[:, None] + d_size[None, :]) / 2, 1.0)
            dist = np.linalg.norm(t_faces.centers[:, None] - detections.centers[None], axis=2) / scale
            ratio = np.maximum(t_size[:, None], d_size[None, :]) / np.maximum(
                np.minimum(t_size[:, None], d_size[None, :]), 1e-6
            )
            cost = np.where((dist <= self.max_distance) & (ratio <= self.max_size_ratio), dist, 1e6)
            rows, cols = linear_sum_assignment(cost)
            for r, c in zip(rows, cols, strict=True):
                if cost[r, c] >= 1e6:
                    continue
                track = tracks[r]
                track.box, track.landmarks = detections.xyxy[c].copy(), detections.landmarks[c].copy()
                track.confidence, track.misses = float(detections.confidence[c]), 0
                track.points = self._seed_points(track.box)
                matched_t.add(r)
                matched_d.add(c)
        ended: list[int] = []
        survivors: list[_Track] = []
        for i, track in enumerate(tracks):
            if i not in matched_t:
                track.misses += 1
                if track.misses > self.max_misses:
                    ended.append(track.track_id)
                    continue
            survivors.append(track)
        for c in np.argsort(detections.centers[:, 0]):  # new ids left to right, as a reader scans a frame
            if c not in matched_d:
                box = detections.xyxy[c].copy()
                survivors.append(
                    _Track(
                        next(self._ids),
                        box,
                        detections.landmarks[c].copy(),
                        float(detections.confidence[c]),
                        self._seed_points(box),
                    )
                )
        started = len(survivors) - (len(tracks) - len(ended))
        self._tracks = survivors
        return ended, started
