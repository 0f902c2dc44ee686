"""Shareable views in headless Chromium, the second half of the pages (test_share_browser.py has the
first half and the checks themselves): a file of its own so that --dist loadfile runs it on another worker."""

import pytest

from tests.browser.test_share_browser import HALF, PAGES, check_a_copied_link

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("url_path,heading", PAGES[HALF:], ids=[p[0] or "home" for p in PAGES[HALF:]])
def test_a_copied_link_reopens_the_same_view_in_a_fresh_browser(server, browser, tab, tmp_path, url_path, heading):
    check_a_copied_link(server, browser, tab, tmp_path, url_path, heading)
