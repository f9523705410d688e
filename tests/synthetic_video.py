"""Synthetic lecture videos with exact ground truth, for end-to-end tests.

`build_synthetic_lecture()` renders `n_faces` face tiles on a plain grey background and streams the frames
to libx264 through ffmpeg's stdin, so no more than one frame is ever held in memory. Each tile is one
person from the labelled face pool (`faces_dir/<label>/<Person_Name>_<n>.jpg`), chosen among the people
with the most distinct expression classes, and changes photo (and usually expression) every
`expression_period_s`. Tiles drift by a few pixels along slow sines (integer pixels, so `box_at()` is exact),
one tile is replaced by background during `absent_s` and comes back at the same place, and the whole
frame follows a slow illumination drift.

Grayscale photos are tinted with a skin colour and every tile pixel is modulated at its face's `bpm`:
`rgb(t) = base * illumination(t) * (1 + pulse_amplitude * sin(2 pi bpm/60 t + phase) * PULSE_SIGNATURE)`,
i.e. a relative change along the blood-volume signature R:G:B = 0.33:0.77:0.53 (de Haan & van Leest 2014),
which POS (Wang et al. 2017) recovers; `pulse_amplitude` is the peak relative change of green.

Times are seconds, frame k is shown at t = k / fps, all intervals are half-open [start, end), boxes are
(x1, y1, x2, y2) pixels with x2, y2 exclusive.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import cv2
import ffmpeg
import numpy as np
from PIL import Image

from classpulse.emotion.labels import EMOTION_LABELS
from classpulse.results import Summary

PULSE_SIGNATURE = (0.33 / 0.77, 1.0, 0.53 / 0.77)  # relative pulse amplitude per RGB channel, green = 1
SKIN_TONES = ((236, 188, 160), (214, 160, 120), (180, 124, 90), (226, 176, 140))  # RGB, light to dark
BACKGROUND_RGB = (150, 150, 150)
ILLUMINATION_PERIOD_S = 20.0  # far below the pulse band (0.7-3 Hz)
POOL_PHOTO = ((350, 350), "L")  # the pool's LFW photos; its few colour film crops vary in size and framing


@dataclass(frozen=True)
class FaceTruth:
    """Ground truth of one tile (one person); the tracker should see it as one face_id."""

    person: str
    tile_box: tuple[int, int, int, int]  # pixels at t=0 (the rest position)
    bpm: float
    schedule: tuple[tuple[float, float, str, str], ...]  # (start_s, end_s, label, image path)
    visible: tuple[tuple[float, float], ...]  # (start_s, end_s)
    skin_rgb: tuple[int, int, int]
    pulse_phase: float  # radians
    drift_px: int  # amplitude of the tile drift along x and y
    drift_period_s: tuple[float, float]  # periods of the x and y drift sines
    moves: tuple[tuple[float, tuple[int, int, int, int]], ...] = ()  # (from_s, rest box): changes of seat


@dataclass(frozen=True)
class GroundTruth:
    faces: tuple[FaceTruth, ...]
    duration_s: float
    fps: float
    size: tuple[int, int]  # (width, height) pixels
    n_frames: int
    pulse_amplitude: float  # peak relative change of green
    illumination_drift: float  # relative amplitude of the global brightness sine
    seed: int

    def expected_visible(self, face: int, t: float) -> bool:
        return any(start <= t < end for start, end in self.faces[face].visible)

    def expected_label(self, face: int, t: float) -> str:
        """The scheduled expression at `t` (also while the face is absent: check `expected_visible`)."""
        return self._segment(face, t)[2]

    def expected_image(self, face: int, t: float) -> str:
        return self._segment(face, t)[3]

    def _segment(self, face: int, t: float) -> tuple[float, float, str, str]:
        for segment in self.faces[face].schedule:
            if segment[0] <= t < segment[1]:
                return segment
        raise ValueError(f"t={t} s outside [0, {self.duration_s})")

    def box_at(self, face: int, t: float) -> tuple[int, int, int, int]:
        """Exact tile box at `t` in pixels, drift included."""
        f = self.faces[face]
        dx, dy = (round(f.drift_px * math.sin(2 * math.pi * t / p)) for p in f.drift_period_s)
        x1, y1, x2, y2 = next((box for start, box in reversed(f.moves) if start <= t), f.tile_box)
        return x1 + dx, y1 + dy, x2 + dx, y2 + dy

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=1)


def _face_pool(faces_dir: Path) -> dict[str, dict[str, list[str]]]:
    """person -> label -> sorted image paths, of the pool's POOL_PHOTO-sized grayscale photos."""
    pool: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for label in EMOTION_LABELS:
        for path in sorted((faces_dir / label).glob("*.jpg")):
            with Image.open(path) as im:
                if (im.size, im.mode) == POOL_PHOTO:
                    pool[path.stem.rsplit("_", 1)[0]][label].append(str(path))
    return pool


def _layout(n: int, size: tuple[int, int], face_px: int, margin: int) -> list[tuple[int, int, int, int]]:
    w, h = size
    cols = max(1, min(n, w // (face_px * 7 // 5)))
    rows = -(-n // cols)
    if rows * (face_px + 2 * margin) > h or cols * (face_px + 2 * margin) > w:
        raise ValueError(f"{n} tiles of {face_px} px do not fit in {w}x{h}")
    boxes = []
    for i in range(n):
        cx, cy = round((i % cols + 0.5) * w / cols), round((i // cols + 0.5) * h / rows)
        x1, y1 = cx - face_px // 2, cy - face_px // 2
        boxes.append((x1, y1, x1 + face_px, y1 + face_px))
    return boxes


def plan_synthetic_lecture(
    faces_dir: Path,
    *,
    n_faces: int = 3,
    duration_s: float = 24.0,
    fps: float = 25.0,
    size: tuple[int, int] = (1280, 720),
    bpm: tuple[float, ...] = (66.0, 78.0, 90.0),
    pulse_amplitude: float = 0.03,
    illumination_drift: float = 0.03,
    seed: int = 0,
    face_px: int = 240,
    expression_period_s: float = 4.0,
    absent_face: int | None = -1,
    absent_s: tuple[float, float] = (8.0, 12.0),
    drift_px: int = 4,
) -> GroundTruth:
    """The ground truth `build_synthetic_lecture` renders, without rendering anything.

    `bpm[i]` is face i's pulse (at least `n_faces` values); `absent_face` (an index, default the last face,
    None for none) is replaced by background during `absent_s`; `face_px` is the tile side in pixels. The
    pool's photos are tight face crops, so the face spans most of the tile.
    Raises ValueError when the tiles do not fit in `size` or the pool has fewer than `n_faces` people.
    """
    if n_faces < 1 or duration_s <= 0 or fps <= 0:
        raise ValueError(f"need n_faces >= 1, duration_s > 0, fps > 0; got {n_faces}, {duration_s}, {fps}")
    if len(bpm) < n_faces:
        raise ValueError(f"need one bpm per face: {n_faces} faces, {len(bpm)} bpm")
    n_frames = round(duration_s * fps)
    rng = np.random.default_rng(seed)
    pool = _face_pool(Path(faces_dir))
    # people with the most distinct expressions first; the seed breaks ties
    people = sorted(pool, key=lambda p: (-len(pool[p]), -sum(map(len, pool[p].values())), rng.random()))
    if len(people) < n_faces:
        raise ValueError(f"{n_faces} faces requested, {len(people)} people in {faces_dir}")
    absent = None if absent_face is None else range(n_faces)[absent_face]
    if absent is not None and not 0 <= absent_s[0] < absent_s[1] <= duration_s:
        raise ValueError(f"absent_s {absent_s} outside [0, {duration_s}]")
    n_segments = math.ceil(duration_s / expression_period_s)
    faces = []
    for i, (person, box) in enumerate(
        zip(people[:n_faces], _layout(n_faces, size, face_px, drift_px + 2), strict=True)
    ):
        labels = [str(label) for label in rng.permutation(sorted(pool[person]))]
        schedule = []
        for k in range(n_segments):
            label = labels[k % len(labels)]
            images = pool[person][label]
            start, end = k * expression_period_s, min((k + 1) * expression_period_s, duration_s)
            schedule.append((start, end, label, images[(k // len(labels)) % len(images)]))
        visible = [(0.0, duration_s)]
        if i == absent:
            visible = [iv for iv in ((0.0, absent_s[0]), (absent_s[1], duration_s)) if iv[1] > iv[0]]
        faces.append(
            FaceTruth(
                person=person,
                tile_box=box,
                bpm=float(bpm[i]),
                schedule=tuple(schedule),
                visible=tuple(visible),
                skin_rgb=SKIN_TONES[i % len(SKIN_TONES)],
                pulse_phase=float(rng.uniform(0, 2 * math.pi)),
                drift_px=drift_px,
                drift_period_s=tuple(float(p) for p in rng.uniform(6.0, 12.0, 2)),
            )
        )
    return GroundTruth(
        faces=tuple(faces),
        duration_s=float(duration_s),
        fps=float(fps),
        size=tuple(size),
        n_frames=n_frames,
        pulse_amplitude=float(pulse_amplitude),
        illumination_drift=float(illumination_drift),
        seed=seed,
    )


def _skin_tile(image_path: str, face_px: int, skin_rgb: tuple[int, int, int]) -> np.ndarray:
    """Photo -> (face_px, face_px, 3) float32 RGB: square centre crop, grey level normalised, skin tinted."""
    gray = np.asarray(Image.open(image_path).convert("L"), dtype=np.float32)
    h, w = gray.shape
    s = min(h, w)
    gray = gray[(h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
    gray = cv2.resize(gray, (face_px, face_px), interpolation=cv2.INTER_AREA)
    c = face_px // 4
    # centre (cheeks, nose) at 70 % of the skin colour unless that would burn out more than 2 % of the tile;
    # highlights stop at the skin colour, leaving headroom for the pulse and illumination gains
    gray *= min(0.7 / max(gray[c:-c, c:-c].mean(), 1.0), 1.0 / max(np.percentile(gray, 98), 1.0))
    return np.minimum(gray, 1.0)[..., None] * np.asarray(skin_rgb, dtype=np.float32)


def build_synthetic_lecture(
    out_path: Path,
    faces_dir: Path,
    *,
    crf: int = 18,
    preset: str = "veryfast",
    **plan_kwargs,
) -> GroundTruth:
    """Render the lecture planned by `plan_synthetic_lecture(faces_dir, **plan_kwargs)` to `out_path`.

    H.264 (libx264, yuv420p, `crf`) in an mp4; written to a temporary name and renamed, so `out_path`
    is either complete or absent. Returns the ground truth.
    """
    return render_lecture(out_path, plan_synthetic_lecture(faces_dir, **plan_kwargs), crf=crf, preset=preset)


def render_lecture(
    out_path: Path, gt: GroundTruth, *, crf: int = 18, preset: str = "veryfast"
) -> GroundTruth:
    """Render a planned lecture (see `build_synthetic_lecture`); returns `gt`."""
    out_path = Path(out_path)
    w, h = gt.size
    tmp = out_path.with_name(f".{out_path.stem}.{os.getpid()}.tmp{out_path.suffix}")
    proc = (
        ffmpeg.input("pipe:", format="rawvideo", pix_fmt="rgb24", s=f"{w}x{h}", framerate=gt.fps)
        .output(str(tmp), format="mp4", vcodec="libx264", pix_fmt="yuv420p", crf=crf, preset=preset)
        .global_args("-loglevel", "error", "-nostats")
        .overwrite_output()
        .run_async(pipe_stdin=True, pipe_stderr=True)
    )
    tiles: dict[tuple[int, str], np.ndarray] = {}
    backgrounds: dict[tuple[int, ...], np.ndarray] = {}
    frame = np.empty((h, w, 3), dtype=np.uint8)
    background = np.asarray(BACKGROUND_RGB, dtype=np.float32)
    signature = np.asarray(PULSE_SIGNATURE, dtype=np.float32)
    try:
        with contextlib.suppress(BrokenPipeError):  # ffmpeg quit early: its stderr says why
            for k in range(gt.n_frames):
                t = k / gt.fps
                light = 1.0 + gt.illumination_drift * math.sin(2 * math.pi * t / ILLUMINATION_PERIOD_S)
                colour = tuple(np.rint(background * light).astype(np.uint8))
                if colour not in backgrounds:  # a handful of distinct levels: filling a frame is slow
                    backgrounds[colour] = np.full((h, w, 3), colour, dtype=np.uint8)
                np.copyto(frame, backgrounds[colour])
                for i, face in enumerate(gt.faces):
                    if not gt.expected_visible(i, t):
                        continue
                    path = gt.expected_image(i, t)
                    if (i, path) not in tiles:
                        tiles[i, path] = _skin_tile(path, face.tile_box[2] - face.tile_box[0], face.skin_rgb)
                    pulse = math.sin(2 * math.pi * face.bpm / 60.0 * t + face.pulse_phase)
                    gain = light * (1.0 + gt.pulse_amplitude * pulse * signature)
                    x1, y1, x2, y2 = gt.box_at(i, t)
                    frame[y1:y2, x1:x2] = np.clip(tiles[i, path] * gain + 0.5, 0, 255).astype(np.uint8)
                proc.stdin.write(frame.data)
            proc.stdin.close()
        err = proc.stderr.read().decode(errors="replace").strip()
        if proc.wait() != 0:
            raise RuntimeError(f"ffmpeg exited with {proc.returncode} writing {out_path}: {err}")
        os.replace(tmp, out_path)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        tmp.unlink(missing_ok=True)
    return gt


def score_analysis(summary: Summary, timeline: list, truth: GroundTruth) -> dict:
    """How an analysis of a synthetic lecture compares with its ground truth.

    `ids_per_person`: face ids whose median box lies on each tile (1 is right); `shared_ids`: face ids
    that lie on more than one tile; `expression_agreement`: share of visible person-seconds whose reported
    expression is the scheduled one; `pulse_mae_bpm`: mean absolute error of the reported per-second
    heart rates, and `pulse_coverage`: the share of visible person-seconds that report one.
    """
    boxes = np.array([f.box for f in summary.faces], np.float32).reshape(-1, 4)
    tiles = np.array([f.tile_box for f in truth.faces], np.float32)
    lt = np.maximum(tiles[:, None, :2], boxes[None, :, :2])
    rb = np.minimum(tiles[:, None, 2:], boxes[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    on_tile = inter / np.maximum(np.prod(boxes[:, 2:] - boxes[:, :2], axis=1), 1e-9)[None] > 0.5
    ids = np.array([f.face_id for f in summary.faces])
    person_of = {int(ids[j]): int(on_tile[:, j].argmax()) for j in range(len(ids)) if on_tile[:, j].any()}
    bpm_of = {
        f.face_id: {int(point.t): point.bpm for point in f.pulse.series if point.bpm is not None}
        for f in summary.faces
    }
    agree = seen = 0
    errors: list[float] = []
    for t, entries in timeline:
        for face_id, label in entries:
            person = person_of.get(face_id)
            if person is None or not truth.expected_visible(person, t) or t >= truth.duration_s:
                continue
            seen += 1
            agree += label == truth.expected_label(person, t)
            if t in bpm_of.get(face_id, {}):
                errors.append(abs(bpm_of[face_id][t] - truth.faces[person].bpm))
    visible = sum(
        truth.expected_visible(i, t) for i in range(len(truth.faces)) for t in range(int(truth.duration_s))
    )
    return {
        "ids_per_person": [int(n) for n in on_tile.sum(1)],
        "shared_ids": int((on_tile.sum(0) > 1).sum()),
        "expression_agreement": round(agree / max(seen, 1), 4),
        "pulse_mae_bpm": round(float(np.mean(errors)), 2) if errors else None,
        "pulse_coverage": round(len(errors) / max(visible, 1), 4),
    }
