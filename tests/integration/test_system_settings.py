"""The Manager's Settings screens have real effect (issue 12, "Fix screens the diagnosis names"):

* Settings > Network: the static IP address is the controller's source address and needs a
  gateway to leave its network; its DNS servers resolve the cloud's host name; its proxy carries
  the connection — a wrong field makes T2 row 1 ("cannot enable cloud extensions"), the right one
  fixes it.
* Settings > System > Date and time: the time zone is the controller's local time.
* Settings > Camera > Mobile networks (Show advanced: APN) reaches the modem of an LTE camera at
  its next docking, so T2 row 4c's fix works from the screen.
"""

# covers: S1, S3, T2, T4, L3

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import dns.message
import dns.rcode
import dns.rrset
import pytest

from bwlab.apply import apply_scenario
from bwlab.client import ApiError
from bwlab.scenario import load_scenario
from firmware_stub.fleet import Fleet
from tests.conftest import free_port, start_appliance
from tests.integration.test_camera_user_sync import ConnectProxy

SCENARIOS = Path(__file__).parent.parent / "scenarios"


class NameServer(asyncio.DatagramProtocol):
    """A lab DNS server on 127.0.0.1: answers ``names`` with 127.0.0.1, NXDOMAIN otherwise."""

    def __init__(self, names: set[str]):
        self.names, self.asked = names, []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        query = dns.message.from_wire(data)
        question = query.question[0]
        name = question.name.to_text().rstrip(".")
        self.asked.append(name)
        response = dns.message.make_response(query)
        if name in self.names:
            response.answer.append(dns.rrset.from_text(question.name, 60, "IN", "A", "127.0.0.1"))
        else:
            response.set_rcode(dns.rcode.NXDOMAIN)
        self.transport.sendto(response.to_wire(), addr)


@pytest.fixture
async def named_appliance(tmp_path):
    """An appliance whose public URL names it (https://localhost:PORT), so the controller has a
    host name to resolve on its way to the cloud."""
    handle, stop, task = await start_appliance(tmp_path / "data", host_name="localhost")
    yield handle
    stop.set()
    await asyncio.wait_for(task, 15)


async def _manager(appliance, name: str):
    async with appliance.lab() as lab:
        system = await lab.post("/controller/systems", {"name": name, "admin_password": "manager-pass"})
    session = appliance.session()
    await session.sign_in_manager(system["id"], "manager-pass")
    return f"/controller/{system['id']}/api", session


async def test_static_address_gateway_and_proxy_decide_the_way_to_the_cloud(named_appliance):
    api, mgr = await _manager(named_appliance, "Static")
    try:
        await mgr.post(api + "/addon/install", {"hosting": "axis-hosted"})
        # An address this box does not have: the controller cannot even open a socket from it.
        saved = await mgr.put(api + "/settings/network", {"ipv4": "192.0.2.10/24", "gateway": "192.0.2.1"})
        assert saved["network"]["ipv4"] == "192.0.2.10/24" and saved["cloud"]["reachable"] is False
        with pytest.raises(ApiError) as refused:
            await mgr.put(api + "/addon/cloud-extensions", {"enabled": True})
        assert refused.value.code == "cloud_unreachable" and "Settings > Network" in refused.value.message
        # Its own address, but a /30 without a gateway: the cloud is outside its network.
        saved = await mgr.put(api + "/settings/network", {"ipv4": "127.0.0.6/30"})
        assert saved["cloud"]["reachable"] is False and "no gateway" in saved["cloud"]["error"]
        # The same with a gateway, through a proxy: the proxy sees the controller come from 127.0.0.6.
        proxy = await ConnectProxy(free_port()).start()
        try:
            saved = await mgr.put(
                api + "/settings/network",
                {"ipv4": "127.0.0.6/30", "gateway": "127.0.0.5", "proxy": f"http://127.0.0.1:{proxy.port}"},
            )
            assert saved["cloud"] == {"reachable": True, "error": None}
            assert proxy.tunnels and proxy.peers == ["127.0.0.6"] * len(proxy.peers)
            connection = await mgr.put(api + "/addon/cloud-extensions", {"enabled": True})
            assert connection["state"] == "extensions_enabled"
        finally:
            await proxy.close()
        assert (await mgr.get(api))["settings"]["network"]["gateway"] == "127.0.0.5"
    finally:
        await mgr.close()


async def test_dns_servers_resolve_the_cloud_host_name(named_appliance):
    api, mgr = await _manager(named_appliance, "Named")
    loop = asyncio.get_running_loop()
    transport, server = await loop.create_datagram_endpoint(
        lambda: NameServer({"localhost"}), local_addr=("127.0.0.1", 0)
    )
    port = transport.get_extra_info("sockname")[1]
    try:
        await mgr.post(api + "/addon/install", {"hosting": "axis-hosted"})
        silent = free_port()  # nothing answers there
        saved = await mgr.put(api + "/settings/network", {"dns": [f"127.0.0.1:{silent}"]})
        assert saved["cloud"]["reachable"] is False and "DNS" in saved["cloud"]["error"], saved["cloud"]
        with pytest.raises(ApiError) as refused:
            await mgr.put(api + "/addon/cloud-extensions", {"enabled": True})
        assert refused.value.code == "cloud_unreachable"

        saved = await mgr.put(api + "/settings/network", {"dns": [f"127.0.0.1:{port}"]})
        assert saved["cloud"]["reachable"] is True and "localhost" in server.asked
        assert (await mgr.put(api + "/addon/cloud-extensions", {"enabled": True}))["state"] == "extensions_enabled"
    finally:
        transport.close()
        await mgr.close()


async def test_date_and_time_sets_the_zone_of_the_controller_clock(appliance, new_system):
    system_id, mgr = await new_system("Zoned")
    api = f"/controller/{system_id}/api"
    saved = await mgr.put(api + "/settings/date-time", {"time_zone": "Asia/Kolkata", "ntp_server": None})
    assert saved["time_zone"] == "Asia/Kolkata" and saved["local_time"].endswith("+05:30")
    overview = await mgr.get(api)
    assert overview["settings"]["time_zone"] == "Asia/Kolkata" and overview["local_time"].endswith("+05:30")
    # a refusal names the field and saves nothing
    with pytest.raises(ApiError) as refused:
        await mgr.put(api + "/settings/date-time", {"time_zone": "Asia/Atlantis"})
    assert refused.value.status == 400 and refused.value.message.startswith("time_zone:")
    assert (await mgr.get(api))["settings"]["time_zone"] == "Asia/Kolkata"


async def _poll(check, what: str, seconds: float = 20.0):
    for _ in range(int(seconds / 0.1)):
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


async def test_t2_4c_apn_from_settings_camera_mobile_networks_reaches_the_modem(tmp_path):
    scenario, _ = load_scenario(SCENARIOS / "t2-4c-apn-required.toml")
    serial = scenario.systems[0].cameras[0].serial
    appliance, stop, task = await start_appliance(tmp_path / "data", ntp_port=0)
    fleet = Fleet(
        url=appliance.url, ca_pem=appliance.ca_pem, lab_token=appliance.lab_token, clock=appliance.clock, media="shared"
    )
    try:
        info = await apply_scenario(scenario, appliance.url, appliance.ca_pem, appliance.lab_token)
        system = info.systems[0]
        await fleet.start(scenario)
        async with appliance.lab() as lab, appliance.session() as mgr:
            act = f"/api/lab/cameras/{serial}/actions"

            async def mobile():
                cams = (await lab.get("/api/lab/cameras"))["cameras"]
                return next(c["state"] for c in cams if c["serial"] == serial)["radio"]["mobile"]

            async def codes():
                return [f["code"] for f in (await lab.get(f"/api/lab/cameras/{serial}/diagnosis"))["findings"]]

            await lab.post(act, {"action": "undock"})
            await _poll(lambda: _has(codes, "T2-4c"), "the APN diagnosis")
            assert (await mobile())["problem"] == "apn_missing"

            await mgr.sign_in_manager(system.id, scenario.systems[0].admin_password)
            api = f"/controller/{system.id}/api"
            saved = await mgr.put(api + "/settings/mobile-networks", {"apn": "internet.lab"})
            assert saved["mobile_networks"] == {"apn": "internet.lab"}
            await lab.post(act, {"action": "dock", "dock": "Dock", "bay": 1})
            await lab.post(act, {"action": "undock"})

            async def fixed():
                m = await mobile()
                return m["problem"] is None and m["apn"] == "internet.lab" and "T2-4c" not in await codes()

            await _poll(fixed, "the camera's modem to use the system's APN")
    finally:
        await fleet.close()
        stop.set()
        await asyncio.wait_for(task, 15)


async def _has(codes, code: str) -> bool:
    return code in await codes()


async def test_a_database_with_apns_per_camera_keeps_the_first_as_the_systems(tmp_path):
    """The migration that makes the APN the system's: a system whose cameras had one keeps the
    first camera's (Settings > Camera > Mobile networks), its other settings stay, and the
    per-camera column goes; a system without any keeps no APN."""
    from appliance.db import Database, migrations

    path = tmp_path / "controller.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE schema_migrations (number INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        for number, name, sql in migrations("appliance.migrations.controller")[:2]:
            conn.executescript(sql)
            conn.execute("INSERT INTO schema_migrations VALUES (?, ?)", (number, name))
        for sid, settings in (("ctl_a", '{"time_zone": "Europe/Paris", "ntp_server": null}'), ("ctl_b", "{}")):
            conn.execute(
                "INSERT INTO ctl_systems (id, name, admin_password_hash, settings, device_ca_key_pem, "
                "device_ca_cert_pem, created_at) VALUES (?, ?, 'x', ?, 'k', 'c', 0)",
                (sid, sid, settings),
            )
        conn.executemany(
            "INSERT INTO ctl_cameras (serial, system_id, model, apn, created_at) VALUES (?, ?, 'W120', ?, ?)",
            [("CAM2", "ctl_a", "later.apn", 2.0), ("CAM1", "ctl_a", "first.apn", 1.0), ("CAM3", "ctl_b", None, 1.0)],
        )
    db = await Database.open(path, "appliance.migrations.controller")
    try:
        rows = {r["id"]: json.loads(r["settings"]) for r in await db.fetchall("SELECT id, settings FROM ctl_systems")}
        assert rows["ctl_a"] == {
            "time_zone": "Europe/Paris",
            "ntp_server": None,
            "mobile_networks": {"apn": "first.apn"},
        }
        assert rows["ctl_b"] == {}
        columns = {r["name"] for r in await db.fetchall("PRAGMA table_info(ctl_cameras)")}
        assert "apn" not in columns and "sim_pin" in columns
    finally:
        await db.close()
