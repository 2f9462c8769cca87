"""Fixtures for the end-to-end tests in a real headless Chromium (Debian's chromium, driven by
Playwright through its executable path; never a downloaded browser): one browser per test
module, a fresh context (cookies, IndexedDB, localStorage) per test. Helpers: e2e_lab.py.
"""

from __future__ import annotations

import pytest
import pytest_asyncio
from e2e_lab import _run_screenshots, launch_browser


@pytest.fixture(scope="session", autouse=True)
def screenshot_folder(tmp_path_factory):
    """The run's screenshots go to a temporary folder, never into the checkout (unless
    $BWLAB_SCREENSHOTS says where: scripts/refresh-screenshots.sh)."""
    _run_screenshots.append(tmp_path_factory.mktemp("screenshots"))
    yield _run_screenshots[-1]
    _run_screenshots.pop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser():
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        b = await launch_browser(p)
        yield b
        await b.close()


@pytest_asyncio.fixture(loop_scope="module")
async def context(browser):
    """A fresh browser profile for one test: no cookies, no keys, no groups."""
    ctx = await browser.new_context(
        ignore_https_errors=True, viewport={"width": 1280, "height": 860}, locale="en-GB", timezone_id="UTC"
    )
    ctx.set_default_timeout(10_000)
    yield ctx
    await ctx.close()
