"""Live's audit trail and "who is watching" in a real headless Chromium (issue 16 item 4, "Must
show": the audit log and its export).

An operator opens Anna's live stream and acknowledges it; the admin, in another browser, sees the
operator among who is watching, then opens Settings → Audit trail, filters it, and downloads the
export as JSON Lines and CSV: both verify as an intact chain ending at the head the page shows.

covers: O4, S14, D6
"""

from __future__ import annotations

import pytest
import pytest_asyncio
from e2e_lab import (
    ADMIN,
    OPERATOR,
    screenshot_of,
    sign_in_live,
    start_lab,
    undock_online,
    wait_for,
    wait_in_page,
)

from bwlab.wire import audit as wire

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(180)]

ANNA = "B8A44F000101"  # W100, profile "Patrol live": live stream on record


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(tmp_path_factory):
    lab_env, shutdown = await start_lab(tmp_path_factory.mktemp("e2e-audit") / "data", cameras={ANNA})
    yield lab_env
    await shutdown()


async def _live(env):
    async with env.session() as s:
        await s.sign_in_cloud(*ADMIN)
        return (await s.get(f"/api/cloud/orgs/{env.info.org_id}/streams?state=live"))["streams"]


async def _signed_in(context, env, who):
    page = await context.new_page()
    await page.goto(env.system.link)  # the plain link with key: its import is in the audit trail too
    await sign_in_live(page, *who)
    await page.get_by_role("heading", name="Active streams").wait_for()
    return page


async def test_admin_sees_who_is_watching_filters_the_audit_trail_and_exports_a_verifiable_chain(
    env, browser, context, tmp_path
):
    await undock_online(env, ANNA)
    async with env.lab() as lab:
        await lab.post(f"/api/lab/cameras/{ANNA}/actions", {"action": "press", "button": "record", "gesture": "press"})
    await wait_for(lambda: _live(env), "Anna's stream live")

    operator = await _signed_in(context, env, OPERATOR)
    await operator.locator("#active-streams button.stream", has_text="Anna Berg").click()
    await wait_in_page(
        operator,
        "(document.querySelector('.watching-now') || {}).textContent?.includes('Olivia Operator (you)')",
        "the operator among who is watching, in their own live view",
    )
    await operator.get_by_role("button", name="Acknowledge").click()
    await operator.get_by_text("the camera vibrates").wait_for()

    admin_context = await browser.new_context(
        ignore_https_errors=True,
        viewport={"width": 1280, "height": 1000},
        locale="en-GB",
        timezone_id="UTC",
        accept_downloads=True,
    )
    try:
        admin = await _signed_in(admin_context, env, ADMIN)
        anna = admin.locator("#active-streams button.stream", has_text="Anna Berg")
        await anna.locator(".watching", has_text="Olivia Operator").wait_for()
        await screenshot_of(
            admin.locator("section", has=admin.get_by_role("heading", name="Active streams")), "live-watching"
        )
        await operator.close()  # the view ends: its from/to goes into the trail, and nobody watches any more
        await anna.locator(".watching").wait_for(state="detached", timeout=10_000)

        await admin.get_by_role("button", name="Settings").click()
        card = admin.locator("section.audit")
        await card.get_by_role("heading", name="Audit trail").wait_for()
        rows = card.locator("tbody tr")
        await card.locator('tr[data-action="stream_viewed"]').wait_for()
        viewed = await card.locator('tr[data-action="stream_viewed"]').inner_text()
        assert "Olivia Operator" in viewed and "Anna Berg" in viewed and "→" in viewed
        assert await card.locator('tr[data-action="key_imported"]').count() == 2, "the operator's and the admin's key"

        form = card.get_by_role("form", name="Filter the audit trail")
        await form.get_by_label("Action").select_option("acknowledged")
        await form.get_by_label("Who").fill("olivia")
        await form.get_by_role("button", name="Filter").click()
        await wait_in_page(
            admin, "document.querySelectorAll('section.audit tbody tr').length === 1", "only the acknowledgement"
        )
        assert await rows.first.get_attribute("data-action") == "acknowledged"
        assert "1 of" in await card.locator(".audit-head").inner_text()
        await form.get_by_label("Who").fill("")
        await form.get_by_label("Action").select_option("")
        await form.get_by_role("button", name="Filter").click()
        await wait_in_page(admin, "document.querySelectorAll('section.audit tbody tr').length > 3", "every entry again")
        await screenshot_of(card, "live-audit")

        head = await card.locator("[data-head]").get_attribute("data-head")
        for name, fmt in (("Export JSON Lines", "jsonl"), ("Export CSV", "csv")):
            async with admin.expect_download() as download:
                await card.get_by_role("link", name=name).click()
            path = tmp_path / f"audit.{fmt}"
            await (await download.value).save_as(path)
            verdict = wire.verify(wire.read_export(path.read_text(encoding="utf-8")), head=head)
            assert verdict.ok, verdict.message()
            assert verdict.entries == await rows.count() >= 5, "the whole chain: every entry the page lists"
    finally:
        await admin_context.close()
