"""The browser part of ``python -m interp_core bench``: server start to Home rendered in headless
Chromium, and each page's first render. Run as ``python -m tools.bench_app STORE_ROOT``; prints one
JSON object (the engine's bench command starts this process and reads that line).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def bench_browser(store_root: Path) -> dict:
    from playwright.sync_api import sync_playwright

    from tools.apprunner import AppPage, AppServer, launch_browser
    from ui.catalog import built_pages

    start = time.perf_counter()
    server = AppServer(store_root)
    try:
        healthy = server.wait_healthy()
        with sync_playwright() as playwright:
            browser = launch_browser(playwright)
            tab = AppPage(browser)
            tab.open(server.url)
            home_rendered = time.perf_counter() - start
            tab.close()
            pages = {"home (second visit)": round(_time_page(browser, server.url, AppPage), 3)}
            for page in built_pages():
                pages[page.title] = round(_time_page(browser, f"{server.url}/{page.url_path}", AppPage), 3)
            browser.close()
    finally:
        server.stop()
    return {"server_healthy_s": round(healthy, 3), "start_to_home_rendered_s": round(home_rendered, 3), "page_first_render_s": pages}


def _time_page(browser, url: str, page_cls) -> float:
    tab = page_cls(browser)
    try:
        return tab.open(url)
    finally:
        tab.close()



def main(argv: list[str]) -> int:
    try:
        result = bench_browser(Path(argv[0]))
    except ImportError:
        result = {"skipped": "playwright is not installed (it comes with requirements-test.txt)"}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
