"""Cut a long recording into time chunks that separate processes analyse, and stitch their tracks back.

Each chunk decodes `CHUNK_OVERLAP_S` before the part it owns, so its tracker has found and followed the
faces by the time that part starts. Both neighbours analyse the overlap on the same frame grid (frame i at
i / fps s), so a face followed by both has boxes at exactly the same times there: tracks whose boxes
overlap there (IoU) are one person. The later chunk's frames before its start are then dropped and the
two tracks joined into one record, skin-colour trace included, so pulse windows across the border are
computed on the joined trace as in a single pass. Bookkeeping only: no frames, no models.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from classpulse.faces.detections import box_iou
from classpulse.track_record import TrackRecord
from classpulse.video.decode import analysis_rate
from classpulse.video.probe import VideoInfo

#: Chunk length when a recording is spread over several processes (CLI `--chunk-minutes`).
DEFAULT_CHUNK_MINUTES = 10.0
#: Seconds a chunk decodes before the part it owns: one full face search (every 5 s by default) and a
#: second of tracking for the border match.
CHUNK_OVERLAP_S = 6.0
#: Mean IoU over the overlap's common frames from which a track of each chunk is the same face.
MIN_BORDER_IOU = 0.5
#: Common frames needed for a border match (a third of a second at 15 fps).
MIN_BORDER_FRAMES = 5
#: Track ids of chunk k start at k * ID_STRIDE, so ids never collide across chunks.
ID_STRIDE = 1_000_000


@dataclass(frozen=True)
class Chunk:
    """Frames [`first`, `end`) of the analysis grid at `fps` are decoded; the chunk owns [`start`, `end`)
    (`end` None: to the end of the recording)."""

    index: int
    fps: float
    first: int
    start: int
    end: int | None

    @property
    def start_s(self) -> float:
        return self.start / self.fps

    @property
    def end_s(self) -> float:
        return math.inf if self.end is None else self.end / self.fps

    @property
    def last(self) -> bool:
        return self.end is None

    @property
    def count(self) -> int | None:
        """Frames to decode, None: to the end."""
        return None if self.end is None else self.end - self.first


def touches_border(chunk: Chunk, first_s: float, last_s: float, overlap_s: float = CHUNK_OVERLAP_S) -> bool:
    """Whether a track seen from `first_s` to `last_s` s may continue in a neighbouring chunk: it starts in
    this chunk's warm-up, or it is still seen in the part the next chunk decodes as its warm-up."""
    return first_s < chunk.start_s or last_s >= chunk.end_s - overlap_s


def whole(fps: float) -> Chunk:
    """The single pass: one chunk owning every frame."""
    return Chunk(index=0, fps=fps, first=0, start=0, end=None)


def plan_chunks(
    duration_s: float, fps: float, chunk_s: float, overlap_s: float = CHUNK_OVERLAP_S
) -> list[Chunk]:
    """Chunks of `chunk_s` seconds (the last one takes the remainder, and a remainder under half a chunk
    joins the one before) for a recording of `duration_s` analysed at `fps`."""
    if chunk_s <= overlap_s:
        raise ValueError(f"chunks must be longer than their {overlap_s:g} s overlap")
    n = max(1, round(duration_s / chunk_s))
    step = math.ceil(chunk_s * fps)
    warmup = math.ceil(overlap_s * fps)
    starts = [k * step for k in range(n)]
    return [
        Chunk(
            index=k,
            fps=fps,
            first=max(0, start - warmup),
            start=start,
            end=starts[k + 1] if k + 1 < n else None,
        )
        for k, start in enumerate(starts)
    ]


def chunks_of(info: VideoInfo, max_fps: float, chunk_s: float) -> list[Chunk]:
    """`plan_chunks` for a probed recording analysed at its rate capped at `max_fps`."""
    return plan_chunks(info.duration_s, analysis_rate(info, cap=max_fps), chunk_s)


@dataclass
class ChunkResult:
    """What one chunk's analysis hands to the stitcher. `records` have track ids from
    `chunk.index * ID_STRIDE`; records that touch a border keep their skin-colour trace (`has_trace`)
    and get their pulse after stitching. `frames`: frames owned and analysed; `stage_s`: seconds per
    stage; `started`: Unix time; `peak_rss_mb` of the process."""

    chunk: Chunk
    records: list[TrackRecord]
    frames: int
    decoded_end_s: float
    stage_s: dict[str, float] = field(default_factory=dict)
    started: float = 0.0
    peak_rss_mb: float = 0.0


def _border_iou(a: TrackRecord, b: TrackRecord) -> tuple[float, int]:
    """Mean IoU of two records' boxes over the frame times they share, and how many they share."""
    ta, tb = a.frame_times, b.frame_times
    common, ia, ib = np.intersect1d(ta, tb, assume_unique=True, return_indices=True)
    if not len(common):
        return 0.0, 0
    return float(np.mean(np.diag(box_iou(a.boxes[ia], b.boxes[ib])))), len(common)


def _border_matches(before: list[TrackRecord], after: list[TrackRecord]) -> dict[int, TrackRecord]:
    """Later chunk's track id -> the earlier chunk's record of the same face, one to one, best IoU first."""
    pairs = []
    for b in after:
        for a in before:
            iou, n = _border_iou(a, b)
            if n >= MIN_BORDER_FRAMES and iou >= MIN_BORDER_IOU:
                pairs.append((iou, a, b))
    pairs.sort(key=lambda p: -p[0])
    matched: dict[int, TrackRecord] = {}
    taken: set[int] = set()
    for _, a, b in pairs:
        if b.track_id not in matched and a.track_id not in taken:
            matched[b.track_id] = a
            taken.add(a.track_id)
    return matched


def stitch(results: list[ChunkResult]) -> list[TrackRecord]:
    """Chunk results in any order -> one list of track records as a single pass would have them, except
    that records touching a border still hold their trace (`has_trace`) and need their pulse computed."""
    results = sorted(results, key=lambda r: r.chunk.index)
    done: list[TrackRecord] = []
    previous: list[TrackRecord] = []  # the last chunk's records, joined ones included
    for result in results:
        start_s = result.chunk.start_s
        matches = _border_matches(previous, [r for r in result.records if r.first_s < start_s])
        current = []
        for record in result.records:
            owned = record.since(start_s)
            if owned is None:  # seen only in the warm-up: the earlier chunk owns those frames
                continue
            earlier = matches.get(record.track_id)
            if earlier is None:
                current.append(owned)
            else:
                previous.remove(earlier)
                current.append(earlier.joined(owned))
        done.extend(previous)
        previous = current
    return done + previous
