"""The privacy settings through the real API (uvicorn) and worker: refusals under the EU jurisdiction and
required consent, the stricter policy winning, and the image endpoint following the deployment's policy."""

from __future__ import annotations

import html
import io
import json
import re
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.helpers.service import Stack
from tests.helpers.web import sign_in, upload_form

pytestmark = pytest.mark.slow


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), "grey").save(buf, format="PNG")
    return buf.getvalue()


def _upload(client: httpx.Client, clip: Path, **fields: str) -> httpx.Response:
    with clip.open("rb") as fh:
        return client.post("/v1/jobs", files={"file": (clip.name, fh, "video/mp4")}, data=fields)


@pytest.fixture(scope="module")
def eu(make_stack) -> tuple[Stack, str]:
    """An EU deployment that requires consent, with the API only (the refusals come before any work)."""
    stack = make_stack("sqlite", CLASSPULSE_JURISDICTION="eu", CLASSPULSE_REQUIRE_CONSENT="true")
    stack.start_api()
    return stack, stack.create_key("school")


@pytest.mark.parametrize("policy", ["full", "aggregate", ""])
def test_eu_refuses_emotion_inference_for_education(eu: tuple[Stack, str], clip: Path, policy: str) -> None:
    stack, key = eu
    with stack.client(key) as client:
        response = _upload(client, clip, policy=policy, purpose="education", consent="true")
    assert response.status_code == 403, response.text
    detail = response.json()["detail"]
    assert "Regulation (EU) 2024/1689" in detail and "Art. 5(1)(f)" in detail and "no-emotion" in detail


def test_eu_accepts_no_emotion_and_permitted_purposes(eu: tuple[Stack, str], clip: Path) -> None:
    stack, key = eu
    with stack.client(key) as client:
        school = _upload(client, clip, policy="no-emotion", purpose="education", consent="true")
        clinic = _upload(client, clip, purpose="medical", consent="true")
    assert school.status_code == 202, school.text
    declared = {"policy": "no-emotion", "purpose": "education", "consent": True}
    assert declared.items() <= school.json()["options"].items()
    assert clinic.status_code == 202, clinic.text
    assert clinic.json()["options"]["policy"] == "full"


def test_missing_declarations_are_422(eu: tuple[Stack, str], clip: Path) -> None:
    stack, key = eu
    with stack.client(key) as client:
        no_consent = _upload(client, clip, policy="no-emotion", purpose="research")
        unticked = _upload(client, clip, policy="no-emotion", purpose="research", consent="false")
        no_purpose = _upload(client, clip, policy="no-emotion", consent="true")
        bad_purpose = _upload(client, clip, purpose="marketing", consent="true")
    for response in (no_consent, unticked):
        assert response.status_code == 422 and "consent=true" in response.json()["detail"]
    assert no_purpose.status_code == 422 and "requires a purpose" in no_purpose.json()["detail"]
    assert bad_purpose.status_code == 422 and bad_purpose.json()["detail"][0]["loc"][-1] == "purpose"


def test_the_web_form_offers_the_privacy_fields_and_words_refusals(eu: tuple[Stack, str], clip: Path) -> None:
    stack, key = eu
    browser = sign_in(stack, key)
    form = browser.get("/web/").text
    for field in ("policy", "purpose", "consent"):
        assert f'id="{field}" name="{field}"' in form
    refused = upload_form(browser, clip, {"purpose": "education", "consent": "on"})
    assert refused.status_code == 403
    assert "Regulation (EU) 2024/1689 (AI Act), Art. 5(1)(f)" in html.unescape(refused.text)
    school = {"policy": "no-emotion", "purpose": "education", "consent": "on"}
    assert upload_form(browser, clip, school).status_code == 303
    browser.close()


def test_eu_images_follow_the_same_rules(eu: tuple[Stack, str]) -> None:
    stack, key = eu
    image = {"file": ("a.png", _png(), "image/png")}
    with stack.client(key) as client:
        school = client.post(
            "/v1/images/emotions", files=image, data={"purpose": "education", "consent": "true"}
        )
        no_consent = client.post("/v1/images/emotions", files=image, data={"purpose": "research"})
        lab = client.post("/v1/images/emotions", files=image, data={"purpose": "research", "consent": "on"})
        unknown = client.post("/v1/images/emotions", files=image, data={"purpose": "fun", "consent": "1"})
    assert school.status_code == 403 and "Art. 5(1)(f)" in school.json()["detail"]
    assert no_consent.status_code == 422
    assert unknown.status_code == 422 and "research" in unknown.json()["detail"]
    assert lab.status_code == 200 and lab.json()["faces"] == []


def test_the_stricter_policy_wins_and_the_worker_applies_it(make_stack, clip: Path) -> None:
    """On an aggregate deployment a job asking for full runs aggregate: its outputs hold no per-face data;
    a job asking for no-emotion keeps it; the image endpoint (per-face by nature) is refused."""
    stack = make_stack("sqlite", CLASSPULSE_POLICY="aggregate")
    stack.start_api()
    key = stack.create_key("district")
    with stack.client(key) as client:
        stricter = _upload(client, clip, policy="no-emotion")
        assert stricter.status_code == 202 and stricter.json()["options"]["policy"] == "no-emotion"
        created = _upload(client, clip, policy="full", title="Week 1")
        assert created.status_code == 202 and created.json()["options"]["policy"] == "aggregate"
        image = client.post("/v1/images/emotions", files={"file": ("a.png", _png(), "image/png")})
        assert image.status_code == 403 and "aggregate" in image.json()["detail"]
        client.delete(f"/v1/jobs/{stricter.json()['id']}")
        stack.start_worker()
        job = stack.wait_job(client, created.json()["id"])
        assert job["status"] == "succeeded", job
        summary = client.get(job["links"]["summary_json"]).json()
        faces_csv = client.get(job["links"]["faces_csv"]).text
        timeline = client.get(job["links"]["timeline_json"]).json()
    assert summary["privacy"]["policy"] == "aggregate" and summary["faces"] == []
    assert summary["audience"]["faces_seen"] == 3
    assert faces_csv.count("\n") == 1  # the header only
    assert all([n for n, _ in entries] == list(range(1, len(entries) + 1)) for _, entries in timeline)


def test_the_openapi_document_offers_the_privacy_fields(eu: tuple[Stack, str]) -> None:
    stack, _ = eu
    doc = httpx.get(f"{stack.base_url}/openapi.json").json()
    form = doc["paths"]["/v1/jobs"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert {"policy", "purpose", "consent"} <= set(form["properties"])
    refs = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(doc)))
    assert {"Policy", "Purpose"} <= refs <= set(doc["components"]["schemas"])
