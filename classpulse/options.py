"""The customer-facing analysis options: the one home of their defaults.

The `classpulse analyze` parser, the API's `JobCreate`/`JobOptions` and the worker take their defaults and
their names from `AnalysisOptions`. Torch-free, so the API and the command line can import it cheaply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from classpulse.insights.markers import Marker
from classpulse.policy import Policy, Purpose

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def check_session_date(text: str) -> str:
    """`text` if it is a calendar date written YYYY-MM-DD, else ValueError. Stricter than
    `date.fromisoformat`, which also takes 20250314 and 2025-W11-5: a session date is typed by people and
    orders a course's sessions, so it has one spelling."""
    if not _ISO_DATE.match(text):
        raise ValueError(f"session date {text!r} is not written YYYY-MM-DD")
    try:
        date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"session date {text!r} is not a calendar date") from None
    return text


#: Longest course label (characters). A course names a URL path and a report heading, so it is short text.
COURSE_MAX_CHARS = 80


def clean_course(course: str | None) -> str | None:
    """A course label stripped of surrounding space (blank: none). Raises ValueError when it is longer than
    COURSE_MAX_CHARS or holds characters that do not print (control, format or line-break characters)."""
    if course is None or not course.strip():
        return None
    course = course.strip()
    if len(course) > COURSE_MAX_CHARS:
        raise ValueError(f"the course must be at most {COURSE_MAX_CHARS} characters")
    if not course.isprintable():
        raise ValueError("the course must be printable text")
    return course


@dataclass(frozen=True)
class AnalysisOptions:
    """Intervals in seconds; `max_side` caps the analysis resolution (pixels), `max_fps` its frame rate;
    `pulse_method` names a method of `classpulse.pulse.methods.PULSE_METHODS`. `policy` is the effective
    privacy policy (`classpulse.policy.effective_policy`); `purpose` and `consent` are what the job declared,
    recorded in the report as given. `markers` split the report into segments
    (`classpulse.insights.markers`; none: fixed windows); `course` and `session_date` (ISO date) place the
    recording among a course's sessions (`classpulse compare`); `negative_stretch_min` is how long a person
    must look negative before the report flags it."""

    detect_every_s: float = 1.0
    search_every_s: float = 5.0
    emotion_every_s: float = 0.5
    max_side: int = 1280
    max_fps: float = 15.0
    pulse: bool = True
    pulse_method: str = "pos"
    title: str | None = None
    policy: Policy = Policy.FULL
    purpose: Purpose | None = None
    consent: bool = False
    markers: tuple[Marker, ...] = ()
    course: str | None = None
    session_date: str | None = None
    negative_stretch_min: float = 3.0

    @property
    def measures_pulse(self) -> bool:
        """Heart rate is per-face data: measured when asked for and the policy allows per-face results."""
        return self.pulse and self.policy.per_face

    def __post_init__(self) -> None:
        from classpulse.pulse.methods import get_method

        if min(self.detect_every_s, self.search_every_s, self.emotion_every_s) <= 0:
            raise ValueError("detect_every_s, search_every_s and emotion_every_s must be positive")
        if self.max_side < 64:
            raise ValueError("max_side must be at least 64 pixels")
        if self.max_fps < 5:
            raise ValueError("max_fps must be at least 5 (pulse rates up to 150 bpm need 5 Hz)")
        get_method(self.pulse_method)  # ValueError naming the valid methods
        if not self.negative_stretch_min > 0:  # NaN too
            raise ValueError("negative_stretch_min must be positive")
        if self.session_date is not None:
            check_session_date(self.session_date)  # ValueError naming the bad date
        object.__setattr__(self, "course", clean_course(self.course))
        object.__setattr__(self, "markers", tuple(Marker(*m) for m in self.markers))
        object.__setattr__(self, "policy", Policy(self.policy))  # ValueError naming a bad value
        if self.purpose is not None:
            object.__setattr__(self, "purpose", Purpose(self.purpose))
