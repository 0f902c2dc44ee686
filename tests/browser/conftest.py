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


@pytest.fixture(scope="session")
def shared_context(browser):
    """One browser context for the ``tab`` fixture's tabs: each is a new Streamlit session, and the
    context's cache keeps Streamlit's and Plotly's JavaScript compiled between tests. A test that needs
    a browser with no cookies or cache (a shared link, a second user) makes its own AppPage(browser)."""
    context = browser.new_context()
    yield context
    context.close()


@pytest.fixture
def tab(browser, shared_context):
    from tools.apprunner import AppPage

    page = AppPage(browser, context=shared_context)
    yield page
    page.close()
