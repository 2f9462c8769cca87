"""D2: a session lives while it is used and ends after seven days of lab time unused — for the
cloud's accounts and for the Manager's administrator, by bearer token and by cookie. Time moves
by the lab API."""

# covers: D2, S9

from __future__ import annotations

import pytest

from bwlab.client import ApiError

DAY = 86400


async def alive(session, path: str) -> bool:
    try:
        await session.get(path)
        return True
    except ApiError as exc:
        assert (exc.status, exc.code) == (401, "unauthenticated"), exc
        return False


@pytest.fixture
async def cloud(appliance, cloud_account):
    await cloud_account("d2@sessions.test", "d2-password")

    async def sign_in():
        s = appliance.session()
        await s.sign_in_cloud("d2@sessions.test", "d2-password")
        return s

    sessions = []

    async def make():
        s = await sign_in()
        sessions.append(s)
        return s

    yield make, "/api/cloud/me"
    for s in sessions:
        await s.close()


@pytest.fixture
async def manager(appliance, new_system):
    system_id, _ = await new_system("Sessions", "manager-pass")
    sessions = []

    async def make():
        s = appliance.session()
        sessions.append(s)
        await s.sign_in_manager(system_id, "manager-pass")
        return s

    yield make, f"/controller/{system_id}/api"
    for s in sessions:
        await s.close()


@pytest.fixture(params=["cloud", "manager"])
def kind(request):
    return request.getfixturevalue(request.param)


async def test_alive_after_six_unused_days_dead_after_seven(kind, travel):
    make, path = kind
    used, unused = await make(), await make()
    assert await alive(used, path) and await alive(unused, path)
    await travel(6 * DAY)
    assert await alive(used, path), "six unused days: the session still works"
    await travel(DAY + 1)  # seven days and a second after `unused` was last used; one day after `used`
    assert not await alive(unused, path), "seven unused days: the session is over"
    assert await alive(used, path)
    await travel(7 * DAY + 1)
    assert not await alive(used, path)
    # A dead session stays dead; signing in again gives a new one.
    assert not await alive(used, path)
    fresh = await make()
    assert await alive(fresh, path)


async def test_the_seven_day_limit_counts_from_the_last_use(kind, travel):
    make, path = kind
    s = await make()
    await travel(7 * DAY - 30)
    assert await alive(s, path), "just under seven days unused"
    await travel(7 * DAY - 30)
    assert await alive(s, path), "the use above started the seven days again"
    await travel(7 * DAY + 1)
    assert not await alive(s, path)


async def test_used_every_five_days_it_stays_alive_over_twenty_days(kind, travel):
    make, path = kind
    s = await make()
    for day in (5, 10, 15, 20):
        await travel(5 * DAY)
        assert await alive(s, path), f"used every five days, alive on day {day}"
    await travel(5 * DAY)
    assert await alive(s, path)


async def test_cookie_sessions_follow_the_same_rule(appliance, cloud_account, travel):
    """The web client holds its session in a first-party cookie (S9: Secure, HttpOnly,
    SameSite=Lax, no third-party cookie needed) that lives seven days."""
    await cloud_account("cookie@sessions.test", "cookie-pass")
    async with appliance.session() as browser:
        async with browser.http.post(appliance.url + "/api/cloud/sessions", ssl=browser.ssl,
                                     json={"email": "cookie@sessions.test", "password": "cookie-pass"}) as r:
            assert r.status == 201
            cookie = r.cookies["bwl_session"]
        assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Lax"
        assert int(cookie["max-age"]) == 7 * DAY
        assert browser.token is None
        assert (await browser.get("/api/cloud/me"))["email"] == "cookie@sessions.test"
        await travel(6 * DAY)
        assert await alive(browser, "/api/cloud/me")
        await travel(7 * DAY + 1)
        assert not await alive(browser, "/api/cloud/me")


async def test_signing_out_ends_the_session_at_once(cloud):
    make, path = cloud
    s, other = await make(), await make()
    await s.delete("/api/cloud/sessions/current")
    assert not await alive(s, path)
    assert await alive(other, path), "signing out ends only that session"
