"""Request and response bodies (JobCreate / JobPublic family)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator
from pydantic_core import PydanticCustomError

from classpulse.insights.markers import MAX_MARKER_BYTES, Marker, MarkerError, decode_markers
from classpulse.options import COURSE_MAX_CHARS, AnalysisOptions, check_session_date, clean_course
from classpulse.policy import Policy, Purpose
from classpulse.results import OUTPUT_FILES
from storage.models import Job


class JobOptions(BaseModel):
    """The analysis options of a job, with the defaults of `classpulse.options.AnalysisOptions`."""

    detect_every_s: float = Field(
        AnalysisOptions.detect_every_s,
        gt=0,
        le=60,
        allow_inf_nan=False,
        description="seconds between face detections",
    )
    emotion_every_s: float = Field(
        AnalysisOptions.emotion_every_s,
        gt=0,
        le=60,
        allow_inf_nan=False,
        description="seconds between expression samples",
    )
    pulse: bool = Field(AnalysisOptions.pulse, description="estimate heart rate from the faces")
    policy: Policy | None = Field(
        None,
        description="privacy policy (full, aggregate, no-emotion); CLASSPULSE_POLICY wins when stricter. "
        "On a job: the policy it runs under",
    )
    purpose: Purpose | None = Field(
        None, description="why the recording is analysed; required when CLASSPULSE_JURISDICTION=eu"
    )
    consent: bool = Field(
        False,
        description="the uploader asserts the people recorded were informed and agreed; "
        "required when CLASSPULSE_REQUIRE_CONSENT is set",
    )
    markers: tuple[Marker, ...] = Field(
        AnalysisOptions.markers,
        description="lecture segments, [start_s, end_s or null, label] each (none: fixed windows)",
    )
    session_date: str | None = Field(
        AnalysisOptions.session_date,
        description="date of the session, YYYY-MM-DD (none: the recording's own, else the day analysed)",
    )
    negative_minutes: float | None = Field(
        None,
        gt=0,
        allow_inf_nan=False,
        description="minutes a person must look negative before the report flags it "
        "(none: CLASSPULSE_NEGATIVE_STRETCH_MINUTES)",
    )

    @classmethod
    def from_stored(cls, stored: dict[str, Any]) -> JobOptions:
        """The options of a job as stored on its row (`JobCreate.pipeline_options`)."""
        renamed = {name: stored[key] for name, key in STORED_AS.items() if key in stored}
        return cls(**{k: v for k, v in stored.items() if k in cls.model_fields}, **renamed)


#: Fields stored on the job under the name `AnalysisOptions` gives them (the worker passes the stored
#: options to it as they are).
STORED_AS = {"negative_minutes": "negative_stretch_min"}


class JobCreate(JobOptions):
    """Analysis options sent as form fields next to the `file` part of `POST /v1/jobs`."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, max_length=200, description="title printed on the report")
    course: str | None = Field(
        None,
        max_length=COURSE_MAX_CHARS,
        description="course label (printable, at most 80 characters): the job joins that course's "
        "comparison report, GET /v1/courses/{course}/report.pdf",
    )
    markers: Annotated[
        tuple[Marker, ...],
        WithJsonSchema(
            {
                "type": "string",
                "format": "binary",
                "description": "lecture segments: a CSV file or text field of start,label or "
                f"start,end,label lines (seconds or mm:ss), UTF-8, at most {MAX_MARKER_BYTES // 1024} kB; "
                "a bad line gives 422 naming it",
            }
        ),
    ] = AnalysisOptions.markers

    @field_validator("title", "policy", "purpose", "session_date", "negative_minutes", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("markers", mode="before")
    @classmethod
    def _parse_markers(cls, value: object) -> object:
        """The uploaded marker file (bytes, or the text of a form field) as markers; an empty one: none."""
        if isinstance(value, str):
            value = value.encode()
        if not isinstance(value, bytes):
            return value
        if not value.strip():
            return ()
        try:
            return decode_markers(value)
        except MarkerError as exc:
            raise PydanticCustomError("markers", str(exc)) from None

    @field_validator("session_date", mode="after")
    @classmethod
    def _iso_date(cls, value: str | None) -> str | None:
        return None if value is None else check_session_date(value)

    @field_validator("course", mode="before")
    @classmethod
    def _clean_course(cls, value: object) -> object:
        """Stripped, blank as none, printable (`classpulse.options.clean_course`)."""
        return clean_course(value) if isinstance(value, str) else value

    def pipeline_options(self) -> dict:
        """The options stored on the job (the title and the course have their own columns)."""
        options = self.model_dump(exclude={"title", "course", *STORED_AS})
        options.update(
            {STORED_AS[name]: getattr(self, name) for name in STORED_AS if getattr(self, name) is not None}
        )
        return options


class VideoFacts(BaseModel):
    """What probing the recording found. Seconds, frames per second, display pixels."""

    duration_s: float | None = None
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    codec: str | None = None
    warning: str | None = Field(
        None,
        description="set when decoding stopped early (truncated file); duration_s is then what was decoded",
    )


class JobLinks(BaseModel):
    """URLs of the job and of its outputs (the outputs answer 409 until the job has succeeded)."""

    job: str
    report_pdf: str
    report_html: str
    timeline_json: str
    summary_json: str
    faces_csv: str


class JobPublic(BaseModel):
    id: str
    status: str = Field(description="queued, running, succeeded or failed")
    progress: float = Field(description="percent, 0-100")
    stage: str | None
    error: str | None
    title: str | None
    course: str | None = Field(description="course label, or null")
    source: str = Field(description="upload or archive")
    filename: str
    size_bytes: int
    options: JobOptions
    video: VideoFacts | None
    attempts: int
    wall_s: float | None = Field(description="processing time of the successful attempt, seconds")
    created_at: dt.datetime
    updated_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    links: JobLinks

    @classmethod
    def from_job(cls, job: Job, prefix: str = "/v1/jobs") -> JobPublic:
        base = f"{prefix}/{job.id}"
        links = {name.replace(".", "_"): f"{base}/{name}" for name in OUTPUT_FILES}
        return cls(
            id=job.id,
            status=job.status,
            progress=round(job.progress or 0.0, 1),
            stage=job.stage,
            error=job.error,
            title=job.title,
            course=job.course,
            source=job.source,
            filename=job.filename,
            size_bytes=job.size_bytes,
            options=JobOptions.from_stored(job.options or {}),
            video=VideoFacts(**job.video) if job.video else None,
            attempts=job.attempts,
            wall_s=job.wall_s,
            created_at=job.created_at,
            updated_at=job.updated_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            links=JobLinks(job=base, **links),
        )


class JobsPublic(BaseModel):
    """A page of jobs, newest first; `count` is the total over all pages."""

    data: list[JobPublic]
    count: int
    limit: int
    offset: int


class ImageFace(BaseModel):
    box: list[float] = Field(description="[x1, y1, x2, y2] in pixels of the uploaded image")
    confidence: float
    emotion: str
    probabilities: dict[str, float] = Field(description="the seven expression probabilities, summing to 1")


class ImageEmotions(BaseModel):
    width: int
    height: int
    faces: list[ImageFace]


class Message(BaseModel):
    detail: str


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    database: str
    broker: str
