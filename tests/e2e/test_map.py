"""The map in a real headless Chromium (SPEC D9, D6, L4; issue 6 "Must show"): positions opened
in the browser only; N markers for N positioned camera users and none for a user without a fix;
a cluster with the right count; trails never longer than 30 s; the lost-GPS icon with the time of
the last position on hover; centre on a user from the list; map → live per user; an open help
request (issue 16) as an urgent marker at its position until anyone acknowledges it.

covers: D9, D6, L4, S11, S14, S17
"""

from __future__ import annotations

import pytest
import pytest_asyncio
from e2e_lab import ADMIN, OPERATOR, screenshot, sign_in_live, start_lab, wait_for

from firmware_stub.positions import route_from_spec
from tests.integration.test_help_requests import open_position

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(180)]

ANNA = "B8A44F000101"  # W100: no GPS
BEN = "B8A44F000102"  # W101, Location while recording
CHLOE = "B8A44F000103"  # W102, Location always
EMMA = "B8A44F000105"  # W120, Location always; starts without a GPS fix here


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(tmp_path_factory):
    lab_env, shutdown = await start_lab(
        tmp_path_factory.mktemp("e2e-map") / "data", cameras={ANNA, BEN, CHLOE, EMMA}, media="shared"
    )
    from bwlab.scenario import load_scenario

    scenario, _ = load_scenario(None)
    emma = next(c for c in scenario.systems[0].cameras if c.serial == EMMA)
    lab_env.fleet.cameras[EMMA].positions.set_route(route_from_spec(scenario.route(emma.route)), fix=False)
    for serial in (ANNA, BEN, CHLOE, EMMA):
        await lab_env.fleet.undock(serial)
    await lab_env.fleet.cameras[BEN].press("record")  # Ben reports while recording (S11)
    yield lab_env
    await shutdown()


@pytest_asyncio.fixture(loop_scope="module")
async def page(env, context):
    page = await context.new_page()
    page.on("pageerror", lambda exc: pytest.fail(f"page error: {exc}"))
    await page.goto(env.url + "/live/")
    token = await page.evaluate(
        """async ([email, password]) => {
            const r = await fetch('/api/cloud/sessions', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                                         body: JSON.stringify({email, password})});
            return r.status;
        }""",
        list(OPERATOR),
    )
    assert token in (200, 201)
    await page.goto(env.url + "/map/#" + env.system.link.split("#", 1)[1])
    await wait_for(lambda: on_map(page, "Boolean(map)"), "the map to mount")
    await on_map(page, "map.ready")
    return page


async def lab_action(env, serial: str, body: dict) -> dict:
    async with env.lab() as lab:
        return await lab.post(f"/api/lab/cameras/{serial}/actions", body)


async def shown_count(page) -> int:
    """Markers on screen: single pins plus the counts written on clusters."""
    return await page.evaluate("""() => {
        const pins = document.querySelectorAll('.leaflet-marker-icon .bw-pin').length;
        const clustered = [...document.querySelectorAll('.bw-cluster-count')].reduce((n, e) => n + Number(e.textContent), 0);
        return pins + clustered;
    }""")


async def test_only_positioned_users_are_shown_and_nearby_ones_cluster_with_their_count(env, page):
    # Chloe (always) and Ben (recording) have positions; Emma has no fix yet; Anna has no GPS.
    await wait_for(lambda: _serials(page, {BEN, CHLOE}), "Ben and Chloe on the map", timeout=20)
    assert await page.locator(".bw-map-user").count() == 2
    assert await shown_count(page) == 2
    assert not await page.locator(f'[data-serial="{EMMA}"]').count()
    assert not await page.locator(f'[data-serial="{ANNA}"]').count()

    await lab_action(env, EMMA, {"action": "gps", "fix": True})
    await wait_for(lambda: _serials(page, {BEN, CHLOE, EMMA}), "Emma on the map once her GPS has a fix")
    await wait_for(lambda: _equals(shown_count(page), 3), "three markers")
    await page.get_by_label("Trails (last 25 s)").check()
    await page.wait_for_timeout(2500)  # let the trails grow for the picture
    await screenshot(page, "map")

    # Zoomed out, the three are close: one cluster that says 3.
    await on_map(page, "map.map.setZoom(14, {animate: false})")
    await wait_for(lambda: _texts(page, ".bw-cluster-count", ["3"]), "one cluster of three")
    assert await page.locator(".leaflet-marker-icon .bw-pin").count() == 0
    await screenshot(page, "map-clusters")
    # Centre on a user from the list: the map zooms in on her and shows her marker alone.
    await page.locator(f'.bw-map-user[data-serial="{CHLOE}"] .bw-map-center').click()
    await wait_for(
        lambda: page.locator(f'.leaflet-marker-icon .bw-pin[data-serial="{CHLOE}"]').count(),
        "Chloe's own marker after centring",
    )
    center = await on_map(page, "(() => { const c = map.map.getCenter(); return [c.lat, c.lng]; })()")
    cam = await on_map(
        page, f"(() => {{ const c = map.model.cameras.get('{CHLOE}'); return [c.lastFix.lat, c.lastFix.lon]; }})()"
    )
    assert abs(center[0] - cam[0]) < 0.0003 and abs(center[1] - cam[1]) < 0.0005


async def test_trails_are_never_longer_than_30_seconds(env, page):
    await wait_for(lambda: _shows(page, {BEN, CHLOE}), "positions on the map", timeout=20)
    await page.get_by_label("Trails (last 25 s)").check()
    await wait_for(lambda: _trail_points(page, CHLOE, 3), "a trail of three points")
    # Forty seconds of lab time pass: the trail keeps only the last 25 s, never more than 30.
    async with env.lab() as lab:
        await lab.post("/api/lab/time/travel", {"seconds": 40})
    before = await on_map(page, f"map.model.cameras.get('{CHLOE}').last.t")
    await wait_for(lambda: _newer(page, CHLOE, before + 30), "a position after the time travel", timeout=15)
    spans = await on_map(page, "map.trailSpans()")
    assert spans and all(0 <= s <= 30 for s in spans.values()), spans
    points = await on_map(page, f"map.model.cameras.get('{CHLOE}').trail.map(p => p.t)")
    assert points[-1] - points[0] <= 30 and all(t >= before for t in points)
    drawn = await page.locator("path.bw-trail").count()
    assert drawn >= 2


async def test_the_lost_gps_icon_shows_the_time_of_the_last_position(env, page):
    await wait_for(lambda: _shows(page, {CHLOE}), "Chloe on the map", timeout=20)
    await lab_action(env, CHLOE, {"action": "gps", "fix": False})
    pin = page.locator(f'.bw-pin.lost[data-serial="{CHLOE}"]')
    await wait_for(lambda: _visible_or_clustered(page, pin), "the lost-GPS icon for Chloe")
    cam = env.fleet.cameras[CHLOE].positions
    await wait_for(lambda: (cam.last_record or {}).get("fix") is False, "the camera's lost record")
    last_fix_t = cam.last_record["last_fix_t"]
    await page.locator(f'.bw-map-user[data-serial="{CHLOE}"] .bw-map-center').click()
    await pin.wait_for()
    assert float(await pin.get_attribute("data-last-fix")) == pytest.approx(last_fix_t, abs=1e-3)
    # D9: the hover gives the date and time of the last position (a GPS lost yesterday is not lost today)
    expected = await page.evaluate(f"""(() => {{ const d = new Date({last_fix_t} * 1000);
        const p = (n) => String(n).padStart(2, '0');
        return `${{d.getFullYear()}}-${{p(d.getMonth() + 1)}}-${{p(d.getDate())}} `
            + d.toLocaleTimeString('en-GB', {{hour12: false}}); }})()""")
    assert len(expected) == 19 and expected[4] == "-" and expected[10] == " "
    await pin.hover()
    assert await pin.get_attribute("title") == f"GPS lost — last position {expected}"
    status = page.locator(f'.bw-map-user[data-serial="{CHLOE}"] .bw-map-user-status')
    assert await status.text_content() == f"GPS lost since {expected}"
    await screenshot(page, "map-lost-gps")
    await lab_action(env, CHLOE, {"action": "gps", "fix": True})
    await page.locator(f'.bw-pin:not(.lost)[data-serial="{CHLOE}"]').wait_for()


async def test_live_toggle_switches_a_user_from_the_map_to_live_video(env, page):
    await wait_for(lambda: _shows(page, {BEN}), "Ben on the map", timeout=20)
    detail = await page.evaluate(f"""() => new Promise((resolve) => {{
        document.querySelector('.bw-map').addEventListener('bw-map-open-live', (e) => {{
            e.stopPropagation(); resolve(e.detail); }}, {{once: true, capture: true}});
        document.querySelector('.bw-map-user[data-serial="{BEN}"] .bw-map-live').click();
    }})""")
    assert detail["userName"] == "Ben Carter" and detail["serial"] == BEN
    assert detail["streamId"], "Ben streams: the live toggle names his stream"


async def test_access_point_labels_lie_under_camera_pins_and_never_on_each_other(env, page):
    """L4 with D9 (issue 12): the site plan's access-point labels are drawn under the camera pins,
    so they never hide a camera user, and the labels of a 2.4 GHz and a 5 GHz access point at the
    same place stand one under the other instead of on top of each other."""
    # covers: L4, D9
    await wait_for(lambda: _shows(page, {CHLOE}), "Chloe on the map", timeout=20)
    layout = await page.evaluate("""() => {
        const z = (el) => Number(getComputedStyle(el.closest('.leaflet-pane')).zIndex || 0);
        const markers = document.querySelector('.leaflet-marker-pane');
        const labels = [...document.querySelectorAll('.leaflet-tooltip.bw-ap-label')];
        const pins = [...document.querySelectorAll('.leaflet-marker-icon .bw-pin')];
        const box = (el) => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
        const hidden = [];  // a pin under a label: what the browser shows on top there
        for (const pin of pins) for (const label of labels) {
            const [a, b] = [pin.getBoundingClientRect(), label.getBoundingClientRect()];
            const x = (Math.max(a.left, b.left) + Math.min(a.right, b.right)) / 2;
            const y = (Math.max(a.top, b.top) + Math.min(a.bottom, b.bottom)) / 2;
            const top = a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom
                && document.elementFromPoint(x, y);
            if (top && top.closest('.leaflet-tooltip')) hidden.push(label.textContent);
        }
        return {markerZ: Number(getComputedStyle(markers).zIndex), labelZ: labels.map(z),
                labels: labels.map((l) => [l.textContent, box(l)]), hidden};
    }""")
    assert len(layout["labels"]) == 7  # the demo's access points
    assert all(z < layout["markerZ"] for z in layout["labelZ"]), layout
    assert not layout["hidden"], layout["hidden"]
    by_place: dict[str, list] = {}
    for text, box in layout["labels"]:
        by_place.setdefault(text.split(" AP ")[0], []).append(box)
    together = [boxes for boxes in by_place.values() if len(boxes) > 1]
    assert len(together) == 2  # Gatehouse and Warehouse: a 2.4 GHz and a 5 GHz access point each
    for a, b in together:
        assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)


# ---------------------------------------------------------------- helpers


MAP_PAGE_MODULE = "/js/map/page.js"


async def on_map(page, expression: str):
    """``expression`` evaluated with ``map``, the handle the map page module mounted (no global)."""
    return await page.evaluate(
        f"async () => {{ const map = await (await import('{MAP_PAGE_MODULE}')).mounted; return ({expression}); }}"
    )


async def _serials(page, expected: set[str]) -> bool:
    return set(await on_map(page, "map.visibleSerials()")) == expected


async def _shows(page, serials: set[str]) -> bool:
    return set(await on_map(page, "map.visibleSerials()")) >= serials


async def _equals(value, expected) -> bool:
    return (await value) == expected


async def _texts(page, selector: str, expected: list[str]) -> bool:
    return await page.locator(selector).all_text_contents() == expected


async def _trail_points(page, serial: str, n: int) -> bool:
    return await on_map(page, f"map.model.cameras.get('{serial}').trail.length") >= n


async def _newer(page, serial: str, t: float) -> bool:
    return await on_map(page, f"map.model.cameras.get('{serial}').last.t") >= t


async def _visible_or_clustered(page, pin) -> bool:
    if await pin.count():
        return True
    return await on_map(
        page, f"(() => {{ const m = map.model.cameras.get('{CHLOE}'); return Boolean(m && m.last && !m.last.fix); }})()"
    )


async def test_the_live_client_has_the_map_and_toggles_map_and_live_per_user(env, context):
    """D9 from the Live client's own navigation, and D6: map ↔ live for one user."""
    page = await context.new_page()
    page.on("pageerror", lambda exc: pytest.fail(f"page error: {exc}"))
    await page.goto(env.url + "/live/#" + env.system.link.split("#", 1)[1])
    await sign_in_live(page, *OPERATOR)
    await wait_for(lambda: page.locator("#active-streams").count(), "the Streams view after sign-in")
    await page.locator('#nav button[data-view="map"]').click()
    await wait_for(
        lambda: page.locator(f'.bw-map-user[data-serial="{BEN}"]').count(), "Ben in the map's list", timeout=20
    )
    await screenshot(page, "live-map")
    await page.locator(f'.bw-map-user[data-serial="{BEN}"] .bw-map-live').click()
    await wait_for(lambda: page.locator("#h-live").count(), "Ben's live view")
    assert await page.locator("#h-live").inner_text() == "Ben Carter"
    await page.locator("button.to-map").click()
    await wait_for(lambda: page.locator("#h-map").count(), "the map again")
    await page.close()


async def test_the_map_page_shows_an_open_help_request_at_its_position_until_anyone_acknowledges_it(env, page):
    """Issue 16 item 2 on the standalone map (/map/): an urgent marker at the help request's
    position, opened in the browser from its sealed form, labelled with the camera user's name and
    the time, with an Acknowledge button (any member may, S14); it leaves when acknowledged here
    and when acknowledged by someone else (the events socket)."""
    # covers: D9, S14, S17
    cam = env.fleet.cameras[CHLOE]
    await wait_for(lambda: _shows(page, {CHLOE}), "Chloe on the map", timeout=20)
    async with env.session() as admin:
        await admin.sign_in_cloud(*ADMIN)
        org = (await admin.get("/api/cloud/me"))["organizations"][0]["id"]

        await cam.press("function", "long")  # the help gesture of Chloe's profile ("Patrol live")
        pin = page.locator(".bw-help-pin")
        await pin.wait_for(timeout=10_000)
        help_id = await pin.get_attribute("data-help")
        assert help_id == cam.firmware.state()["help"]["id"]
        found = await admin.get(f"/api/cloud/orgs/{org}/help-requests")
        request = next(r for r in found["help_requests"] if r["id"] == help_id)
        where = open_position(request, env.system.link)  # what the camera sealed, opened with the key
        await on_map(page, f"map.map.setView([{where['lat']}, {where['lon']}], 19, {{animate: false}})")
        drawn = await on_map(
            page,
            f"""(() => {{
                const at = map.map.latLngToContainerPoint([{where["lat"]}, {where["lon"]}]);
                const box = map.map.getContainer().getBoundingClientRect();
                const icon = document.querySelector('.bw-help-pin[data-help="{help_id}"]')
                    .closest('.leaflet-marker-icon').getBoundingClientRect();
                return [box.left + at.x, box.top + at.y, icon.left + icon.width / 2, icon.top + icon.height / 2];
            }})()""",
        )
        assert abs(drawn[0] - drawn[2]) < 1.5 and abs(drawn[1] - drawn[3]) < 1.5, drawn
        label = page.locator(f'.bw-help-text[data-help="{help_id}"]')
        at = await page.evaluate(
            f"new Date({request['requested_at']} * 1000).toLocaleTimeString([], {{hour12: false}})"
        )
        assert await label.inner_text() == f"HELP: Chloe Dubois · {at} Acknowledge"
        await screenshot(page, "map-help-request")

        await label.get_by_role("button", name="Acknowledge").click()
        await wait_for(lambda: _equals(pin.count(), 0), "the help marker gone once acknowledged on the map")
        await wait_for(
            lambda: cam.firmware.state()["vibration"] == "help_acknowledged",
            "Chloe's camera vibrating with the help pattern",
        )
        me = await page.evaluate("fetch('/api/cloud/me').then((r) => r.json())")
        assert cam.firmware.state()["help"]["acknowledged_by"] == me["name"]  # the operator signed in here

        # A second help request, acknowledged by someone else (the admin, through the API): it leaves too.
        await cam.press("function", "long")
        await wait_for(lambda: _second_pin(pin, help_id), "the second help request's marker", timeout=10)
        second = cam.firmware.state()["help"]["id"]
        await admin.post(f"/api/cloud/orgs/{org}/help-requests/{second}/acknowledge")
        await wait_for(lambda: _equals(pin.count(), 0), "the marker gone once the admin acknowledged it")


async def _second_pin(pin, first: str) -> bool:
    return await pin.count() == 1 and await pin.get_attribute("data-help") != first
