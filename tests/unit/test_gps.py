"""The GPS model: routes, pauses, loops, fix loss and regain, models without GPS (S11, D9, L1)."""

from __future__ import annotations

import math

import pytest

from firmware_stub.gps import (
    FixLost,
    FixRegained,
    GpsReceiver,
    Route,
    RouteError,
    SiteFrame,
    bearing_deg,
    haversine_m,
)

ORIGIN = (59.3300, 18.0600)
FRAME = SiteFrame(ORIGIN)
NORTH_100 = FRAME.to_latlon(0, 100)
EAST_100 = FRAME.to_latlon(100, 0)


def close(a: tuple[float, float], b: tuple[float, float], metres: float = 0.05) -> bool:
    return haversine_m(a, b) <= metres


# covers: L1
def test_haversine_and_site_frame_agree_over_a_site():
    assert haversine_m(ORIGIN, NORTH_100) == pytest.approx(100, abs=0.01)
    assert haversine_m(ORIGIN, EAST_100) == pytest.approx(100, abs=0.01)
    x, y = FRAME.to_xy(*FRAME.to_latlon(-35.5, 80.25))
    assert (x, y) == pytest.approx((-35.5, 80.25), abs=1e-6)
    assert bearing_deg(ORIGIN, NORTH_100) == pytest.approx(0, abs=1e-6)
    assert bearing_deg(ORIGIN, EAST_100) == pytest.approx(90, abs=0.01)


# covers: L1, D9
def test_a_walker_moves_at_the_route_speed_along_the_polyline():
    route = Route("square", (ORIGIN, NORTH_100, FRAME.to_latlon(100, 100)), speed_mps=2.0, loop=False)
    assert route.length_m == pytest.approx(200, abs=0.05)
    assert route.duration == pytest.approx(100, abs=0.05)
    p = route.at(25)  # 50 m north
    assert close((p.lat, p.lon), FRAME.to_latlon(0, 50)) and p.speed == 2.0 and p.heading == pytest.approx(0, abs=1e-6)
    p = route.at(75)  # 50 m along the east leg
    assert close((p.lat, p.lon), FRAME.to_latlon(50, 100)) and p.heading == pytest.approx(90, abs=0.01)
    assert p.leg == 1


# covers: L1
def test_without_loop_the_walker_stays_at_the_last_waypoint():
    route = Route("line", (ORIGIN, NORTH_100), speed_mps=1.0, loop=False)
    for t in (100.1, 500, 10_000):
        p = route.at(t)
        assert close((p.lat, p.lon), NORTH_100) and p.speed == 0.0
    assert close((route.at(-5).lat, route.at(-5).lon), ORIGIN)


# covers: L1
def test_a_loop_comes_back_to_the_start_and_repeats():
    route = Route("out-and-back", (ORIGIN, NORTH_100), speed_mps=1.0, loop=True)
    assert route.duration == pytest.approx(200, abs=0.05)
    assert close((route.at(100).lat, route.at(100).lon), NORTH_100)
    assert close((route.at(150).lat, route.at(150).lon), FRAME.to_latlon(0, 50))
    assert route.at(150).heading == pytest.approx(180, abs=1e-6)
    for lap in range(1, 4):
        a, b = route.at(30), route.at(30 + lap * route.duration)
        assert close((a.lat, a.lon), (b.lat, b.lon), 0.01)


# covers: L1
def test_pauses_stop_the_walker_at_their_waypoint():
    route = Route("guard post", (ORIGIN, NORTH_100), speed_mps=1.0, loop=True, pauses={0: 10, 1: 20})
    assert route.duration == pytest.approx(10 + 100 + 20 + 100, abs=0.05)
    for t in (0, 5, 9.9):
        p = route.at(t)
        assert close((p.lat, p.lon), ORIGIN) and p.speed == 0
    p = route.at(60)  # 50 m along after the 10 s stop
    assert close((p.lat, p.lon), FRAME.to_latlon(0, 50))
    for t in (110.5, 120, 129.9):
        p = route.at(t)
        assert close((p.lat, p.lon), NORTH_100) and p.speed == 0
    # the next lap starts with the stop at waypoint 0 again
    assert route.at(route.duration + 5).speed == 0
    assert close((route.at(route.duration + 5).lat, route.at(route.duration + 5).lon), ORIGIN)


# covers: L1
def test_one_waypoint_is_a_camera_user_standing_still():
    route = Route("post", (ORIGIN,))
    assert route.length_m == 0 and route.duration == 0
    p = route.at(1234.5)
    assert (p.lat, p.lon, p.speed) == (ORIGIN[0], ORIGIN[1], 0.0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"waypoints": ()}, "at least one waypoint"),
        ({"waypoints": ((91.0, 0.0),)}, "not a latitude/longitude"),
        ({"waypoints": ((0.0, 181.0),)}, "not a latitude/longitude"),
        ({"waypoints": (ORIGIN,), "speed_mps": 0}, "speed_mps"),
        ({"waypoints": (ORIGIN,), "speed_mps": math.inf}, "speed_mps"),
        ({"waypoints": (ORIGIN,), "pauses": {3: 5.0}}, "pause at waypoint 3"),
        ({"waypoints": (ORIGIN,), "pauses": {0: -1.0}}, "must be ≥ 0"),
    ],
)
# covers: L1
def test_bad_routes_are_refused_with_what_is_wrong(kwargs, message):
    with pytest.raises(RouteError, match=message):
        Route("bad", **kwargs)


# covers: D9
def test_the_receiver_reports_the_route_position_with_its_accuracy():
    route = Route("line", (ORIGIN, NORTH_100), speed_mps=1.0, loop=False)
    gps = GpsReceiver(route, started_at=1000.0, accuracy=3.5)
    r = gps.read(1040.0)
    assert r.fix and r.accuracy == 3.5 and r.t == 1040.0 and r.last_fix_t == 1040.0
    assert close((r.lat, r.lon), FRAME.to_latlon(0, 40))
    record = r.as_record()
    assert set(record) == {"lat", "lon", "accuracy", "t", "fix"} and record["fix"] is True


# covers: D9
def test_a_lost_fix_keeps_the_last_position_and_its_time_until_regained():
    route = Route("line", (ORIGIN, NORTH_100), speed_mps=1.0, loop=False)
    gps = GpsReceiver(route, started_at=0.0)
    gps.handle_event(FixLost(30.0))
    for now in (30.0, 45.0, 80.0):
        r = gps.read(now)
        assert not r.fix and r.accuracy is None and r.t == now and r.last_fix_t == 30.0
        assert close((r.lat, r.lon), FRAME.to_latlon(0, 30))
    assert gps.read(80.0).as_record()["last_fix_t"] == 30.0
    gps.handle_event(FixLost(50.0))  # already lost: the last fix stays the one at 30 s
    assert gps.read(60.0).last_fix_t == 30.0
    gps.handle_event(FixRegained(90.0))
    r = gps.read(90.0)
    assert r.fix and close((r.lat, r.lon), FRAME.to_latlon(0, 90))


# covers: D9
def test_no_position_before_the_first_fix():
    route = Route("line", (ORIGIN, NORTH_100), speed_mps=1.0)
    gps = GpsReceiver(route, started_at=0.0, fix=False)
    assert gps.read(10.0) is None
    gps.handle_event(FixLost(12.0))
    assert gps.read(12.0) is None
    gps.handle_event(FixRegained(20.0))
    assert gps.read(20.0).fix


# covers: S11
@pytest.mark.parametrize(
    "model, has_gps", [("W100", False), ("W101", True), ("W102", True), ("W110", False), ("W120", True)]
)
def test_only_models_with_gps_report_positions(model, has_gps):
    gps = GpsReceiver(Route("post", (ORIGIN,)), started_at=0.0, model=model)
    assert gps.has_gps is has_gps
    assert (gps.read(5.0) is not None) is has_gps


# covers: L1
def test_an_offset_spreads_walkers_along_one_route():
    route = Route("line", (ORIGIN, NORTH_100), speed_mps=1.0, loop=True)
    a = GpsReceiver(route, started_at=0.0)
    b = GpsReceiver(route, started_at=0.0, offset=25.0)
    pa, pb = a.read(10.0), b.read(10.0)
    assert close((pa.lat, pa.lon), FRAME.to_latlon(0, 10)) and close((pb.lat, pb.lon), FRAME.to_latlon(0, 35))


# covers: L1
def test_route_from_a_scenario_table():
    route = Route.from_mapping(
        {
            "name": "patrol-1",
            "waypoints": [list(ORIGIN), list(NORTH_100)],
            "speed_mps": 2.0,
            "loop": False,
            "pauses": [{"at": 1, "seconds": 4.0}],
        }
    )
    assert route.pauses == {1: 4.0} and route.duration == pytest.approx(54, abs=0.05)


# ---------------------------------------------------------------- routes in scenario files


def _scenario(extra: dict) -> dict:
    base = {"name": "t", "routes": [{"name": "r1", "waypoints": [[55.6, 13.0], [55.601, 13.0]]}]}
    base.update(extra)
    return base


# covers: L1
def test_the_demo_scenario_walks_its_camera_users_around_its_site():
    from bwlab.scenario import load_scenario

    scenario, _ = load_scenario(None)
    frame = SiteFrame(tuple(scenario.site.origin))
    assert scenario.site.streets and scenario.site.buildings
    for system in scenario.systems:
        for cam in system.cameras:
            spec = scenario.route(cam.route)
            assert spec is not None, cam.serial
            route = Route.from_mapping(
                {
                    "name": spec.name,
                    "waypoints": spec.waypoints,
                    "speed_mps": spec.speed_mps,
                    "loop": spec.loop,
                    "pauses": [vars(p) for p in spec.pauses],
                }
            )
            for t in range(0, 600, 37):  # every route stays on the site (within 300 m of its origin)
                p = route.at(t)
                assert math.hypot(*frame.to_xy(p.lat, p.lon)) < 300
    gps_steps = [s for s in scenario.timeline if s.action == "gps"]
    assert [s.fix for s in gps_steps] == [False, True]


@pytest.mark.parametrize(
    "data, message",
    [
        (_scenario({"routes": [{"name": "r1", "waypoints": [[95.0, 13.0]]}]}), "routes[0]: waypoints[0]"),
        (_scenario({"routes": [{"name": "r1", "waypoints": []}]}), "at least one"),
        (
            _scenario({"routes": [{"name": "r1", "waypoints": [[55.6, 13.0]], "pauses": [{"at": 2, "seconds": 1}]}]}),
            "pauses[0].at",
        ),
        (
            _scenario(
                {"routes": [{"name": "r1", "waypoints": [[55.6, 13.0]]}, {"name": "r1", "waypoints": [[55.6, 13.0]]}]}
            ),
            "routes[1].name",
        ),
        (_scenario({"site": {"origin": [55.6]}}), "site: origin"),
        (_scenario({"site": {"origin": [55.6, 13.0], "streets": [{"points": [[55.6, 13.0]]}]}}), "site.streets[0]"),
        (_scenario({"timeline": [{"at": 1, "action": "gps", "fix": False}]}), "timeline[0].camera"),
    ],
)
# covers: L1
def test_bad_routes_and_site_plans_in_a_scenario_name_the_key(data, message):
    from bwlab.scenario import ScenarioError, parse_scenario

    with pytest.raises(ScenarioError) as info:
        parse_scenario(data, "bad.toml")
    assert message in str(info.value) and str(info.value).startswith("bad.toml: ")
