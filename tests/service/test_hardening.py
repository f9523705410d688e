"""Issue 17, "Hardening the service": hostile or unlucky input against the real app (TestClient, real SQLite
or PostgreSQL, real Redis) and, where sockets and processes matter, a real uvicorn and worker."""

from __future__ import annotations

import io
import json
import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from classpulse.faces.detections import box_iou
from service.settings import Settings
from tests.helpers.service import REPO, Stack, database_url, wait_for
from tests.helpers.video import tiny_video

BOUNDARY = "cp-test-boundary"


def multipart(file: tuple[str, bytes], **fields: str) -> tuple[bytes, dict[str, str]]:
    """A multipart body built by hand, so names reach the server byte for byte (httpx escapes NUL)."""
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    name, content = file
    parts.append(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode(), {
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"
    }


def png(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (width, height)).save(buf, format="PNG")
    return buf.getvalue()


# --- the app in-process, on a real database and Redis ------------------------------------------------------


class App:
    """The real FastAPI app under TestClient, with an API key and the settings it runs on."""

    def __init__(self, client: TestClient, settings: Settings, key: str):
        self.client, self.settings, self.key = client, settings, key
        self.auth = {"Authorization": f"Bearer {key}"}

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return self.client.post(url, content=body, headers={**self.auth, **headers})


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def app(request: pytest.FixtureRequest, tmp_path_factory, redis_url: str) -> Iterator[App]:
    from api.main import create_app
    from storage import crud
    from storage.db import dispose_engines, get_engine, init_db, session_scope

    root = tmp_path_factory.mktemp(f"app-{request.param}")
    with database_url(request.param, root) as url:
        settings = Settings(
            data_dir=root / "data",
            database_url=url,
            broker_url=f"{redis_url}/13",
            max_upload_mb=1,
            max_image_pixels=4_000_000,
            max_video_pixels=480 * 270,
            max_video_duration_s=60,
        )
        engine = get_engine(settings.sqlalchemy_url)
        init_db(engine)
        with session_scope(engine) as session:
            customer = crud.get_or_create_customer(session, name="hardening")
            key = crud.create_api_key(session, customer=customer)
        try:
            with TestClient(create_app(settings)) as client:
                yield App(client, settings, key)
        finally:
            dispose_engines()


def test_tiny_images_give_no_faces(app: App) -> None:
    # Before: 500, "torch.cat(): expected a non-empty list of Tensors".
    for width, height in ((1, 1), (10, 10), (11, 40)):
        response = app.post("/v1/images/emotions", *multipart(("tiny.png", png(width, height))))
        assert response.status_code == 200, response.text
        assert response.json() == {"width": width, "height": height, "faces": []}


def test_image_pixel_limit_and_downscaling(app: App, faces_dir: Path) -> None:
    # 9000x9000 black PNG (236 KB): before, 25-104 s of CPU and 4 GB; now refused from its header.
    started = time.monotonic()
    bomb = app.post("/v1/images/emotions", *multipart(("black.png", png(9000, 9000))))
    assert bomb.status_code == 422
    assert bomb.json()["detail"] == (
        "black.png: 9000x9000 pixels (81.0 megapixels) exceed the limit of 4.0 megapixels"
    )
    assert time.monotonic() - started < 10
    # Within the limit but large: analysed at 1280 px, boxes reported in the image's own pixels.
    path = sorted((faces_dir / "happy").glob("*.jpg"))[0]
    small = app.post("/v1/images/emotions", *multipart(("small.jpg", path.read_bytes()))).json()
    buf = io.BytesIO()
    Image.open(path).convert("RGB").resize((1900, 1900)).save(buf, format="JPEG", quality=90)
    response = app.post("/v1/images/emotions", *multipart(("big.jpg", buf.getvalue())))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["width"], body["height"]) == (1900, 1900) and len(body["faces"]) == 1
    expected = np.array(small["faces"][0]["box"]) * 1900 / small["width"]
    assert box_iou(np.array([body["faces"][0]["box"]]), expected[None])[0, 0] > 0.8


def test_video_limits_at_upload(app: App, clip: Path, tmp_path: Path) -> None:
    content = clip.read_bytes()
    narrow = app.settings.model_copy(update={"max_video_pixels": 480 * 270 - 1})
    app.client.app.state.settings = narrow
    try:
        response = app.post("/v1/jobs", *multipart((clip.name, content)))
    finally:
        app.client.app.state.settings = app.settings
    assert response.status_code == 422
    assert response.json()["detail"] == (
        f"{clip.name}: 480x270 frames (0.1 megapixels) exceed the limit of 0.1 megapixels"
    )
    long = tiny_video(tmp_path / "long.mp4", size="16x16", seconds=61)
    response = app.post("/v1/jobs", *multipart(("long.mp4", long.read_bytes())))
    assert response.status_code == 422
    assert response.json()["detail"] == "long.mp4: 0.02 hours exceeds the limit of 0.02 hours per recording"
    small = tiny_video(tmp_path / "v.mp4")
    response = app.post("/v1/jobs", *multipart(("v.mp4", small.read_bytes())))
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "v.mp4: 2x2 pixels is too small to contain a face (at least 12 px on each side)"
    )


def test_list_paging_is_bounded(app: App) -> None:
    # Before: offset=9223372036854775808 gave 500 (OverflowError in SQLite).
    for params in ({"offset": 2**63}, {"offset": -1}, {"offset": 2**31}, {"limit": 101}, {"limit": 0}):
        response = app.client.get("/v1/jobs", params=params, headers=app.auth)
        assert response.status_code == 422, params
    page = app.client.get("/v1/jobs", params={"offset": 2**31 - 1}, headers=app.auth)
    assert page.status_code == 200 and page.json()["data"] == []


def test_control_characters_are_stripped_from_names(app: App, clip: Path) -> None:
    # Before: NUL was stored and echoed on SQLite, and PostgreSQL refused the row (500).
    body, headers = multipart(("lec\x00ture\x1b[31m.mp4", clip.read_bytes()), title="Week\x00 1\u202e")
    response = app.post("/v1/jobs", body, headers)
    assert response.status_code == 202, response.text
    job = response.json()
    assert (job["filename"], job["title"]) == ("lecture[31m.mp4", "Week 1")
    stored = app.client.get(f"/v1/jobs/{job['id']}", headers=app.auth).json()
    assert (stored["filename"], stored["title"]) == ("lecture[31m.mp4", "Week 1")
    assert app.client.delete(f"/v1/jobs/{job['id']}", headers=app.auth).status_code == 204


def test_error_messages_say_what_is_wrong(app: App, clip: Path) -> None:
    long_name = app.post("/v1/jobs", *multipart(("a" * 5000 + ".mp4", b"x")))
    assert long_name.status_code == 422
    assert "header is longer than" in long_name.json()["detail"]
    assert "file name" in long_name.json()["detail"]
    for value in ("nan", "inf", "-inf"):
        response = app.post("/v1/jobs", *multipart((clip.name, clip.read_bytes()), detect_every_s=value))
        assert response.status_code == 422
        (error,) = response.json()["detail"]
        assert error["loc"][-1] == "detect_every_s" and error["msg"] == "Input should be a finite number"
    assert not any((app.settings.data_dir / "uploads" / ".incoming").iterdir())


def test_metrics_in_prometheus_format(app: App, clip: Path) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    image = png(40, 30)
    assert app.post("/v1/images/emotions", *multipart(("a.png", image))).status_code == 200
    job = app.post("/v1/jobs", *multipart((clip.name, clip.read_bytes()))).json()
    assert app.client.get(f"/v1/jobs/{job['id']}", headers=app.auth).status_code == 200
    response = app.client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    samples = [s for family in text_string_to_metric_families(response.text) for s in family.samples]

    def value(name: str, **labels: str) -> float:
        return sum(s.value for s in samples if s.name == name and labels.items() <= s.labels.items())

    jobs = app.client.get("/v1/jobs", params={"limit": 100}, headers=app.auth).json()["data"]
    assert value("classpulse_jobs", state="queued") == sum(j["status"] == "queued" for j in jobs) >= 1
    assert value("classpulse_upload_bytes_total", kind="image") >= len(image)
    assert value("classpulse_upload_bytes_total", kind="video") >= clip.stat().st_size
    route = "/v1/jobs/{job_id}"
    assert value("classpulse_http_request_duration_seconds_count", route=route, status="200") >= 1
    assert not any(job["id"] in str(s.labels) for s in samples)  # ids never become label values
    assert app.client.delete(f"/v1/jobs/{job['id']}", headers=app.auth).status_code == 204


# --- a real uvicorn and worker: sockets, logs, file modes --------------------------------------------------


@pytest.fixture(scope="module")
def stack(make_stack) -> Iterator[Stack]:
    old = os.umask(0o022)  # what most machines have; the service must not depend on it
    try:
        stack = make_stack("sqlite", CLASSPULSE_UPLOAD_IDLE_TIMEOUT_S="1")
        stack.start_api()
        stack.start_worker()
    finally:
        os.umask(old)
    yield stack
    stack.stop_all()


@pytest.fixture(scope="module")
def key(stack: Stack) -> str:
    return stack.create_key("hardening")


def _partial_upload(stack: Stack, key: str, sent: int, declared: int = 400_000) -> socket.socket:
    """A socket with the headers and the first `sent` bytes of a `declared`-byte upload written."""
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="partial.mp4"\r\n\r\n'
    ).encode()
    request = (
        f"POST /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {declared}\r\n\r\n"
    ).encode()
    sock = socket.create_connection(("127.0.0.1", stack.port), timeout=30)
    sock.sendall(request + head + b"\0" * sent)
    return sock


def _incoming(stack: Stack) -> list[Path]:
    return list((stack.data_dir / "uploads" / ".incoming").rglob("*"))


def test_client_dropping_mid_upload_is_one_info_line(stack: Stack, key: str) -> None:
    before = stack.log("api")
    sock = _partial_upload(stack, key, sent=200_000)
    wait_for(lambda: _incoming(stack), 10, "the partial upload to reach the disk")
    sock.close()
    wait_for(lambda: "aborted by the client" in stack.log("api"), 10, "the abort to be logged")
    new = stack.log("api")[len(before) :]
    assert "Traceback" not in new and "ERROR" not in new, new
    lines = [line for line in new.splitlines() if "aborted by the client" in line]
    assert len(lines) == 1 and " INFO " in lines[0] and "partial.mp4" not in lines[0]
    wait_for(lambda: not _incoming(stack), 10, "the partial file to be deleted")


def _complete_response(raw: bytes) -> bool:
    """Whether `raw` holds a whole HTTP response: headers and Content-Length bytes of body (the body may
    arrive in a later TCP segment than the headers)."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        return False
    length = next(
        (
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    return len(body) >= length


def test_stalled_upload_times_out(stack: Stack, key: str) -> None:
    sock = _partial_upload(stack, key, sent=1000)
    started = time.monotonic()
    sock.settimeout(15)
    answer = b""
    while (data := sock.recv(65536)) and not _complete_response(answer + data):
        answer += data
    answer = (answer + data).decode(errors="replace")
    sock.close()
    assert answer.startswith("HTTP/1.1 408"), answer
    assert time.monotonic() - started < 10
    assert json.loads(answer.split("\r\n\r\n", 1)[1]) == {"detail": "the upload stalled: no data for 1 s"}
    wait_for(lambda: not _incoming(stack), 10, "the stalled upload's file to be deleted")


def test_truncated_upload_reports_what_was_decoded(stack: Stack, key: str, clip: Path) -> None:
    # The first 60,000 bytes of the 189 KB clip: before, the job "succeeded" on 9 of 41 frames and reported
    # the container's 3.4 s without a word.
    with stack.client(key) as client:
        response = client.post("/v1/jobs", files={"file": ("cut.mp4", clip.read_bytes()[:60_000])})
        assert response.status_code == 202, response.text
        assert response.json()["video"]["warning"] is None
        job = stack.wait_job(client, response.json()["id"])
        assert job["status"] == "succeeded", job
        summary = client.get(job["links"]["summary_json"]).json()
        html = client.get(job["links"]["report_html"]).text
    frames = summary["processing"]["frames_analysed"]
    assert frames < 20
    assert summary["video"]["duration_s"] == pytest.approx(frames / summary["processing"]["analysis_fps"])
    assert summary["video"]["warning"].startswith("decoding stopped at 0.")
    assert job["video"]["warning"] == summary["video"]["warning"]
    assert job["video"]["duration_s"] == summary["video"]["duration_s"]
    assert "Incomplete recording" in html
    # Files and folders are owner-only although the processes were started under umask 022.
    data = stack.data_dir
    for folder in (data, data / "uploads", data / "outputs", data / "outputs" / job["id"]):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    database = Path(stack.settings().sqlalchemy_url.removeprefix("sqlite:///"))
    for file in [database, *(data / "outputs" / job["id"]).iterdir()]:
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file


def test_uploads_are_owner_only(stack: Stack, key: str, clip: Path) -> None:
    stack.kill("worker")  # keep the job queued, so its upload stays on disk
    with stack.client(key) as client, clip.open("rb") as fh:
        job = client.post("/v1/jobs", files={"file": (clip.name, fh)}).json()
    upload = stack.data_dir / "uploads" / job["id"] / clip.name
    assert stat.S_IMODE(upload.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(upload.stat().st_mode) == 0o600


def test_logs_start_up_and_audit_lines(stack: Stack, key: str, clip: Path) -> None:
    assert " INFO " in stack.log("api") and "classpulse API" in stack.log("api")
    assert "started: data in" in stack.log("api")
    cli = [sys.executable, "-m", "cli", "keys"]
    created = subprocess.run(
        [*cli, "create", "--customer", "audited"], env=stack.env, cwd=REPO, capture_output=True, text=True
    )
    new_key = created.stdout.strip()
    assert created.returncode == 0 and "audit: api key created customer_id=" in created.stderr
    assert new_key not in created.stderr
    with stack.client(new_key) as client, clip.open("rb") as fh:
        job = client.post(
            "/v1/jobs", files={"file": ("private-name.mp4", fh)}, data={"title": "Private title"}
        ).json()
        assert client.delete(f"/v1/jobs/{job['id']}").status_code == 204
    line = wait_for(
        lambda: next((ln for ln in stack.log("api").splitlines() if f"job_id={job['id']}" in ln), None),
        10,
        "the erasure audit line",
    )
    assert "audit: job erased customer_id=" in line and "reason=customer request" in line
    assert not any(secret in stack.log("api") for secret in (new_key, "private-name", "Private title"))
    revoked = subprocess.run(
        [*cli, "revoke", new_key.split("_")[1]], env=stack.env, cwd=REPO, capture_output=True, text=True
    )
    assert revoked.returncode == 0 and "audit: api key revoked customer_id=" in revoked.stderr
