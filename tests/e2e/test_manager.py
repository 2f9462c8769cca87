"""The Manager in a real headless Chromium: a new system connected through the S3 flow, keys
(generate, copy link with key plain and password-protected, import, fingerprints), Wi-Fi
networks, camera profiles, camera users, cameras and docks (SPEC S3–S8).

covers: S3, S4, S5, S6, S7, S8
"""

from __future__ import annotations

import pytest
import pytest_asyncio
from e2e_lab import ADMIN, screenshot, start_lab, wait_for, wait_in_page

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(180)]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(tmp_path_factory):
    lab_env, shutdown = await start_lab(tmp_path_factory.mktemp("e2e-manager") / "data", cameras=set())
    yield lab_env
    await shutdown()


async def test_an_admin_connects_a_system_and_sets_it_up_in_the_manager(env, context):
    async with env.lab() as lab:
        north = await lab.post("/controller/systems", {"name": "North station", "admin_password": "north-pass"})
    page = await context.new_page()
    await page.goto(env.url + "/manager/")
    await page.get_by_role("button", name="North station").wait_for()
    await screenshot(page, "manager-systems")
    await page.get_by_role("button", name="North station").click()
    await page.get_by_label("Administrator password", exact=True).fill("wrong-password")
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_text("wrong Manager administrator password").wait_for()
    await page.get_by_label("Administrator password", exact=True).fill("north-pass")
    await page.get_by_role("button", name="Sign in").click()

    # S3: Add-on services > AXIS Body Worn Live > Axis-hosted, step by step.
    await page.get_by_role("button", name="Install").click()
    await page.get_by_role("button", name="Enable cloud extensions").click()
    await page.get_by_label("I accept the end-user licence agreement", exact=True).check()
    await page.get_by_role("button", name="Continue").click()
    await page.get_by_label("E-mail", exact=True).fill(ADMIN[0])
    await page.get_by_label("Password", exact=True).fill(ADMIN[1])
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_label("Organization name", exact=True).fill("North Security")
    await page.get_by_role("button", name="+ Create new organization").click()
    await page.get_by_label("Storage location", exact=True).select_option(label="Germany")
    await page.get_by_role("button", name="Continue").click()
    code = await page.get_by_label("Authorization code of this Manager", exact=True).input_value()
    await screenshot(page, "manager-connect")
    await page.get_by_label("Authorization code", exact=True).fill(code)
    await page.get_by_role("button", name="Finish").click()
    await page.get_by_role("heading", name="Axis-hosted overview").wait_for()
    assert "North Security" in await page.locator("dl").inner_text()
    await page.locator('dd.licence[data-state="trial"]').wait_for()
    assert "A 30-day trial started" in await page.locator("dd.licence").inner_text()
    assert await page.locator("dd.time-sync").inner_text(), "the Manager shows the system time"

    # S4–S6: keys.
    await page.get_by_label("Key name", exact=True).fill("North key")
    await page.get_by_role("button", name="Generate key").click()
    row = page.locator("tr", has_text="North key")
    await row.wait_for()
    north_fp = await row.locator("td.fingerprint").inner_text()
    assert len(north_fp) > 20
    await page.get_by_label("Open AXIS Body Worn Live: more options", exact=True).click()
    await page.get_by_role("button", name="Copy link with key", exact=True).click()
    await page.locator('[data-code="link_copied"]').wait_for()
    link = await page.get_by_label("Copied link with key", exact=True).input_value()
    assert link.startswith(env.url + "/live/#k1=")
    await page.get_by_label("Passphrase", exact=True).fill("north passphrase")
    await page.get_by_role("button", name="Copy password-protected link with key").click()
    await wait_in_page(
        page,
        "document.querySelector('textarea.linkbox').value.includes('#p1=')",
        "the password-protected link with key in the box",
    )
    await page.get_by_text("Import link with key").click()
    await page.get_by_label("Name of the link with key", exact=True).fill("Main station key")
    await page.get_by_label("Link with key", exact=True).fill(env.system.link)
    await page.get_by_role("button", name="Import", exact=True).click()
    imported = page.locator("tr", has_text="Main station key")
    await imported.wait_for()
    assert await imported.locator("td.fingerprint").inner_text() == env.system.fingerprint  # S5, S6
    await screenshot(page, "manager-addon-keys")

    # S8 option 1, S7: networks and profiles; camera users, cameras, docks.
    await page.get_by_role("button", name="Settings", exact=True).click()
    await page.get_by_role("tab", name="Camera", exact=True).click()
    await page.get_by_label("Name (SSID)", exact=True).fill("NorthNet")
    await page.get_by_label("Password", exact=True).fill("northnet-pass")
    await page.get_by_role("button", name="Add", exact=True).click()
    await page.get_by_role("cell", name="NorthNet", exact=True).wait_for()
    await screenshot(page, "manager-wifi")

    await page.get_by_role("button", name="Camera profiles").click()
    await page.get_by_label("Profile name", exact=True).fill("North live")
    await page.get_by_label("Streaming", exact=True).check()
    await page.get_by_label("Live stream on record", exact=True).check()
    await page.get_by_label("Remote stream activation", exact=True).check()
    await page.get_by_label("Mode", exact=True).select_option(label="Always")
    await page.get_by_label("NorthNet", exact=True).check()
    await page.get_by_role("button", name="Add", exact=True).click()
    profile = page.locator("tr", has_text="North live")
    await profile.wait_for()
    assert "Always" in await profile.inner_text() and "NorthNet" in await profile.inner_text()
    await screenshot(page, "manager-profiles")

    await page.get_by_role("button", name="Users").click()
    await page.get_by_label("Name", exact=True).fill("Nina North")
    await page.get_by_label("Camera profile", exact=True).select_option(label="North live")
    await page.get_by_role("button", name="Add", exact=True).click()
    await page.get_by_role("cell", name="Nina North", exact=True).wait_for()
    await screenshot(page, "manager-users")

    await page.get_by_role("button", name="Cameras").click()
    await page.get_by_label("Serial number", exact=True).fill("B8A44F000201")
    await page.get_by_label("Model", exact=True).select_option("W102")
    await page.get_by_label("Camera user", exact=True).select_option(label="Nina North")
    await page.get_by_role("button", name="Add", exact=True).click()
    camera = page.locator("tr", has_text="B8A44F000201")
    await camera.wait_for()
    assert "Nina North" in await camera.inner_text()
    await screenshot(page, "manager-cameras")

    await page.get_by_role("button", name="Docks").click()
    await page.get_by_label("Dock name", exact=True).fill("Dock N")
    await page.get_by_label("Bays", exact=True).fill("4")
    await page.get_by_role("button", name="Add", exact=True).click()
    await page.get_by_role("cell", name="Dock N", exact=True).wait_for()
    await screenshot(page, "manager-docks")

    # The controller told Body Worn Live about Nina and her camera: the overview says so.
    async with env.session() as manager:
        await manager.sign_in_manager(north["id"], "north-pass")

        async def sent():
            status = (await manager.get(f"/controller/{north['id']}/api"))["cloud_sync"]
            return not status["pending"] and status["camera_users"] == 1

        await wait_for(sent, "the camera users sent to the cloud")
    await page.get_by_role("button", name="Add-on services").click()
    await page.get_by_role("heading", name="Axis-hosted overview").wait_for()
    synced = await page.locator("dd.cloud-sync").inner_text()
    assert synced.startswith("1 camera user sent"), synced
    await screenshot(page, "manager-overview")

    async with env.session() as manager:
        await manager.sign_in_manager(north["id"], "north-pass")
        overview = await manager.get(f"/controller/{north['id']}/api")
    assert overview["connection"]["state"] == "connected" and overview["connection"]["region"] == "germany"


async def test_an_admin_edits_a_profile_and_the_change_shows_after_reload(env, context):
    """S7, S8, S11: an existing profile edited in the Manager — streaming on, Location per model
    (offered only for the models with GPS) with its mode, another Wi-Fi network — is kept: the
    profile list shows it after the page is reloaded, and the Manager's API holds it."""
    system = env.system
    page = await context.new_page()
    await page.goto(f"{env.url}/manager/#{system.id}")
    await page.get_by_label("Administrator password", exact=True).fill(system.admin_password)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("heading", name="Axis-hosted overview").wait_for()
    await page.get_by_role("button", name="Camera profiles").click()
    await page.get_by_role("button", name="Edit profile Record only").click()
    form = page.get_by_role("form", name="Edit camera profile Record only")
    await form.wait_for()
    assert await form.get_by_label("LabNet-24", exact=True).is_checked(), "the form starts from the profile"
    assert not await form.get_by_label("Streaming", exact=True).is_checked()
    for model in ("W101", "W102", "W120"):
        await form.get_by_label(f"Location on {model}", exact=True).wait_for()
    for model in ("W100", "W110"):  # no GPS (S11)
        assert await form.get_by_label(f"Location on {model}", exact=True).count() == 0
    await form.get_by_label("Streaming", exact=True).check()
    await form.get_by_label("Remote stream activation", exact=True).check()
    await form.get_by_label("Mode", exact=True).select_option(label="While recording")
    await form.get_by_label("Location on W102", exact=True).check()
    await form.get_by_label("Location mode of W102", exact=True).select_option(label="Always")
    await form.get_by_label("LabNet", exact=True).check()
    await form.get_by_label("Help gesture", exact=True).select_option(label="Long press of the function button")
    await screenshot(page, "manager-profile-edit")
    await form.get_by_role("button", name="Save").click()
    await page.locator('[data-code="profile_saved"]').wait_for()

    await page.reload()
    await page.get_by_role("heading", name="Axis-hosted overview").wait_for()
    await page.get_by_role("button", name="Camera profiles").click()
    row = page.locator("tr", has_text="Record only")
    await row.wait_for()
    cells = [await c.inner_text() for c in await row.locator("td").all()]
    assert cells[1:7] == [
        "on",
        "off",
        "While recording",
        "Long press of the function button",
        "LabNet, LabNet-24",
        "W102: Always",
    ], cells

    async with env.session() as manager:
        await manager.sign_in_manager(system.id, system.admin_password)
        profiles = (await manager.get(f"/controller/{system.id}/api/profiles"))["profiles"]
    saved = next(p for p in profiles if p["name"] == "Record only")
    assert saved["streaming"] and saved["remote_activation"] and saved["remote_mode"] == "while_recording"
    assert saved["location"]["W102"] == {"enabled": True, "mode": "always"}
    assert not saved["location"]["W101"]["enabled"]
    assert saved["help_gesture"] == "function_long" and saved["help_stream"] is True  # issue 16


async def test_the_overview_follows_the_licence_and_open_opens_the_client(env, context):
    """S10: "Open AXIS Body Worn Live" opens the web client in a new tab, with this system's key;
    the Import button of Import link with key is in English; S3, S15: the overview's licence
    line says trial, then expired after 30 days, then purchased once an admin orders licences.
    Runs last in this module: it moves lab time a month on."""
    system = env.system
    page = await context.new_page()

    async def sign_in():
        await page.goto("about:blank")
        await page.goto(f"{env.url}/manager/#{system.id}")
        await page.get_by_label("Administrator password", exact=True).fill(system.admin_password)
        await page.get_by_role("button", name="Sign in").click()
        await page.get_by_role("heading", name="Axis-hosted overview").wait_for()

    await sign_in()
    await page.locator('dd.licence[data-state="trial"]').wait_for()
    assert await page.get_by_role("button", name="Importer").count() == 0
    # T2 row 7 reads where the system is: its location is set in the Manager
    await page.get_by_text("Show more").click()
    location = page.get_by_role("form", name="System location")
    await location.get_by_label("Country where the system is", exact=False).fill("se")
    await location.get_by_role("button", name="Save").click()
    await page.locator('[data-code="location_saved"]').wait_for()
    async with env.session() as manager:
        await manager.sign_in_manager(system.id, system.admin_password)
        assert (await manager.get(f"/controller/{system.id}/api"))["settings"]["country"] == "SE"
    await wait_in_page(
        page, "document.querySelector('a.open-live').href.includes('#k1=')", "Open AXIS Body Worn Live carries the key"
    )
    async with context.expect_page() as opened:
        await page.get_by_role("link", name="Open AXIS Body Worn Live").click()
    live = await opened.value
    await live.locator('[data-code="key_saved"]').wait_for()  # the client took the system's key
    assert "#k1=" not in live.url and live.url.startswith(env.url + "/live/")
    await live.close()

    async with env.lab() as lab:
        await lab.post("/api/lab/time/travel", {"seconds": 31 * 86400})
    await sign_in()  # seven idle days end the Manager session (D2)
    await page.locator('dd.licence[data-state="expired"]').wait_for()
    assert "Expired" in await page.locator("dd.licence").inner_text()
    assert "started" not in await page.locator("dd.licence").inner_text()
    async with env.session() as admin:
        await admin.sign_in_cloud(*ADMIN)
        await admin.post(f"/api/cloud/orgs/{env.info.org_id}/licences", {"quantity": 7, "term_months": 12})
    await page.reload()
    await page.locator('dd.licence[data-state="purchased"]').wait_for()
    assert "Purchased: 7 licences" in await page.locator("dd.licence").inner_text()
