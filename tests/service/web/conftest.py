"""Fixtures of the web page's tests: the screenshot folder and headless Chromium sessions."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.web import Browser, chromium_paths, start_chromium


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the browser tests leave their screenshots: $CLASSPULSE_SCREENSHOTS, else pytest's temp dir."""
    chosen = os.environ.get("CLASSPULSE_SCREENSHOTS")
    path = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def browser_factory(tmp_path_factory: pytest.TempPathFactory, screenshots: Path) -> Iterator:
    """`make(base_url, javascript=True) -> Browser`; every browser quits after the module."""
    pytest.importorskip("selenium", reason="selenium is not installed (pip install -e '.[test]')")
    chromium_paths()
    drivers = []

    def make(base_url: str, javascript: bool = True) -> Browser:
        downloads = tmp_path_factory.mktemp("downloads")
        driver = start_chromium(downloads, javascript=javascript)
        drivers.append(driver)
        return Browser(driver, base_url, screenshots, downloads)

    try:
        yield make
    finally:
        for driver in drivers:
            driver.quit()
