"""/web: the customer web page. Sign in with an API key, upload a recording, follow its job, download the
reports, delete the job.

Server-rendered from templates/web with Jinja2; /static/web.js only adds the upload progress bar and the
live job list, and every page works without it (plain form posts and redirects). The page calls the same
functions as the /v1 routes, so a customer sees exactly their own jobs and every error is the API's own,
put into words (`api.web.form.describe`).
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from api.deps import CustomerRef, LayoutDep, QueueDep, SessionDep, SettingsDep
from api.routes import jobs as api_jobs
from api.schemas import JobPublic
from api.web import form
from api.web.session import CSRF_FIELD, WebSession, WebSessionDep, keep_nonce, sign_in, sign_out
from storage import crud

log = logging.getLogger(__name__)

router = APIRouter(prefix="/web", include_in_schema=False)

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "web"
#: Autoescaped although the names end in .j2 (Starlette's default escapes .html only); strict, so a
#: misspelt variable is an error rather than an empty string.
templates = Jinja2Templates(
    env=Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined)
)

PAGE_SIZE = 20
HOME = "/web/"
SIGN_IN = "/web/sign-in"
JOBS = "/web/jobs"

#: The only texts a redirect can ask a page to show (`?msg=`): never text from the URL itself.
MESSAGES = {
    "uploaded": "Recording uploaded. Its analysis is queued; this list shows its progress.",
    "deleted": "The job, its recording and its reports were deleted.",
    "signed-out": "You are signed out.",
}
NO_SUCH_JOB = "This job does not exist: it was deleted, or it belongs to another account."
#: What each output is called on the page.
OUTPUT_LABELS = {
    "report.pdf": "Report (PDF)",
    "report.html": "Report (web page)",
    "summary.json": "Summary (JSON)",
    "timeline.json": "Timeline (JSON)",
    "faces.csv": "Faces (CSV)",
}

#: Pages hold a CSRF token and personal data: nothing but this origin, never framed, never cached.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def _wants_json(request: Request) -> bool:
    """The page's script asks for JSON; a plain form post (no script) gets a page or a redirect."""
    return "application/json" in request.headers.get("accept", "")


def _render(
    request: Request, web: WebSession, template: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    response = templates.TemplateResponse(
        request,
        template,
        {
            "customer": web.customer,
            "csrf_field": CSRF_FIELD,
            "csrf_token": web.token,
            "message": None,
            "error": None,
            **context,
        },
        status_code=status_code,
        headers=PAGE_HEADERS,
    )
    keep_nonce(response, request, web)
    return response


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=status.HTTP_303_SEE_OTHER)


def _signed_in(request: Request, web: WebSession) -> CustomerRef:
    """The customer; otherwise 401 for the script (it sends the browser to sign in) or a redirect there."""
    if web.customer is not None:
        return web.customer
    if _wants_json(request):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="sign in again: your session has ended")
    raise HTTPException(status.HTTP_303_SEE_OTHER, headers={"Location": SIGN_IN})


def _error(exc: HTTPException | RequestValidationError) -> tuple[int, Any, str]:
    """The API's status code, its error body's `detail`, and that detail in words."""
    if isinstance(exc, RequestValidationError):
        errors = jsonable_encoder(exc.errors())
        return status.HTTP_422_UNPROCESSABLE_CONTENT, errors, form.describe(errors)
    return exc.status_code, exc.detail, form.describe(str(exc.detail))


def _job_view(job: JobPublic) -> dict[str, Any]:
    """What a job card shows, beyond the job itself (`job` made with the web page's link prefix)."""
    created = job.created_at if job.created_at.tzinfo else job.created_at.replace(tzinfo=dt.UTC)
    created = created.astimezone(dt.UTC)
    links = job.links.model_dump()
    outputs = [(label, links[name.replace(".", "_")]) for name, label in OUTPUT_LABELS.items()]
    duration = job.video.duration_s if job.video else None
    return {
        "job": job,
        "name": job.title or job.filename,
        "size": f"{job.size_bytes / 1e6:.1f} MB",
        "duration": _duration(duration) if duration else None,
        "created": f"{created.day} {created:%b %Y, %H:%M} UTC",
        "created_iso": created.isoformat(),
        "outputs": outputs if job.status == "succeeded" else [],
        "active": job.status in ("queued", "running"),
    }


def _duration(seconds: float) -> str:
    """A recording's length: "6 s", "12:05 min", "1:30:00 h"."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d} h" if hours else f"{minutes}:{secs:02d} min"


def _jobs_page(session: SessionDep, customer: CustomerRef, offset: int) -> dict[str, Any]:
    jobs, count = crud.list_jobs(session, customer_id=customer.id, limit=PAGE_SIZE, offset=offset)
    views = [_job_view(JobPublic.from_job(job, prefix=JOBS)) for job in jobs]
    return {
        "jobs": views,
        "count": count,
        "offset": offset,
        "newer": max(offset - PAGE_SIZE, 0) if offset else None,
        "older": offset + PAGE_SIZE if offset + PAGE_SIZE < count else None,
        "active": any(view["active"] for view in views),
    }


@router.get("/", response_class=HTMLResponse)
def home(
    request: Request,
    web: WebSessionDep,
    session: SessionDep,
    settings: SettingsDep,
    offset: Annotated[int, Query(ge=0, le=api_jobs.MAX_OFFSET)] = 0,
    msg: str | None = None,
) -> HTMLResponse:
    """The upload form and the customer's jobs, newest first."""
    customer = _signed_in(request, web)
    return _render(
        request,
        web,
        "jobs.html.j2",
        message=MESSAGES.get(msg or ""),
        groups=form.UPLOAD_GROUPS,
        values={},
        max_upload_mb=settings.max_upload_mb,
        max_upload_bytes=settings.max_upload_bytes,
        **_jobs_page(session, customer, offset),
    )


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, web: WebSessionDep, msg: str | None = None) -> Response:
    if web.customer is not None:
        return _redirect(HOME)
    return _render(request, web, "sign_in.html.j2", message=MESSAGES.get(msg or ""))


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in_post(
    request: Request,
    web: WebSessionDep,
    session: SessionDep,
    api_key: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Check the key as the API does; keep it in the session cookie."""
    try:
        web.check_csrf(csrf_token)
    except HTTPException as exc:
        return _render(request, web, "sign_in.html.j2", exc.status_code, error=form.describe(exc.detail))
    customer = crud.customer_for_api_key(session, key=api_key.strip()) if api_key.strip() else None
    if customer is None:
        log.info("web sign-in refused: unknown or revoked API key")
        error = "That API key is not valid, or it was revoked. Check it with whoever gave it to you."
        return _render(request, web, "sign_in.html.j2", status.HTTP_401_UNAUTHORIZED, error=error)
    response = _redirect(HOME)
    sign_in(response, request, api_key.strip())
    return response


@router.post("/sign-out")
def sign_out_post(
    request: Request,
    web: WebSessionDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    if web.customer is not None:
        try:
            web.check_csrf(csrf_token)
        except HTTPException as exc:
            return _render(request, web, "message.html.j2", exc.status_code, error=_gone(exc))
    response = _redirect(f"{SIGN_IN}?msg=signed-out")
    sign_out(response, request)
    return response


@router.post("/jobs")
async def upload(
    request: Request,
    web: WebSessionDep,
    session: SessionDep,
    settings: SettingsDep,
    layout: LayoutDep,
    queue: QueueDep,
) -> Response:
    """The upload form's post, through the API's own `receive_upload`: JSON for the page's script (the
    job's id, or the API's error body with its words in `message`), else a redirect or the page with the
    error."""
    customer = _signed_in(request, web)
    received: dict[str, str] = {}

    def to_options(fields: dict[str, str]) -> dict[str, str]:
        received.update(fields)
        web.check_csrf(fields.get(CSRF_FIELD))
        return form.api_fields(fields)

    try:
        job = await api_jobs.receive_upload(
            request,
            customer_id=customer.id,
            settings=settings,
            layout=layout,
            queue=queue,
            to_options=to_options,
        )
    except (HTTPException, RequestValidationError) as exc:
        code, detail, message = _error(exc)
        if _wants_json(request):
            return JSONResponse({"detail": detail, "message": message}, status_code=code)
        return _render(
            request,
            web,
            "jobs.html.j2",
            code,
            error=message,
            groups=form.UPLOAD_GROUPS,
            values={k: v for k, v in received.items() if k in form.CONTROLS},
            max_upload_mb=settings.max_upload_mb,
            max_upload_bytes=settings.max_upload_bytes,
            **_jobs_page(session, customer, 0),
        )
    if _wants_json(request):
        return JSONResponse(
            {"id": job.id, "message": MESSAGES["uploaded"]}, status_code=status.HTTP_202_ACCEPTED
        )
    return _redirect(f"{HOME}?msg=uploaded")


@router.get("/jobs.json")
def jobs_json(
    request: Request,
    web: WebSessionDep,
    session: SessionDep,
    offset: Annotated[int, Query(ge=0, le=api_jobs.MAX_OFFSET)] = 0,
) -> JSONResponse:
    """The page's jobs for the script that keeps the list live: each job's state and its card's HTML."""
    customer = _signed_in(request, web)
    page = _jobs_page(session, customer, offset)
    card = templates.get_template("job.html.j2")
    jobs = [
        {
            "id": view["job"].id,
            "state": f"{view['job'].status}:{view['job'].progress}:{view['job'].stage}",
            "status": view["job"].status,
            "name": view["name"],
            "html": card.render(view=view),
        }
        for view in page["jobs"]
    ]
    return JSONResponse({"jobs": jobs, "active": page["active"]}, headers={"Cache-Control": "no-store"})


@router.get("/jobs/{job_id}/delete", response_class=HTMLResponse)
def delete_page(request: Request, job_id: str, web: WebSessionDep, session: SessionDep) -> HTMLResponse:
    """Asks before anything is erased (a page, so it needs no script)."""
    customer = _signed_in(request, web)
    row = crud.get_job(session, job_id=job_id, customer_id=customer.id)
    if row is None:
        return _render(request, web, "message.html.j2", status.HTTP_404_NOT_FOUND, error=NO_SUCH_JOB)
    return _render(request, web, "delete.html.j2", view=_job_view(JobPublic.from_job(row, prefix=JOBS)))


@router.post("/jobs/{job_id}/delete")
def delete_post(
    request: Request,
    job_id: str,
    web: WebSessionDep,
    session: SessionDep,
    layout: LayoutDep,
    queue: QueueDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    customer = _signed_in(request, web)
    try:
        web.check_csrf(csrf_token)
        api_jobs.delete_job(job_id, session, customer, layout, queue)
    except HTTPException as exc:
        return _render(request, web, "message.html.j2", exc.status_code, error=_gone(exc))
    return _redirect(f"{HOME}?msg=deleted")


@router.get("/jobs/{job_id}/{output}", response_model=None)
def download(
    request: Request,
    job_id: str,
    output: api_jobs.OutputName,
    web: WebSessionDep,
    session: SessionDep,
    layout: LayoutDep,
) -> FileResponse | HTMLResponse:
    customer = _signed_in(request, web)
    try:
        return api_jobs.download_output(job_id, output, session, customer, layout)
    except HTTPException as exc:
        return _render(request, web, "message.html.j2", exc.status_code, error=_gone(exc))


def _gone(exc: HTTPException) -> str:
    """The API's error in words; "job not found" says why a job can be missing."""
    if exc.status_code == status.HTTP_404_NOT_FOUND and exc.detail == "job not found":
        return NO_SUCH_JOB
    return form.describe(str(exc.detail))
