"""/v1/jobs: upload a recording, follow its job, download the outputs, erase it."""

from __future__ import annotations

import enum
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse
from pydantic import ValidationError

from api.deps import CurrentCustomer, LayoutDep, QueueDep, SessionDep, SettingsDep
from api.privacy import enforce
from api.schemas import JobCreate, JobPublic, JobsPublic, Message
from api.uploads import multipart_openapi, receive_form
from classpulse.insights.markers import MAX_MARKER_BYTES
from classpulse.options import COURSE_MAX_CHARS, clean_course
from classpulse.results import OUTPUT_FILES
from service.audit import audit
from service.settings import Settings
from storage import crud
from storage.db import get_engine, session_scope
from storage.files import Layout
from storage.models import Job, JobSource, JobStatus
from worker.enqueue import enqueue_job
from worker.queue import JobQueue

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

OutputName = enum.StrEnum("OutputName", {name.replace(".", "_"): name for name in OUTPUT_FILES})

#: Beyond any real job list, and within a 32-bit signed integer on every database (a larger one was a 500).
MAX_OFFSET = 2**31 - 1

NOT_FOUND = {"model": Message, "description": "no such job for this customer"}
UNAUTHORIZED = {"model": Message, "description": "missing or invalid API key"}

#: A report page is served from the API's origin: no scripts, no same-origin access, nothing fetched.
REPORT_HTML_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"

#: Where the OpenAPI document keeps the schemas the form's fields refer to (the policy and purpose enums).
COMPONENT_REF = "#/components/schemas/{model}"

_UPLOAD_FORM = multipart_openapi(
    "the recording",
    **{
        name: {**field, "title": name}
        for name, field in JobCreate.model_json_schema(ref_template=COMPONENT_REF)["properties"].items()
    },
)


def _not_found() -> HTTPException:
    return HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="job not found")


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobPublic,
    openapi_extra=_UPLOAD_FORM,
    responses={
        401: UNAUTHORIZED,
        413: {
            "model": Message,
            "description": f"over CLASSPULSE_MAX_UPLOAD_MB, or markers over {MAX_MARKER_BYTES // 1024} kB",
        },
        415: {"model": Message},
        403: {"model": Message, "description": "prohibited in the deployment's jurisdiction (names the law)"},
        422: {
            "description": "not a playable video (with the reason), bad options (a marker file's error names "
            "its line), or a missing declaration"
        },
    },
)
async def create_job(
    request: Request,
    customer: CurrentCustomer,
    settings: SettingsDep,
    layout: LayoutDep,
    queue: QueueDep,
    response: Response,
) -> JobPublic:
    """Upload one recording (multipart field `file`) with optional analysis options as form fields.

    The body is streamed to disk; the recording is probed before it is accepted."""
    job = await receive_upload(
        request, customer_id=customer.id, settings=settings, layout=layout, queue=queue
    )
    public = JobPublic.from_job(job)
    response.headers["Location"] = public.links.job
    return public


async def receive_upload(
    request: Request,
    *,
    customer_id: int,
    settings: Settings,
    layout: Layout,
    queue: JobQueue,
    to_options: Callable[[dict[str, str]], dict[str, str]] = dict,
) -> Job:
    """Receive, check and accept one upload; `to_options` turns the received text fields into `JobCreate`'s
    (the web page checks its CSRF token and maps its form controls there, so both share every check).

    Raises `HTTPException` (403, 408, 413, 415, 422) or `RequestValidationError` (bad options)."""
    from classpulse.video.probe import InputError, probe
    from service.limits import check_recording

    incoming = layout.incoming / uuid.uuid4().hex
    await run_in_threadpool(incoming.mkdir, parents=True)
    try:
        limit = f"the upload exceeds the limit of {settings.max_upload_mb:g} MB"
        form = await receive_form(
            request,
            dest_dir=incoming,
            file_field="file",
            idle_timeout_s=settings.upload_idle_timeout_s,
            max_file_bytes=settings.max_upload_bytes,
            limit_message=limit,
            small_parts={"markers": MAX_MARKER_BYTES},
        )
        try:
            options = JobCreate.model_validate({**to_options(form.fields), **form.small})
        except ValidationError as exc:
            raise RequestValidationError(_errors(exc)) from None
        policy = enforce(settings, options.policy, options.purpose, options.consent)
        options = options.model_copy(update={"policy": policy})
        assert form.path is not None
        request.app.state.metrics.upload_bytes.labels("video").inc(form.size)
        try:
            info = await run_in_threadpool(probe, form.path)
            check_recording(info, settings)
        except InputError as exc:  # probe's reasons name the file, never our storage path
            raise HTTPException(status_code=422, detail=str(exc)) from None
        video = info.facts()
        return await run_in_threadpool(
            _accept,
            settings=settings,
            layout=layout,
            queue=queue,
            customer_id=customer_id,
            upload=form.path,
            filename=form.filename or "upload",
            size_bytes=form.size,
            options=options,
            video=video,
        )
    finally:
        await run_in_threadpool(shutil.rmtree, incoming, True)


def _errors(exc: ValidationError) -> list[dict]:
    """The validation errors as FastAPI words them, without echoing an uploaded file back (the marker
    file's bytes need not even be text)."""
    return [
        {k: v for k, v in error.items() if not (k == "input" and isinstance(v, bytes))}
        for error in exc.errors(include_url=False, include_context=False)
    ]


def _accept(
    *,
    settings: Settings,
    layout: Layout,
    queue: JobQueue,
    customer_id: int,
    upload: Path,
    filename: str,
    size_bytes: int,
    options: JobCreate,
    video: dict,
) -> Job:
    """Move the probed upload to uploads/<job id>/, record the job and publish it."""
    engine = get_engine(settings.sqlalchemy_url)
    job_id = uuid.uuid4().hex
    final = layout.upload_path(job_id, upload.name)
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(upload, final)
    try:
        with session_scope(engine) as session:
            job = crud.create_job(
                session,
                job_id=job_id,
                customer_id=customer_id,
                source=JobSource.UPLOAD,
                source_path=str(final),
                filename=filename[:255],
                size_bytes=size_bytes,
                options=options.pipeline_options(),
                title=options.title,
                course=options.course,
                video=video,
            )
    except BaseException:
        shutil.rmtree(final.parent, ignore_errors=True)
        raise
    enqueue_job(engine=engine, queue=queue, job=job)  # a broker outage leaves it queued for the reaper
    with session_scope(engine) as session:
        return crud.get_job(session, job_id=job_id) or job


@router.get("", response_model=JobsPublic, responses={401: UNAUTHORIZED})
def list_jobs(
    session: SessionDep,
    customer: CurrentCustomer,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    course: Annotated[str | None, Query(max_length=COURSE_MAX_CHARS, description="only this course")] = None,
) -> JobsPublic:
    """The caller's jobs, newest first; with `course`, only the jobs labelled with it."""
    try:
        course = clean_course(course)  # as stored: stripped; never a NUL, which PostgreSQL refuses
    except ValueError as exc:
        raise HTTPException(status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from None
    jobs, count = crud.list_jobs(session, customer_id=customer.id, limit=limit, offset=offset, course=course)
    return JobsPublic(data=[JobPublic.from_job(job) for job in jobs], count=count, limit=limit, offset=offset)


@router.get("/{job_id}", response_model=JobPublic, responses={401: UNAUTHORIZED, 404: NOT_FOUND})
def get_job(job_id: str, session: SessionDep, customer: CurrentCustomer) -> JobPublic:
    """Status, progress (0-100) and stage, error, timestamps, the recording's facts and output links."""
    job = crud.get_job(session, job_id=job_id, customer_id=customer.id)
    if job is None:
        raise _not_found()
    return JobPublic.from_job(job)


@router.get(
    "/{job_id}/{output}",
    response_class=FileResponse,
    responses={
        200: {"content": {media: {} for media in OUTPUT_FILES.values()}, "description": "the file"},
        401: UNAUTHORIZED,
        404: NOT_FOUND,
        409: {"model": Message, "description": "not succeeded (yet)"},
    },
)
def download_output(
    job_id: str, output: OutputName, session: SessionDep, customer: CurrentCustomer, layout: LayoutDep
) -> FileResponse:
    """One output of a succeeded job: report.pdf, report.html, timeline.json, summary.json or faces.csv."""
    job = crud.get_job(session, job_id=job_id, customer_id=customer.id)
    if job is None:
        raise _not_found()
    if job.status != JobStatus.SUCCEEDED:
        raise HTTPException(
            status_code=status.HTTP_409_CONFLICT,
            detail=f"the job is {job.status}; outputs exist once it has succeeded",
        )
    path = layout.output_file(job.id, output.value)
    if not path.is_file():
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=f"{output.value} is not available")
    headers = {"X-Content-Type-Options": "nosniff"}
    if output.value == "report.html":
        headers["Content-Security-Policy"] = REPORT_HTML_CSP
    return FileResponse(
        path,
        media_type=OUTPUT_FILES[output.value],
        headers=headers,
        filename=f"classpulse-{job.id[:8]}-{output.value}",
        content_disposition_type="inline" if output.value.startswith("report") else "attachment",
    )


@router.delete(
    "/{job_id}", status_code=status.HTTP_204_NO_CONTENT, responses={401: UNAUTHORIZED, 404: NOT_FOUND}
)
def delete_job(
    job_id: str, session: SessionDep, customer: CurrentCustomer, layout: LayoutDep, queue: QueueDep
) -> Response:
    """Erase the job: record, upload, outputs. A running job is cancelled: deleting the row revokes its
    lease, and the worker stops at its next progress report (about a second) and discards its work."""
    job = crud.get_job(session, job_id=job_id, customer_id=customer.id)
    if job is None:
        raise _not_found()
    source_path = job.source_path if job.source == JobSource.UPLOAD else None
    crud.delete_job(session, job_id=job.id)
    session.commit()
    layout.erase_job(job.id, source_path)
    queue.forget(job.id)
    audit("job erased", customer_id=customer.id, job_id=job.id, reason="customer request")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
