"""The lab content destination's browse pages in a real headless Chromium (issue 13): a trainer
signs in with the destination's user and key, sees the recordings with their status, user and
camera, opens one, and gets an encrypted clip back decrypted.

covers: issue-13 (lab content destination: browsable store, decryption)
"""

from __future__ import annotations

import ssl

import aiohttp
import pytest
import pytest_asyncio
from e2e_lab import screenshot

from bwlab.clock import LabClock
from bwlab.content_destination.service import ServeOptions, start
from bwlab.wire import content_destination as cd

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(180)]

USER_ID = "3f1c2b9e-8a6d-4c2e-9b1a-0d5e7f6a8b9c"
SERIAL = "B8A44F000101"
T0 = 1_796_590_000


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def destination(tmp_path_factory):
    running = await start(
        ServeOptions(directory=tmp_path_factory.mktemp("cd"), port=0, encrypt=True, site_name="Training site"),
        LabClock(),
    )
    yield running
    await running.close()


async def upload_recording(running, clip_plain: bytes) -> tuple[str, str, bytes]:
    """What a controller uploads for one encrypted recording (Swift requests over HTTPS)."""
    conn = running.connection
    ctx = ssl.create_default_context(cadata=conn.certificates_pem())
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx)) as s:
        async with s.get(
            conn.authentication_token_uri[0],
            headers={"X-Auth-User": conn.blob_api_user_name, "X-Auth-Key": conn.blob_api_key},
        ) as r:
            token, url = r.headers["X-Auth-Token"], r.headers["X-Storage-Url"]
        h = {"X-Auth-Token": token}

        async def put(path: str, meta_kind: str, meta: dict, data: bytes | None = None) -> int:
            async with s.put(f"{url}/{path}", headers={**h, **cd.meta_headers(meta_kind, meta)}, data=data) as r:
                return r.status

        assert await put("Users", "Container", {}) == 201
        assert await put(f"Users/{USER_ID}", "Object", {"Name": "Anna Lindqvist", "Active": "True"}, b"") == 201
        assert await put("Devices", "Container", {}) == 201
        assert (
            await put(f"Devices/{SERIAL}", "Object", {"Name": "Anna's camera", "Model": "W100", "Active": "True"}, b"")
            == 201
        )
        name = cd.recording_container_name(USER_ID, SERIAL, T0)
        assert (
            await put(
                name,
                "Container",
                {
                    "BWCSerialNumber": SERIAL,
                    "UserID": USER_ID,
                    "TriggerOn": "Button",
                    "TriggerOnTime": cd.epoch(T0),
                    "TriggerOnTimeISO": cd.rfc3339(T0),
                    "Status": cd.STATUS_TRANSFERRING,
                },
            )
            == 201
        )
        clip = cd.clip_object_name(T0, "123456", "mkv")
        cipher, key_object = cd.encrypt_content(clip_plain, conn.rsa_public_key(), conn.public_key_id)
        assert (
            await put(
                f"{name}/{clip}",
                "Object",
                {
                    "StartTime": cd.epoch(T0),
                    "StartTimeISO": cd.rfc3339(T0),
                    "StopTime": cd.epoch(T0 + 60),
                    "StopTimeISO": cd.rfc3339(T0 + 60),
                    "ContainerType": "mkv",
                },
                cipher,
            )
            == 201
        )
        assert await put(f"{name}/{cd.key_object_name(clip)}", "Object", {}, key_object.to_json()) == 201
        async with s.post(
            f"{url}/{name}",
            headers={
                **h,
                **cd.meta_headers(
                    "Container",
                    {"TriggerOff": "Button", "TriggerOffTimeISO": cd.rfc3339(T0 + 60), "Status": cd.STATUS_COMPLETE},
                ),
            },
        ) as r:
            assert r.status == 204
    return name, clip, cipher


async def test_a_trainer_browses_recordings_and_opens_a_clip_decrypted(browser, destination):
    plain = b"\x1aE\xdf\xa3" + b"matroska clip " * 2000
    name, clip, cipher = await upload_recording(destination, plain)
    conn = destination.connection

    denied = await browser.new_context(ignore_https_errors=True)
    response = await denied.request.get(destination.url + "/")
    assert response.status == 401 and "Basic" in response.headers["www-authenticate"]
    await denied.close()

    ctx = await browser.new_context(
        ignore_https_errors=True,
        viewport={"width": 1280, "height": 700},
        http_credentials={"username": conn.blob_api_user_name, "password": conn.blob_api_key},
    )
    try:
        page = await ctx.new_page()
        await page.goto(destination.url + "/")
        row = page.locator("tr", has_text=SERIAL).first
        await row.wait_for()
        text = await row.inner_text()
        assert "Anna Lindqvist" in text and "Anna's camera" in text and "Complete" in text
        assert "Training site" in await page.locator("h1").inner_text()
        await screenshot(page, "content-destination-recordings")

        await page.get_by_role("link", name=name).click()
        await page.get_by_role("heading", name=name).wait_for()
        assert await page.get_by_text("Status: Complete", exact=True).count() == 1
        assert await page.get_by_role("link", name="decrypted").count() == 1
        await screenshot(page, "content-destination-recording")

        href = await page.get_by_role("link", name="decrypted").get_attribute("href")
        got = await page.request.get(destination.url + href)
        assert got.status == 200 and await got.body() == plain
        raw = await page.request.get(destination.url + href.split("?")[0])
        assert await raw.body() == cipher
    finally:
        await ctx.close()
