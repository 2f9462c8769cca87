"""The Manager's content destination and recordings in a real headless Chromium (issue 13): the
admin imports the lab destination's connection file (and a bad one, refused with the field
named), a camera records and is docked, the recording shows Complete with its transfer log, the
camera's storage shows in Cameras; a recording the destination refused (400) shows "Recording
not transferred" and downloads.

covers: issue-13 (item 5: Manager UI)
"""

from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio
from e2e_lab import open_lab_panel, screenshot, start_lab, wait_for

from bwlab.clock import ManualClock, system_time
from bwlab.content_destination.service import ServeOptions, start
from tests.integration.offload_support import FaultProxy, connection_file

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(240)]

BEN = "B8A44F000102"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(tmp_path_factory):
    lab_env, shutdown = await start_lab(tmp_path_factory.mktemp("e2e-offload") / "data", cameras={BEN})
    yield lab_env
    await shutdown()


async def record_and_dock(env) -> None:
    fleet = env.fleet
    dock, bay = fleet.where[BEN]
    await fleet.undock(BEN)
    await fleet.cameras[BEN].press("record")
    await asyncio.sleep(2.5)
    await fleet.cameras[BEN].press("record", "long")
    await fleet.dock(BEN, dock, bay)


async def newest_is(page, state: str) -> bool:
    """Open Recordings: is the newest recording in ``state``?"""
    await page.get_by_role("button", name="Recordings").click()
    row = page.locator("tr[data-state]").first
    await row.wait_for()
    return await row.get_attribute("data-state") == state


async def sign_in(page, env) -> None:
    await page.goto(env.url + "/manager/")
    await page.get_by_role("button", name="Main station").click()
    await page.get_by_label("Administrator password", exact=True).fill("manager-pass")
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("heading", name="End-to-end encryption").wait_for()  # the first view is drawn


async def test_an_admin_imports_the_destination_and_follows_the_recordings(env, context, tmp_path):
    destination = await start(ServeOptions(directory=tmp_path / "cd", port=0, https=False), ManualClock(system_time()))
    proxy = FaultProxy(upstream=destination.url)  # to refuse the second recording's clips (400)
    await proxy.start()
    try:
        conn = destination.connection
        good = tmp_path / "connection.json"
        good.write_bytes(
            connection_file(
                f"{proxy.url}/auth/v1.0", conn.blob_api_user_name, conn.blob_api_key, full_store_and_read_support=False
            )
        )
        bad = tmp_path / "bad.json"
        bad.write_text(good.read_text().replace('"1.0"', '"9.9"', 1))
        page = await context.new_page()
        await sign_in(page, env)
        await page.get_by_role("button", name="Content destination").click()
        await page.get_by_text("No content destination yet").wait_for()
        await page.get_by_label("Clip length (s)", exact=True).fill("60")
        await page.get_by_role("button", name="Save").click()
        await page.locator('[data-code="recording_settings_saved"]').wait_for()
        async with env.session() as mgr:
            await mgr.sign_in_manager(env.system.id, "manager-pass")
            assert (await mgr.get(f"/controller/{env.system.id}/api/recording-settings"))["clip_seconds"] == 60
        await page.get_by_label("Connection file", exact=True).set_input_files(str(bad))
        await page.get_by_role("button", name="Import").click()
        await page.get_by_role("alert").filter(has_text="ConnectionFileVersion").wait_for()
        await page.get_by_label("Connection file", exact=True).set_input_files(str(good))
        await page.get_by_role("button", name="Import").click()
        await page.locator('[data-code="cd_imported"]').wait_for()
        await record_and_dock(env)

        async def connected():
            await page.get_by_role("button", name="Content destination").click()
            state = page.locator("dd.cd-state")
            await state.wait_for()
            return await state.get_attribute("data-status") == "connected"

        await wait_for(connected, "the Manager to show the destination connected", timeout=40, step=1.0)
        caps = await page.locator("dd.cd-capabilities").inner_text()
        assert "StoreReadSystemID" in caps and "StoreBookmarks" in caps
        await screenshot(page, "manager-content-destination")

        await wait_for(lambda: newest_is(page, "complete"), "the recording to show Complete", timeout=40, step=1.0)
        await page.get_by_role("button", name="Log", exact=False).first.click()
        await page.get_by_role("heading", name="Transfer log", exact=False).wait_for()
        assert await page.locator('tr[data-outcome="complete"]').count() == 1
        await screenshot(page, "manager-recordings")

        await page.get_by_role("button", name="Cameras").click()
        cell = page.locator(f'tr[data-serial="{BEN}"] td.storage')
        await cell.wait_for()
        assert "0 on the camera" in await cell.inner_text() and "1 complete" in await cell.inner_text()

        # the destination refuses the next recording's clips (400): "Recording not transferred", downloadable
        proxy.add("PUT", r"\.mkv$", status=400, times=10)
        await record_and_dock(env)

        await wait_for(
            lambda: newest_is(page, "not_transferred"),
            "the recording to show Recording not transferred",
            timeout=40,
            step=1.0,
        )
        assert "Recording not transferred" in await page.locator("tr[data-state]").first.inner_text()
        await page.get_by_role("button", name="Log", exact=False).first.click()
        link = page.get_by_role("link", name="Download clip-0000.mp4")
        async with page.expect_download() as info:
            await link.click()
        download = await info.value
        saved = tmp_path / "clip.mp4"
        await download.save_as(saved)
        assert saved.stat().st_size > 10_000
        await screenshot(page, "manager-recording-not-transferred")
    finally:
        await proxy.close()
        await destination.close()


async def test_the_camera_user_bookmarks_and_categorises_from_the_lab_panel(env, context):
    page = await context.new_page()
    await open_lab_panel(page, env)
    ben = page.locator(f'article[data-serial="{BEN}"]')
    await ben.get_by_role("button", name=f"Undock camera {BEN}").click()
    await wait_for(lambda: _is(ben, "data-docked", "false"), "the camera out of its dock")
    await ben.get_by_role("button", name="Record button: press").click()
    await wait_for(lambda: _is(ben, "data-recording", "true"), "the camera to record")
    await ben.get_by_text("Assistant app: bookmark and category").click()
    await ben.get_by_label(f"Bookmark text for {BEN}").fill("witness spoke")
    await ben.get_by_role("button", name="Add bookmark").click()
    await ben.get_by_label(f"Category ID for {BEN}").fill("5")
    await ben.get_by_label(f"Category name for {BEN}").fill("Theft")
    await ben.get_by_role("button", name="Set category").click()
    await asyncio.sleep(1.0)
    await ben.get_by_role("button", name="Record button: long press").click()
    await wait_for(lambda: _is(ben, "data-recording", "false"), "the recording to stop")
    assert "recording" in await ben.locator("p.state-line").inner_text()  # the storage line
    await ben.get_by_role("button", name=f"Dock camera {BEN}").click()
    async with env.session() as mgr:
        await mgr.sign_in_manager(env.system.id, "manager-pass")

        async def arrived():
            recs = (await mgr.get(f"/controller/{env.system.id}/api/recordings"))["recordings"]
            return next((r for r in recs if r["category"] and r["category"]["name"] == "Theft"), None)

        rec = await wait_for(arrived, "the categorised recording at the controller", timeout=30, step=0.5)
    assert [b["text"] for b in rec["bookmarks"]] == ["witness spoke"]


async def _is(locator, attribute: str, value: str) -> bool:
    return await locator.get_attribute(attribute) == value
