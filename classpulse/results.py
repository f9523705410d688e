"""The results of one analysis as typed records: the contract between the producer
(`classpulse.summary.build_summary`), the report (`reports/`) and the tests, and the one place where they
become `summary.json`, `timeline.json` and `faces.csv` (README, "Analyse a recording").

A record's fields, in order, are the keys of its JSON object. Rows that are arrays in the JSON (a face's
per-second expressions and pulse series, the timeline, the audience's per-second counts) are NamedTuples:
named fields in Python, plain arrays in JSON. Units: seconds, pixels of the source video, bpm, dB; shares
are fractions 0-1.
"""

from __future__ import annotations

import csv
import dataclasses
import enum
import functools
import io
import json
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from classpulse.emotion.labels import EMOTION_LABELS

#: The files of an analysis's output folder, with their media types.
OUTPUT_FILES: dict[str, str] = {
    "report.pdf": "application/pdf",
    "report.html": "text/html; charset=utf-8",
    "timeline.json": "application/json",
    "summary.json": "application/json",
    "faces.csv": "text/csv; charset=utf-8",
}


# --- one face ---------------------------------------------------------------------------------------------


class EmotionSample(NamedTuple):
    """A face's expression at second `t`: a label of EMOTION_LABELS, or UNREADABLE with no confidence."""

    t: int
    label: str
    confidence: float | None


class PulsePoint(NamedTuple):
    """One pulse window centred at `t`: `bpm` when reported, else the `reason` it was withheld; `stress`
    (rise over the own baseline) only when the face has a baseline; `confidence` of the tracked path."""

    t: float
    bpm: float | None
    quality_db: float | None
    reason: str | None
    stress: bool | None
    confidence: float | None


@dataclass(frozen=True)
class Pulse:
    """A face's heart rate: mean and baseline (from enough reported windows), the whole-track estimate
    with its quality and gate, and the window series."""

    mean_bpm: float | None
    baseline_bpm: float | None
    accepted_windows: int
    track_bpm: float | None
    track_quality_db: float | None
    track_min_quality_db: float | None
    track_windows: int
    series: tuple[PulsePoint, ...]


@dataclass(frozen=True)
class Confidence:
    """The classifier's probability for its label over a face's readable samples."""

    min: float | None
    mean: float | None
    median: float | None


@dataclass(frozen=True)
class Attention:
    """Head pose over some seconds (`classpulse.insights.attention`): `share` of the `judged_s` present
    seconds whose head pose could be judged that the face was turned towards the camera (None: none
    judged); `present_s` seconds visible at all."""

    share: float | None
    judged_s: int
    present_s: int


@dataclass(frozen=True)
class Affect:
    """Valence and arousal (-1..1, `classpulse.insights.affect`), means over the readable seconds, and the
    shares of those seconds that were positive, neutral and negative."""

    valence: float | None
    arousal: float | None
    positive: float
    neutral: float
    negative: float
    readable_s: int


@dataclass(frozen=True)
class Engagement:
    """The engagement index 0-100 (`classpulse.insights.engagement`) with its three components, each 0-1;
    None where a component could not be measured (then the index is None too)."""

    index: float | None
    presence: float | None
    attention: float | None
    expressiveness: float | None


@dataclass(frozen=True)
class Face:
    """One person's merged tracks. `box` is the median (x1, y1, x2, y2); shares, the dominant expression
    and the confidence count readable samples only (`dominant_emotion` None: never readable)."""

    face_id: int
    box: tuple[float, float, float, float]
    first_s: float
    last_s: float
    visible_s: float
    dominant_emotion: str | None
    emotion_share: dict[str, float]
    unreadable_share: float
    unreadable_reasons: dict[str, float]
    confidence: Confidence
    emotions: tuple[EmotionSample, ...]
    pulse: Pulse
    attention: Attention
    affect: Affect | None
    engagement: Engagement


# --- everyone ---------------------------------------------------------------------------------------------


class FaceLabel(NamedTuple):
    face_id: int
    label: str


class TimelineSecond(NamedTuple):
    """timeline.json's entry for second `t`: the faces visible then, with their label (what `face_id` and
    the label mean depends on the policy: `Privacy.timeline` says it)."""

    t: int
    faces: tuple[FaceLabel, ...]


class SecondCounts(NamedTuple):
    """How many faces showed each label (EMOTION_LABELS and UNREADABLE) at second `t`."""

    t: int
    counts: dict[str, int]


@dataclass(frozen=True)
class MinuteShare:
    """Shares of readable face-time in one minute [start_s, end_s), and the share not readable."""

    minute: int
    start_s: int
    end_s: int
    faces: int
    share: dict[str, float]
    unreadable_share: float


class MomentKind(enum.StrEnum):
    NEGATIVE_PEAK = "negative peak"
    SURPRISE_PEAK = "surprise peak"


@dataclass(frozen=True)
class Moment:
    """A peak of negative expressions or of surprise at `t`, among `faces` readable faces."""

    t: float
    kind: MomentKind
    share: float
    faces: int


@dataclass(frozen=True)
class MomentRule:
    negative: tuple[str, ...]
    min_share: float
    smoothing_s: int
    min_separation_s: int
    max_moments: int


@dataclass(frozen=True)
class Audience:
    """Everyone together. `per_second` counts the timeline's labels; without expressions (policy
    no-emotion) the shares are empty and there are no moments nor moment rule. `faces_seen`: distinct
    faces (tracks)."""

    faces_seen: int
    per_minute: tuple[MinuteShare, ...]
    per_second: tuple[SecondCounts, ...]
    overall_share: dict[str, float]
    unreadable_share: float
    moments: tuple[Moment, ...]
    moment_rule: MomentRule | None


class AudienceSecond(NamedTuple):
    """The audience at second `t`: faces `present`, those whose head pose was `judged` and those of them
    `attending`; `attention` = attending / judged; mean `valence` and `arousal` over the `readable` faces
    (smoothed over `InsightRules.curve_smoothing_s`); `engagement` 0-100 (None: not measurable)."""

    t: int
    present: int
    judged: int
    attending: int
    attention: float | None
    readable: int
    valence: float | None
    arousal: float | None
    engagement: float | None


@dataclass(frozen=True)
class Segment:
    """A part of the lecture, from the customer's markers or a fixed window: [start_s, end_s) seconds,
    the distinct faces seen in it, its attention, affect, engagement, expression mix (shares of readable
    face-time, as `Audience.overall_share`) and its moments."""

    index: int
    label: str
    start_s: float
    end_s: float
    faces: int
    attention: Attention
    affect: Affect | None
    engagement: Engagement
    expression_share: dict[str, float]
    unreadable_share: float
    moments: tuple[Moment, ...]


class FlagKind(enum.StrEnum):
    NEGATIVE_STRETCH = "negative stretch"
    ATTENTION_DROP = "attention drop"
    HEART_RATE_RISE = "heart-rate rise"


@dataclass(frozen=True)
class Flag:
    """Something worth a look in [start_s, end_s), never a verdict: `evidence` says in words what was
    measured, `values` the numbers; `face_id` None for the whole audience."""

    kind: FlagKind
    start_s: float
    end_s: float
    face_id: int | None
    evidence: str
    values: dict[str, float]


@dataclass(frozen=True)
class InsightRules:
    """Every constant the insights were computed with, as the report's method section states them."""

    attention_max_abs_yaw: float
    attention_max_abs_yaw_deg: float
    attention_min_pitch: float
    attention_max_pitch: float
    attention_max_pitch_down_deg: float
    attention_max_pitch_up_deg: float
    attention_min_face_px: float
    circumplex: dict[str, tuple[float, float]] | None
    curve_smoothing_s: int
    engagement_weights: dict[str, float]
    segment_source: str
    segment_window_s: float
    negative_stretch_min: float
    negative_stretch_share: float
    negative_stretch_max_gap_s: float
    attention_drop_below: float
    attention_drop_min_s: float
    attention_drop_min_faces: int


@dataclass(frozen=True)
class Insights:
    """summary.json's `insights`: the audience's attention, affect and engagement per second and overall,
    the segments, the flags and the rules. Without expressions (policy no-emotion) affect is None and
    engagement has no expressiveness (so no index)."""

    per_second: tuple[AudienceSecond, ...]
    attention: Attention
    affect: Affect | None
    engagement: Engagement
    segments: tuple[Segment, ...]
    flags: tuple[Flag, ...]
    rules: InsightRules


@dataclass(frozen=True)
class Session:
    """Where the recording sits in a course: the `course` label, the session `date` (ISO) and where that
    date came from (`date_source`: "given", "recording" metadata or the day it was "analysed")."""

    course: str | None
    date: str
    date_source: str


# --- the recording, the models and the run ----------------------------------------------------------------


@dataclass(frozen=True)
class Video:
    """The probed recording; `duration_s` is what was decoded when `warning` says decoding stopped early."""

    file: str
    title: str | None
    duration_s: float
    fps: float
    width: int
    height: int
    codec: str
    variable_frame_rate: bool
    warning: str | None


@dataclass(frozen=True)
class Calibration:
    method: str
    temperature: float
    ece_before: float
    ece_after: float


@dataclass(frozen=True)
class PhotoCheck:
    """The expression model on labelled photos of other people, cropped by the pipeline."""

    source: str
    n: int
    without_face: int
    accuracy: float
    macro_f1: float
    recall: dict[str, float]


@dataclass(frozen=True)
class EmotionModel:
    name: str
    version: str
    architecture: str
    sha256: tuple[str, ...]
    epochs_trained: tuple[int, ...]
    precision: str
    public_test_accuracy: float
    macro_f1: float
    public_test_ferplus_accuracy: float | None
    calibration: Calibration | None
    photos: PhotoCheck | None


@dataclass(frozen=True)
class DetectorModel:
    name: str
    version: str
    min_confidence: float
    min_face_px: int


@dataclass(frozen=True)
class TrackerModel:
    """How faces are followed and tracklets joined (`classpulse.faces.merge`, `classpulse.faces.identity`)."""

    method: str
    search_every_s: float
    max_misses: int
    merge_gap_s: float
    min_track_s: float
    descriptor: str
    descriptor_views: int
    descriptor_min_face_px: float
    same_person_distance: float
    different_person_distance: float
    two_people_joined: float
    one_person_split: float


@dataclass(frozen=True)
class PulseModel:
    """The pulse method and every rule applied to its windows (see `classpulse.pulse`)."""

    method: str
    window_s: float
    min_quality_db: float
    min_face_px: float
    stress_rise_bpm: float
    stress_rise_fraction: float
    baseline_s: float
    min_accepted_windows: int
    track_quality_gate_db: tuple[tuple[int, float], ...]
    min_track_windows: int
    max_rate_change_bpm_per_s: float
    min_confidence: float
    min_confidence_own_gate: float


@dataclass(frozen=True)
class ReadabilityRule:
    """When a face's expression counts as readable (`classpulse.faces.readability`)."""

    max_abs_yaw: float
    min_pitch: float
    max_pitch: float
    min_face_px: float
    min_sharpness: float


@dataclass(frozen=True)
class Models:
    emotion: EmotionModel | None  # None when the policy ran no expression model
    face_detector: DetectorModel
    tracker: TrackerModel
    pulse: PulseModel
    readability: ReadabilityRule


@dataclass(frozen=True)
class Processing:
    """How the run went (wall and stage seconds, memory) and the options it ran with."""

    wall_s: float
    realtime_factor: float
    frames_analysed: int
    analysis_fps: float
    analysis_width: int
    detect_every_s: float
    search_every_s: float
    emotion_every_s: float
    max_side: int
    max_fps: float
    pulse: bool
    peak_rss_mb: float
    stage_s: dict[str, float]
    started_at: str
    classpulse_version: str


@dataclass(frozen=True)
class Privacy:
    """The policy the analysis ran under (`classpulse.policy.Policy`), the purpose and the consent assertion
    the job declared, and what timeline.json holds under that policy."""

    policy: str
    purpose: str | None
    consent: bool
    timeline: str


@dataclass(frozen=True)
class Summary:
    """summary.json. Under the aggregate and no-emotion policies `faces` is empty."""

    privacy: Privacy
    session: Session
    video: Video
    faces: tuple[Face, ...]
    audience: Audience
    insights: Insights
    models: Models
    processing: Processing


# --- faces.csv and the whole result -----------------------------------------------------------------------

CSV_HEADER = (
    "t",
    "face_id",
    "emotion",
    *(f"p_{label}" for label in EMOTION_LABELS),
    "bpm",
    "quality_db",
    "attending",
    "valence",
    "arousal",
)


class FaceRow(NamedTuple):
    """One faces.csv row: a face at second `t`, its 7 probabilities (None when not readable), pulse, whether
    it attended (None: pose not judged) and its valence and arousal (None when not readable)."""

    t: int
    face_id: int
    emotion: str
    probabilities: tuple[float | None, ...]
    bpm: float | None
    quality_db: float | None
    attending: bool | None
    valence: float | None
    arousal: float | None


@dataclass(frozen=True)
class AnalysisResult:
    summary: Summary
    timeline: tuple[TimelineSecond, ...]
    rows: tuple[FaceRow, ...]


# --- to JSON and CSV: the one conversion ------------------------------------------------------------------


def as_dict(record: Any) -> dict[str, Any]:
    """A record's fields by name, in order: the JSON object it is written as. Nested records stay records
    (`to_json` converts each as it meets it); NamedTuple rows are already JSON arrays."""
    if not dataclasses.is_dataclass(record) or isinstance(record, type):
        raise TypeError(f"not a result record: {type(record).__name__}")
    return {field.name: getattr(record, field.name) for field in dataclasses.fields(record)}


def to_json(value: Any, **dumps_options: Any) -> str:
    """`json.dumps` for result records and anything holding them."""
    return json.dumps(value, default=as_dict, **dumps_options)


def summary_json(summary: Summary) -> str:
    return to_json(summary, indent=2)


def timeline_json(timeline: tuple[TimelineSecond, ...]) -> str:
    return to_json(timeline, separators=(",", ":"))


def faces_csv(rows: tuple[FaceRow, ...]) -> str:
    """faces.csv: the header and one line per row, empty cells for None."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for row in rows:
        cells = (
            row.t,
            row.face_id,
            row.emotion,
            *row.probabilities,
            row.bpm,
            row.quality_db,
            None if row.attending is None else int(row.attending),
            row.valence,
            row.arousal,
        )
        writer.writerow("" if cell is None else cell for cell in cells)
    return buf.getvalue()


# --- back from JSON: summary.json read by `classpulse compare` and the course report -----------------------


class SummaryError(ValueError):
    """A summary.json that is not valid JSON or does not have the shape of `Summary` (another version's)."""


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _decode(kind: Any, value: Any, where: str) -> Any:
    """`value` from `json.loads` as the annotated type `kind`: records, NamedTuple rows, tuples, dicts,
    enums and `X | None`; a value that does not fit raises SummaryError naming its place."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = (arg for arg in args if arg is not type(None))
        return _decode(inner, value, where)
    if dataclasses.is_dataclass(kind):
        if not isinstance(value, dict):
            raise SummaryError(f"{where}: expected an object")
        return _record(kind, value, where)
    if isinstance(kind, type) and issubclass(kind, tuple) and hasattr(kind, "_fields"):  # a NamedTuple row
        if not isinstance(value, list) or len(value) != len(kind._fields):
            raise SummaryError(f"{where}: expected an array of {len(kind._fields)}")
        hints = _hints(kind)
        return kind(*(_decode(hints[n], v, f"{where}.{n}") for n, v in zip(kind._fields, value, strict=True)))
    if origin is tuple:
        if not isinstance(value, list):
            raise SummaryError(f"{where}: expected an array")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise SummaryError(f"{where}: expected an array of {len(args)}")
        return tuple(_decode(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value, strict=True)))
    if origin is dict:
        if not isinstance(value, dict):
            raise SummaryError(f"{where}: expected an object")
        return {k: _decode(args[1], v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        try:
            return kind(value)
        except ValueError:
            raise SummaryError(f"{where}: unknown value {value!r}") from None
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind is Any or (isinstance(kind, type) and isinstance(value, kind)):
        return value
    raise SummaryError(f"{where}: expected {getattr(kind, '__name__', kind)}, got {type(value).__name__}")


def _record(cls: Any, data: dict[str, Any], where: str) -> Any:
    hints = _hints(cls)
    missing = [f.name for f in dataclasses.fields(cls) if f.name not in data]
    if missing:
        raise SummaryError(f"{where}: missing {', '.join(missing)}")
    names = [f.name for f in dataclasses.fields(cls)]
    return cls(**{name: _decode(hints[name], data[name], f"{where}.{name}") for name in names})


def summary_from_json(text: str) -> Summary:
    """The `Summary` that `summary_json` wrote. Raises SummaryError for text of any other shape."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SummaryError(f"not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise SummaryError("expected a JSON object")
    return _record(Summary, data, "summary")


def load_summary(path: Path) -> Summary:
    """summary.json at `path` as a `Summary`. Raises OSError when unreadable, SummaryError when invalid."""
    return summary_from_json(Path(path).read_text(encoding="utf-8"))
