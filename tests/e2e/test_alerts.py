"""New-stream alerts and help requests in a real headless Chromium (issue 16 items 1 and 2, "Must
show"): a banner naming the camera user and why the stream started (the reason from the camera's
stream start), kept until opened or dismissed, with a sound and a desktop notification when the
operator turned them on; a camera user's help request urgent at the top of Active streams and on
the map, its position opened in the browser, and its acknowledgement vibrating the camera with the
help pattern.

covers: D3, D4, D6, D9, S7, S11, S17
"""

from __future__ import annotations

import pytest
import pytest_asyncio
from e2e_lab import (
    OPERATOR,
    live_in_a_frame,
    open_lab_panel,
    screenshot,
    sign_in_live,
    start_lab,
    wait_for,
    wait_in_page,
)

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(180)]

BEN = "B8A44F000102"  # W101, "Patrol live": live stream on record
CHLOE = "B8A44F000103"  # W102 with GPS, Location always; "Patrol live" has the help gesture


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(tmp_path_factory):
    lab_env, shutdown = await start_lab(
        tmp_path_factory.mktemp("e2e-alerts") / "data", cameras={BEN, CHLOE}, media="shared"
    )
    for serial in (BEN, CHLOE):
        await lab_env.fleet.undock(serial)
    yield lab_env
    await shutdown()


async def online(env, serial: str) -> bool:
    async with env.lab() as lab:
        status = await lab.get("/api/lab/status")
    return any(c["serial"] == serial and c["online"] for s in status["systems"] for c in s["cameras"])


async def live_page(env, context):
    page = await context.new_page()
    page.on("pageerror", lambda exc: pytest.fail(f"page error: {exc}"))
    await page.goto(env.system.link)
    await sign_in_live(page, *OPERATOR)
    await page.get_by_role("heading", name="Active streams").wait_for()
    return page


async def test_a_new_stream_raises_a_banner_with_its_reason_a_sound_and_a_desktop_notification(env, context):
    await context.grant_permissions(["notifications"], origin=env.url)
    page = await live_page(env, context)
    # Settings > Alerts: the sound is off until the operator turns it on; notifications are on (granted)
    await page.get_by_role("button", name="Settings").click()
    sound = page.get_by_label("Play a sound on new streams and help requests")
    assert not await sound.is_checked()
    await page.locator('[data-code="notifications_granted"]').wait_for()
    await sound.check()
    await page.get_by_role("button", name="Streams").click()
    await wait_for(lambda: online(env, BEN), "Ben's camera on the hub", timeout=15)
    sounds = int(await page.evaluate("document.body.dataset.alertSound || '0'"))

    await env.fleet.cameras[BEN].press("record")  # live stream on record: reason "record" from the camera
    banner = page.locator('.alert-stream[data-reason="record"]')
    await banner.wait_for(timeout=10_000)
    text = await banner.inner_text()
    assert "Ben" in text and "started a live stream" in text and "the record button" in text
    await wait_in_page(page, "document.body.dataset.notifications === '1'", "one desktop notification")
    assert int(await page.evaluate("document.body.dataset.alertSound")) == sounds + 1
    await screenshot(page, "live-alert-banner")
    # the banner stays while the operator moves around, until opened or dismissed
    await page.get_by_role("button", name="Recordings").click()
    await page.get_by_role("button", name="Streams").click()
    assert await banner.count() == 1
    await banner.get_by_role("button", name="Open").click()
    await page.locator(".live-view").wait_for()
    assert await page.locator(".alert-stream").count() == 0
    await env.fleet.cameras[BEN].press("record", "long")
    await page.close()


async def test_alerts_without_permission_ask_only_on_a_click(env, context):
    page = await live_page(env, context)
    await page.get_by_role("button", name="Settings").click()
    assert await page.evaluate("Notification.permission") == "default"  # nothing asked on its own
    await page.get_by_role("button", name="Enable desktop notifications").wait_for()
    await page.close()


async def test_a_help_request_is_urgent_in_active_streams_and_on_the_map_and_its_acknowledgement_vibrates(env, context):
    page = await live_page(env, context)
    cam = env.fleet.cameras[CHLOE]
    await wait_for(lambda: online(env, CHLOE), "Chloe's camera on the hub", timeout=15)
    await wait_for(lambda: cam.positions.last_record is not None, "a GPS position of Chloe's camera", timeout=15)

    await cam.press("function", "long")  # the profile's help gesture
    urgent = page.locator(".help-request", has_text="Chloe Dubois")
    await urgent.wait_for(timeout=10_000)
    # first in Active streams, with the position opened in this browser
    assert await page.locator("#h-active + .help-box .help-request").count() == 1
    assert "at 55." in await urgent.inner_text()
    banner = page.locator(".alert-help.alert-urgent")
    assert "HELP: Chloe Dubois asks for help" in await banner.inner_text()
    # the stream it started names the help request as its reason
    await page.locator('.alert-stream[data-reason="help"]').wait_for(timeout=10_000)
    assert "a help request" in await page.locator('.alert-stream[data-reason="help"]').inner_text()
    await screenshot(page, "live-help-request")

    await urgent.get_by_role("button", name="Show on map").click()
    pin = page.locator(".bw-help-pin")
    await pin.wait_for(timeout=10_000)
    help_id = await pin.get_attribute("data-help")
    assert help_id == cam.firmware.state()["help"]["id"]
    await wait_in_page(page, "document.querySelectorAll('.bw-pin').length >= 1", "Chloe's own marker too")
    await screenshot(page, "live-help-map")

    lab = await context.new_page()
    await open_lab_panel(lab, env)
    device = lab.locator(f'article[data-serial="{CHLOE}"]')
    await device.locator(".help-state").wait_for()
    assert "HELP requested" in await device.locator(".help-state").inner_text()
    await banner.get_by_role("button", name="Acknowledge").click()
    await page.locator('.alert-help[data-acknowledged="true"]').wait_for()
    # the Lab panel shows the camera vibrating with the help pattern (not D6's two short pulses)
    await wait_for(
        lambda: _is(device.get_attribute("data-vibration"), "help_acknowledged"),
        "the Lab panel's camera vibrating with the help pattern",
    )
    assert "help request acknowledged" in await device.locator(".vibration").inner_text()
    await lab.close()
    await wait_for(
        lambda: cam.firmware.state()["vibration"] == "help_acknowledged",
        "Chloe's camera vibrating with the help pattern",
    )
    assert cam.firmware.state()["help"]["acknowledged_by"]
    await wait_in_page(page, "!document.querySelector('.bw-help-pin')", "the help marker gone once acknowledged")
    await page.close()


async def _is(value, expected) -> bool:
    return (await value) == expected


async def test_in_a_frame_there_are_banners_but_never_a_desktop_notification(env, context):
    """A VMS embedding Live in a frame: even with the permission given to the site, Live opens no
    notification there (``window.top !== window``) and says so in Settings; the banner still shows."""
    await context.grant_permissions(["notifications"], origin=env.url)
    page = await context.new_page()
    page.on("pageerror", lambda exc: pytest.fail(f"page error: {exc}"))
    frame = await live_in_a_frame(page, env)
    await frame.get_by_role("button", name="Settings").click()
    await frame.locator('[data-code="notifications_in_frame"]').wait_for()
    assert await frame.get_by_role("button", name="Enable desktop notifications").count() == 0
    await frame.get_by_role("button", name="Streams").click()
    await wait_for(lambda: online(env, BEN), "Ben's camera on the hub", timeout=15)
    await env.fleet.cameras[BEN].press("record")
    await frame.locator('.alert-stream[data-reason="record"]').wait_for(timeout=10_000)
    live = next(f for f in page.frames if f.url.endswith("/live/"))
    assert await live.evaluate("window.top !== window && Notification.permission") == "granted"
    assert await live.evaluate("document.body.dataset.notifications || '0'") == "0"
    await env.fleet.cameras[BEN].press("record", "long")
    await page.close()
