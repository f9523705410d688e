"""Helpers for the web page's tests: signing in over HTTP, and a headless Debian Chromium (chromium and
chromium-driver, installed by `make install`) driven by Selenium, with axe-core checking each page."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import httpx
import pytest

from tests.helpers.service import Stack

AXE = Path(__file__).resolve().parents[1] / "service" / "web" / "vendor" / "axe-core" / "axe.min.js"
#: axe-core rule sets: WCAG 2.0-2.2 A and AA (labels, contrast, landmarks, lang...) and best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
NO_BROWSER = (
    "Chromium and chromedriver are not installed: `make install` installs Debian's chromium and "
    "chromium-driver (scripts/install-system-deps.sh)"
)


def sign_in(stack: Stack, key: str) -> httpx.Client:
    """A client signed in to the web page the way a browser is: the sign-in form, with its CSRF token."""
    client = httpx.Client(base_url=stack.base_url, timeout=60)
    response = client.post(
        "/web/sign-in", data={"api_key": key, "csrf_token": csrf_token(client, "/web/sign-in")}
    )
    assert response.status_code == 303 and response.headers["location"] == "/web/", response.text
    return client


def upload_form(
    client: httpx.Client, path: Path, data: dict[str, str], json: bool = False, markers: bytes | None = None
) -> httpx.Response:
    """The upload form's post, as the browser sends it (with the page's CSRF token unless `data` has one):
    the markers file input is sent empty, without a file name, unless `markers` are given."""
    fields = {"csrf_token": csrf_token(client, "/web/"), **data}
    headers = {"Accept": "application/json"} if json else {}
    chosen = (
        ("markers.csv", markers, "text/csv") if markers is not None else ("", b"", "application/octet-stream")
    )
    with path.open("rb") as fh:
        files = {"file": (path.name, fh), "markers": chosen}
        return client.post("/web/jobs", data=fields, files=files, headers=headers)


def csrf_token(client: httpx.Client, page: str) -> str:
    """The CSRF token in the forms of `page` (GET; its nonce cookie lands in the client)."""
    response = client.get(page)
    assert response.status_code == 200, response.text
    return re.search(r'name="csrf_token" value="([^"]+)"', response.text).group(1)


# --- the browser ------------------------------------------------------------------------------------------


class Browser:
    """A headless Chromium session: pages on `base_url`, screenshots in `shots`, downloads in `downloads`."""

    def __init__(self, driver, base_url: str, shots: Path, downloads: Path):
        self.driver, self.base_url, self.shots, self.downloads = driver, base_url, shots, downloads

    def get(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    def screenshot(self, name: str, width: int = 1280) -> Path:
        """The whole page at `width` CSS pixels (the window grows to the page's height, then shrinks back)."""
        size = self.driver.get_window_size()
        self.driver.set_window_size(width, 900)
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.driver.set_window_size(width, min(height + 140, 8000))
        path = self.shots / f"{name}.png"
        self.driver.save_screenshot(str(path))
        self.driver.set_window_size(size["width"], size["height"])
        return path

    def axe_violations(self) -> list[str]:
        """axe-core's violations on the current page, one line each (rule, impact, where)."""
        self.driver.execute_script(AXE.read_text())
        violations = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: ['violations']})"
            ".then(r => done(r.violations), e => done([{id: 'axe-error', impact: String(e), nodes: []}]));",
            AXE_TAGS,
        )
        return [
            f"{v['id']} ({v['impact']}): {v.get('help', '')} at "
            + json.dumps([n["target"] for n in v["nodes"]][:5])
            for v in violations
        ]

    def logs(self) -> list[str]:
        """Browser console messages at SEVERE (failed loads, script errors, CSP violations)."""
        return [entry["message"] for entry in self.driver.get_log("browser") if entry["level"] == "SEVERE"]


def chromium_paths() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip(NO_BROWSER)
    return chromium, driver


def start_chromium(downloads: Path, javascript: bool = True):
    """Headless Debian Chromium through its own chromedriver (given a driver path, Selenium Manager never
    runs, so nothing is downloaded)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver = chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",  # runs as root in CI
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,900",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--lang=en-GB",
    ):
        options.add_argument(argument)
    prefs = {
        "download.default_directory": str(downloads),
        "download.prompt_for_download": False,
        "plugins.always_open_pdf_externally": True,  # a PDF link downloads instead of opening the viewer
    }
    if not javascript:
        prefs["profile.managed_default_content_settings.javascript"] = 2
    options.add_experimental_option("prefs", prefs)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(driver))
