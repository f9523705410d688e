"""The course label and the course report against a real uvicorn and SQLite or PostgreSQL.

No worker: uploads stay queued, and finished sessions are recorded as the worker leaves them (a succeeded
job row and its summary.json under outputs/<job id>/), with summaries built by the real producer."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import inspect, text

from classpulse.results import summary_json
from storage.models import JobStatus
from tests.helpers.reports import make_report_data
from tests.helpers.service import Stack, database_url

pytestmark = pytest.mark.slow

COURSE = "Thermo 101"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def stack(request: pytest.FixtureRequest, make_stack) -> Iterator[Stack]:
    stack = make_stack(request.param)
    stack.start_api()
    yield stack
    stack.stop_all()


@pytest.fixture(scope="module")
def keys(stack: Stack) -> dict[str, str]:
    return {name: stack.create_key(name) for name in ("alice", "bob", "carol")}


def finished_session(stack: Stack, customer: str, course: str | None, date: str, title: str) -> str:
    """A succeeded job of `customer` with its summary.json, as a worker leaves it; returns its id."""
    from storage import crud
    from storage.db import session_scope
    from storage.files import Layout

    job_id = uuid.uuid4().hex
    summary = make_report_data(session_date=date, title=title, course=course).summary
    layout = Layout(stack.data_dir)
    layout.output_dir(job_id).mkdir(parents=True)
    layout.output_file(job_id, "summary.json").write_text(summary_json(summary))
    with session_scope(stack.engine()) as session:
        crud.create_job(
            session,
            job_id=job_id,
            customer_id=crud.get_or_create_customer(session, name=customer).id,
            source="upload",
            source_path=None,
            filename=f"{title}.mp4",
            size_bytes=1,
            options={},
            title=title,
            course=course,
            video=None,
            status=JobStatus.SUCCEEDED,
        )
    return job_id


@pytest.fixture(scope="module")
def sessions(stack: Stack, keys: dict[str, str]) -> dict[str, str]:
    """Alice: three Thermo 101 sessions (recorded out of date order) and one Optics session; Bob: one
    Thermo 101 session of his own."""
    return {
        "third": finished_session(stack, "alice", COURSE, "2025-03-21", "Alice week three"),
        "first": finished_session(stack, "alice", COURSE, "2025-03-07", "Alice week one"),
        "second": finished_session(stack, "alice", COURSE, "2025-03-14", "Alice week two"),
        "optics": finished_session(stack, "alice", "Optics/Lab", "2025-03-10", "Alice optics"),
        "bob": finished_session(stack, "bob", COURSE, "2025-03-08", "Bob private session"),
    }


def pdf_text(content: bytes) -> str:
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages))


def test_an_upload_carries_its_course_and_the_list_filters_by_it(
    stack: Stack, keys: dict[str, str], clip: Path
) -> None:
    with stack.client(keys["alice"]) as alice, clip.open("rb") as fh:
        response = alice.post(
            "/v1/jobs",
            files={"file": (clip.name, fh, "video/mp4")},
            data={"title": "Uploaded week", "course": "  Statics 2 "},
        )
        assert response.status_code == 202, response.text
        created = response.json()
        assert created["course"] == "Statics 2" and "course" not in created["options"]
        assert stack.job_row(created["id"]).course == "Statics 2"
        listed = alice.get("/v1/jobs", params={"course": "Statics 2"}).json()
        assert [job["id"] for job in listed["data"]] == [created["id"]] and listed["count"] == 1
        assert alice.get("/v1/jobs", params={"course": "Nothing"}).json()["count"] == 0
        assert alice.get("/v1/jobs", params={"course": " Statics 2"}).json()["count"] == 1
        assert alice.get("/v1/jobs", params={"course": "Statics\x002"}).status_code == 422
        # Only succeeded jobs make a report: the queued upload alone is not one.
        assert alice.get("/v1/courses/Statics 2/report.pdf").status_code == 404


@pytest.mark.parametrize(
    ("course", "problem"),
    [("x" * 81, "at most 80 characters"), ("Line\u2028break", "printable"), ("Para\u2029graph", "printable")],
)
def test_a_bad_course_label_is_422_and_no_job(
    stack: Stack, keys: dict[str, str], course: str, problem: str
) -> None:
    with stack.client(keys["carol"]) as carol:
        response = carol.post(
            "/v1/jobs", files={"file": ("x.mp4", b"\x00" * 64, "video/mp4")}, data={"course": course}
        )
        assert response.status_code == 422, response.text
        assert problem in str(response.json()["detail"])
        assert carol.get("/v1/jobs").json()["count"] == 0


def test_the_course_report_is_a_pdf_of_the_callers_sessions_in_date_order(
    stack: Stack, keys: dict[str, str], sessions: dict[str, str]
) -> None:
    with stack.client(keys["alice"]) as alice:
        response = alice.get(f"/v1/courses/{COURSE}/report.pdf")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf" and response.content.startswith(b"%PDF")
    text_ = pdf_text(response.content)
    positions = [text_.index(f"Alice week {n}") for n in ("one", "two", "three")]
    assert positions == sorted(positions)
    assert "Bob private session" not in text_ and "Alice optics" not in text_
    assert "3 sessions" in text_ and "Trend:" in text_


def test_another_customer_sees_only_their_own_sessions(
    stack: Stack, keys: dict[str, str], sessions: dict[str, str]
) -> None:
    with stack.client(keys["bob"]) as bob:
        response = bob.get(f"/v1/courses/{COURSE}/report.pdf")
        assert response.status_code == 200
        text_ = pdf_text(response.content)
        assert "Bob private session" in text_ and "Alice" not in text_ and "1 session" in text_
        assert bob.get("/v1/courses/Optics%2FLab/report.pdf").status_code == 404
        assert bob.get("/v1/jobs", params={"course": COURSE}).json()["count"] == 1
    with stack.client(keys["carol"]) as carol:
        assert carol.get(f"/v1/courses/{COURSE}/report.pdf").status_code == 404
        assert carol.get(f"/v1/courses/{COURSE}/report.html").json() == {
            "detail": "no finished job of this course"
        }


def test_the_html_report_and_a_course_with_a_slash(
    stack: Stack, keys: dict[str, str], sessions: dict[str, str]
) -> None:
    with stack.client(keys["alice"]) as alice:
        page = alice.get("/v1/courses/Optics%2FLab/report.html")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "sandbox" in page.headers["content-security-policy"]
        assert "Alice optics" in page.text and 'data-chart="engagement-sessions"' in page.text
        assert alice.get("/v1/courses/Nothing/report.pdf").status_code == 404
        assert alice.get("/v1/courses/Optics%00Lab/report.pdf").status_code == 404
    with stack.client() as anonymous:
        assert anonymous.get(f"/v1/courses/{COURSE}/report.pdf").status_code == 401


def test_a_session_whose_summary_is_gone_is_left_out(
    stack: Stack, keys: dict[str, str], sessions: dict[str, str]
) -> None:
    lost = finished_session(stack, "alice", "Lost", "2025-04-01", "Lost session")
    (stack.data_dir / "outputs" / lost / "summary.json").unlink()
    with stack.client(keys["alice"]) as alice:
        assert alice.get("/v1/courses/Lost/report.pdf").status_code == 404


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_init_db_adds_the_course_column_to_an_older_database(tmp_path: Path, kind: str) -> None:
    from storage.db import dispose_engines, get_engine, init_db

    with database_url(kind, tmp_path) as url:
        engine = get_engine(url)
        try:
            init_db(engine)
            with engine.begin() as conn:  # the schema as it was before the course label
                conn.execute(text("DROP INDEX ix_jobs_customer_course"))
                conn.execute(text("ALTER TABLE jobs DROP COLUMN course"))
            assert "course" not in {c["name"] for c in inspect(engine).get_columns("jobs")}
            init_db(engine)
            init_db(engine)  # and again: nothing left to add
            assert "course" in {c["name"] for c in inspect(engine).get_columns("jobs")}
            assert "ix_jobs_customer_course" in {i["name"] for i in inspect(engine).get_indexes("jobs")}
        finally:
            dispose_engines()


def test_a_worker_writes_the_course_into_summary_and_the_course_report(
    stack: Stack, keys: dict[str, str], sessions: dict[str, str], clip: Path
) -> None:
    stack.start_worker()
    with stack.client(keys["alice"]) as alice:
        with clip.open("rb") as fh:
            response = alice.post(
                "/v1/jobs",
                files={"file": (clip.name, fh, "video/mp4")},
                data={"title": "Analysed by the worker", "course": COURSE},
            )
        assert response.status_code == 202, response.text
        job = stack.wait_job(alice, response.json()["id"])
        assert job["status"] == "succeeded", job
        assert alice.get(job["links"]["summary_json"]).json()["session"]["course"] == COURSE
        report = alice.get(f"/v1/courses/{COURSE}/report.pdf")
        assert report.status_code == 200
        assert "Analysed by the worker" in pdf_text(report.content) and "4 sessions" in pdf_text(
            report.content
        )
