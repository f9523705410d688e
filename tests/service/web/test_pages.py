"""The web page over HTTP against a real uvicorn on SQLite, without a worker (jobs stay queued): its cookies,
CSRF refusals, per-customer isolation, the API's errors in words, and the offline API docs."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from api.web.form import describe
from tests.helpers.service import Stack
from tests.helpers.web import csrf_token, sign_in
from tests.helpers.web import upload_form as upload

pytestmark = pytest.mark.slow

BIG_CLIP = "single_face_then_noface_540p_6s.mov"  # 1.3 MB, over the test stack's 0.5 MB limit


@pytest.fixture(scope="module")
def keys(stack: Stack) -> dict[str, str]:
    return {name: stack.create_key(name) for name in ("alice", "bob")}


def cookie(response: httpx.Response, name: str) -> dict[str, str | bool]:
    """The attributes of the Set-Cookie header for `name` (lower-case keys; flags map to True)."""
    for header in response.headers.get_list("set-cookie"):
        first, *attributes = (part.strip() for part in header.split(";"))
        if first.startswith(f"{name}="):
            parsed: dict[str, str | bool] = {"value": first.split("=", 1)[1]}
            for attribute in attributes:
                key, _, value = attribute.partition("=")
                parsed[key.lower()] = value or True
            return parsed
    raise AssertionError(f"no Set-Cookie for {name}: {response.headers.get_list('set-cookie')}")


def api_upload(stack: Stack, key: str, path: Path, data: dict[str, str] | None = None) -> httpx.Response:
    with stack.client(key) as client, path.open("rb") as fh:
        return client.post("/v1/jobs", files={"file": (path.name, fh)}, data=data or {})


def test_sign_in_keeps_the_key_in_a_strict_httponly_cookie(stack: Stack, keys: dict[str, str]) -> None:
    client = httpx.Client(base_url=stack.base_url)
    assert client.get("/").headers["location"] == "/web/"
    assert client.get("/web/").headers["location"] == "/web/sign-in"
    page = client.get("/web/sign-in")
    assert '<html lang="en">' in page.text and "default-src 'none'" in page.headers["content-security-policy"]
    nonce = cookie(page, "classpulse_csrf")
    assert nonce["httponly"] and nonce["samesite"] == "strict" and nonce["path"] == "/web"
    assert "secure" not in nonce  # plain http here; see the https test
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)

    wrong = client.post("/web/sign-in", data={"api_key": "cp_123456789012_nope", "csrf_token": token})
    assert wrong.status_code == 401 and "That API key is not valid" in wrong.text
    assert "classpulse_session" not in client.cookies

    signed_in = client.post("/web/sign-in", data={"api_key": keys["alice"], "csrf_token": token})
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/web/"
    session = cookie(signed_in, "classpulse_session")
    assert session["httponly"] and session["samesite"] == "strict" and session["path"] == "/web"
    assert "max-age" not in session and "expires" not in session  # forgotten when the browser closes
    home = client.get("/web/")
    assert home.status_code == 200 and "Signed in as <strong>alice</strong>" in home.text
    # The API never reads the cookie: it answers 401 without a Bearer key.
    assert (
        httpx.get(f"{stack.base_url}/v1/jobs", cookies={"classpulse_session": keys["alice"]}).status_code
        == 401
    )

    out = client.post("/web/sign-out", data={"csrf_token": csrf_token(client, "/web/")})
    assert out.status_code == 303 and out.headers["location"] == "/web/sign-in?msg=signed-out"
    assert "classpulse_session" not in client.cookies
    assert client.get("/web/").status_code == 303
    assert "You are signed out." in client.get("/web/sign-in?msg=signed-out").text


def test_cookies_are_secure_over_https(stack: Stack, keys: dict[str, str]) -> None:
    # uvicorn trusts X-Forwarded-Proto from 127.0.0.1 (a TLS-terminating proxy on the same host).
    client = httpx.Client(base_url=stack.base_url, headers={"X-Forwarded-Proto": "https"})
    page = client.get("/web/sign-in")
    assert cookie(page, "classpulse_csrf")["secure"]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    # httpx keeps a Secure cookie for https URLs only; send the nonce by hand as the browser would.
    nonce = cookie(page, "classpulse_csrf")["value"]
    response = client.post(
        "/web/sign-in",
        data={"api_key": keys["alice"], "csrf_token": token},
        headers={"Cookie": f"classpulse_csrf={nonce}"},
    )
    assert cookie(response, "classpulse_session")["secure"]


def test_forms_without_their_csrf_token_are_refused(stack: Stack, keys: dict[str, str], clip: Path) -> None:
    stranger = httpx.Client(base_url=stack.base_url)
    refused = stranger.post("/web/sign-in", data={"api_key": keys["alice"], "csrf_token": "forged"})
    assert refused.status_code == 403 and "This form has expired" in refused.text
    assert "classpulse_session" not in refused.headers.get("set-cookie", "")

    alice, bob = sign_in(stack, keys["alice"]), sign_in(stack, keys["bob"])
    bobs_token = csrf_token(bob, "/web/")
    for token in ("", "forged", "förged", bobs_token):  # missing, made up, not ASCII, another session's
        response = upload(alice, clip, {"csrf_token": token, "title": "forged"})
        assert response.status_code == 403 and "This form has expired" in response.text
    with stack.client(keys["alice"]) as api:
        assert api.get("/v1/jobs").json()["count"] == 0
    assert not any((stack.data_dir / "uploads" / ".incoming").iterdir())

    job_id = api_upload(stack, keys["alice"], clip).json()["id"]
    deleted = alice.post(f"/web/jobs/{job_id}/delete", data={"csrf_token": bobs_token})
    assert deleted.status_code == 403 and stack.job_row(job_id) is not None
    assert alice.post("/web/sign-out", data={}).status_code == 403
    assert alice.get("/web/").status_code == 200  # still signed in


def test_each_customer_sees_only_their_own_jobs(stack: Stack, keys: dict[str, str], clip: Path) -> None:
    job_id = api_upload(stack, keys["alice"], clip, {"title": "Alice's lecture"}).json()["id"]
    alice, bob = sign_in(stack, keys["alice"]), sign_in(stack, keys["bob"])
    assert f'id="job-{job_id}"' in alice.get("/web/").text
    listed = alice.get("/web/jobs.json", headers={"Accept": "application/json"}).json()
    assert job_id in {job["id"] for job in listed["jobs"]} and listed["active"]

    assert job_id not in bob.get("/web/").text
    assert job_id not in bob.get("/web/jobs.json").text
    token = csrf_token(bob, "/web/")
    for response in (
        bob.get(f"/web/jobs/{job_id}/delete"),
        bob.post(f"/web/jobs/{job_id}/delete", data={"csrf_token": token}),
        bob.get(f"/web/jobs/{job_id}/report.pdf"),
    ):
        assert response.status_code == 404 and "it belongs to another account" in response.text
    assert stack.job_row(job_id) is not None
    # Alice's own queued job: its report is the API's 409, in words.
    early = alice.get(f"/web/jobs/{job_id}/report.pdf")
    assert (
        early.status_code == 409 and "The job is queued; outputs exist once it has succeeded." in early.text
    )


def test_upload_errors_are_the_apis_own_in_words(
    stack: Stack, keys: dict[str, str], clip: Path, videos_dir: Path, tmp_path: Path
) -> None:
    alice = sign_in(stack, keys["alice"])
    # Bad options: the page again with the message, the posted values kept; JSON for the page's script.
    bad = {"title": "Week 2", "detect_every_s": "0", "pulse": "true"}
    page = upload(alice, clip, bad)
    assert page.status_code == 422
    assert "Seconds between face checks: input should be greater than 0." in page.text
    assert 'value="Week 2"' in page.text
    scripted = upload(alice, clip, bad, json=True)
    api = api_upload(stack, keys["alice"], clip, bad)
    assert scripted.status_code == api.status_code == 422
    assert scripted.json()["detail"] == api.json()["detail"]
    assert scripted.json()["message"] == "Seconds between face checks: input should be greater than 0."

    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n" * 100)
    api = api_upload(stack, keys["alice"], text)
    page = upload(alice, text, {})
    assert page.status_code == api.status_code == 422 and describe(api.json()["detail"]) in page.text

    page = upload(alice, videos_dir / BIG_CLIP, {})
    assert page.status_code == 413 and "The upload exceeds the limit of 0.5 MB." in page.text

    # A bad marker file or session date: the line, or the date, named under the form's own labels.
    page = upload(
        alice, clip, {"session_date": "2025-03-14"}, markers=b"start,label\n0,Intro\n1:75,Exercise\n"
    )
    assert page.status_code == 422
    assert "Lecture markers (CSV): line 3: &#39;1:75&#39; has 75 seconds in a minute." in page.text
    assert 'value="2025-03-14"' in page.text
    scripted = upload(alice, clip, {"session_date": "2025-02-30"}, json=True)
    assert scripted.status_code == 422
    assert scripted.json()["message"] == (
        "Session date: value error, session date '2025-02-30' is not a calendar date."
    )
    page = upload(alice, clip, {}, markers=b"0,Intro\n" * 9000)
    assert page.status_code == 413 and "The &#39;markers&#39; part exceeds the limit of 64 kB." in page.text
    with stack.client(keys["alice"]) as client:
        before = client.get("/v1/jobs").json()["count"]

    # A plain form post (no script): redirected to the list with a message; an unticked box is "false",
    # empty inputs and an empty file input are "not given".
    done = upload(
        alice,
        clip,
        {
            "title": "Week 3",
            "detect_every_s": "2",
            "course": " Physics 1 ",
            "session_date": "",
            "negative_minutes": "",
        },
    )
    assert done.status_code == 303 and done.headers["location"] == "/web/?msg=uploaded"
    assert "Recording uploaded." in alice.get(done.headers["location"]).text
    with stack.client(keys["alice"]) as client:
        jobs = client.get("/v1/jobs").json()
    assert jobs["count"] == before + 1
    newest = jobs["data"][0]
    assert newest["title"] == "Week 3" and newest["options"] == {
        "detect_every_s": 2.0,
        "emotion_every_s": 0.5,
        "pulse": False,
        "policy": "full",  # the effective policy: the deployment's, as the form asked for none
        "purpose": None,
        "consent": False,
        "markers": [],
        "session_date": None,
        "negative_minutes": None,
    }
    assert newest["course"] == "Physics 1" and "Course Physics 1 ·" in alice.get("/web/").text

    # Markers, a session date and a stretch are stored with the job as the API shows them.
    fields = {"session_date": "2025-03-14", "negative_minutes": "4"}
    assert upload(alice, clip, fields, markers="\ufeff0,Intro\n1:00,Q&A\n".encode()).status_code == 303
    with stack.client(keys["alice"]) as client:
        options = client.get("/v1/jobs").json()["data"][0]["options"]
    assert options["markers"] == [[0, None, "Intro"], [60, None, "Q&A"]]
    assert (options["session_date"], options["negative_minutes"]) == ("2025-03-14", 4)


def test_a_revoked_key_is_signed_out(stack: Stack) -> None:
    from storage import crud
    from storage.db import session_scope

    key = stack.create_key("carol")
    client = sign_in(stack, key)
    with session_scope(stack.engine()) as session:
        crud.revoke_api_key(session, prefix=key.split("_")[1])
    assert client.get("/web/").headers["location"] == "/web/sign-in"
    assert client.get("/web/jobs.json", headers={"Accept": "application/json"}).status_code == 401


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_api_docs_reference_no_external_host(stack: Stack, page: str) -> None:
    response = httpx.get(stack.base_url + page)
    assert response.status_code == 200
    assert not re.search(r"(https?:)?//", response.text), "an absolute or protocol-relative URL"
    assert "connect-src 'self'" in response.headers["content-security-policy"]
    assets = re.findall(r'(?:src|href)="([^"]+)"', response.text)
    assert len(assets) >= 2
    for asset in assets:
        assert asset.startswith("/"), asset
        assert httpx.get(stack.base_url + asset).status_code == 200, asset
