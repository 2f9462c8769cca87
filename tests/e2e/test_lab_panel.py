"""The Lab panel's lab network in a real headless Chromium: faults injected from the faults form
and cleared (L2), the diagnosis naming the manual's cause and fix (L3), the Manager's SIM alert
after docking (T4), radio status, the troubleshooting pages of a W102 following its top button
(T1), the weak-signal icon on its screen (T3 row 4), the pcap download (L4), and camera cards
whose buttons all fit.

covers: L2, L3, L4, T1, T3, T4
"""

from __future__ import annotations

import pytest
import pytest_asyncio
from e2e_lab import open_lab_panel, screenshot, start_lab

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(180)]

CHLOE = "B8A44F000103"  # W102: a screen and troubleshooting mode
EMMA = "B8A44F000105"  # W120: LTE modem with an empty SIM slot in the demo; the Manager holds PIN 1234
ICCID = "8946071234567890123"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(tmp_path_factory):
    lab_env, shutdown = await start_lab(tmp_path_factory.mktemp("e2e-lab-panel") / "data", cameras={CHLOE, EMMA})
    yield lab_env
    await shutdown()


async def _lab_page(env, context):
    page = await context.new_page()
    await open_lab_panel(page, env)
    for serial in (CHLOE, EMMA):
        await page.locator(f'article[data-serial="{serial}"][data-running="true"] dl.radio').wait_for()
    return page


async def test_a_sim_pin_fault_from_the_form_shows_the_manuals_cause_and_fix_until_cleared(env, context):
    """L2, L3, T4: a SIM whose PIN is wrong goes into Emma's W120 from the faults form; her card
    shows LTE and the diagnosis with the manual's symptom, cause and fix; docking makes the
    Manager raise its SIM alert; clearing the fault removes the finding."""
    page = await _lab_page(env, context)
    emma = page.locator(f'article[data-serial="{EMMA}"]')
    assert await emma.locator("dl.radio").get_attribute("data-mode") == "WLAN"

    form = page.get_by_role("form", name="Inject a fault")
    await form.get_by_label("Fault kind").select_option("sim")
    await form.get_by_label("Target").select_option(EMMA)
    await form.get_by_label("SIM state").select_option("pin_wrong")
    await form.get_by_label("ICCID (18–22 digits; a new one is a swap)").fill(ICCID)
    await form.get_by_label("SIM PIN", exact=True).fill("4321")
    await form.get_by_role("button", name="Inject").click()
    fault = page.locator('tr.fault[data-kind="sim"]')
    await fault.wait_for()
    assert EMMA in await fault.inner_text()

    finding = emma.locator('li.finding[data-code="T4-5"]')
    await finding.wait_for()
    text = await finding.inner_text()
    assert "Cause: The SIM card's PIN is wrong or missing." in text
    assert "Fix: In AXIS Body Worn Manager go to Cameras, click the camera and enter the correct PIN." in text
    assert "SIM status 'Wrong PIN'" in await finding.locator("ul.evidence").inner_text()  # what it saw (issue 14)
    link = finding.get_by_role("link", name="Cameras", exact=True)  # the screen the fix names (L3)
    assert await link.get_attribute("href") == f"/manager/#{env.system.id}"
    await emma.locator('dl.radio[data-mode="LTE"]', has_text="SIM Wrong PIN").wait_for()
    await screenshot(page, "lab-faults")

    # T4: the dock reads the modem when the camera is put in a bay; the Manager raises the alert
    await emma.get_by_role("button", name=f"Undock camera {EMMA}").click()
    await page.locator(f'article[data-serial="{EMMA}"][data-docked="false"]').wait_for()
    await emma.get_by_role("button", name=f"Dock camera {EMMA}").click()
    await page.locator(f'article[data-serial="{EMMA}"][data-docked="true"]').wait_for()
    manager = await context.new_page()
    await manager.goto(f"{env.url}/manager/#{env.system.id}")
    await manager.get_by_label("Administrator password", exact=True).fill(env.system.admin_password)
    await manager.get_by_role("button", name="Sign in").click()
    await manager.get_by_role("heading", name="Axis-hosted overview").wait_for()
    await manager.get_by_role("button", name="Cameras", exact=True).click()
    alert = manager.locator('[data-code="sim_alert"]')
    await alert.wait_for()
    assert EMMA in await alert.inner_text() and "SIM PIN is wrong or missing" in await alert.inner_text()
    assert await manager.locator(f'tr[data-serial="{EMMA}"] .sim-status').get_attribute("data-status") in (
        "PIN required",
        "Wrong PIN",
    )
    await manager.close()

    await page.get_by_role("button", name="Clear fault f1").click()
    await page.get_by_text("No fault injected.").wait_for()
    await emma.locator('dl.radio[data-mode="WLAN"]').wait_for()
    await emma.locator('li.finding[data-code="T4-5"]').wait_for(state="detached")
    assert await emma.locator("li.finding").count() == 0


async def test_the_troubleshooting_pages_of_a_w102_follow_its_top_button(env, context):
    """T1: a double press of the top button shows the four pages with the manual's fields, page 1
    current; a press moves to page 2 (Wi-Fi). L4: the pcap downloads. Every button of every camera
    card fits in its card."""
    page = await _lab_page(env, context)
    chloe = page.locator(f'article[data-serial="{CHLOE}"]')
    await chloe.get_by_role("button", name="Top button: double press").click()
    pages = chloe.locator('.troubleshooting[data-page="1"]')
    await pages.wait_for()
    current = pages.locator('li.ts-page[aria-current="step"]')
    assert await current.get_attribute("data-page") == "1"
    for label in ("System time", "Net", "Sub-mode", "Signal (dB)"):
        await current.locator("dt", has_text=label).wait_for()
    assert await pages.locator("li.ts-page").count() == 4
    for label in ("SSID", "Auth", "IPv4", "Status", "AP MAC", "Name servers", "Endpoint response code"):
        assert await pages.locator("dt", has_text=label).count() >= 1, label
    await chloe.locator(".camera-screen", has_text="1/4 System").wait_for()

    await chloe.get_by_role("button", name="Top button: press", exact=True).click()
    page2 = chloe.locator('.troubleshooting[data-page="2"] li.ts-page[aria-current="step"][data-page="2"]')
    await page2.wait_for()
    assert "SSID" in await page2.inner_text() and "AP MAC" in await page2.inner_text()
    await chloe.locator(".camera-screen", has_text="2/4 Wi-Fi").wait_for()
    await screenshot(page, "lab-troubleshooting")

    async with page.expect_download() as download_info:
        await chloe.get_by_role("link", name=f"pcap of camera {CHLOE}").click()
    download = await download_info.value
    assert download.suggested_filename == f"{CHLOE}-80211.pcap"
    with open(await download.path(), "rb") as f:
        assert f.read(4) in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4"), "a pcap file"

    clipped = await page.evaluate("""() => [...document.querySelectorAll('article.device')].flatMap((card) => {
        const box = card.getBoundingClientRect();
        return [...card.querySelectorAll('button, a, input')].filter((el) => {
            const r = el.getBoundingClientRect();
            return r.width > 0 && (r.left < box.left - 0.5 || r.right > box.right + 0.5);
        }).map((el) => `${card.dataset.serial}: ${el.getAttribute('aria-label') || el.textContent}`);
    })""")
    assert not clipped, f"controls outside their camera card: {clipped}"


async def test_a_w102_walked_far_from_its_access_point_shows_the_weak_signal_icon(env, context):
    """T3 row 4: out of its dock, Chloe's W102 walks 130 m past the gatehouse access points; still
    connected, its screen shows the weak Wi-Fi signal icon and the diagnosis names T3 row 4; both go
    when she walks back."""
    page = await _lab_page(env, context)
    chloe = page.locator(f'article[data-serial="{CHLOE}"]')
    weak = chloe.locator(".camera-screen").get_by_role("img", name="Weak Wi-Fi signal")
    await chloe.get_by_role("button", name=f"Undock camera {CHLOE}").click()
    await page.locator(f'article[data-serial="{CHLOE}"][data-docked="false"]').wait_for()
    async with env.lab() as lab:
        try:
            await lab.post(f"/api/lab/cameras/{CHLOE}/actions", {"action": "move", "position": [-170, -10]})
            await weak.wait_for(timeout=15_000)
            radio = await chloe.locator("dl.radio").inner_text()
            assert "WLAN · up" in radio and "(weak)" in radio, f"weak, not lost: {radio}"
            finding = chloe.locator('li.finding[data-code="T3-4"]')
            await finding.wait_for(timeout=10_000)
            assert "too far from a Wi-Fi access point" in await finding.inner_text()
            await screenshot(page, "lab-weak-signal")
            await lab.post(f"/api/lab/cameras/{CHLOE}/actions", {"action": "move", "position": [-35, 5]})
            await weak.wait_for(state="detached", timeout=15_000)
            await finding.wait_for(state="detached", timeout=10_000)
        finally:
            await lab.post(f"/api/lab/cameras/{CHLOE}/actions", {"action": "dock"})
    await page.locator(f'article[data-serial="{CHLOE}"][data-docked="true"]').wait_for()
