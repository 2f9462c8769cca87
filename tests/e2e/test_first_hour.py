"""A new user's first hour in a real headless Chromium (issue 12): the landing page at /, the
navigation bars hidden and inert while signed out or before a system is picked, and a press that
does nothing saying why on the Lab panel's device; screenshots go to a temporary folder.

covers: D1, D3, S9
"""

from __future__ import annotations

import os

import pytest
import pytest_asyncio
from e2e_lab import (
    OPERATOR,
    REPO_ROOT,
    SCREENSHOTS_ENV,
    open_lab_panel,
    screenshot,
    screenshots_dir,
    sign_in_live,
    start_lab,
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(180)]

ANNA = "B8A44F000101"  # docked: her buttons do nothing


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(tmp_path_factory):
    lab_env, shutdown = await start_lab(
        tmp_path_factory.mktemp("e2e-first-hour") / "data", cameras={ANNA}, media="shared"
    )
    yield lab_env
    await shutdown()


async def _page(context):
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page, errors


async def test_the_root_is_a_landing_page_for_the_three_clients_and_the_ca(env, context):
    page, errors = await _page(context)
    response = await page.goto(env.url + "/")
    assert response.status == 200
    for href in ("/live/", "/manager/", "/lab/", "/lab-ca.pem"):
        assert await page.locator(f'a[href="{href}"]').is_visible(), href
    assert not await page.get_by_text("No end-to-end key").count()
    shot = await screenshot(page, "landing")
    assert shot.is_file() and shot.parent == screenshots_dir()
    if not os.environ.get(SCREENSHOTS_ENV):  # a test run never writes into the checkout
        assert REPO_ROOT not in shot.parents
    await page.locator('a[href="/manager/"]').click()
    await page.get_by_role("heading", name="Select the system").wait_for()
    assert not errors


async def test_live_nav_is_hidden_while_signed_out_and_streams_throws_nothing(env, context):
    page, errors = await _page(context)
    await page.goto(env.url + "/live/")
    await page.get_by_role("heading", name="Sign in").wait_for()
    assert not await page.locator("#nav").is_visible()
    await page.evaluate("document.querySelector('#nav [data-view=streams]').click()")  # even if reached
    await page.wait_for_timeout(300)
    assert not errors
    await sign_in_live(page, *OPERATOR)
    await wait_for(lambda: page.locator("#nav").is_visible(), "the nav bar once signed in")
    await page.locator("#nav").get_by_role("button", name="Streams").click()
    await page.get_by_role("heading", name="Active streams").wait_for()
    assert not errors


async def test_manager_nav_is_hidden_and_inert_before_a_system_is_picked(env, context):
    page, errors = await _page(context)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    await page.goto(env.url + "/manager/")
    await page.get_by_role("heading", name="Select the system").wait_for()
    assert not await page.locator("#nav").is_visible()
    await page.evaluate("document.querySelector('#nav [data-view=cameras]').click()")
    await page.wait_for_timeout(300)
    assert not [u for u in requests if "/null/" in u or u.endswith("/cameras")], requests
    assert await page.get_by_role("heading", name="Select the system").is_visible()
    assert not errors


async def test_a_press_on_a_docked_camera_says_why_on_the_lab_panel(env, context):
    page, errors = await _page(context)
    await open_lab_panel(page, env)
    anna = page.locator(f'article[data-serial="{ANNA}"]')
    await wait_for(lambda: _is(anna.get_attribute("data-docked"), "true"), "Anna docked")
    await anna.get_by_role("button", name="Record button: press", exact=True).click()
    reason = anna.locator(".ignored-press")
    await reason.wait_for()
    assert await reason.get_attribute("data-code") == "docked"
    assert "record press did nothing" in await reason.inner_text()
    assert "in its dock" in await reason.inner_text()
    assert await anna.get_attribute("data-recording") == "false"
    assert not errors


async def _is(awaitable, expected):
    return (await awaitable) == expected
