"""Camera health on the Lab panel in a real headless Chromium (issue 16 item 5): each camera card
shows the battery, storage, signal, temperature and last contact the device hub last heard from
the camera stub's health models — the report ``bwlab status --json`` prints — with the warnings
Live shows, drawn from the same summary (bwlab/wire/health.py) by the same code
(webui/js/health.js).

covers: O5, L2
"""

from __future__ import annotations

import pytest
import pytest_asyncio
from e2e_lab import open_lab_panel, screenshot_of, start_lab, undock_online, wait_for, wait_in_page

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(180)]

ANNA = "B8A44F000101"  # W100, profile "Patrol live": live stream on record


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(tmp_path_factory):
    lab_env, shutdown = await start_lab(tmp_path_factory.mktemp("e2e-lab-health") / "data", cameras={ANNA})
    yield lab_env
    await shutdown()


async def reported(env, serial: str) -> dict | None:
    """The camera's health as ``bwlab status --json`` prints it (GET /api/lab/status)."""
    async with env.lab() as lab:
        status = await lab.get("/api/lab/status")
    return next(c["health"] for s in status["systems"] for c in s["cameras"] if c["serial"] == serial)


async def test_the_lab_panel_shows_each_cameras_health_and_warns_before_the_battery_runs_out(env, context):
    await undock_online(env, ANNA)
    await wait_for(lambda: reported(env, ANNA), "Anna's first health report", timeout=15)
    page = await context.new_page()
    page.on("pageerror", lambda exc: pytest.fail(f"page error: {exc}"))
    await open_lab_panel(page, env)
    card = page.locator(f'article[data-serial="{ANNA}"]')
    health = card.locator(".health-lab")
    await health.locator("dd[data-battery]").wait_for(timeout=15_000)
    assert await health.locator("dt").all_text_contents() == [
        "Battery",
        "Storage",
        "Signal",
        "Temperature",
        "Last contact",
    ]
    report = await reported(env, ANNA)
    shown = float(await health.locator("dd[data-battery]").get_attribute("data-battery"))
    assert shown == pytest.approx(report["battery_percent"], abs=1.0)  # the hub's report, a few seconds apart
    temperature = float(await health.locator("dd[data-temperature]").get_attribute("data-temperature"))
    assert temperature == pytest.approx(report["temperature_c"], abs=2.0)
    assert f"{temperature:.1f} °C" in await health.locator("dd[data-temperature]").inner_text()
    assert "Wi-Fi" in await health.locator("dd[data-signal]").inner_text()
    assert "GB" in await health.locator("dd[data-storage]").inner_text()
    assert await health.get_attribute("data-warnings") == ""
    assert await health.locator(".health-warning").count() == 0

    async with env.lab() as lab:
        await lab.post(f"/api/lab/cameras/{ANNA}/actions", {"action": "press", "button": "record", "gesture": "press"})
        await page.locator(f'article[data-serial="{ANNA}"][data-streaming="live"]').wait_for(timeout=15_000)
        await lab.post("/api/lab/time/travel", {"seconds": 3 * 3600})  # three hours of streaming
    await wait_in_page(
        page,
        f"document.querySelector('article[data-serial=\"{ANNA}\"] .health-lab')?.dataset.warnings.includes('battery_')",
        "a battery warning on Anna's card",
        timeout=20,
    )
    # the warnings bwlab status (and Live) give for the same report, word for word
    await wait_for(lambda: _same_warnings(env, health), "the card's warnings equal to the hub's report", timeout=20)
    assert await health.locator("dd[data-battery].warn").count() == 1
    assert float(await health.locator("dd[data-battery]").get_attribute("data-battery")) < shown - 50
    await screenshot_of(card, "lab-health")
    async with env.lab() as lab:
        await lab.post(f"/api/lab/cameras/{ANNA}/actions", {"action": "press", "button": "record", "gesture": "long"})


async def _same_warnings(env, health) -> bool:
    report = await reported(env, ANNA)
    codes = (await health.get_attribute("data-warnings")).split()
    messages = await health.locator(".health-warning").all_text_contents()
    return codes == [w["code"] for w in report["warnings"]] and messages == [w["message"] for w in report["warnings"]]
