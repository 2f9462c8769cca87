"""Live → Settings in a real headless Chromium: SOC integrations for admins (S12, S14) and the
licences needed next to the licence's validity (S15).

covers: S12, S14, S15, T2
"""

from __future__ import annotations

import json

import pytest
import pytest_asyncio
from aiohttp import web
from e2e_lab import ADMIN, OPERATOR, screenshot, serve_on_loopback, sign_in_live, start_lab, wait_for
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(180)]

ANNA = "B8A44F000101"  # W100, profile "Patrol live": live stream on record


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(tmp_path_factory):
    lab_env, shutdown = await start_lab(tmp_path_factory.mktemp("e2e-settings") / "data", cameras={ANNA})
    async with lab_env.lab() as lab:  # the SOC desk listens on 127.0.0.1: the lab allows it explicitly
        await lab.put("/api/lab/settings", {"soc_private_targets": True})
    yield lab_env
    await shutdown()


class SocDesk:
    """A SOC's receiver on 127.0.0.1: keeps every notification's headers and body, answers 204."""

    def __init__(self):
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def start(self):
        async def notify(request: web.Request) -> web.Response:
            self.received.append((dict(request.headers), await request.read()))
            return web.Response(status=204)

        app = web.Application()
        app.router.add_post("/soc/notifications", notify)
        self.runner, base = await serve_on_loopback(app)
        self.url = f"{base}/soc/notifications"
        return self

    async def close(self):
        if self.runner is not None:
            await self.runner.cleanup()


@pytest_asyncio.fixture(loop_scope="module")
async def soc_desk():
    desk = await SocDesk().start()
    yield desk
    await desk.close()


async def _open_settings(env, context, who, dialogs=None):
    """Sign in to Live as ``who`` and open Settings; dialog boxes and pop-ups go to ``dialogs``."""
    page = await context.new_page()
    if dialogs is not None:
        page.on("dialog", lambda d: dialogs.append(d))
        page.on("popup", lambda p: dialogs.append(p))
    await page.goto(env.system.link)  # the plain link with key: no "key missing" banner
    await sign_in_live(page, *who)
    await page.get_by_role("heading", name="Active streams").wait_for()
    await page.get_by_role("button", name="Settings").click()
    await page.get_by_role("heading", name="Licence").wait_for()
    return page


async def _online(env, serial):
    async with env.lab() as lab:
        status = await lab.get("/api/lab/status")
    return any(c["serial"] == serial and c["online"] for s in status["systems"] for c in s["cameras"])


async def _stream_once(env, until):
    """Anna leaves her dock and presses record (a new live stream); once ``until`` holds, she
    ends the stream and docks again."""
    async with env.lab() as lab:
        await lab.post(f"/api/lab/cameras/{ANNA}/actions", {"action": "undock"})
        try:
            await wait_for(lambda: _online(env, ANNA), "Anna's camera online with the hub")
            await lab.post(f"/api/lab/cameras/{ANNA}/actions", {"action": "press", "button": "record"})
            await wait_for(until, "the notification at the SOC", timeout=15)
        finally:
            await lab.post(
                f"/api/lab/cameras/{ANNA}/actions", {"action": "press", "button": "record", "gesture": "long"}
            )
            await lab.post(f"/api/lab/cameras/{ANNA}/actions", {"action": "dock"})
        await wait_for(lambda: _offline(env, ANNA), "Anna's camera back in its dock")


async def _offline(env, serial):
    return not await _online(env, serial)


async def _new_secret(page, old):
    box = page.get_by_label("Signing secret", exact=True)
    return await box.count() and (await box.input_value()) not in ("", old)


async def test_an_admin_adds_a_signed_soc_integration_sees_the_secret_once_and_its_delivery(env, context, soc_desk):
    """S12: + New SOC integration with Sign messages shows the generated secret once (no pop-up);
    a stream that starts is delivered to the SOC, signed so that standardwebhooks verifies it, and
    the delivery log shows it; the integration is edited and its secret rotated in the page, and
    the next notification verifies with the new secret only; S15: the licences needed and the daily counts show next to the
    licence's validity."""
    dialogs = []
    page = await _open_settings(env, context, ADMIN, dialogs)
    soc = page.get_by_role("region", name="SOC integrations")
    await soc.get_by_text("No SOC integration yet.").wait_for()
    form = page.get_by_role("form", name="New SOC integration")
    await form.get_by_label("SOC URL").fill(soc_desk.url)
    await form.get_by_label("Name (optional)").fill("SOC desk")
    await form.get_by_label("Stream ended").check()
    await form.get_by_label("Sign messages").check()
    await form.get_by_role("button", name="Add").click()
    secret_box = page.get_by_label("Signing secret", exact=True)
    await secret_box.wait_for()
    secret = await secret_box.input_value()
    assert secret.startswith("whsec_")
    assert "shown only once" in await page.locator('[data-code="secret_shown_once"]').inner_text()
    row = soc.locator("tr.integration", has_text="SOC desk")
    await row.wait_for()
    assert "Signed" in await row.inner_text() and "Stream ended" in await row.inner_text()

    # switched off and on again from the list
    await row.get_by_role("button", name="Disable SOC integration SOC desk").click()
    await soc.locator('tr.integration[data-enabled="false"]').wait_for()
    await row.get_by_role("button", name="Enable SOC integration SOC desk").click()
    await soc.locator('tr.integration[data-enabled="true"]').wait_for()

    # a camera user starts a stream (D3): the SOC is notified
    await _stream_once(env, until=lambda: soc_desk.received)
    headers, body = soc_desk.received[0]
    event = Webhook(secret).verify(body, headers)  # the off-the-shelf package checks the signature
    assert event["type"] == "stream.started" and event["data"]["user_name"] == "Anna Berg"
    assert json.loads(body)["data"]["stream_id"]

    # Settings again (by way of Streams, so the old page is gone): the secret is gone for good;
    # the licence block counts the five cameras assigned to camera users whose profile streams
    await page.locator('#nav button[data-view="streams"]').click()
    await page.locator("#active-streams").wait_for()
    await page.locator('#nav button[data-view="settings"]').click()
    await page.get_by_role("heading", name="SOC integrations").wait_for()
    await soc.locator("tr.integration", has_text="SOC desk").wait_for()
    assert secret not in await page.content()
    assert await page.get_by_label("Signing secret", exact=True).count() == 0
    await page.get_by_text("A valid licence covers this organization").wait_for()
    needed = page.locator("dd.licences-needed")
    assert await needed.inner_text() == "5"
    today = page.locator("table.licence-daily tbody tr").last
    assert (await today.locator("td").last.inner_text()) == "5"

    await soc.get_by_role("button", name="Delivery log of SOC desk").click()
    delivered = soc.locator('.delivery-log tr.attempt[data-ok="true"]', has_text="New live stream")
    await delivered.wait_for(timeout=10_000)
    assert "Delivered (HTTP 204)" in await delivered.inner_text()
    await screenshot(page, "live-settings-soc")

    # edited in the page: a new name, "Stream ended" no longer sent
    await soc.get_by_role("button", name="Edit SOC integration SOC desk").click()
    edit = page.get_by_role("form", name="Edit SOC integration SOC desk")
    assert await edit.get_by_label("SOC URL").input_value() == soc_desk.url
    assert await edit.get_by_label("Stream ended").is_checked()
    await edit.get_by_label("Name (optional)").fill("Night desk")
    await edit.get_by_label("Stream ended").uncheck()
    await edit.get_by_role("button", name="Save").click()
    night = soc.locator("tr.integration", has_text="Night desk")
    await night.wait_for()
    assert "Stream ended" not in await night.inner_text() and "Signed" in await night.inner_text()
    assert await page.get_by_label("Signing secret", exact=True).count() == 0, "saving keeps the secret"

    # the secret is rotated (a second click confirms); the new one is shown once and signs from now on
    await soc.get_by_role("button", name="Edit SOC integration Night desk").click()
    await soc.get_by_role("button", name="Rotate the signing secret of Night desk").click()
    await soc.get_by_role("button", name="Confirm: rotate the signing secret of Night desk").click()
    await wait_for(lambda: _new_secret(page, secret), "the new signing secret in the page")
    rotated = await page.get_by_label("Signing secret", exact=True).input_value()
    await screenshot(page, "live-settings-soc-rotated")
    before = len(soc_desk.received)
    await _stream_once(env, until=lambda: len(soc_desk.received) > before)
    headers, body = soc_desk.received[before]
    assert Webhook(rotated).verify(body, headers)["type"] == "stream.started"
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, headers)

    # delete asks for a second click in the page itself (no confirm() box, S9)
    await soc.get_by_role("button", name="Delete SOC integration Night desk").click()
    await soc.get_by_role("button", name="Confirm: delete SOC integration Night desk").click()
    await soc.get_by_text("No SOC integration yet.").wait_for()
    assert not dialogs, "no dialog box and no pop-up (S9)"


async def test_an_operator_does_not_see_soc_integrations_and_the_api_refuses_them(env, context):
    """S14: Settings are the admin's; an operator sees the licence but no SOC integrations, and
    the API refuses the operator."""
    page = await _open_settings(env, context, OPERATOR)
    await page.get_by_text("A valid licence covers this organization").wait_for()
    await page.locator("dd.licences-needed").wait_for()
    assert await page.get_by_role("heading", name="SOC integrations").count() == 0
    assert await page.get_by_role("form", name="New SOC integration").count() == 0
    assert await page.get_by_role("form", name="Order licences").count() == 0  # S15: the admin orders
    status = await page.evaluate(
        "async (org) => (await fetch(`/api/cloud/orgs/${org}/soc-integrations`)).status", env.info.org_id
    )
    assert status == 403


async def test_after_the_trial_an_admin_orders_and_renews_licences_in_settings(env, context):
    """S15: once the 30-day trial is over Settings says the licence expired (cameras do not react,
    T2 row 2b); the admin orders licences (quantity, term) and renews the subscription, in the page.
    Runs last in this module: it moves lab time a month on."""
    async with env.lab() as lab:
        await lab.post("/api/lab/time/travel", {"seconds": 31 * 86400})
    page = await _open_settings(env, context, ADMIN)
    await page.locator('[data-code="licence_expired"]').wait_for()
    assert "do not react" in await page.locator('[data-code="licence_expired"]').inner_text()
    form = page.get_by_role("form", name="Order licences")
    await form.get_by_label("Quantity").fill("3")
    await form.get_by_label("Term").select_option("12")
    await form.get_by_role("button", name="Order licences").click()
    await page.locator('[data-code="licence_ordered"]').wait_for()
    await page.locator('[data-code="licence_purchased"]').wait_for()
    assert await page.locator("dd.licences-held").inner_text() == "3"
    renew = page.locator("form.renew")
    await renew.get_by_label("Renewal term").select_option("24")
    await renew.get_by_label("Quantity").fill("4")
    await renew.get_by_role("button", name="Renew").click()
    rows = page.get_by_role("table", name="Licences").locator("tbody tr")
    await wait_for(lambda: _count_is(rows, 3), "the renewal listed next to the trial and the order")
    assert "renewal" in await rows.nth(2).inner_text() and "24 months" in await rows.nth(2).inner_text()
    assert await page.locator("dd.licences-held").inner_text() == "3"  # the renewal starts when the order ends


async def _count_is(locator, n: int) -> bool:
    return await locator.count() == n
