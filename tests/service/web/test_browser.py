"""The web page and the API docs in a real headless Chromium (Selenium) against a real API, Celery worker,
Redis and SQLite: sign in, upload a shared clip with the progress bar, watch the job finish without a reload,
download the PDF, delete the job; keyboard only; without JavaScript; /docs and /redoc offline.

axe-core checks every page of the flow (WCAG 2.x A/AA: labels, contrast, landmarks, lang; and best
practices), and every page is photographed (the `screenshots` fixture in conftest.py says where).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers.service import Stack
from tests.helpers.web import Browser

pytestmark = pytest.mark.slow

CLIP = "single_face_then_noface_540p_6s.mov"  # 1.3 MB, 6 s: one face, then none
TITLE = "Week 1: Introduction"


@pytest.fixture(scope="module")
def stack(make_stack: Callable[..., Stack]) -> Iterator[Stack]:
    stack = make_stack("sqlite", CLASSPULSE_MAX_UPLOAD_MB="8")
    stack.start_api()
    stack.start_worker()
    yield stack
    stack.stop_all()


@pytest.fixture(scope="module")
def key(stack: Stack) -> str:
    return stack.create_key("teacher")


@pytest.fixture(scope="module")
def browser(browser_factory: Callable[..., Browser], stack: Stack) -> Browser:
    return browser_factory(stack.base_url)


def wait(browser: Browser, condition: Callable[[], object], what: str, timeout: float = 30) -> object:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser.driver, timeout, poll_frequency=0.25).until(
        lambda _: condition(), message=f"timed out after {timeout:.0f} s waiting for {what}"
    )


def assert_accessible(browser: Browser, page: str) -> None:
    violations = browser.axe_violations()
    assert not violations, f"axe-core on the {page}:\n" + "\n".join(violations)


def by_css(browser: Browser, selector: str):
    from selenium.webdriver.common.by import By

    return browser.driver.find_elements(By.CSS_SELECTOR, selector)


def type_key(browser: Browser, key: str) -> None:
    """Type the key and press Enter: the key field has the focus when the sign-in page arrives."""
    from selenium.webdriver.common.keys import Keys

    field = browser.driver.switch_to.active_element
    assert field.get_attribute("id") == "api-key"
    field.send_keys(key, Keys.ENTER)


def sign_in_by_keyboard(browser: Browser, key: str) -> None:
    browser.get("/web/")
    assert browser.driver.current_url.endswith("/web/sign-in")
    type_key(browser, key)
    wait(browser, lambda: browser.driver.current_url.endswith("/web/"), "the job list after signing in")


def test_sign_in_upload_download_delete(
    browser: Browser, stack: Stack, key: str, videos_dir: Path, tmp_path: Path
) -> None:
    driver = browser.driver
    browser.get("/web/")
    browser.screenshot("01-sign-in")
    assert_accessible(browser, "sign-in page")
    type_key(browser, "cp_000000000000_not-a-key")
    wait(browser, lambda: by_css(browser, "#sign-in-error"), "the sign-in error")
    assert "That API key is not valid" in by_css(browser, "#sign-in-error")[0].text
    browser.screenshot("01-sign-in-error")
    assert_accessible(browser, "sign-in page with an error")
    sign_in_by_keyboard(browser, key)
    assert "Signed in as teacher" in by_css(browser, ".who")[0].text
    browser.screenshot("02-jobs-empty")
    assert_accessible(browser, "empty job list")

    # An error from the API, shown by the script without leaving the page.
    not_video = tmp_path / "slides.mp4"
    not_video.write_text("not a video\n" * 100)
    by_css(browser, "#file")[0].send_keys(str(not_video))
    by_css(browser, "#upload-button")[0].click()
    error = by_css(browser, "#upload-error")[0]
    wait(browser, lambda: error.is_displayed(), "the upload error")
    assert error.text.startswith("slides.mp4: not a readable video"), error.text
    browser.screenshot("02-upload-error")
    assert_accessible(browser, "upload form with an error")

    by_css(browser, "#file")[0].send_keys(str(videos_dir / CLIP))
    by_css(browser, "#title")[0].send_keys(TITLE)
    by_css(browser, "#upload-button")[0].click()
    status = by_css(browser, "#upload-status")[0]
    wait(browser, lambda: "Recording uploaded" in status.text, "the upload to be accepted")
    assert driver.execute_script("return document.getElementById('upload-progress').value") == 100
    browser.screenshot("03-uploaded")

    # The list follows the job by itself: the page is never reloaded while it runs.
    driver.execute_script("document.body.dataset.loadedOnce = 'yes'")
    wait(
        browser, lambda: by_css(browser, '#job-list > li[data-status="succeeded"]'), "the report", timeout=240
    )
    assert driver.execute_script("return document.body.dataset.loadedOnce") == "yes"
    (card,) = by_css(browser, "#job-list > li")
    job_id = card.get_attribute("data-job-id")
    assert TITLE in card.text and "Ready" in card.text
    assert by_css(browser, "#job-announcer")[0].get_attribute("textContent") == f"{TITLE}: Ready"
    browser.screenshot("04-ready")
    assert_accessible(browser, "job list with a finished job")
    browser.screenshot("05-ready-phone", width=390)
    driver.set_window_size(390, 844)
    assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    driver.set_window_size(1280, 900)

    from selenium.webdriver.common.by import By

    driver.find_element(By.PARTIAL_LINK_TEXT, "Report (PDF)").click()
    pdf = wait(
        browser,
        lambda: next((p for p in browser.downloads.glob("*.pdf") if p.stat().st_size), None),
        "the PDF download",
    )
    time.sleep(0.5)  # Chromium renames the finished download into place; give it a moment to close it
    assert pdf.read_bytes().startswith(b"%PDF") and job_id[:8] in pdf.name

    driver.find_element(By.PARTIAL_LINK_TEXT, "Delete…").click()
    wait(browser, lambda: driver.current_url.endswith(f"/web/jobs/{job_id}/delete"), "the confirmation")
    assert by_css(browser, "h1")[0].text == f"Delete “{TITLE}”?"
    browser.screenshot("06-delete-confirm")
    assert_accessible(browser, "delete confirmation")
    driver.find_element(By.XPATH, "//button[normalize-space()='Delete for good']").click()
    wait(browser, lambda: "msg=deleted" in driver.current_url, "the list after deleting")
    assert "were deleted" in by_css(browser, ".notice.success")[0].text
    assert not by_css(browser, "#job-list > li") and stack.job_row(job_id) is None
    browser.screenshot("07-deleted")

    driver.find_element(By.XPATH, "//button[normalize-space()='Sign out']").click()
    wait(browser, lambda: "/web/sign-in" in driver.current_url, "the sign-in page")
    assert "You are signed out." in driver.page_source


def test_every_control_is_reachable_by_keyboard_with_a_visible_focus(browser: Browser, key: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    sign_in_by_keyboard(browser, key)
    driver = browser.driver
    reached: list[dict] = []
    for _ in range(40):
        ActionChains(driver).send_keys(Keys.TAB).perform()  # to the page (a file input takes keys as a path)
        focused = driver.execute_script(
            "const e = document.activeElement, s = getComputedStyle(e);"
            "return {name: e.id || e.textContent.trim().slice(0, 40), tag: e.tagName,"
            " outline: s.outlineStyle, width: parseFloat(s.outlineWidth)};"
        )
        if focused["tag"] == "BODY" or (reached and focused == reached[0]):
            break
        reached.append(focused)
    names = [f["name"] for f in reached]
    assert names[0] == "Skip to main content", names
    for expected in ("Classpulse", "Sign out", "file", "title", "Analysis options", "upload-button"):
        assert expected in names, (expected, names)
    invisible = [f for f in reached if f["outline"] == "none" or f["width"] < 2]
    assert not invisible, f"focused without a visible outline: {invisible}"


def test_the_page_works_without_javascript(
    browser_factory: Callable[..., Browser], stack: Stack, key: str, clip: Path, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    browser = browser_factory(stack.base_url, javascript=False)
    driver = browser.driver
    browser.get("/web/sign-in")
    driver.find_element(By.ID, "api-key").send_keys(key)
    driver.find_element(By.XPATH, "//button[normalize-space()='Sign in']").click()
    wait(browser, lambda: driver.current_url.endswith("/web/"), "the job list")

    not_video = tmp_path / "notes.mp4"
    not_video.write_text("not a video\n" * 100)
    driver.find_element(By.ID, "file").send_keys(str(not_video))
    driver.find_element(By.ID, "upload-button").click()
    wait(browser, lambda: driver.current_url.endswith("/web/jobs"), "the page with the error")
    error = driver.find_element(By.ID, "upload-error")
    assert error.is_displayed() and "notes.mp4" in error.text, error.text
    browser.screenshot("08-no-js-error")

    driver.find_element(By.ID, "file").send_keys(str(clip))
    driver.find_element(By.ID, "title").send_keys("Without JavaScript")
    driver.find_element(By.ID, "upload-button").click()
    wait(browser, lambda: driver.current_url.endswith("/web/?msg=uploaded"), "the list after uploading")
    assert "Recording uploaded" in driver.find_element(By.CSS_SELECTOR, ".notice.success").text
    assert "Without JavaScript" in driver.find_element(By.CSS_SELECTOR, "#job-list > li").text
    browser.screenshot("09-no-js-uploaded")
    driver.find_element(By.PARTIAL_LINK_TEXT, "Delete…").click()  # also stops its analysis
    wait(browser, lambda: driver.current_url.endswith("/delete"), "the confirmation")
    driver.find_element(By.XPATH, "//button[normalize-space()='Delete for good']").click()
    wait(browser, lambda: "msg=deleted" in driver.current_url, "the list after deleting")
    assert not driver.find_elements(By.CSS_SELECTOR, "#job-list > li")


def external_loads(browser: Browser) -> list[str]:
    """Everything the page loaded from anywhere but the app's own origin."""
    return browser.driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(url => !url.startsWith(location.origin + '/'));"
    )


def test_api_docs_work_offline(browser: Browser) -> None:
    from selenium.webdriver.common.by import By

    driver = browser.driver
    browser.logs()  # drop the earlier tests' messages (the 401 and 422 they provoked)
    browser.get("/docs")
    wait(browser, lambda: len(by_css(browser, ".opblock")) >= 8, "Swagger UI to list the operations")
    paths = {e.text.replace("\u200b", "") for e in by_css(browser, ".opblock-summary-path")}
    assert {"/v1/jobs", "/v1/jobs/{job_id}", "/v1/jobs/{job_id}/{output}", "/v1/images/emotions"} <= paths
    assert not any(p.startswith("/web") for p in paths)
    assert external_loads(browser) == []
    browser.screenshot("10-docs")

    browser.get("/redoc")
    wait(browser, lambda: "Create Job" in driver.find_element(By.TAG_NAME, "body").text, "ReDoc's operations")
    browser.screenshot("11-redoc")
    # ReDoc asks for its maker's logo from a CDN (and hides it when that fails): the page's
    # Content-Security-Policy blocks it, and that is the only console error and the only outside request.
    errors = browser.logs()
    blocked = [m for m in errors if "violates the following Content Security Policy" in m]
    assert blocked == errors, errors
    for url in external_loads(browser):
        assert any(url in message for message in blocked), f"{url} was loaded"
