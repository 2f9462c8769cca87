"""Positions end to end: GPS → sealed kind-3 chunks → location tracks or streams → the map's
live feed, opened only with the operator's key; no plaintext coordinate on the cloud's side;
24-hour retention (S11, S17, D9, D8, L1, L4)."""

from __future__ import annotations

import json
import struct

from bwlab.clock import monotonic
from bwlab.wire import chunk as wire_chunk
from bwlab.wire import envelope
from bwlab.wire import positions as wire_positions

CHLOE = "B8A44F000103"  # W102, Location "Always": reports whenever out of the dock
ANNA = "B8A44F000101"  # W100: no GPS
BEN = "B8A44F000102"  # W101, Location "While recording or streaming"; live stream on record


class MapFeed:
    """The positions feed as the browser reads it: containers' keys unwrapped, positions opened."""

    def __init__(self, session, org_id: str, key):
        self.session, self.org_id, self.key = session, org_id, key
        self.containers: dict[str, dict] = {}
        self.keys: dict[str, bytes] = {}
        self.positions: list[dict] = []  # {serial, container, kind, seq, record}
        self.closed: list[dict] = []
        self.live = False
        self.ws = None

    async def __aenter__(self):
        self.ws = await self.session.http.ws_connect(
            f"{self.session.base_url}/api/cloud/orgs/{self.org_id}/positions",
            ssl=self.session.ssl,
            headers=self.session.headers(),
        )
        return self

    async def __aexit__(self, *exc):
        await self.ws.close()

    async def until(self, predicate, what: str, timeout: float = 15.0):
        deadline = monotonic() + timeout
        while not (result := predicate()):
            left = deadline - monotonic()
            assert left > 0, f"timed out waiting for {what}"
            try:
                msg = await self.ws.receive(timeout=left)
            except TimeoutError:
                continue
            self._handle(msg)
        return result

    def _handle(self, msg) -> None:
        if msg.type.name == "TEXT":
            data = msg.json()
            if data["type"] == "container":
                self.containers[data["id"]] = data
                self.keys[data["id"]] = envelope.unwrap_content_key(
                    self.key.private_key, data["id"], data["wrapped_key"]
                )
            elif data["type"] == "closed":
                self.closed.append(data)
            elif data["type"] == "live_edge":
                self.live = True
            return
        assert msg.type.name == "BINARY", msg
        c = wire_chunk.decode(msg.data)
        assert c.kind == wire_chunk.KIND_POSITION
        plain = envelope.open_chunk(self.keys[c.stream_id], c.stream_id, c.kind, c.seq, c.payload)
        info = self.containers[c.stream_id]
        self.positions.append(
            {
                "serial": info["serial"],
                "container": c.stream_id,
                "kind": info["kind"],
                "seq": c.seq,
                "record": wire_positions.decode_record(plain),
                "user_name": info["user_name"],
            }
        )

    def of(self, serial: str) -> list[dict]:
        return [p for p in self.positions if p["serial"] == serial]


def coordinate_needles(records: list[dict]) -> dict[bytes, str]:
    """Every coordinate as text (the forms a careless server might log or store) and as IEEE doubles."""
    needles: dict[bytes, str] = {}
    for r in records:
        for name in ("lat", "lon"):
            v = r[name]
            for text in {repr(v), f"{v:.7f}", f"{v:.6f}"}:
                needles[text.encode()] = f"{name} as text"
            needles[struct.pack("<d", v)] = f"{name} as a little-endian double"
            needles[struct.pack(">d", v)] = f"{name} as a big-endian double"
    return needles


def cloud_files(data_dir) -> list:
    files = [p for p in data_dir.glob("cloud.sqlite3*") if p.is_file()]
    return files + [p for p in (data_dir / "evidence").rglob("*") if p.is_file()]


async def gps(lab, serial: str, fix: bool) -> None:
    await lab.post(f"/api/lab/cameras/{serial}/actions", {"action": "gps", "fix": fix})


# covers: S11, S17, D9, L1
async def test_positions_are_sealed_end_to_end_in_tracks_and_streams(
    appliance, demo_lab, demo_fleet, demo_viewer, lab, poll, camera_online
):
    fleet = await demo_fleet({CHLOE, ANNA, BEN})
    async with MapFeed(demo_viewer.session, demo_viewer.org_id, demo_viewer.key) as feed:
        await feed.until(lambda: feed.live, "the live edge")
        for serial in (CHLOE, ANNA, BEN):
            await fleet.undock(serial)
        await poll(lambda: camera_online(CHLOE), "Chloe's camera on the device hub")

        # S11 "Always": out of the dock, Chloe's positions flow through a location track.
        await feed.until(lambda: len(feed.of(CHLOE)) >= 3, "three positions of Chloe")
        first = feed.of(CHLOE)
        assert {p["kind"] for p in first} == {"track"} and all(p["record"]["fix"] for p in first)
        assert all(p["user_name"] == "Chloe Dubois" for p in first)
        assert [p["seq"] for p in first] == list(range(len(first)))
        for p in first:  # patrol-1 goes round Warehouse 1, near the site origin
            r = p["record"]
            assert abs(r["lat"] - 55.605) < 0.002 and abs(r["lon"] - 12.998) < 0.004 and r["accuracy"] == 4.0

        # D9: losing the fix seals a "fix": false record with the last fix's place and time.
        await gps(lab, CHLOE, False)
        lost = await feed.until(
            lambda: next((p for p in feed.of(CHLOE) if not p["record"]["fix"]), None), "the lost-GPS record"
        )
        last_good = max(p["record"]["t"] for p in feed.of(CHLOE) if p["record"]["fix"])
        assert lost["record"]["accuracy"] is None and lost["record"]["last_fix_t"] >= last_good
        await gps(lab, CHLOE, True)
        await feed.until(lambda: feed.of(CHLOE)[-1]["record"]["fix"], "the fix again")

        # S11 "While recording or streaming": Ben reports once he records; with a live stream
        # the positions go into the stream (stored with it).
        assert feed.of(BEN) == []
        await fleet.cameras[BEN].press("record")
        await feed.until(lambda: any(p["kind"] == "stream" for p in feed.of(BEN)), "Ben's positions in his stream")
        stream_id = next(p["container"] for p in feed.of(BEN) if p["kind"] == "stream")
        await fleet.cameras[BEN].press("record", "long")
        await feed.until(lambda: any(c["id"] == stream_id for c in feed.closed), "Ben's stream to close on the map")

        # Docked: Chloe's track closes.
        await fleet.dock(CHLOE, "Dock A", 3)
        track_id = first[0]["container"]
        await feed.until(lambda: any(c["serial"] == CHLOE for c in feed.closed), "Chloe's track to close")

    # D9: a camera without GPS never shows.
    assert feed.of(ANNA) == []
    # Ben's stream recording holds his sealed positions (D8: stored with the stream).
    report = await demo_viewer.watch(stream_id, recording=True)
    assert report.ended and report.chunks > 0
    tracks = (await demo_viewer.session.get(f"/api/cloud/orgs/{demo_viewer.org_id}/location-tracks"))["tracks"]
    chloe_tracks = [t for t in tracks if t["serial"] == CHLOE]
    assert track_id in {t["id"] for t in chloe_tracks} and all(not t["live"] for t in chloe_tracks)
    assert "lat" not in str(tracks) and sum(t["positions"] for t in chloe_tracks) >= len(first)

    # S4, S17: no coordinate in clear anywhere on the cloud's side, as text or as a double (the
    # feed sends a position only once it is stored).
    records = [p["record"] for p in feed.positions]
    needles = coordinate_needles(records)
    # The site plan's streets and buildings are public lab metadata in clear (the map's basemap):
    # a camera standing on one of its points is not a leak of that plan.
    public = json.dumps(await lab.get("/api/lab/site")).encode()
    needles = {n: what for n, what in needles.items() if n not in public}
    assert len(records) >= 5 and len(needles) > 20
    found = []
    for path in cloud_files(appliance.data_dir):
        data = path.read_bytes()
        found += [(path.name, what, needle) for needle, what in needles.items() if needle in data]
    assert found == [], f"plaintext coordinates on the cloud's side: {found[:10]}"
    # …and the search does find a coordinate where there is one.
    planted = b"xx" + struct.pack("<d", records[0]["lat"]) + b"yy"
    assert any(n in planted for n in needles)
    # The cameras' reported states keep no position either (the radio's metres would give the
    # place away with the public site origin).
    import sqlite3

    con = sqlite3.connect(appliance.data_dir / "cloud.sqlite3")
    try:
        states = [json.loads(row[0]) for row in con.execute("SELECT state FROM device_state")]
    finally:
        con.close()
    assert states and not [s for s in states if _has_location_key(s)]


# covers: S11, D9, D8
async def test_a_late_map_gets_recent_positions_and_tracks_are_kept_24_hours(
    appliance, demo_lab, demo_fleet, demo_viewer, lab, poll, travel
):
    fleet = await demo_fleet({CHLOE})
    await fleet.undock(CHLOE)
    cam = fleet.cameras[CHLOE]
    await poll(lambda: cam.positions.sent >= 3 and cam.unacked == 0, "three positions acknowledged", timeout=15)
    async with MapFeed(demo_viewer.session, demo_viewer.org_id, demo_viewer.key) as feed:
        await feed.until(lambda: feed.live, "the live edge")
        caught_up = list(feed.positions)
        assert len(caught_up) >= 3 and {p["serial"] for p in caught_up} == {CHLOE}
        assert max(p["record"]["t"] for p in caught_up) - min(p["record"]["t"] for p in caught_up) <= 30
    await fleet.dock(CHLOE, "Dock A", 3)
    org = demo_viewer.org_id
    tracks = (await demo_viewer.session.get(f"/api/cloud/orgs/{org}/location-tracks"))["tracks"]
    assert tracks and all(t["positions"] > 0 for t in tracks)
    before = [p for p in (appliance.data_dir / "evidence").rglob("*.bwc") if "trk-" in str(p)]
    assert before
    await travel(25 * 3600)
    await poll(lambda: _no_tracks(demo_viewer, org), "the tracks to be purged after 24 hours")
    assert [p for p in (appliance.data_dir / "evidence").rglob("*.bwc") if "trk-" in str(p)] == []


async def _no_tracks(viewer, org: str) -> bool:
    return (await viewer.session.get(f"/api/cloud/orgs/{org}/location-tracks"))["tracks"] == []


# covers: D9, L4
async def test_the_site_plan_reaches_the_map_with_access_point_coverage(appliance, demo_lab, demo_viewer, lab):
    from bwlab.apply import site_plan
    from bwlab.client import ApiError
    from bwlab.scenario import load_scenario

    scenario, _ = load_scenario(None)
    plan = site_plan(scenario)
    plan["access_points"] = [
        {"name": "AP-Gate", "ssid": "LabNet", "position": [-20, 15], "band": "2.4", "channel": 6},
        {"name": "AP-Yard", "ssid": "LabNet", "position": [150, 60], "band": "5", "channel": 36},
    ]
    await lab.put("/api/lab/site", plan)
    got = await demo_viewer.session.get(f"/api/cloud/orgs/{demo_viewer.org_id}/map")
    assert got["site"]["name"] == "Harbour Logistics Park" and len(got["site"]["buildings"]) == 5
    assert got["tile_url"] is None and 20 <= got["trail_seconds"] <= 30
    by_name = {ap["name"]: ap for ap in got["access_points"]}
    assert (
        by_name["AP-Gate"]["coverage"]["range_m"] > by_name["AP-Yard"]["coverage"]["range_m"] > 0
    )  # 2.4 reaches further
    try:
        await demo_viewer.session.put("/api/lab/site", plan)
    except ApiError as exc:
        assert exc.status in (401, 403)
    else:
        raise AssertionError("an operator account changed the lab's site plan")
    bad = dict(plan, access_points=[{"name": "X", "ssid": "s", "position": [0, 0], "band": "2.4", "channel": 14}])
    try:
        await lab.put("/api/lab/site", bad)
    except ApiError as exc:
        assert exc.status == 400 and "channel" in str(exc)
    else:
        raise AssertionError("channel 14 accepted")


def _has_location_key(value) -> bool:
    if isinstance(value, dict):
        return any(
            k in {"position", "lat", "lon", "latitude", "longitude"} or _has_location_key(v) for k, v in value.items()
        )
    if isinstance(value, list):
        return any(_has_location_key(v) for v in value)
    return False
