"""/v1/courses: the comparison report of a course's sessions, from the customer's own succeeded jobs."""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, Response, status
from sqlalchemy.orm import Session

from api.deps import CurrentCustomer, LayoutDep, SessionDep
from api.routes.jobs import REPORT_HTML_CSP, UNAUTHORIZED
from api.schemas import Message
from classpulse.options import clean_course
from classpulse.results import Summary, SummaryError, load_summary
from storage import crud
from storage.files import Layout, safe_filename
from storage.models import Job

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/courses", tags=["courses"])

NOT_FOUND = {"model": Message, "description": "no succeeded job of this course for this customer"}


def _summaries(session: Session, layout: Layout, customer_id: int, course: str) -> list[Summary]:
    """The stored summaries of the customer's succeeded jobs labelled `course` (a job whose summary.json is
    gone or unreadable is left out and logged). 404 when there are none (a label no job can have, too)."""
    try:
        course = clean_course(course) or ""
    except ValueError:
        course = ""
    jobs: list[Job] = crud.course_jobs(session, customer_id=customer_id, course=course) if course else []
    summaries = []
    for job in jobs:
        try:
            summaries.append(load_summary(layout.output_file(job.id, "summary.json")))
        except (OSError, SummaryError):
            log.warning("job %s: summary.json unusable; left out of the course report", job.id, exc_info=True)
    if not summaries:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="no finished job of this course")
    return summaries


_RESPONSES = {401: UNAUTHORIZED, 404: NOT_FOUND}


@router.get(
    "/{course:path}/report.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "the PDF"}, **_RESPONSES},
)
def course_report_pdf(
    course: str, session: SessionDep, customer: CurrentCustomer, layout: LayoutDep
) -> Response:
    """The course's sessions side by side (engagement, attention, expression mix, segments, trend), from the
    caller's succeeded jobs with this `course` label, in date order."""
    from reports.compare_report import comparison_pdf

    pdf = comparison_pdf(_summaries(session, layout, customer.id, course), course)
    name = f"classpulse-{safe_filename(course, 'course')}-report.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{name}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get(
    "/{course:path}/report.html",
    response_class=Response,
    responses={200: {"content": {"text/html": {}}, "description": "the web page"}, **_RESPONSES},
)
def course_report_html(
    course: str, session: SessionDep, customer: CurrentCustomer, layout: LayoutDep
) -> Response:
    """The same comparison as a self-contained web page."""
    from reports.compare_report import comparison_html

    return Response(
        comparison_html(_summaries(session, layout, customer.id, course), course),
        media_type="text/html; charset=utf-8",
        headers={"Content-Security-Policy": REPORT_HTML_CSP, "X-Content-Type-Options": "nosniff"},
    )
