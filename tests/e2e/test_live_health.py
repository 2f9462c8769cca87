"""Live's Camera health panel in a real headless Chromium (issue 16 item 5, "Must show": the health
panel): each camera user's battery, storage, signal, temperature and last contact, and a warning
before the battery runs out after hours of streaming (lab time).

covers: O5, D3
"""

from __future__ import annotations

import pytest
import pytest_asyncio
from e2e_lab import (
    OPERATOR,
    screenshot_of,
    sign_in_live,
    start_lab,
    undock_online,
    wait_in_page,
)

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(180)]

ANNA = "B8A44F000101"  # W100, profile "Patrol live": live stream on record


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(tmp_path_factory):
    lab_env, shutdown = await start_lab(tmp_path_factory.mktemp("e2e-health") / "data", cameras={ANNA})
    yield lab_env
    await shutdown()


async def test_the_health_panel_shows_each_camera_and_warns_before_the_battery_runs_out(env, context):
    await undock_online(env, ANNA)
    page = await context.new_page()
    await page.goto(env.system.link)
    await sign_in_live(page, *OPERATOR)
    card = page.locator("section.health")
    await card.get_by_role("heading", name="Camera health").wait_for()
    anna = card.locator(f'tr[data-serial="{ANNA}"]')
    await anna.locator("[data-battery]").wait_for(timeout=15_000)
    assert "°C" in await anna.inner_text() and "GB" in await anna.inner_text()
    battery = float(await anna.locator("[data-battery]").get_attribute("data-battery"))
    assert 0 < battery <= 100 and await anna.get_attribute("data-warnings") == ""

    async with env.lab() as lab:
        await lab.post(f"/api/lab/cameras/{ANNA}/actions", {"action": "press", "button": "record", "gesture": "press"})
        await page.locator("#active-streams button.stream", has_text="Anna Berg").wait_for()
        await lab.post("/api/lab/time/travel", {"seconds": 3 * 3600})  # three hours of streaming
    await wait_in_page(
        page,
        f"document.querySelector('section.health tr[data-serial=\"{ANNA}\"]')?.dataset.warnings.includes('battery_')",
        "a battery warning for Anna",
        timeout=20,
    )
    warning = anna.locator(".health-warning").first
    assert "dock the camera" in await warning.inner_text() or "empty" in await warning.inner_text()
    assert float(await anna.locator("[data-battery]").get_attribute("data-battery")) < battery - 50
    badge = page.locator("#camera-users li.user", has_text="Anna Berg").locator(".health-badge")
    assert "battery" in await badge.inner_text(), "the camera users list warns too"
    await screenshot_of(card, "live-health")
    async with env.lab() as lab:
        await lab.post(f"/api/lab/cameras/{ANNA}/actions", {"action": "press", "button": "record", "gesture": "long"})
