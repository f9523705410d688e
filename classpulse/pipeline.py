"""The analysis pipeline: one streaming pass over the frames, then an offline pass over the tracks.

frame -> faces (O-Net on the tracked boxes every `detect_every_s`; the full MTCNN cascade instead every
         `search_every_s`, after scene cuts, when O-Net loses a tracked face, and while searches keep
         finding newcomers)
      -> tracks (flow + association, every frame)
      -> skin RGB per track (every frame) and readability and emotion probabilities (every `emotion_every_s`)
tracks -> merged faces -> pulse series, smoothed emotions -> summary, timeline and faces.csv rows
(`reports.outputs` writes them with the report). The options' privacy policy decides what runs: no
expression model under no-emotion, no per-face pulse unless per-face results are allowed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import multiprocessing
import resource
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from classpulse import __version__
from classpulse.chunks import ID_STRIDE, Chunk, ChunkResult, chunks_of, stitch, touches_border, whole
from classpulse.emotion.classifier import EmotionClassifier, precision_name
from classpulse.emotion.model import EMOTION_LABELS
from classpulse.faces.crops import aligned_crops
from classpulse.faces.detections import Faces
from classpulse.faces.detector import FaceDetector, min_face_px_for
from classpulse.faces.identity import (
    CHIPS_PER_TRACK,
    DESCRIPTOR_NAME,
    DIFFERENT_PERSON_DISTANCE,
    MIN_CHIP_FACE_PX,
    ONE_PERSON_SPLIT,
    SAME_PERSON_DISTANCE,
    TWO_PEOPLE_JOINED,
    ChipPicker,
    FaceDescriber,
    view_quality,
)
from classpulse.faces.merge import MAX_GAP_S, MIN_TRACK_S, merge_tracklets
from classpulse.faces.readability import assess_readability, face_pose, readability_rule
from classpulse.faces.tracker import FaceTracker
from classpulse.options import AnalysisOptions
from classpulse.progress import Progress, Stage
from classpulse.pulse.heart_rate import MIN_FACE_PX, MIN_QUALITY_DB, WINDOW_S, heart_rate_series
from classpulse.pulse.skin import skin_mean_rgb_many
from classpulse.pulse.stress import BASELINE_S, MIN_ACCEPTED_WINDOWS, RISE_BPM, RISE_FRACTION
from classpulse.pulse.tracking import (
    MAX_RATE_CHANGE_BPM_PER_S,
    MIN_CONFIDENCE,
    MIN_CONFIDENCE_OWN_GATE,
    MIN_TRACK_WINDOWS,
    TRACK_QUALITY_GATE_DB,
)
from classpulse.results import (
    AnalysisResult,
    Calibration,
    DetectorModel,
    EmotionModel,
    Models,
    PhotoCheck,
    Processing,
    PulseModel,
    ReadabilityRule,
    TrackerModel,
)
from classpulse.summary import build_summary
from classpulse.track_record import TrackRecord
from classpulse.video.decode import Frame, analysis_rate, analysis_size, iter_frames
from classpulse.video.probe import VideoInfo

log = logging.getLogger(__name__)

__all__ = ["analyze", "analyze_chunk", "analyze_in_chunks", "classify_image", "combine_chunks"]


@dataclass(frozen=True)
class _Models:
    detector: FaceDetector
    classifier: EmotionClassifier
    describer: FaceDescriber


@functools.cache
def _load_models() -> _Models:
    """Load MTCNN and the emotion model once per process (a worker analyses many videos).

    Every library computes on one thread: the analysis uses the second core by running beside ffmpeg's
    decoder and the expression worker (`_StreamingAnalysis`). OpenCV's pool beside torch's OpenMP threads
    made MTCNN about 5x slower on 2 cores, and two torch threads beside the decoder made the whole 720p
    gallery benchmark 20 % slower than one (README, "Performance").
    """
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    return _Models(
        detector=FaceDetector(), classifier=EmotionClassifier.load(), describer=FaceDescriber.load()
    )


def _every(interval_s: float, fps: float) -> int:
    return max(1, round(interval_s * fps))


# A cut (camera switch, slide to speaker) changes the 64x36 thumbnail by more than this many gray levels on
# average; detecting right after it finds the new faces at once instead of up to `detect_every_s` later.
SCENE_CUT_GRAY_LEVELS = 25.0


class SceneCutDetector:
    """Flags frames whose coarse appearance differs strongly from the frame of the last detection."""

    def __init__(self, threshold: float = SCENE_CUT_GRAY_LEVELS):
        self.threshold = threshold
        self._reference: np.ndarray | None = None

    def thumbnail(self, gray: np.ndarray) -> np.ndarray:
        return cv2.resize(gray, (64, 36), interpolation=cv2.INTER_AREA).astype(np.float32)

    def is_cut(self, thumb: np.ndarray) -> bool:
        return self._reference is not None and float(np.abs(thumb - self._reference).mean()) > self.threshold

    def detected(self, thumb: np.ndarray) -> None:
        self._reference = thumb


# Expression samples waiting for the worker before the frame loop waits for it (bounds memory: crops).
MAX_PENDING_EXPRESSIONS = 8


class StageClock:
    """Wall seconds spent per pipeline stage, for the benchmark's per-stage table."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start

    def rounded(self) -> dict[str, float]:
        return {stage: round(s, 3) for stage, s in self.seconds.items()}


class _StreamingAnalysis:
    """Per-video state of the frame loop: the tracker and one `TrackRecord` per live tracklet.

    A tracklet's pulse series is computed as soon as it ends and its skin-colour trace dropped; what
    stays (times, boxes, emotion samples) is about 40 bytes per face per frame, never a frame.
    """

    def __init__(
        self,
        info: VideoInfo,
        options: AnalysisOptions,
        models: _Models,
        fps: float,
        width: int,
        clock: StageClock,
        chunk: Chunk,
    ):
        self.options, self.models, self.clock, self.chunk = options, models, clock, chunk
        self.to_source = info.width / width
        self.detect_every = _every(options.detect_every_s, fps)
        self.search_every = _every(options.search_every_s, fps)
        self.emotion_every = _every(options.emotion_every_s, fps)
        self.tracker = FaceTracker()
        self.cuts = SceneCutDetector()
        self.next_search = 0  # frame index of the next full search
        self.live: dict[int, TrackRecord] = {}  # by the tracker's id; records get chunk-unique ids
        self.id_base = chunk.index * ID_STRIDE
        self.done: list[TrackRecord] = []
        # Expression samples are classified on a worker thread (torch releases the GIL), so the classifier
        # runs on the second core while this thread tracks the next frames; oldest first.
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="expression")
        # (t, records, readable (n,), reason codes (n,), future of the readable faces' probabilities)
        self.expressions: deque[tuple[float, list[TrackRecord], np.ndarray, np.ndarray, Future]] = deque()
        self.frames = 0

    def process(self, frame: Frame) -> None:
        self.frames += 1
        with self.clock("track"):
            gray = cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2GRAY)
            thumb = self.cuts.thumbnail(gray)
            boxes = self.tracker.advance(gray)
        search = frame.index >= self.next_search or self.cuts.is_cut(thumb)
        with self.clock("detect"):
            detections = None if search else self._refine(frame, boxes)
            if detections is not None and len(detections) < len(boxes):
                search = True  # O-Net lost a tracked face (tiny, turned, gone): the full cascade decides
            if search:
                self.cuts.detected(thumb)
                detections = self.models.detector.detect([frame.rgb])[0]
        with self.clock("track"):
            update = self.tracker.update(gray, detections)
        if search:  # while searches keep finding newcomers, search again at the next detection round
            self.next_search = frame.index + (self.detect_every if update.started else self.search_every)
        self._end(update.ended)
        faces = update.visible
        if not len(faces):
            return
        with self.clock("skin"):
            # The skin-colour trace is the pulse's raw signal: not even measured when no pulse is.
            rgb = (
                skin_mean_rgb_many(frame.rgb, faces.xyxy, faces.landmarks)[0]
                if self.options.measures_pulse
                else np.full((len(faces), 3), np.nan)
            )
            records = [
                self.live.setdefault(tid, TrackRecord(self.id_base + tid)) for tid in faces.track_id.tolist()
            ]
            for i, (record, size) in enumerate(zip(records, faces.sizes.tolist(), strict=True)):
                record.add_frame(frame.t, faces.xyxy[i] * self.to_source, rgb[i], size)
        if detections is not None:  # fresh boxes and landmarks: a chance for a better view of each face
            with self.clock("identity"):
                self._offer_views(frame, faces, records)
        if frame.index % self.emotion_every == 0:
            with self.clock("expression"):
                crops = aligned_crops(gray, faces.landmarks)
                readable, reason = assess_readability(faces.landmarks, faces.sizes, crops)
                if not self.options.policy.infers_emotions:  # readability (head pose, size, sharpness) only
                    self._attach(
                        frame.t, records, reason, np.full((len(records), len(EMOTION_LABELS)), np.nan)
                    )
                    return
                # Unreadable faces are not classified: nothing may read their label, and it spares the
                # classifier (45 % of the samples on the crowd walkway clip).
                future = self.worker.submit(self._classify, crops[readable])
                self.expressions.append((frame.t, records, readable, reason, future))
                self._collect(wait=len(self.expressions) > MAX_PENDING_EXPRESSIONS)

    def _offer_views(self, frame: Frame, faces: Faces, records: list[TrackRecord]) -> None:
        """Keep each tracklet's best views for its face descriptor (`classpulse.faces.identity`)."""
        yaw, _, _ = face_pose(faces.landmarks)
        for i, (record, size) in enumerate(zip(records, faces.sizes.tolist(), strict=True)):
            quality = view_quality(size, yaw[i])
            if record.views.wants(frame.t, size, quality):
                record.views.add(frame.t, quality, self.models.describer.chip(frame.rgb, faces.xyxy[i]))

    def _classify(self, crops: np.ndarray) -> np.ndarray:
        """On the expression worker thread: crops (n, 48, 48) -> probabilities (n, 7)."""
        with self.clock("expression worker"):
            return self.models.classifier.predict_proba(crops)

    def _collect(self, wait: bool = False) -> None:
        """Attach finished expression samples to their records, oldest first (so each record's samples
        stay in time order); with `wait`, block for the oldest one."""
        while self.expressions and (wait or self.expressions[0][-1].done()):
            t, records, readable, reason, future = self.expressions.popleft()
            probs = np.full((len(records), len(EMOTION_LABELS)), np.nan, dtype=np.float32)
            probs[readable] = future.result()
            self._attach(t, records, reason, probs)
            wait = False

    @staticmethod
    def _attach(t: float, records: list[TrackRecord], reason: np.ndarray, probs: np.ndarray) -> None:
        """One sample per record at `t`: its readability code and probabilities (n, 7) (NaN: not read)."""
        for record, p, code in zip(records, probs, reason.tolist(), strict=True):
            record.add_emotion(t, p, code)

    def _refine(self, frame: Frame, tracked: np.ndarray) -> Faces | None:
        """O-Net on the tracked boxes every `detect_every` frames (it confirms and re-centres known faces);
        None in between."""
        detector = self.models.detector
        if frame.index % self.detect_every == 0 and len(tracked):
            refined = detector.refine(frame.rgb, tracked)
            return refined[refined.confidence >= detector.refine_min_confidence]
        return None

    def finish(self) -> list[TrackRecord]:
        while self.expressions:
            self._collect(wait=True)
        self.worker.shutdown()
        self._end(self.tracker.finish())
        return self.done

    def _end(self, track_ids: list[int]) -> None:
        for tid in track_ids:
            record = self.live.pop(tid, None)
            if record is None:
                continue
            if not self.options.measures_pulse:
                record.drop_trace()
            elif not touches_border(self.chunk, record.first_s, record.last_s):
                with self.clock("pulse"):
                    add_pulse(record, self.options)
            self.done.append(record)


def add_pulse(record: TrackRecord, options: AnalysisOptions) -> None:
    """Compute a finished tracklet's pulse windows from its skin-colour trace, then free the trace."""
    record.pulse = heart_rate_series(
        record.rgb,
        record.frame_times,
        method=options.pulse_method,
        valid=record.face_px >= MIN_FACE_PX,
    )
    record.drop_trace()


def identify(records: list[TrackRecord], describer: FaceDescriber) -> dict[int, int]:
    """Finished tracklets -> face id per tracklet id (`classpulse.faces.merge`), describing by appearance
    the tracklets the merge may have to judge."""
    describe_where_needed(records, describer)
    return merge_tracklets([r.span() for r in records])


def describe_where_needed(records: list[TrackRecord], describer: FaceDescriber) -> None:
    """Give a descriptor to each tracklet the merge may have to judge by appearance: one that some other
    tracklet could continue or be continued by (they never overlap in time). In a lecture where everyone
    stays in view nothing is described; the network costs about 85 ms per view on one core."""
    kept = [r for r in records if r.last_s - r.first_s >= MIN_TRACK_S]
    if not kept:
        return
    # A record always overlaps itself, so comparing with all records (itself included) finds the others.
    earliest_end, latest_start = min(r.last_s for r in kept), max(r.first_s for r in kept)
    for record in kept:
        if earliest_end < record.first_s or latest_start > record.last_s:
            record.descriptor = describer.describe(record.views.chips())
        record.views = ChipPicker()


def _models_info(
    models: _Models, options: AnalysisOptions, tracker_max_misses: int, frame_short_side: int
) -> Models:
    """Names, versions and settings of every model and rule, as the report's methodology states them."""
    manifest = models.classifier.manifest
    calibration, photos = manifest.get("calibration"), manifest.get("photos")
    return Models(
        emotion=None
        if not options.policy.infers_emotions
        else EmotionModel(
            name=manifest["name"],
            version=manifest["version"],
            architecture=manifest["architecture"],
            sha256=tuple(member["sha256"] for member in manifest["members"]),
            epochs_trained=tuple(member["epochs_trained"] for member in manifest["members"]),
            precision=precision_name(models.classifier.bf16),
            public_test_accuracy=manifest["public_test"]["accuracy"],
            macro_f1=manifest["public_test"]["macro_f1"],
            public_test_ferplus_accuracy=manifest["public_test"].get("ferplus", {}).get("accuracy"),
            calibration=Calibration(**calibration) if calibration else None,
            photos=PhotoCheck(**photos) if photos else None,
        ),
        face_detector=DetectorModel(
            name=models.detector.name,
            version=models.detector.version,
            min_confidence=models.detector.min_confidence,
            min_face_px=min_face_px_for(frame_short_side),
        ),
        tracker=TrackerModel(
            method=(
                "full MTCNN every search interval, after scene cuts, when O-Net loses a tracked face and "
                "while searches find newcomers; "
                "MTCNN's O-Net on the tracked boxes every detection interval; Lucas-Kanade optical flow "
                "between them; Hungarian association"
            ),
            search_every_s=options.search_every_s,
            max_misses=tracker_max_misses,
            merge_gap_s=MAX_GAP_S,
            min_track_s=MIN_TRACK_S,
            descriptor=f"{DESCRIPTOR_NAME}, dlib {models.describer.version}",
            descriptor_views=CHIPS_PER_TRACK,
            descriptor_min_face_px=MIN_CHIP_FACE_PX,
            same_person_distance=SAME_PERSON_DISTANCE,
            different_person_distance=DIFFERENT_PERSON_DISTANCE,
            two_people_joined=TWO_PEOPLE_JOINED,
            one_person_split=ONE_PERSON_SPLIT,
        ),
        pulse=PulseModel(
            method=options.pulse_method,
            window_s=WINDOW_S,
            min_quality_db=MIN_QUALITY_DB,
            min_face_px=MIN_FACE_PX,
            stress_rise_bpm=RISE_BPM,
            stress_rise_fraction=RISE_FRACTION,
            baseline_s=BASELINE_S,
            min_accepted_windows=MIN_ACCEPTED_WINDOWS,
            track_quality_gate_db=tuple(tuple(point) for point in TRACK_QUALITY_GATE_DB),
            min_track_windows=MIN_TRACK_WINDOWS,
            max_rate_change_bpm_per_s=MAX_RATE_CHANGE_BPM_PER_S,
            min_confidence=MIN_CONFIDENCE,
            min_confidence_own_gate=MIN_CONFIDENCE_OWN_GATE,
        ),
        readability=ReadabilityRule(**readability_rule()),
    )


def analyze(info: VideoInfo, options: AnalysisOptions, on_progress: Progress | None = None) -> AnalysisResult:
    """Analyse a probed recording in one pass -> its summary, timeline and faces.csv rows."""
    chunk = whole(analysis_rate(info, cap=options.max_fps))
    return combine_chunks(info, options, [analyze_chunk(info, options, chunk, on_progress)], on_progress)


def analyze_in_chunks(
    info: VideoInfo,
    options: AnalysisOptions,
    chunk_s: float,
    workers: int,
    on_progress: Progress | None = None,
) -> AnalysisResult:
    """Analyse a recording as chunks of `chunk_s` seconds in `workers` processes, then stitch them: the
    same persons and, within the tracker's detection schedule, the same results as `analyze`.

    Processes are spawned, not forked: a forked child of a process that already ran torch can hang."""
    chunks = chunks_of(info, options.max_fps, chunk_s)
    context = multiprocessing.get_context("spawn")
    results = []
    with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=context) as pool:
        futures = [pool.submit(analyze_chunk, info, options, chunk) for chunk in chunks]
        for future in as_completed(futures):
            results.append(future.result())
            if on_progress:
                on_progress(Stage.ANALYSING, len(results) / len(chunks))
    return combine_chunks(info, options, results, on_progress)


def analyze_chunk(
    info: VideoInfo, options: AnalysisOptions, chunk: Chunk, on_progress: Progress | None = None
) -> ChunkResult:
    """Stream one chunk's frames (`classpulse.chunks`) through detection, tracking, skin colour and
    expressions; `on_progress` gets the fraction of this chunk done."""
    started = time.time()
    clock = StageClock()
    with clock("load models"):
        models = _load_models()
    width, _ = analysis_size(info, options.max_side)
    state = _StreamingAnalysis(info, options, models, chunk.fps, width, clock, chunk)
    frames = iter_frames(info, fps=chunk.fps, max_side=options.max_side, first=chunk.first, count=chunk.count)
    span_s = min(chunk.end_s, info.duration_s) - chunk.first / chunk.fps
    last_index = chunk.first - 1
    try:
        while True:
            with clock("decode"):
                frame = next(frames, None)
            if frame is None:
                break
            state.process(frame)
            last_index = frame.index
            if on_progress and frame.index % 10 == 0:
                on_progress(Stage.ANALYSING, min((frame.index - chunk.first) / chunk.fps / span_s, 1.0))
        records = state.finish()
    finally:
        state.worker.shutdown(cancel_futures=True)
    return ChunkResult(
        chunk=chunk,
        records=records,
        frames=max(0, last_index + 1 - chunk.start),
        decoded_end_s=(last_index + 1) / chunk.fps,
        stage_s=clock.seconds,
        started=started,
        peak_rss_mb=_peak_rss_mb(),
    )


def combine_chunks(
    info: VideoInfo,
    options: AnalysisOptions,
    results: list[ChunkResult],
    on_progress: Progress | None = None,
) -> AnalysisResult:
    """Chunk results -> the recording's summary, timeline and faces.csv rows (see `build_summary`): tracks
    stitched across chunk borders, pulses of the border tracks computed on their joined traces, tracklets
    merged into faces."""
    if on_progress:
        on_progress(Stage.SUMMARISING, 0.0)
    clock = StageClock()
    for result in results:
        for stage, seconds in result.stage_s.items():
            clock.seconds[stage] = clock.seconds.get(stage, 0.0) + seconds
    with clock("load models"):
        models = _load_models()
    records = stitch(results)
    traced = [record for record in records if record.has_trace]  # border tracks of chunks
    if traced:
        with clock("pulse"):
            for record in traced:
                add_pulse(record, options)
    with clock("identity"):
        face_of = identify(records, models.describer)
    fps = results[0].chunk.fps
    width, height = analysis_size(info, options.max_side)
    started = min(r.started for r in results)
    wall_s = time.time() - started
    processing = Processing(
        wall_s=round(wall_s, 2),
        realtime_factor=round(info.duration_s / wall_s, 3),
        frames_analysed=sum(r.frames for r in results),
        analysis_fps=round(fps, 3),
        analysis_width=width,
        detect_every_s=options.detect_every_s,
        search_every_s=options.search_every_s,
        emotion_every_s=options.emotion_every_s,
        max_side=options.max_side,
        max_fps=options.max_fps,
        pulse=options.measures_pulse,
        peak_rss_mb=round(max([r.peak_rss_mb for r in results] + [_peak_rss_mb()]), 1),
        stage_s=clock.rounded(),
        started_at=dt.datetime.fromtimestamp(started, dt.UTC).isoformat(timespec="seconds"),
        classpulse_version=__version__,
    )
    if on_progress:
        on_progress(Stage.SUMMARISING, 1.0)
    return build_summary(
        info,
        options,
        records,
        face_of,
        processing=processing,
        models=_models_info(models, options, FaceTracker().max_misses, min(width, height)),
        decoded_s=max(r.decoded_end_s for r in results),
    )


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def classify_image(rgb: np.ndarray) -> list[dict]:
    """One still image (h, w, 3) uint8 RGB -> faces with boxes and the seven probabilities."""
    models = _load_models()
    faces = models.detector.detect([np.ascontiguousarray(rgb)])[0]
    if not len(faces):
        return []
    probs = models.classifier.predict_proba(
        aligned_crops(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), faces.landmarks)
    )
    return [
        {
            "box": [round(float(v), 1) for v in faces.xyxy[i]],
            "confidence": round(float(faces.confidence[i]), 4),
            "emotion": EMOTION_LABELS[int(probs[i].argmax())],
            "probabilities": {
                label: round(float(p), 4) for label, p in zip(EMOTION_LABELS, probs[i], strict=True)
            },
        }
        for i in range(len(faces))
    ]
