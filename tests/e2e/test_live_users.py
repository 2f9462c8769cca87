"""Live's Settings > Users in a real headless Chromium (S10, S14): an organization admin invites
an operator by e-mail; the operator, signed in in a second browser, is not a member yet and
accepts the invitation from the page; the admin sees the member, changes the role, and removes
the member, who then may no longer view the organization. A refused invitation says why.

covers: S10, S14
"""

from __future__ import annotations

import pytest
import pytest_asyncio
from e2e_lab import ADMIN, OPERATOR, screenshot, sign_in_live, start_lab
from playwright.async_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(180)]

NEW = ("nadia.new@demo.bwlab.test", "nadia-new-pass", "Nadia New")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(tmp_path_factory):
    lab_env, shutdown = await start_lab(tmp_path_factory.mktemp("e2e-live-users") / "data", cameras=set())
    yield lab_env
    await shutdown()


async def _new_context(browser):
    """A second browser profile (its own cookies), as the conftest's ``context``."""
    ctx = await browser.new_context(
        ignore_https_errors=True, viewport={"width": 1280, "height": 860}, locale="en-GB", timezone_id="UTC"
    )
    ctx.set_default_timeout(10_000)
    return ctx


async def _settings(page):
    await page.get_by_role("navigation", name="Main").get_by_role("button", name="Settings").click()
    await page.get_by_role("heading", name="Licence").wait_for()


async def test_an_admin_invites_an_operator_who_accepts_then_changes_the_role_and_removes_them(env, browser, context):
    async with env.session() as anyone:  # Nadia has a My Axis account, but no organization yet
        await anyone.post("/api/cloud/accounts", {"email": NEW[0], "password": NEW[1], "name": NEW[2]})
    admin = await context.new_page()
    admin.on("pageerror", lambda exc: pytest.fail(f"page error: {exc}"))
    await admin.goto(env.system.link)
    await sign_in_live(admin, *ADMIN)
    await admin.get_by_role("heading", name="Active streams").wait_for()
    await _settings(admin)
    users = admin.get_by_role("region", name="Users")
    await expect(users.get_by_role("cell", name=ADMIN[0], exact=True)).to_be_visible()
    await expect(users.get_by_label(f"Role of {ADMIN[0]}")).to_be_disabled()  # the owner stays admin

    # A refused invitation says why and invites nobody.
    invite = users.get_by_role("form", name="Invite user")
    await invite.get_by_label("E-mail").fill(OPERATOR[0])
    await invite.get_by_role("button", name="+ Invite user").click()
    await expect(users.get_by_text(f"{OPERATOR[0]} is a member already")).to_be_visible()
    await expect(users.get_by_text("No invitation waiting.")).to_be_visible()

    await invite.get_by_label("E-mail").fill(NEW[0])
    await invite.get_by_label("Role").select_option(label="Operator")
    await invite.get_by_role("button", name="+ Invite user").click()
    await users.locator('[data-code="invited"]').wait_for()
    await expect(users.locator("table.invitations").get_by_role("cell", name=NEW[0], exact=True)).to_be_visible()
    await screenshot(admin, "live-settings-users")

    # Nadia, in a browser of her own, signs in: no organization yet, her invitation is there.
    other = await _new_context(browser)
    try:
        nadia = await other.new_page()
        nadia.on("pageerror", lambda exc: pytest.fail(f"page error: {exc}"))
        await nadia.goto(env.system.link)
        await sign_in_live(nadia, NEW[0], NEW[1])
        await nadia.get_by_role("heading", name="No organization").wait_for()
        await expect(nadia.get_by_text("Demo Security invites you as Operator.")).to_be_visible()
        await screenshot(nadia, "live-invitation")
        await nadia.get_by_role("button", name="Accept the invitation of Demo Security").click()
        await nadia.get_by_role("heading", name="Active streams").wait_for()
        await expect(nadia.locator(".org")).to_have_text("Demo Security · operator")

        # The admin sees her as a member and makes her a User.
        await _settings(admin)
        role = admin.get_by_label(f"Role of {NEW[0]}")
        await expect(role).to_have_value("operator")
        await expect(admin.get_by_text("No invitation waiting.")).to_be_visible()
        await role.select_option(label="User")
        await admin.locator('[data-code="role_changed"]').wait_for()
        async with env.session() as api:
            await api.sign_in_cloud(*ADMIN)
            members = (await api.get(f"/api/cloud/orgs/{env.info.org_id}/members"))["members"]
            assert {m["email"]: m["role"] for m in members}[NEW[0]] == "user"

        # Removed (a second click confirms): Nadia may no longer view the organization.
        remove = admin.get_by_role("button", name=f"Remove {NEW[0]}")
        await remove.click()
        await expect(remove).to_have_text("Click again to confirm")
        await remove.click()
        await admin.locator('[data-code="member_removed"]').wait_for()
        await expect(admin.get_by_label(f"Role of {NEW[0]}")).to_have_count(0)
        await nadia.reload()
        await nadia.get_by_role("heading", name="No organization").wait_for()
    finally:
        await other.close()

    # An operator sees no Users section at all (the API refuses them anyway, S14).
    third = await _new_context(browser)
    try:
        operator = await third.new_page()
        await operator.goto(env.system.link)
        await sign_in_live(operator, *OPERATOR)
        await operator.get_by_role("heading", name="Active streams").wait_for()
        await _settings(operator)
        await expect(operator.get_by_role("region", name="Users")).to_have_count(0)
    finally:
        await third.close()
