import pytest

from tools.apprunner import AppServer, launch_browser


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    app = AppServer(tmp_path_factory.mktemp("browser") / "store")
    try:
        app.wait_healthy()
        yield app
    finally:
        app.stop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_browser(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def tab(browser):
    from tools.apprunner import AppPage

    page = AppPage(browser)
    yield page
    page.close()
