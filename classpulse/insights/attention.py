"""Is a face turned towards the camera (and so, in a lecture filmed from the front, towards the lecturer
and the screen)? Judged from the head pose MTCNN's five landmarks give (`classpulse.faces.readability`).

The thresholds are the readability rule's, so "attending" and "expression readable" agree on geometry:
- turned away: |yaw| above `MAX_ABS_YAW` eye distances. Rotating an average adult face's five points in
  3D and projecting them (`GENERIC_FACE_MM`, checked in tests/insights/test_attention.py) puts that at a
  head turned about 40 degrees from the camera (35-47 degrees for noses 5 mm longer or shorter); on the
  shared frontal photos |yaw| has a median of 0.12.
- looking down (notes, a laptop, a phone) or up: pitch outside [`MIN_PITCH`, `MAX_PITCH`]: on the same
  face about 20 degrees down (16-25) or 44 up (39-50), beyond the range of the shared frontal photos.
- not judged: a face smaller than `MIN_FACE_PX`, whose landmarks are too coarse for a pose.
A blurred face still shows its pose, so blur does not count against attention.

The camera is assumed to sit near what the audience should look at; where it does not (a side camera),
attention measures "facing the camera" only, and the report says so.
"""

from __future__ import annotations

import numpy as np

from classpulse.faces.readability import (
    BLURRED,
    MAX_ABS_YAW,
    MAX_PITCH,
    MIN_FACE_PX,
    MIN_PITCH,
    READABLE,
    TOO_SMALL,
)

#: Per face and second: absent or pose not judged, turned away, attending.
NOT_JUDGED, AWAY, ATTENDING = -1, 0, 1
#: An average adult face's five MTCNN points in mm (x right, y down, z towards the camera): eye centres
#: 63 mm apart, the nose tip 38 mm below and 27 mm in front of them, mouth corners 50 mm apart.
GENERIC_FACE_MM = np.array(
    [[-31.5, 0.0, 0.0], [31.5, 0.0, 0.0], [0.0, 38.0, 27.0], [-25.0, 70.0, 5.0], [25.0, 70.0, 5.0]]
)
#: The yaw and pitch thresholds in degrees on GENERIC_FACE_MM (what the report says; tests check them).
MAX_ABS_YAW_DEG = 40
MAX_PITCH_DOWN_DEG = 20
MAX_PITCH_UP_DEG = 44

__all__ = ["MAX_ABS_YAW", "MAX_PITCH", "MIN_FACE_PX", "MIN_PITCH", "attention_codes"]


def attention_codes(reason: np.ndarray) -> np.ndarray:
    """Readability reason codes (n,) -> attention codes (n,) int8: ATTENDING for a face that faces the
    camera (readable, or only blurred), AWAY for one turned away or tilted, NOT_JUDGED for one too small."""
    reason = np.asarray(reason)
    codes = np.full(reason.shape, AWAY, dtype=np.int8)
    codes[(reason == READABLE) | (reason == BLURRED)] = ATTENDING
    codes[reason == TOO_SMALL] = NOT_JUDGED
    return codes
