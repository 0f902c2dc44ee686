"""Drive the running app in headless Chromium: start the server, open pages, wait until the
script has finished and every element has rendered, collect exceptions and console errors.

Used by the browser tests and by ``python -m interp_core bench``. Playwright (a test
requirement) is imported by the caller; this module only starts processes.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = REPO / "tests" / "artifacts" / "screenshots"
READY_JS = """() => {
  const app = document.querySelector('[data-testid=stApp]');
  return !!app && app.getAttribute('data-test-script-state') === 'notRunning'
      && !document.querySelector('[data-testid=stSkeleton]')
      && !document.querySelector('[data-testid=stStatusWidget]');
}"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AppServer:
    """`streamlit run app.py` (or another ``script``) on a free port with its own store; stopped on exit."""

    def __init__(self, store: Path, port: int | None = None, extra_env: dict | None = None, script: Path | None = None):
        self.port = port or free_port()
        self.url = f"http://localhost:{self.port}"
        store.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = store.parent / f"server-{self.port}.log"
        env = {**os.environ, "INTERP_STORE": str(store), **(extra_env or {})}
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(script or REPO / "app.py"), "--server.port", str(self.port), "--server.headless", "true"],
            cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )

    def wait_healthy(self, timeout: float = 90) -> float:
        start = time.perf_counter()
        while time.perf_counter() - start < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early: {self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        return time.perf_counter() - start
            except OSError:
                time.sleep(0.2)
        raise TimeoutError(f"server not healthy after {timeout}s: {self.log()}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text()[-3000:]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()


def launch_browser(playwright):
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: run the README's test command (make test), which installs Debian's chromium")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def _is_base_path_probe(entry: str) -> bool:
    """'404 http://host/<page>/_stcore/host-config' (or /health): Streamlit guessing its base path."""
    import re

    return bool(re.fullmatch(r"404 https?://[^/]+/[A-Za-z0-9_-]+/_stcore/(host-config|health)", entry))


class AppPage:
    """One browser tab on the app, recording console errors and failed requests."""

    def __init__(self, browser, width: int = 1400, height: int = 2200):
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.console_errors: list[str] = []
        self.failed_requests: list[str] = []
        self.page.on("console", lambda msg: self.console_errors.append(msg.text) if msg.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.console_errors.append(f"page error: {exc}"))
        self.page.on("requestfailed", lambda req: self.failed_requests.append(req.url))
        self.page.on("response", lambda resp: self.failed_requests.append(f"{resp.status} {resp.url}") if resp.status >= 400 else None)

    def open(self, url: str, timeout_ms: int = 120_000) -> float:
        start = time.perf_counter()
        self.page.goto(url)
        self.wait_ready(timeout_ms)
        return time.perf_counter() - start

    def wait_ready(self, timeout_ms: int = 120_000) -> None:
        self.page.wait_for_selector("[data-testid=stApp]", timeout=timeout_ms)
        # A rerun may start right after load (URL state, deep links): wait until it has settled twice.
        for _ in range(2):
            self.page.wait_for_timeout(400)
            self.page.wait_for_function(READY_JS, timeout=timeout_ms)

    def problems(self) -> list[str]:
        """Exception elements, console errors and failed requests, less Streamlit's base-path probes.

        Opening a sub-page URL directly makes Streamlit's frontend try ``/<page>/_stcore/host-config``
        and ``.../health`` before the real base path (streamlit PRs #4574, #11537): those 404s, and as
        many generic "404" console lines, are expected; anything else is a problem.
        """
        found = []
        exceptions = self.page.locator("[data-testid=stException]")
        for i in range(exceptions.count()):
            found.append("exception element: " + exceptions.nth(i).inner_text()[:300])
        probes = [u for u in self.failed_requests if _is_base_path_probe(u)]
        console = list(self.console_errors)
        for _ in probes:
            generic = next((e for e in console if "status of 404" in e and "Failed to load resource" in e), None)
            if generic is not None:
                console.remove(generic)
        found += [f"console error: {e}" for e in console]
        found += [f"failed request: {u}" for u in self.failed_requests if u not in probes]
        return found

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        self.context.close()
