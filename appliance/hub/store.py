"""The device hub's record of its cameras (``device_state``, ``device_events`` in cloud.sqlite3):
the only SQL on them. The hub writes them; the cloud's camera-user list and the lab's status and
diagnosis read them through these functions. (The streams' and tracks' tables are kept by
``streams.StreamHub`` and ``positions.PositionHub``.)"""

from __future__ import annotations

import json
from typing import Any

from aiosqlite import Row

from ..db import Database

DEVICE_EVENTS_KEEP = 7 * 24 * 3600.0  # the hub's event log (refusals, connections) is kept a week of lab time


async def record_event(db: Database, serial: str | None, at: float, kind: str, detail: str,
                       system_id: str | None = None) -> None:
    await db.execute("INSERT INTO device_events (serial, cloud_system_id, at, kind, detail) VALUES (?, ?, ?, ?, ?)",
                     (serial, system_id, at, kind, detail))


async def purge_device_events(db: Database, now: float) -> int:
    """Retention of the hub's event log: rows older than ``DEVICE_EVENTS_KEEP`` of lab time go."""
    return await db.execute("DELETE FROM device_events WHERE at < ?", (now - DEVICE_EVENTS_KEEP,))


async def record_refusal(db: Database, system_id: str, serial: str, refusal: dict[str, Any], now: float) -> None:
    """The camera (which proved who it is) was refused: kept as its ``last_refusal``."""
    await db.execute(
        "INSERT INTO device_state (cloud_system_id, serial, last_seen_at, last_refusal) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(cloud_system_id, serial) DO UPDATE SET last_seen_at = excluded.last_seen_at, "
        "last_refusal = excluded.last_refusal",
        (system_id, serial, now, json.dumps(refusal)))


async def record_online(db: Database, system_id: str, serial: str, cert_not_after: float, now: float) -> None:
    await db.execute(
        "INSERT INTO device_state (cloud_system_id, serial, online, cert_not_after, last_seen_at) VALUES (?, ?, 1, ?, ?) "
        "ON CONFLICT(cloud_system_id, serial) DO UPDATE SET online = 1, cert_not_after = excluded.cert_not_after, "
        "last_seen_at = excluded.last_seen_at, last_refusal = NULL",
        (system_id, serial, cert_not_after, now))


async def record_offline(db: Database, system_id: str, serial: str, now: float | None = None) -> None:
    """The camera's session ended (``now``: when it was last seen; None keeps that time)."""
    if now is None:
        await db.execute("UPDATE device_state SET online = 0 WHERE cloud_system_id = ? AND serial = ?",
                         (system_id, serial))
    else:
        await db.execute("UPDATE device_state SET online = 0, last_seen_at = ? WHERE cloud_system_id = ? AND serial = ?",
                         (now, system_id, serial))


async def record_state(db: Database, system_id: str, serial: str, state: dict[str, Any], now: float) -> None:
    await db.execute("UPDATE device_state SET state = ?, last_seen_at = ? WHERE cloud_system_id = ? AND serial = ?",
                     (json.dumps(state), now, system_id, serial))


async def record_health(db: Database, system_id: str, serial: str, health: str, now: float) -> None:
    """A camera's health report (issue 16 item 5, JSON of ``bwlab.wire.health.Health``) and its last contact;
    in the group commit of the chunks (every camera reports every few seconds)."""
    await db.execute_grouped(
        "UPDATE device_state SET health = ?, last_seen_at = ? WHERE cloud_system_id = ? AND serial = ?",
        (health, now, system_id, serial))


async def device_states(db: Database) -> dict[tuple[str, str], Row]:
    """(cloud system, serial) → online, state, last_refusal, health, last_seen_at of every camera the hub has seen."""
    rows = await db.fetchall(
        "SELECT cloud_system_id, serial, online, state, last_refusal, health, last_seen_at FROM device_state")
    return {(r["cloud_system_id"], r["serial"]): r for r in rows}


async def org_device_states(db: Database, org_id: str) -> list[Row]:
    """cloud_system_id, serial, state, health and last_seen_at of every camera of the organization's systems
    the hub has seen."""
    return await db.fetchall(
        "SELECT d.cloud_system_id, d.serial, d.state, d.health, d.last_seen_at FROM device_state d "
        "JOIN cloud_systems s ON s.id = d.cloud_system_id WHERE s.org_id = ?", (org_id,))


async def device_record(db: Database, cloud_system_id: str | None, serial: str) -> Row | None:
    """online and last_refusal of one camera (a camera is (system, serial), issue 10)."""
    return await db.fetchone("SELECT online, last_refusal FROM device_state WHERE cloud_system_id = ? AND serial = ?",
                             (cloud_system_id, serial))


async def recent_events(db: Database, serial: str, cloud_system_id: str | None, limit: int = 5) -> list[Row]:
    """The hub's last events about the camera (not the camera's own log lines), newest first."""
    return await db.fetchall(
        "SELECT at, kind, detail FROM device_events WHERE serial = ? AND (cloud_system_id IS NULL OR cloud_system_id = ?) "
        "AND kind NOT LIKE 'camera:%' ORDER BY id DESC LIMIT ?", (serial, cloud_system_id, limit))


# ---- help requests (issue 16; appliance/hub/help.py): metadata in clear, the position only sealed


async def help_owner(db: Database, help_id: str) -> tuple[str, str] | None:
    """(system, serial) of the camera that sent help request ``help_id``, or None."""
    row = await db.fetchone("SELECT cloud_system_id, serial FROM help_requests WHERE id = ?", (help_id,))
    return None if row is None else (row["cloud_system_id"], row["serial"])


async def insert_help(db: Database, values: dict[str, Any]) -> None:
    columns = ("id", "org_id", "cloud_system_id", "serial", "user_id", "user_name", "region", "gesture",
               "requested_at", "wrapped_key", "position", "created_lab_at")
    await db.execute(f"INSERT INTO help_requests ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                     tuple(values[c] for c in columns))


async def acknowledge_help(db: Database, help_id: str, operator: str, now: float) -> None:
    await db.execute("UPDATE help_requests SET acknowledged_by = ?, acknowledged_at = ? WHERE id = ?",
                     (operator, now, help_id))


async def help_row(db: Database, help_id: str) -> Row | None:
    return await db.fetchone("SELECT * FROM help_requests WHERE id = ?", (help_id,))


async def org_help_rows(db: Database, org_id: str, *, open_only: bool, limit: int = 200) -> list[Row]:
    """An organization's help requests, newest first (``open_only``: not acknowledged yet)."""
    sql = "SELECT * FROM help_requests WHERE org_id = ?" + (" AND acknowledged_at IS NULL" if open_only else "")
    return await db.fetchall(sql + " ORDER BY created_lab_at DESC LIMIT ?", (org_id, limit))


async def help_rows_since(db: Database, org_id: str, since: float) -> list[Row]:
    return await db.fetchall("SELECT * FROM help_requests WHERE org_id = ? AND created_lab_at >= ? "
                             "ORDER BY created_lab_at LIMIT 10000", (org_id, since))


async def purge_help(db: Database, before: float) -> int:
    return await db.execute("DELETE FROM help_requests WHERE created_lab_at < ?", (before,))
