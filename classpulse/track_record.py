"""Everything observed about one tracklet while the video streams past, kept small and numeric."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from classpulse.faces.merge import TrackletSpan


@dataclass
class TrackRecord:
    """Per visible frame: time (s), box (4,) in source pixels, skin mean RGB (3,), face size (px at
    analysis resolution). Per emotion sample: time (s) and the 7 class probabilities.
    `pulse` is filled in when the tracklet ends, after which the RGB trace is dropped.
    """

    track_id: int
    frame_times: list[float] = field(default_factory=list)
    boxes: list[np.ndarray] = field(default_factory=list)
    rgb: list[np.ndarray] = field(default_factory=list)
    face_px: list[float] = field(default_factory=list)
    emotion_times: list[float] = field(default_factory=list)
    emotion_probs: list[np.ndarray] = field(default_factory=list)
    pulse: list = field(default_factory=list)

    def add_frame(self, t: float, box: np.ndarray, rgb: np.ndarray, face_px: float) -> None:
        self.frame_times.append(t)
        self.boxes.append(box)
        self.rgb.append(rgb)
        self.face_px.append(face_px)

    def add_emotion(self, t: float, probs: np.ndarray) -> None:
        self.emotion_times.append(t)
        self.emotion_probs.append(probs)

    def span(self) -> TrackletSpan:
        return TrackletSpan(
            self.track_id, self.frame_times[0], self.frame_times[-1], self.boxes[0], self.boxes[-1]
        )
