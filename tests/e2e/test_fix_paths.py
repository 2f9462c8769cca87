"""Every fix the diagnosis gives (L3) that sends the user to AXIS Body Worn Manager leads to a
screen the Manager has, in a real headless Chromium: for each row of the manual's tables whose
fix names a Manager path, the test clicks the menu entries the fix names (the top-level menu,
then Settings' tabs), finds each section it names, clicks what the fix says to click (Show
advanced, the camera) and finds each field it names, visible. Then the new Settings screens are
used as a user would: a refused value names its field and changes nothing; the APN saved in
Settings > Camera > Mobile networks is the system's; a camera user's own network comes first.

covers: L3, T2, T3, T4, S1, S3, S7, S8
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from e2e_lab import screenshot, start_lab, wait_in_page
from playwright.async_api import expect

from appliance.lab.diagnosis import TABLE

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(180)]

LTE_MODEL = "W120"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(tmp_path_factory):
    lab_env, shutdown = await start_lab(tmp_path_factory.mktemp("e2e-fix-paths") / "data", cameras=set())
    yield lab_env
    await shutdown()


async def _manager(context, env):
    page = await context.new_page()
    page.on("pageerror", lambda exc: pytest.fail(f"page error: {exc}"))
    await page.goto(f"{env.url}/manager/#{env.system.id}")
    await page.get_by_label("Administrator password", exact=True).fill(env.system.admin_password)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("heading", name="Add-on services > AXIS Body Worn Live").wait_for()
    return page


def _section(page, name: str):
    """A part of a screen the fix names: its heading or its group (a fieldset's legend)."""
    return page.get_by_role("heading", name=name, exact=True).or_(page.get_by_role("group", name=name, exact=True))


def _field(page, name: str):
    """A field the fix names: by its label, a group's legend, or a term of a description list."""
    return (
        (page.get_by_label(name).or_(page.get_by_role("group", name=name)).or_(page.locator("dt", has_text=name)))
        .locator("visible=true")
        .first
    )


async def _click_and_render(page, control) -> None:
    """Click a menu entry or tab and wait until the screen is drawn anew."""
    await page.evaluate("for (const el of document.getElementById('main').children) el.dataset.old = '1'")
    await control.click()
    await wait_in_page(
        page,
        "document.getElementById('main').children.length && !document.querySelector('#main > [data-old]')",
        "the screen drawn anew",
    )


async def test_every_manager_fix_path_leads_to_its_fields(env, context):
    page = await _manager(context, env)
    nav = page.get_by_role("navigation", name="Main")
    walked = []
    for row in TABLE:
        for screen in row.manager:
            first, *rest = screen.menu
            await _click_and_render(page, nav.get_by_role("button", name=first, exact=True))
            for entry in rest:
                tab = page.get_by_role("tab", name=entry, exact=True)
                if await tab.count():
                    await _click_and_render(page, tab)
                    await expect(tab).to_have_attribute("aria-selected", "true")
                else:
                    await expect(_section(page, entry).first, f"{row.code}: {entry}").to_be_visible()
            if screen.reveal == "the camera":
                await page.locator("tr", has_text=LTE_MODEL).locator("summary").first.click()
            elif screen.reveal:
                await page.get_by_text(screen.reveal, exact=True).first.click()
            for name in screen.fields:
                await expect(_field(page, name), f"{row.code}: {' > '.join(screen.menu)}: {name}").to_be_visible()
            walked.append((row.code, " > ".join(screen.menu)))
    codes = {code for code, _ in walked}
    assert {"T2-1", "T2-2a", "T2-3a", "T2-4a", "T2-4c", "T2-4d", "T2-6", "T3-2b", "T4-3b", "T4-5", "T4-7"} <= codes
    assert ("T2-4c", "Settings > Camera > Mobile networks") in walked
    assert ("T2-3a", "Users") in walked


async def test_the_settings_screens_save_check_and_refuse(env, context):
    page = await _manager(context, env)
    api = f"/controller/{env.system.id}/api"
    nav = page.get_by_role("navigation", name="Main")
    await _click_and_render(page, nav.get_by_role("button", name="Settings", exact=True))

    # Settings > System > Date and time: the time zone is the controller's local time (S1).
    await page.get_by_label("Time zone", exact=True).fill("Europe/Stockholm")
    await page.get_by_role("button", name="Save").click()
    await page.locator('[data-code="date_time_saved"]').wait_for()
    local = await page.locator(".local-time").inner_text()
    assert local.endswith(("+01:00", "+02:00")), local
    await screenshot(page, "manager-settings-date-time")
    # The Manager shows its dates in the system's time zone, not the browser's (UTC here).
    await _click_and_render(page, nav.get_by_role("button", name="Add-on services", exact=True))
    async with env.session() as manager:
        await manager.sign_in_manager(env.system.id, env.system.admin_password)
        connected_at = (await manager.get(api))["connection"]["connected_at"]
    stockholm = datetime.fromtimestamp(connected_at, ZoneInfo("Europe/Stockholm")).strftime("%Y-%m-%d %H:%M:%S")
    await expect(page.locator("dt:text-is('Connected') + dd")).to_have_text(stockholm)
    await _click_and_render(page, nav.get_by_role("button", name="Settings", exact=True))
    await page.get_by_label("Time zone", exact=True).fill("Europe/Atlantis")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_text("time_zone: expected an IANA time zone")).to_be_visible()

    # Settings > Network: a refused proxy names the field and saves nothing; a good save says the
    # cloud is reachable (S3, T2 row 1).
    await _click_and_render(page, page.get_by_role("tab", name="Network", exact=True))
    await page.get_by_label("Proxy server", exact=True).fill("proxy.example:3128")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_text("proxy: expected a proxy URL")).to_be_visible()
    async with env.session() as manager:
        await manager.sign_in_manager(env.system.id, env.system.admin_password)
        assert (await manager.get(api))["settings"]["network"]["proxy"] is None
    await page.get_by_label("Proxy server", exact=True).fill("")
    await page.get_by_label("DNS servers", exact=True).fill("")
    await page.get_by_role("button", name="Save").click()
    await page.locator('[data-code="network_saved"]').wait_for()
    await page.get_by_label("Use a static IP address").check()
    await expect(page.get_by_label("Gateway", exact=True)).to_be_visible()
    await screenshot(page, "manager-settings-network")

    # Settings > Camera > Mobile networks > Show advanced: the system's APN (T2 row 4c).
    await _click_and_render(page, page.get_by_role("tab", name="Camera", exact=True))
    await page.get_by_text("Show advanced", exact=True).click()
    await page.get_by_label("APN (access point name)").fill("corp.lab")
    await page.get_by_role("button", name="Save").last.click()
    await page.locator('[data-code="apn_saved"]').wait_for()
    await expect(page.get_by_label("APN (access point name)")).to_have_value("corp.lab")
    await screenshot(page, "manager-settings-camera")
    async with env.session() as manager:
        await manager.sign_in_manager(env.system.id, env.system.admin_password)
        assert (await manager.get(api))["settings"]["mobile_networks"] == {"apn": "corp.lab"}

    # Users: a camera user's own Wi-Fi network (S8 option 2a, T2 row 3a), first in the camera's list.
    await _click_and_render(page, nav.get_by_role("button", name="Users", exact=True))
    anna = page.locator("tr", has_text="Anna Berg")
    await anna.get_by_text("Network", exact=True).click()
    await anna.get_by_label("Name (SSID)").fill("Anna van")
    await anna.get_by_label("Password").fill("anna-van-pass")
    await anna.get_by_role("button", name="Add").click()
    await page.locator('[data-code="user_network_saved"]').wait_for()
    await expect(page.locator("tr", has_text="Anna Berg").locator(".ssid")).to_have_text("Anna van")
    async with env.session() as manager:
        await manager.sign_in_manager(env.system.id, env.system.admin_password)
        nets = (await manager.get(api + "/camera-users/Anna Berg/networks"))["networks"]
        assert nets[0]["ssid"] == "Anna van", nets
    await screenshot(page, "manager-user-network")

    # Cameras: click the camera for its IMEI and SIM PIN (T2 rows 4a, 4d).
    await _click_and_render(page, nav.get_by_role("button", name="Cameras", exact=True))
    await page.locator("tr", has_text=LTE_MODEL).locator("summary").first.click()
    await expect(page.get_by_label("SIM PIN")).to_be_visible()
    await screenshot(page, "manager-camera-page")
