"""D2: a session lives while it is used and ends after seven days of lab time unused — for the
cloud's accounts and for the Manager's administrator, by bearer token and by cookie. Time moves
by the lab API."""

# covers: D2, S9

from __future__ import annotations

import aiohttp
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
    await cloud_account("d2@sessions.test", "d2-session-pass")

    async def sign_in():
        s = appliance.session()
        await s.sign_in_cloud("d2@sessions.test", "d2-session-pass")
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
    """The web client holds its session in a cookie that lives seven days: Secure, HttpOnly and
    partitioned (S9: SameSite=None; Partitioned, so it also works in a web VMS's frame on another
    site without third-party cookies)."""
    await cloud_account("cookie@sessions.test", "cookie-pass")
    async with appliance.session() as browser:
        async with browser.http.post(
            appliance.url + "/api/cloud/sessions",
            ssl=browser.ssl,
            json={"email": "cookie@sessions.test", "password": "cookie-pass"},
        ) as r:
            assert r.status == 201
            cookie = r.cookies["bwl_session"]
            (header,) = [h for h in r.headers.getall("Set-Cookie") if h.startswith("bwl_session=")]
        attributes = {a.strip() for a in header.split(";")[1:]}
        assert {"Secure", "HttpOnly", "SameSite=None", "Partitioned", "Path=/"} <= attributes, header
        assert int(cookie["max-age"]) == 7 * DAY
        assert browser.token is None
        assert (await browser.get("/api/cloud/me"))["email"] == "cookie@sessions.test"
        await travel(6 * DAY)
        assert await alive(browser, "/api/cloud/me")
        await travel(7 * DAY + 1)
        assert not await alive(browser, "/api/cloud/me")


async def test_a_cookie_in_daily_use_is_renewed_and_outlives_seven_days_after_sign_in(
    appliance, cloud_account, new_system, travel
):
    """D2, the manual: the connection stays active while it is used (the browser open) and ends
    after seven days idle. The cookie's lifetime is renewed on use, so a session used every day
    keeps a cookie that expires seven days after the *last* use — not seven days after sign-in,
    which would sign out an operator in the middle of a working week. Same for the Manager."""
    await cloud_account("daily@sessions.test", "daily-pass")
    system_id, _ = await new_system("Daily", "daily-manager-pass")
    cases = [
        (
            "/api/cloud/sessions",
            {"email": "daily@sessions.test", "password": "daily-pass"},
            "bwl_session",
            "/api/cloud/me",
            "/",
        ),
        (
            f"/controller/{system_id}/api/login",
            {"password": "daily-manager-pass"},
            "bwm_session",
            f"/controller/{system_id}/api",
            f"/controller/{system_id}",
        ),
    ]
    for sign_in, body, name, path, cookie_path in cases:
        async with appliance.session() as browser:
            async with browser.http.post(appliance.url + sign_in, ssl=browser.ssl, json=body) as r:
                assert r.status == 201
                token = r.cookies[name].value
            for day in range(1, 10):
                await travel(DAY)
                async with browser.http.get(appliance.url + path, ssl=browser.ssl) as r:
                    assert r.status == 200, f"{name}: used every day, alive on day {day}"
                    headers = [h for h in r.headers.getall("Set-Cookie", []) if h.startswith(name + "=")]
                    assert len(headers) == 1, f"{name}: the cookie's lifetime is renewed on day {day}"
                    assert f"Max-Age={7 * DAY}" in headers[0] and f"Path={cookie_path}" in headers[0]
                    assert r.cookies[name].value == token  # the same session, not a new one
            async with browser.http.get(appliance.url + path, ssl=browser.ssl) as r:
                assert not [h for h in r.headers.getall("Set-Cookie", []) if h.startswith(name + "=")], (
                    "used a second time within the minute: no need to send the cookie again"
                )
            await travel(7 * DAY + 120)
            async with browser.http.get(appliance.url + path, ssl=browser.ssl) as r:
                assert r.status == 401, f"{name}: seven idle days end it"


async def test_signing_out_ends_the_session_at_once(cloud):
    make, path = cloud
    s, other = await make(), await make()
    await s.delete("/api/cloud/sessions/current")
    assert not await alive(s, path)
    assert await alive(other, path), "signing out ends only that session"


async def test_a_session_cookie_cannot_act_from_another_site(appliance, cloud_account):
    """The partitioned cookie may ride along from another site's frame, so a change made with it
    must come from this origin: from another site or origin it is refused (403, and nothing
    happens), while this origin's own requests and bearer-token clients go through. The same
    holds for a WebSocket opened with the cookie (the organization's live events)."""
    await cloud_account("csrf@sessions.test", "csrf-pass")
    async with appliance.session() as browser:
        async with browser.http.post(
            appliance.url + "/api/cloud/sessions",
            ssl=browser.ssl,
            json={"email": "csrf@sessions.test", "password": "csrf-pass"},
        ) as r:
            assert r.status == 201
        own = appliance.url
        attempts = [
            ({"Sec-Fetch-Site": "cross-site", "Origin": "https://vms.example"}, 403),
            ({"Sec-Fetch-Site": "same-site", "Origin": "https://localhost:1"}, 403),
            ({"Origin": "https://evil.example"}, 403),  # a browser without Fetch Metadata
            ({"Origin": "null"}, 403),
            ({"Sec-Fetch-Site": "same-origin", "Origin": own}, 201),
            ({}, 201),  # no browser headers at all: not a browser, nothing ambient to abuse
        ]
        for i, (headers, status) in enumerate(attempts):
            async with browser.http.post(
                appliance.url + "/api/cloud/orgs", ssl=browser.ssl, headers=headers, json={"name": f"Org {i}"}
            ) as r:
                body = await r.json()
                assert r.status == status, (headers, body)
                if status == 403:
                    assert body["error"]["code"] == "cross_site_request" and own in body["error"]["message"]
        orgs = (await browser.get("/api/cloud/me"))["organizations"]
        assert sorted(o["name"] for o in orgs) == ["Org 4", "Org 5"], "the refused requests changed nothing"

        org_id = orgs[0]["id"]
        events = appliance.url.replace("https://", "wss://") + f"/api/cloud/orgs/{org_id}/events"
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await browser.http.ws_connect(events, ssl=browser.ssl, origin="https://vms.example")
        assert refused.value.status == 403
        async with browser.http.ws_connect(events, ssl=browser.ssl, origin=own) as ws:
            assert (await ws.receive_json(timeout=5))["type"] == "hello"

    async with appliance.session() as api_client:  # a bearer token is never sent by a browser on its own
        await api_client.sign_in_cloud("csrf@sessions.test", "csrf-pass")
        async with api_client.http.post(
            appliance.url + "/api/cloud/orgs",
            ssl=api_client.ssl,
            headers={"Authorization": f"Bearer {api_client.token}", "Sec-Fetch-Site": "cross-site"},
            json={"name": "By API"},
        ) as r:
            assert r.status == 201
