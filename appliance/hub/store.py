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


async def record_event(
    db: Database, serial: str | None, at: float, kind: str, detail: str, system_id: str | None = None
) -> None:
    await db.execute(
        "INSERT INTO device_events (serial, cloud_system_id, at, kind, detail) VALUES (?, ?, ?, ?, ?)",
        (serial, system_id, at, kind, detail),
    )


async def purge_device_events(db: Database, now: float) -> int:
    """Retention of the hub's event log: rows older than ``DEVICE_EVENTS_KEEP`` of lab time go."""
    return await db.execute("DELETE FROM device_events WHERE at < ?", (now - DEVICE_EVENTS_KEEP,))


async def record_refusal(db: Database, system_id: str, serial: str, refusal: dict[str, Any], now: float) -> None:
    """The camera (which proved who it is) was refused: kept as its ``last_refusal``."""
    await db.execute(
        "INSERT INTO device_state (cloud_system_id, serial, last_seen_at, last_refusal) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(cloud_system_id, serial) DO UPDATE SET last_seen_at = excluded.last_seen_at, "
        "last_refusal = excluded.last_refusal",
        (system_id, serial, now, json.dumps(refusal)),
    )


async def record_online(db: Database, system_id: str, serial: str, cert_not_after: float, now: float) -> None:
    await db.execute(
        "INSERT INTO device_state (cloud_system_id, serial, online, cert_not_after, last_seen_at) VALUES (?, ?, 1, ?, ?) "
        "ON CONFLICT(cloud_system_id, serial) DO UPDATE SET online = 1, cert_not_after = excluded.cert_not_after, "
        "last_seen_at = excluded.last_seen_at, last_refusal = NULL",
        (system_id, serial, cert_not_after, now),
    )


async def record_offline(db: Database, system_id: str, serial: str, now: float | None = None) -> None:
    """The camera's session ended (``now``: when it was last seen; None keeps that time)."""
    if now is None:
        await db.execute(
            "UPDATE device_state SET online = 0 WHERE cloud_system_id = ? AND serial = ?", (system_id, serial)
        )
    else:
        await db.execute(
            "UPDATE device_state SET online = 0, last_seen_at = ? WHERE cloud_system_id = ? AND serial = ?",
            (now, system_id, serial),
        )


async def record_state(db: Database, system_id: str, serial: str, state: dict[str, Any], now: float) -> None:
    await db.execute(
        "UPDATE device_state SET state = ?, last_seen_at = ? WHERE cloud_system_id = ? AND serial = ?",
        (json.dumps(state), now, system_id, serial),
    )


async def record_health(db: Database, system_id: str, serial: str, health: str, now: float) -> None:
    """A camera's health report (issue 16 item 5, JSON of ``bwlab.wire.health.Health``) and its last contact;
    in the group commit of the chunks (every camera reports every few seconds)."""
    await db.execute_grouped(
        "UPDATE device_state SET health = ?, last_seen_at = ? WHERE cloud_system_id = ? AND serial = ?",
        (health, now, system_id, serial),
    )


async def device_states(db: Database) -> dict[tuple[str, str], Row]:
    """(cloud system, serial) → online, state, last_refusal, health, last_seen_at of every camera the hub has seen."""
    rows = await db.fetchall(
        "SELECT cloud_system_id, serial, online, state, last_refusal, health, last_seen_at FROM device_state"
    )
    return {(r["cloud_system_id"], r["serial"]): r for r in rows}


async def systems_device_states(db: Database, cloud_system_ids: list[str]) -> list[Row]:
    """cloud_system_id, serial, state, health and last_seen_at of every camera of these systems the
    hub has seen (the cloud names an organization's systems: ``cloud.store.org_systems``)."""
    if not cloud_system_ids:
        return []
    marks = ",".join("?" * len(cloud_system_ids))
    return await db.fetchall(
        f"SELECT cloud_system_id, serial, state, health, last_seen_at FROM device_state WHERE cloud_system_id IN ({marks})",
        tuple(cloud_system_ids),
    )


async def device_record(db: Database, cloud_system_id: str | None, serial: str) -> Row | None:
    """online and last_refusal of one camera (a camera is (system, serial), issue 10)."""
    return await db.fetchone(
        "SELECT online, last_refusal FROM device_state WHERE cloud_system_id = ? AND serial = ?",
        (cloud_system_id, serial),
    )


async def recent_events(db: Database, serial: str, cloud_system_id: str | None, limit: int = 5) -> list[Row]:
    """The hub's last events about the camera (not the camera's own log lines), newest first."""
    return await db.fetchall(
        "SELECT at, kind, detail FROM device_events WHERE serial = ? AND (cloud_system_id IS NULL OR cloud_system_id = ?) "
        "AND kind NOT LIKE 'camera:%' ORDER BY id DESC LIMIT ?",
        (serial, cloud_system_id, limit),
    )


async def org_stream_ids(db: Database, org_id: str, which: str = "all") -> list[str]:
    """The organization's streams (``live``, ``recorded`` or ``all``), newest first, at most 500."""
    sql = "SELECT id FROM streams WHERE org_id = ?"
    if which == "live":
        sql += " AND ended_at IS NULL"
    elif which == "recorded":
        sql += " AND ended_at IS NOT NULL"
    return [r["id"] for r in await db.fetchall(sql + " ORDER BY started_at DESC LIMIT 500", (org_id,))]


async def stream_events_since(db: Database, org_id: str, since: float) -> list[Row]:
    """id, created_lab_at, ended_at, acknowledged_at of the organization's streams started, ended or
    acknowledged since ``since`` (the SOC outbox's catch-up at start, S12)."""
    return await db.fetchall(
        "SELECT id, created_lab_at, ended_at, acknowledged_at FROM streams WHERE org_id = ? AND "
        "(created_lab_at >= ? OR ended_at >= ? OR acknowledged_at >= ?) LIMIT 10000",
        (org_id, since, since, since),
    )


# ---- streams and their chunks (D3–D8; ``streams.StreamHub``)


async def stream(db: Database, stream_id: str) -> Row | None:
    return await db.fetchone("SELECT * FROM streams WHERE id = ?", (stream_id,))


async def add_stream(db: Database, values: tuple) -> None:
    """(id, org_id, cloud_system_id, serial, user_id, user_name, reason, request_id, region, mime,
    wrapped_key, upload_key, started_at, created_lab_at)"""
    await db.execute(
        "INSERT INTO streams (id, org_id, cloud_system_id, serial, user_id, user_name, reason, request_id, region, "
        "mime, wrapped_key, upload_key, started_at, created_lab_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        values,
    )


async def end_stream(db: Database, stream_id: str, ended_at: float, reason: str, last_seq: int | None) -> None:
    await db.execute(
        "UPDATE streams SET ended_at = ?, end_reason = ?, last_seq = ? WHERE id = ?",
        (ended_at, reason, last_seq, stream_id),
    )


async def acknowledge_stream(db: Database, stream_id: str, operator: str, now: float) -> None:
    await db.execute(
        "UPDATE streams SET acknowledged_by = ?, acknowledged_at = ? WHERE id = ?", (operator, now, stream_id)
    )


async def streams_ended_before(db: Database, cutoff: float) -> list[Row]:
    return await db.fetchall("SELECT * FROM streams WHERE ended_at IS NOT NULL AND ended_at < ?", (cutoff,))


async def delete_stream(db: Database, stream_id: str) -> None:
    await db.execute("DELETE FROM streams WHERE id = ?", (stream_id,))


async def unended_streams(db: Database) -> list[Row]:
    """id, org_id, region of every stream that has not ended (live at the last stop)."""
    return await db.fetchall("SELECT id, org_id, region FROM streams WHERE ended_at IS NULL")


async def top_seq(db: Database, stream_id: str) -> int | None:
    """The highest sequence number stored for the stream; None when none is."""
    row = await db.fetchone("SELECT MAX(seq) AS s FROM chunks WHERE stream_id = ?", (stream_id,))
    return None if row is None else row["s"]


async def chunk_digest(db: Database, stream_id: str, seq: int) -> str | None:
    row = await db.fetchone("SELECT digest FROM chunks WHERE stream_id = ? AND seq = ?", (stream_id, seq))
    return None if row is None else row["digest"]


async def add_chunk(db: Database, values: tuple) -> None:
    """(stream_id, seq, kind, capture_time, duration, keyframe, size, digest, stored_at); grouped
    into the database's next commit (a resend is ignored)."""
    await db.execute_grouped(
        "INSERT OR IGNORE INTO chunks (stream_id, seq, kind, capture_time, duration, keyframe, size, digest, stored_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        values,
    )


async def chunk_totals(db: Database, stream_id: str) -> Row:
    """``t``: the end of the last chunk's media; ``n``: how many chunks are stored."""
    row = await db.fetchone(
        "SELECT MAX(capture_time + duration) AS t, COUNT(*) AS n FROM chunks WHERE stream_id = ?", (stream_id,)
    )
    assert row is not None  # an aggregate always answers one row
    return row


async def chunk_seqs(db: Database, stream_id: str, after_seq: int, limit: int) -> list[int]:
    rows = await db.fetchall(
        "SELECT seq FROM chunks WHERE stream_id = ? AND seq > ? ORDER BY seq LIMIT ?", (stream_id, after_seq, limit)
    )
    return [r["seq"] for r in rows]


# ---- location tracks and their chunks (D9; ``positions.PositionHub``)


async def tracks(db: Database) -> list[Row]:
    """id, org_id, cloud_system_id, serial, region, upload_key, ended_at, last_seq of every track."""
    return await db.fetchall(
        "SELECT id, org_id, cloud_system_id, serial, region, upload_key, ended_at, last_seq FROM location_tracks"
    )


async def add_track(db: Database, values: tuple) -> None:
    """(id, org_id, cloud_system_id, serial, user_id, user_name, mode, region, wrapped_key,
    upload_key, started_at, created_lab_at)"""
    await db.execute(
        "INSERT INTO location_tracks (id, org_id, cloud_system_id, serial, user_id, user_name, mode, region, "
        "wrapped_key, upload_key, started_at, created_lab_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        values,
    )


async def end_track(db: Database, track_id: str, ended_at: float, reason: str, last_seq: int | None) -> None:
    await db.execute(
        "UPDATE location_tracks SET ended_at = ?, end_reason = ?, last_seq = ? WHERE id = ?",
        (ended_at, reason, last_seq, track_id),
    )


async def org_tracks(db: Database, org_id: str, *, live_only: bool = False) -> list[Row]:
    """The organization's tracks (those not ended only, with ``live_only``), newest first, at most 500."""
    sql = "SELECT * FROM location_tracks WHERE org_id = ?" + (" AND ended_at IS NULL" if live_only else "")
    return await db.fetchall(sql + " ORDER BY started_at DESC LIMIT 500", (org_id,))


async def tracks_ended_before(db: Database, cutoff: float) -> list[Row]:
    return await db.fetchall("SELECT id, org_id, region FROM location_tracks WHERE ended_at < ?", (cutoff,))


async def delete_track(db: Database, track_id: str) -> None:
    await db.execute("DELETE FROM location_tracks WHERE id = ?", (track_id,))


async def track_top_seq(db: Database, track_id: str) -> int | None:
    row = await db.fetchone("SELECT MAX(seq) AS s FROM track_chunks WHERE track_id = ?", (track_id,))
    return None if row is None else row["s"]


async def track_chunk_digest(db: Database, track_id: str, seq: int) -> str | None:
    row = await db.fetchone("SELECT digest FROM track_chunks WHERE track_id = ? AND seq = ?", (track_id, seq))
    return None if row is None else row["digest"]


async def add_track_chunk(db: Database, values: tuple) -> None:
    """(track_id, seq, capture_time, size, digest, stored_at); a resend is ignored."""
    await db.execute(
        "INSERT OR IGNORE INTO track_chunks (track_id, seq, capture_time, size, digest, stored_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        values,
    )


async def track_chunk_count(db: Database, track_id: str) -> int:
    row = await db.fetchone("SELECT COUNT(*) AS n FROM track_chunks WHERE track_id = ?", (track_id,))
    return 0 if row is None else int(row["n"])


async def track_seqs(db: Database, track_id: str) -> list[int]:
    rows = await db.fetchall("SELECT seq FROM track_chunks WHERE track_id = ? ORDER BY seq", (track_id,))
    return [r["seq"] for r in rows]


async def track_chunks_before(db: Database, cutoff: float) -> list[Row]:
    """track_id, seq of the position chunks stored before ``cutoff``."""
    return await db.fetchall("SELECT track_id, seq FROM track_chunks WHERE stored_at < ?", (cutoff,))


async def delete_track_chunks_before(db: Database, cutoff: float) -> None:
    await db.execute("DELETE FROM track_chunks WHERE stored_at < ?", (cutoff,))


async def stream_count(db: Database) -> int:
    row = await db.fetchone("SELECT COUNT(*) AS n FROM streams")
    return int(row["n"]) if row is not None else 0


# ---- help requests (issue 16; appliance/hub/help.py): metadata in clear, the position only sealed


async def help_owner(db: Database, help_id: str) -> tuple[str, str] | None:
    """(system, serial) of the camera that sent help request ``help_id``, or None."""
    row = await db.fetchone("SELECT cloud_system_id, serial FROM help_requests WHERE id = ?", (help_id,))
    return None if row is None else (row["cloud_system_id"], row["serial"])


async def insert_help(db: Database, values: dict[str, Any]) -> None:
    columns = (
        "id",
        "org_id",
        "cloud_system_id",
        "serial",
        "user_id",
        "user_name",
        "region",
        "gesture",
        "requested_at",
        "wrapped_key",
        "position",
        "created_lab_at",
    )
    await db.execute(
        f"INSERT INTO help_requests ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        tuple(values[c] for c in columns),
    )


async def acknowledge_help(db: Database, help_id: str, operator: str, now: float) -> None:
    await db.execute(
        "UPDATE help_requests SET acknowledged_by = ?, acknowledged_at = ? WHERE id = ?", (operator, now, help_id)
    )


async def help_row(db: Database, help_id: str) -> Row | None:
    return await db.fetchone("SELECT * FROM help_requests WHERE id = ?", (help_id,))


async def org_help_rows(db: Database, org_id: str, *, open_only: bool, limit: int = 200) -> list[Row]:
    """An organization's help requests, newest first (``open_only``: not acknowledged yet)."""
    sql = "SELECT * FROM help_requests WHERE org_id = ?" + (" AND acknowledged_at IS NULL" if open_only else "")
    return await db.fetchall(sql + " ORDER BY created_lab_at DESC LIMIT ?", (org_id, limit))


async def help_rows_since(db: Database, org_id: str, since: float) -> list[Row]:
    return await db.fetchall(
        "SELECT * FROM help_requests WHERE org_id = ? AND created_lab_at >= ? ORDER BY created_lab_at LIMIT 10000",
        (org_id, since),
    )


async def purge_help(db: Database, before: float) -> int:
    return await db.execute("DELETE FROM help_requests WHERE created_lab_at < ?", (before,))


# ---- acknowledgements owed to cameras (D6, issue 16; appliance/hub/acknowledgements.py)


async def owe_ack(
    db: Database, system_id: str, serial: str, kind: str, ref: str, operator: str, now: float
) -> Row | None:
    """Keep an acknowledgement for the camera until it is delivered; a newer one of the same
    subject replaces it (the camera vibrates once). Returns the kept row."""
    await db.execute(
        "INSERT INTO device_pending_acks (cloud_system_id, serial, kind, ref, operator, created_lab_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(cloud_system_id, serial, kind, ref) DO UPDATE SET "
        "operator = excluded.operator, created_lab_at = excluded.created_lab_at",
        (system_id, serial, kind, ref, operator, now),
    )
    return await db.fetchone(
        "SELECT * FROM device_pending_acks WHERE cloud_system_id = ? AND serial = ? AND kind = ? AND ref = ?",
        (system_id, serial, kind, ref),
    )


async def pending_acks(db: Database, system_id: str, serial: str) -> list[Row]:
    """The acknowledgements owed to one camera, oldest first."""
    return await db.fetchall(
        "SELECT * FROM device_pending_acks WHERE cloud_system_id = ? AND serial = ? ORDER BY created_lab_at, id",
        (system_id, serial),
    )


async def forget_ack(db: Database, ack_id: int) -> None:
    await db.execute("DELETE FROM device_pending_acks WHERE id = ?", (ack_id,))


async def purge_pending_acks(db: Database, before: float) -> int:
    """Acknowledgements owed since before ``before`` (lab time) to cameras that never came back."""
    return await db.execute("DELETE FROM device_pending_acks WHERE created_lab_at < ?", (before,))
