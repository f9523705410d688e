"""The HTTP API against a real uvicorn, a real Celery worker, Redis, and SQLite or PostgreSQL."""

from __future__ import annotations

import io
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pypdf import PdfReader

from classpulse.results import OUTPUT_FILES
from tests.helpers.service import Stack, wait_for

pytestmark = pytest.mark.slow

#: Lecture markers as a spreadsheet saves them: a byte-order mark, a header, mm:ss times.
MARKERS = "\ufeffstart,end,label\n0,Intro\n0:02,0:03,Q&A\n".encode()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def stack(request: pytest.FixtureRequest, make_stack) -> Iterator[Stack]:
    stack = make_stack(request.param)
    stack.start_api()
    stack.start_worker()
    yield stack
    stack.stop_all()


@pytest.fixture(scope="module")
def keys(stack: Stack) -> dict[str, str]:
    return {name: stack.create_key(name) for name in ("alice", "bob")}


@pytest.fixture(scope="module")
def finished_job(stack: Stack, keys: dict[str, str], clip: Path) -> dict:
    """Alice uploads the 3 s clip with lecture markers and waits for the report (one pipeline run per
    back-end)."""
    with stack.client(keys["alice"]) as alice:
        with clip.open("rb") as fh:
            response = alice.post(
                "/v1/jobs",
                files={"file": (clip.name, fh, "video/mp4"), "markers": ("markers.csv", MARKERS, "text/csv")},
                data={
                    "title": "Lecture 1",
                    "detect_every_s": "1",
                    "pulse": "true",
                    "session_date": "2025-03-14",
                    "negative_minutes": "2.5",
                },
            )
        assert response.status_code == 202, response.text
        created = response.json()
        assert response.headers["location"] == f"/v1/jobs/{created['id']}"
        assert created["status"] == "queued" and created["title"] == "Lecture 1"
        assert created["options"]["markers"] == [[0, None, "Intro"], [2, 3, "Q&A"]]
        assert created["options"]["session_date"] == "2025-03-14"
        assert created["options"]["negative_minutes"] == 2.5
        assert created["video"]["width"] == 480 and created["video"]["duration_s"] == pytest.approx(
            3.4, abs=0.1
        )
        return stack.wait_job(alice, created["id"])


def test_upload_poll_download(stack: Stack, keys: dict[str, str], finished_job: dict) -> None:
    job = finished_job
    assert job["status"] == "succeeded", job
    assert job["progress"] == 100 and job["attempts"] == 1 and job["error"] is None
    assert job["started_at"] and job["finished_at"] >= job["started_at"] and job["wall_s"] > 0
    with stack.client(keys["alice"]) as alice:
        pdf = alice.get(job["links"]["report_pdf"])
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF")
        assert len(PdfReader(io.BytesIO(pdf.content)).pages) >= 1
        summary = alice.get(job["links"]["summary_json"]).json()
        assert summary["video"]["width"] == 480
        segments = [(s["label"], s["start_s"], s["end_s"]) for s in summary["insights"]["segments"]]
        assert segments == [("Intro", 0, 2), ("Q&A", 2, 3)]
        assert summary["insights"]["rules"]["negative_stretch_min"] == 2.5
        assert summary["session"]["date"] == "2025-03-14"
        assert alice.get(f"/v1/jobs/{job['id']}").json()["options"] == job["options"]
        assert alice.get(job["links"]["faces_csv"]).text.startswith("t,face_id,emotion")
        html = alice.get(job["links"]["report_html"])
        assert "sandbox" in html.headers["content-security-policy"]
        assert "Lecture 1" in html.text
        json.loads(alice.get(job["links"]["timeline_json"]).content)
    # Exactly one set of outputs, no staging left, and the upload is gone (CLASSPULSE_KEEP_UPLOADS unset).
    assert {p.name for p in (stack.data_dir / "outputs" / job["id"]).iterdir()} == set(OUTPUT_FILES)
    assert not list((stack.data_dir / "outputs").glob(".staging-*"))
    assert not (stack.data_dir / "uploads" / job["id"]).exists()


def test_list_is_per_customer_newest_first_and_paginated(
    stack: Stack, keys: dict[str, str], finished_job: dict
) -> None:
    from storage import crud
    from storage.db import session_scope

    carol = stack.create_key("carol")
    with session_scope(stack.engine()) as session:  # rows only: pagination needs no pipeline runs
        customer = crud.customer_for_api_key(session, key=carol)
        for i in range(5):
            crud.create_job(
                session,
                job_id=f"{i:032x}",
                customer_id=customer.id,
                source="upload",
                source_path=None,
                filename=f"lecture{i}.mp4",
                size_bytes=1,
                options={},
                title=None,
                video=None,
                status="failed",
                error="test row",
            )
            session.flush()
    with stack.client(carol) as client:
        page = client.get("/v1/jobs", params={"limit": 2, "offset": 1}).json()
        assert page["count"] == 5 and page["limit"] == 2 and page["offset"] == 1
        assert [j["filename"] for j in page["data"]] == ["lecture3.mp4", "lecture2.mp4"]
        assert client.get("/v1/jobs", params={"limit": 0}).status_code == 422
    with stack.client(keys["alice"]) as alice:
        ids = [j["id"] for j in alice.get("/v1/jobs").json()["data"]]
        assert finished_job["id"] in ids and not any(i.startswith("0000") for i in ids)


def test_other_customers_and_missing_keys(stack: Stack, keys: dict[str, str], finished_job: dict) -> None:
    job_id = finished_job["id"]
    with stack.client(keys["bob"]) as bob:
        for method, url in (
            ("GET", f"/v1/jobs/{job_id}"),
            ("GET", f"/v1/jobs/{job_id}/report.pdf"),
            ("DELETE", f"/v1/jobs/{job_id}"),
            ("GET", "/v1/jobs/ffffffffffffffffffffffffffffffff"),
        ):
            response = bob.request(method, url)
            assert response.status_code == 404 and response.json() == {"detail": "job not found"}, (
                method,
                url,
            )
        assert job_id not in {j["id"] for j in bob.get("/v1/jobs").json()["data"]}
    for headers in (
        {},
        {"Authorization": "Bearer cp_000000000000_wrong"},
        {"Authorization": "Basic YTpi"},
        {"Authorization": f"Bearer {keys['alice']}x"},
    ):
        response = httpx.get(f"{stack.base_url}/v1/jobs/{job_id}", headers=headers)
        assert response.status_code == 401, headers
        assert response.json() == {"detail": "missing or invalid API key"}
        assert response.headers["www-authenticate"] == "Bearer"
    assert httpx.post(f"{stack.base_url}/v1/jobs", files={"file": ("a.mp4", b"x")}).status_code == 401


def test_rejected_uploads(stack: Stack, keys: dict[str, str], clip: Path) -> None:
    with stack.client(keys["alice"]) as alice:
        too_big = alice.post("/v1/jobs", files={"file": ("big.mp4", os.urandom(1024 * 1024), "video/mp4")})
        assert too_big.status_code == 413 and "limit of 0.5 MB" in too_big.json()["detail"]
        text = alice.post("/v1/jobs", files={"file": ("notes.mp4", b"just some lecture notes\n" * 20)})
        assert text.status_code == 422
        assert text.json()["detail"].startswith("notes.mp4: not a readable video")
        assert str(stack.data_dir) not in text.json()["detail"]
        empty = alice.post("/v1/jobs", files={"file": ("empty.mp4", b"")})
        assert empty.status_code == 422 and "empty" in empty.json()["detail"]
        assert alice.post("/v1/jobs", json={"file": "x"}).status_code == 415
        assert (
            alice.post("/v1/jobs", data={"title": "no file"}, files={"other": ("a", b"")}).status_code == 422
        )
        with clip.open("rb") as fh:
            bad_option = alice.post(
                "/v1/jobs", files={"file": (clip.name, fh)}, data={"detect_every_s": "-1"}
            )
        assert bad_option.status_code == 422 and bad_option.json()["detail"][0]["loc"][-1] == "detect_every_s"
    # Nothing was accepted, nothing is left behind.
    assert not any((stack.data_dir / "uploads" / ".incoming").iterdir())
    assert not [p for p in (stack.data_dir / "uploads").iterdir() if p.name != ".incoming"]


def test_rejected_markers_and_session_dates(stack: Stack, keys: dict[str, str], clip: Path) -> None:
    def post(files: dict | None = None, **data: str) -> httpx.Response:
        with clip.open("rb") as fh:
            return alice.post("/v1/jobs", files={"file": (clip.name, fh), **(files or {})}, data=data)

    with stack.client(keys["alice"]) as alice:
        bad_file = post({"markers": ("markers.csv", b"start,label\n0,Intro\n1:75,Exercise\n")})
        bad_text = post(markers="0,Intro\n0:30,Exercise,extra,fields\n")
        not_utf8 = post({"markers": ("markers.csv", b"0,Intro\n10,Caf\xe9\n")})
        for response, line in ((bad_file, 3), (bad_text, 2), (not_utf8, 2)):
            assert response.status_code == 422, response.text
            [error] = response.json()["detail"]
            assert error["loc"] == ["markers"] and error["msg"].startswith(f"line {line}: "), error
        too_big = post({"markers": ("markers.csv", b"0,Intro\n" * 9000)})
        assert too_big.status_code == 413 and "64 kB" in too_big.json()["detail"]
        for date in ("14/03/2025", "2025-3-14", "2025-02-30"):
            response = post(session_date=date)
            assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["session_date"]
        assert post(negative_minutes="0").json()["detail"][0]["loc"] == ["negative_minutes"]
    assert not any((stack.data_dir / "uploads" / ".incoming").iterdir())
    assert not [p for p in (stack.data_dir / "uploads").iterdir() if p.name != ".incoming"]


def test_text_file_named_txt_is_rejected(stack: Stack, keys: dict[str, str]) -> None:
    with stack.client(keys["alice"]) as alice:
        response = alice.post("/v1/jobs", files={"file": ("notes.txt", b"just some lecture notes\n" * 20)})
        assert response.status_code == 422, response.text


def test_delete_erases_everything(stack: Stack, keys: dict[str, str], finished_job: dict) -> None:
    job_id = finished_job["id"]
    with stack.client(keys["alice"]) as alice:
        assert alice.delete(f"/v1/jobs/{job_id}").status_code == 204
        assert alice.get(f"/v1/jobs/{job_id}").status_code == 404
        assert alice.get(f"/v1/jobs/{job_id}/report.pdf").status_code == 404
        assert alice.delete(f"/v1/jobs/{job_id}").status_code == 404
    assert stack.job_row(job_id) is None
    assert not (stack.data_dir / "outputs" / job_id).exists()


def test_health_and_docs(stack: Stack) -> None:
    assert httpx.get(f"{stack.base_url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{stack.base_url}/readyz").json() == {"status": "ok", "database": "ok", "broker": "ok"}
    paths = httpx.get(f"{stack.base_url}/openapi.json").json()["paths"]
    assert {"/v1/jobs", "/v1/jobs/{job_id}", "/v1/jobs/{job_id}/{output}", "/v1/images/emotions"} <= set(
        paths
    )
    assert httpx.get(f"{stack.base_url}/docs").status_code == 200


def test_delete_cancels_a_running_job(
    stack: Stack, keys: dict[str, str], videos_dir: Path, tmp_path: Path
) -> None:
    # A job that is surely still running when the delete arrives: the 3 s classroom clip looped to 9 s
    # (stream copy, under the test stack's 0.5 MB limit) with a detection every 0.2 s.
    clip = tmp_path / "classroom_9s.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-stream_loop",
            "-1",
            "-i",
            str(videos_dir / "classroom_4people_270p_3s.mp4"),
            "-t",
            "9",
            "-c",
            "copy",
            str(clip),
        ],
        check=True,
    )
    with stack.client(keys["alice"]) as alice:
        with clip.open("rb") as fh:
            response = alice.post("/v1/jobs", files={"file": (clip.name, fh)}, data={"detect_every_s": "0.2"})
            job_id = response.json()["id"]
        stack.wait_job(alice, job_id, statuses=("running",), timeout=60, where=lambda j: j["progress"] > 5)
        assert alice.delete(f"/v1/jobs/{job_id}").status_code == 204
        assert alice.get(f"/v1/jobs/{job_id}").status_code == 404
    wait_for(lambda: f"job {job_id}: cancelled" in stack.log("worker"), 60, "the worker to abandon the job")
    assert not (stack.data_dir / "outputs" / job_id).exists()
    assert not list((stack.data_dir / "outputs").glob(f".staging-{job_id}-*"))
    assert not (stack.data_dir / "uploads" / job_id).exists()


def test_image_endpoint(stack: Stack, keys: dict[str, str], faces_dir: Path) -> None:
    photo = sorted((faces_dir / "happy").glob("*.jpg"))[0]
    with stack.client(keys["alice"]) as alice:
        response = alice.post(
            "/v1/images/emotions", files={"file": (photo.name, photo.read_bytes(), "image/jpeg")}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["width"] > 0 and len(body["faces"]) >= 1
        face = body["faces"][0]
        assert len(face["probabilities"]) == 7 and sum(face["probabilities"].values()) == pytest.approx(
            1, abs=0.01
        )
        assert face["emotion"] in face["probabilities"] and len(face["box"]) == 4
        not_image = alice.post("/v1/images/emotions", files={"file": ("x.jpg", b"not an image")})
        assert not_image.status_code == 422 and "not a readable image" in not_image.json()["detail"]
    assert not any((stack.data_dir / "uploads" / ".incoming").iterdir())
