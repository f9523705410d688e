"""Everything observed about one tracklet while the video streams past, in compact typed buffers.

About 40 bytes per face per frame (a 2-hour lecture with 30 faces always in view: ~260 MB), instead of
hundreds for Python lists of small arrays; the skin-colour trace is dropped when the tracklet ends. What
its pulse windows keep instead is one band spectrum per second (~0.6 kB per face and second, ~130 MB more
for that lecture), for the whole-track estimate and peak tracking in classpulse.pulse.tracking.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

import numpy as np

from classpulse.emotion.labels import EMOTION_LABELS
from classpulse.faces.identity import ChipPicker
from classpulse.faces.merge import TrackletSpan
from classpulse.faces.readability import READABLE


@dataclass
class TrackRecord:
    """Per visible frame: time (s), box (4,) in source pixels, skin mean RGB (3,), face size (px at
    analysis resolution). Per emotion sample: time (s), the 7 class probabilities (NaN when the face was
    not readable, so not classified) and the readability reason code (`faces.readability.REASONS`,
    0 = readable; one byte).
    `pulse` holds the tracklet's heart-rate windows once it has ended; `views` its best views while they
    may still be needed for `descriptor`, its face descriptor (`classpulse.faces.identity`), if described.
    """

    track_id: int
    pulse: list = field(default_factory=list)
    views: ChipPicker = field(default_factory=ChipPicker)
    descriptor: np.ndarray | None = None
    _times: array = field(default_factory=lambda: array("d"))
    _boxes: array = field(default_factory=lambda: array("f"))
    _rgb: array = field(default_factory=lambda: array("f"))
    _face_px: array = field(default_factory=lambda: array("f"))
    _emotion_times: array = field(default_factory=lambda: array("d"))
    _emotion_probs: array = field(default_factory=lambda: array("f"))
    _emotion_reason: array = field(default_factory=lambda: array("B"))

    def add_frame(self, t: float, box: np.ndarray, rgb: np.ndarray, face_px: float) -> None:
        self._times.append(t)
        self._boxes.extend(box.tolist())
        self._rgb.extend(rgb.tolist())
        self._face_px.append(face_px)

    def add_emotion(self, t: float, probs: np.ndarray, reason: int = READABLE) -> None:
        self._emotion_times.append(t)
        self._emotion_probs.extend(probs.tolist())
        self._emotion_reason.append(reason)

    def drop_trace(self) -> None:
        """Free the per-frame skin colour once the pulse has been computed from it."""
        self._rgb = array("f")

    @property
    def has_trace(self) -> bool:
        """Whether the skin-colour trace is still held (its pulse not yet computed)."""
        return len(self._rgb) > 0

    def since(self, t: float) -> TrackRecord | None:
        """A copy without the frames and expression samples before `t` s; None if nothing is left."""
        keep = self.frame_times >= t
        if keep.all():
            return self
        if not keep.any():
            return None
        samples = self.emotion_times >= t
        return TrackRecord(
            self.track_id,
            views=self.views,
            _times=array("d", self.frame_times[keep]),
            _boxes=array("f", self.boxes[keep].ravel()),
            _rgb=array("f", self.rgb[keep].ravel()) if self.has_trace else array("f"),
            _face_px=array("f", self.face_px[keep]),
            _emotion_times=array("d", self.emotion_times[samples]),
            _emotion_probs=array("f", self.emotion_probs[samples].ravel()),
            _emotion_reason=array("B", self.emotion_reason[samples]),
        )

    def joined(self, later: TrackRecord) -> TrackRecord:
        """This record followed by `later` (which starts after it ends), under this record's id. Both must
        still hold their skin-colour trace, or neither (no pulse): a pulse is computed on the whole trace."""
        if self.has_trace != later.has_trace:
            raise ValueError("join two records with their traces, or two without")
        traced = self.has_trace
        return TrackRecord(
            self.track_id,
            pulse=self.pulse + later.pulse,
            views=self.views.merged(later.views),
            _times=self._times + later._times,
            _boxes=self._boxes + later._boxes,
            _rgb=self._rgb + later._rgb if traced else array("f"),
            _face_px=self._face_px + later._face_px,
            _emotion_times=self._emotion_times + later._emotion_times,
            _emotion_probs=self._emotion_probs + later._emotion_probs,
            _emotion_reason=self._emotion_reason + later._emotion_reason,
        )

    @property
    def frame_times(self) -> np.ndarray:
        """(n,) seconds."""
        return np.array(self._times, dtype=np.float64)

    @property
    def boxes(self) -> np.ndarray:
        """(n, 4) source pixels."""
        return np.array(self._boxes, dtype=np.float32).reshape(-1, 4)

    @property
    def rgb(self) -> np.ndarray:
        """(n, 3) mean skin RGB, NaN where no skin was measured."""
        return np.array(self._rgb, dtype=np.float64).reshape(-1, 3)

    @property
    def face_px(self) -> np.ndarray:
        """(n,) face size in pixels at analysis resolution."""
        return np.array(self._face_px, dtype=np.float32)

    @property
    def emotion_times(self) -> np.ndarray:
        """(m,) seconds."""
        return np.array(self._emotion_times, dtype=np.float64)

    @property
    def emotion_probs(self) -> np.ndarray:
        """(m, 7) class probabilities, NaN rows where the face was not readable."""
        return np.array(self._emotion_probs, dtype=np.float32).reshape(-1, len(EMOTION_LABELS))

    @property
    def emotion_reason(self) -> np.ndarray:
        """(m,) uint8 readability reason codes into `classpulse.faces.readability.REASONS`, 0 = readable."""
        return np.array(self._emotion_reason, dtype=np.uint8)

    @property
    def emotion_readable(self) -> np.ndarray:
        """(m,) bool, whether each expression sample could be read."""
        return self.emotion_reason == READABLE

    @property
    def first_s(self) -> float:
        return self._times[0]

    @property
    def last_s(self) -> float:
        return self._times[-1]

    def span(self) -> TrackletSpan:
        boxes = self.boxes
        return TrackletSpan(self.track_id, self.first_s, self.last_s, boxes[0], boxes[-1], self.descriptor)
