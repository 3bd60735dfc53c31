"""A real browser for the status page tests: Debian's Chromium, headless, driven by Selenium.

``Browser.start(profile_dir)`` runs ``/usr/bin/chromium`` through ``/usr/bin/chromedriver`` (the
system's, never a downloaded one: ``SE_OFFLINE`` keeps Selenium Manager from fetching anything)
with a fresh profile; ``open(url)``, ``js(script)``, ``console_errors()``, ``axe_violations()``,
``screenshot(path)``. Missing parts fail with how to install them (a skipped browser test would
prove nothing):

* Chromium and its driver: ``apt-get install chromium chromium-driver`` (``.ci/run`` does);
* axe-core (the accessibility engine, from npm; not committed): ``make axe``, i.e.
  ``npm install --prefix .tools/npm axe-core@4`` (``make test`` does; ``ensure_axe()`` tries
  it once when npm is there).
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Self

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
AXE = ROOT / ".tools" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


def require_browser() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(
            f"the browser test needs {', '.join(missing)}: install Debian's Chromium and its "
            "driver with `apt-get install chromium chromium-driver` (.ci/run does)"
        )


def ensure_axe() -> str:
    """axe-core's source; installed from npm into ``.tools/npm`` when missing."""
    if not AXE.exists() and shutil.which("npm"):
        subprocess.run(
            [
                "npm",
                "install",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(AXE.parents[2]),
                "axe-core@4",
            ],
            check=False,
            capture_output=True,
            timeout=180,
        )
    if not AXE.exists():
        pytest.fail(
            f"axe-core is missing ({AXE}): run `make axe` (npm install --prefix .tools/npm "
            "axe-core@4; needs npm: `apt-get install npm`)"
        )
    return AXE.read_text()


class Browser:
    """One headless Chromium session."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    @classmethod
    @contextlib.contextmanager
    def start(cls, profile_dir: Path, *, width: int = 1100, height: int = 900) -> Iterator[Self]:
        require_browser()
        os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not download
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        profile_dir.mkdir(parents=True, exist_ok=True)
        options.add_argument(f"--user-data-dir={profile_dir}")
        options.add_argument(f"--window-size={width},{height}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
        try:
            driver.set_script_timeout(60)
            # the page is publicly cacheable (max-age): every open must ask the daemon again
            driver.execute_cdp_cmd("Network.enable", {})
            driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
            yield cls(driver)
        finally:
            driver.quit()

    def open(self, url: str) -> None:
        self.driver.get(url)

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def js_async(self, script: str, *args: Any) -> Any:
        return self.driver.execute_async_script(script, *args)

    def console(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self.driver.get_log("browser")
        return entries

    def resize(self, width: int, height: int) -> None:
        self.driver.set_window_size(width, height)

    def axe_violations(self, source: str) -> list[dict[str, Any]]:
        """axe-core's violations of the page as it is (WCAG 2.1 A/AA and best practices)."""
        self.js(source)
        violations: list[dict[str, Any]] = self.js_async(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]},"
            " resultTypes: ['violations']})"
            ".then(r => done(r.violations)).catch(e => done([{id: 'axe-error', impact:"
            " 'critical', description: String(e), nodes: []}]));",
            AXE_TAGS,
        )
        return violations

    def screenshot(self, path: Path, *, full_page: bool = True) -> None:
        """A PNG of the page (the whole page when ``full_page``, through the DevTools protocol)."""
        if not full_page:
            path.write_bytes(self.driver.get_screenshot_as_png())
            return
        metrics = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
        size = metrics["cssContentSize"]
        shot = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {
                    "x": 0,
                    "y": 0,
                    "width": size["width"],
                    "height": size["height"],
                    "scale": 1,
                },
            },
        )
        path.write_bytes(base64.b64decode(shot["data"]))
