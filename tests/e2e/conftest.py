"""Browser fixtures: Debian's Chromium driven by Playwright's sync API.

Playwright's sync API runs an asyncio event loop in the test thread, so
Django's async-safety check would reject every ORM call that a test makes
while a browser is open. The variable below turns that check off for the e2e
tests only.
"""

import os

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from collections.abc import Iterator  # noqa: E402

import pytest  # noqa: E402
from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402

CHROMIUM_PATH = "/usr/bin/chromium"
# Flags for running as root on a machine without outside network access.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


# Module scope, because only one sync Playwright instance can run in a thread,
# and other test modules start their own.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM_PATH):
        pytest.skip(f"Chromium is missing at {CHROMIUM_PATH}; apt-get install chromium")
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS
    )
    try:
        yield browser
    finally:
        browser.close()
        playwright.stop()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page in its own context, so cookies never leak between tests."""
    context = browser.new_context(accept_downloads=True)
    try:
        yield context.new_page()
    finally:
        context.close()
