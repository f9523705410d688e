"""Measure the face descriptor on labelled pairs, to choose the merge threshold.

Two sources, neither needing hand labels:
- the shared recordings: two views of one tracklet at least `--apart` seconds apart are one person; two
  faces visible in the same frame, their boxes apart, are two people;
- the shared photos, whose file names carry the person's name (LFW identities): two photos of one name
  are one person, of two names two people.
Prints the distance distributions and, per threshold, the share of one-person pairs split (false
rejections) and of two-people pairs joined (false accepts).

    .venv/bin/python scripts/reid_pairs.py
    .venv/bin/python scripts/reid_pairs.py --min-px 80 --fps 5 --apart 2
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from classpulse.faces.detections import box_iou  # noqa: E402
from classpulse.faces.detector import FaceDetector  # noqa: E402
from classpulse.faces.identity import MIN_CHIP_FACE_PX, FaceDescriber  # noqa: E402
from classpulse.faces.tracker import FaceTracker  # noqa: E402
from classpulse.video.decode import iter_frames  # noqa: E402
from classpulse.video.probe import probe  # noqa: E402

VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv"}


def video_views(video: Path, fps: float, min_px: float, describer: FaceDescriber, detector: FaceDetector):
    """(t, track id, box, descriptor) of every face of at least `min_px`, at `fps` frames per second."""
    tracker, out = FaceTracker(), []
    for frame in iter_frames(probe(video), fps=fps, max_side=1280):
        gray = cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2GRAY)
        faces = tracker.update(gray, detector.detect([frame.rgb])[0]).visible
        for box, size, track_id in zip(faces.xyxy, faces.sizes, faces.track_id.tolist(), strict=True):
            if size >= min_px:
                out.append((frame.t, track_id, box, describer.describe([describer.chip(frame.rgb, box)])))
    return out


def video_pairs(views: list, apart_s: float) -> tuple[list[float], list[float]]:
    same, different = [], []
    for (ta, ia, ba, da), (tb, ib, bb, db) in itertools.combinations(views, 2):
        if ia == ib and abs(ta - tb) >= apart_s:
            same.append(float(np.linalg.norm(da - db)))
        elif ia != ib and ta == tb and box_iou(ba[None], bb[None])[0, 0] == 0:  # apart: not one face twice
            different.append(float(np.linalg.norm(da - db)))
    return same, different


def photo_pairs(folder: Path, describer: FaceDescriber, detector: FaceDetector) -> tuple[list, list, int]:
    """Distances between the largest faces of every two photos, split by whether the names match."""
    views = []
    for path in sorted(folder.glob("*/*.jpg")):
        rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        faces = detector.detect([rgb])[0]
        if len(faces):
            box = faces.xyxy[int(np.argmax(faces.sizes))]
            views.append((path.stem.rsplit("_", 1)[0], describer.describe([describer.chip(rgb, box)])))
    same, different = [], []
    for (na, da), (nb, db) in itertools.combinations(views, 2):
        (same if na == nb else different).append(float(np.linalg.norm(da - db)))
    return same, different, len(views)


def print_curve(same: list[float], different: list[float]) -> None:
    same_a, diff_a = np.array(same), np.array(different)
    for name, a in (("one person", same_a), ("two people", diff_a)):
        if len(a):
            q = np.percentile(a, [0, 5, 50, 95, 100])
            print(f"{name}: n {len(a)}, distance min/5%/median/95%/max " + " / ".join(f"{v:.3f}" for v in q))
    print("\n| threshold | one person split | two people joined |\n|---|---|---|")
    for threshold in np.arange(0.30, 0.66, 0.05):
        split = float((same_a > threshold).mean()) if len(same_a) else float("nan")
        joined = float((diff_a <= threshold).mean()) if len(diff_a) else float("nan")
        print(f"| {threshold:.2f} | {split:.1%} | {joined:.1%} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=Path, default=REPO.parent / "shared/data/videos")
    parser.add_argument("--photos", type=Path, default=REPO.parent / "shared/data/faces/images")
    parser.add_argument("--fps", type=float, default=5.0)
    parser.add_argument("--apart", type=float, default=2.0, help="seconds between two views of one tracklet")
    parser.add_argument("--min-px", type=float, default=MIN_CHIP_FACE_PX, help="smallest face described")
    args = parser.parse_args()
    describer, detector = FaceDescriber.load(), FaceDetector()
    same, different = [], []
    print("| recording | views | one-person pairs | two-people pairs |\n|---|---|---|---|")
    for video in sorted(p for p in args.videos.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES):
        views = video_views(video, args.fps, args.min_px, describer, detector)
        s, d = video_pairs(views, args.apart)
        same, different = same + s, different + d
        print(f"| {video.name} | {len(views)} | {len(s)} | {len(d)} |", flush=True)
    print_curve(same, different)
    same, different, n = photo_pairs(args.photos, describer, detector)
    print(f"\nPhotos: {n} faces")
    print_curve(same, different)
    return 0


if __name__ == "__main__":
    sys.exit(main())
