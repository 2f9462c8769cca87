"""The parts' stores over a real SQLite database: what the lab's status and diagnosis read of the
device hub's and the controllers' tables, through their functions (issue 11: no part runs SQL
on another part's tables)."""

# covers: L3, D1, S3

from __future__ import annotations

import json

from appliance.controller import store as controller_store
from appliance.controller.connection import Connection
from appliance.db import Database
from appliance.hub import store as hub_store


async def test_the_hub_record_of_a_camera_is_kept_per_system_and_serial(tmp_path):
    db = await Database.open(tmp_path / "cloud.sqlite3")
    try:
        await hub_store.record_online(db, "sys_a", "B1", cert_not_after=500.0, now=10.0)
        await hub_store.record_refusal(db, "sys_b", "B1", {"code": "certificate_expired", "at": 11.0}, now=11.0)
        await hub_store.record_state(db, "sys_a", "B1", {"streaming": "live"}, now=12.0)
        await hub_store.record_event(db, "B1", 12.0, "connected", "certificate accepted", "sys_a")
        await hub_store.record_event(db, "B1", 13.0, "camera:log", "a camera's own line", "sys_a")
        states = await hub_store.device_states(db)
        assert states[("sys_a", "B1")]["online"] == 1 and json.loads(states[("sys_a", "B1")]["state"]) == {
            "streaming": "live"
        }
        assert (await hub_store.device_record(db, "sys_b", "B1"))["online"] == 0
        assert [e["kind"] for e in await hub_store.recent_events(db, "B1", "sys_a")] == ["connected"]
        await hub_store.record_offline(db, "sys_a", "B1", now=20.0)
        assert (await hub_store.device_record(db, "sys_a", "B1"))["online"] == 0
        assert await hub_store.purge_device_events(db, now=13.0 + hub_store.DEVICE_EVENTS_KEEP + 1) == 2
    finally:
        await db.close()


async def test_the_controllers_connection_is_stored_typed(tmp_path):
    db = await Database.open(tmp_path / "controller.sqlite3", "appliance.migrations.controller")
    try:
        await controller_store.create_system(db, "ctl_1", "HQ", "hash", {}, "key", "cert", now=1.0)
        assert await controller_store.connection_of(db, "ctl_1") == Connection()
        connected = Connection(state="storage_chosen", org_id="org_1", region="eu").finish(
            "sys_1", "tok", "wss://h", now=2.0
        )
        await controller_store.save_connection(db, "ctl_1", connected)
        [(row, parsed)] = await controller_store.systems_with_connection(db)
        assert row["name"] == "HQ" and parsed == connected and parsed.cloud_system_id == "sys_1"
        assert await controller_store.connection_of(db, "ctl_nope") is None
    finally:
        await db.close()
