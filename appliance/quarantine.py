"""Stored rows that cannot be trusted are moved aside, never fatal (issue 10).

Everything a device or a client sends is checked at the wire before it is stored, but a database
may hold rows written before a check existed (``started_at: 1e308``, an ``ended_at`` NaN that
SQLite keeps as NULL) or damaged since. Start-up and housekeeping read such rows; rather than
fail (an appliance that does not start again), the reader moves the row to ``quarantine`` — the
row as JSON, the reason, the lab time — in one transaction, logs a warning, and goes on.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Mapping
from typing import Any

from bwlab.wire.identifiers import is_id, is_timestamp

from .db import Database

log = logging.getLogger(__name__)

Row = Mapping[str, Any] | sqlite3.Row  # a stored row as the database gives it, or a mapping of it

_SOURCES = {"streams": "id", "location_tracks": "id"}  # table → its key column


async def move_aside(db: Database, source: str, row: Row, reason: str, now: float) -> None:
    """Move one row of ``source`` to the quarantine (child rows go with it by cascade)."""
    key = _SOURCES[source]
    data = {k: (v.hex() if isinstance(v, bytes) else v) for k, v in dict(row).items()}
    await db.transaction(
        [
            (
                "INSERT INTO quarantine (source, row_key, row_json, reason, quarantined_at) VALUES (?, ?, ?, ?, ?)",
                (source, str(row[key]), json.dumps(data, default=str), reason, now),
            ),
            (f"DELETE FROM {source} WHERE {key} = ?", (row[key],)),
        ]
    )
    log.warning("quarantined %s row %r: %s", source, row[key], reason)


def container_problem(row: Row) -> str | None:
    """What makes a stored stream or location track row unusable, or None if it is sound."""
    for name in ("id", "org_id", "region"):
        if not is_id(row[name]):
            return f"{name} {row[name]!r} is not an identifier"
    if not is_timestamp(row["started_at"]):
        return f"started_at {row['started_at']!r} is not a time between 2000 and 2200"
    if row["ended_at"] is not None and not is_timestamp(row["ended_at"]):
        return f"ended_at {row['ended_at']!r} is not a time between 2000 and 2200"
    if row["ended_at"] is None and row["end_reason"] is not None:
        return "ended (it has an end reason) without an end time: a NaN was stored as NULL"
    last_seq = row["last_seq"]
    if last_seq is not None and (not isinstance(last_seq, int) or last_seq < 0):
        return f"last_seq {last_seq!r} is not a sequence number"
    try:
        if len(bytes.fromhex(row["upload_key"])) != 32:
            return "upload_key is not 32 bytes"
        if not isinstance(json.loads(row["wrapped_key"]), dict):
            return "wrapped_key is not a JSON object"
    except (TypeError, ValueError):
        return "upload_key or wrapped_key cannot be read"
    return None


async def sweep(db: Database, source: str, now: float) -> int:
    """Move every unusable row of ``source`` aside; returns how many."""
    moved = 0
    for row in await db.fetchall(f"SELECT * FROM {source}"):
        problem = container_problem(row)
        if problem is not None:
            await move_aside(db, source, row, problem, now)
            moved += 1
    return moved


async def expired(db: Database, before: float) -> list[dict[str, Any]]:
    """Quarantined streams and tracks moved aside before ``before``: (id, rows as dicts)."""
    rows = await db.fetchall("SELECT id, row_json FROM quarantine WHERE quarantined_at < ?", (before,))
    out = []
    for r in rows:
        try:
            data = json.loads(r["row_json"])
        except ValueError:
            data = {}
        out.append({"quarantine_id": r["id"], **(data if isinstance(data, dict) else {})})
    return out


async def forget(db: Database, quarantine_id: int) -> None:
    await db.execute("DELETE FROM quarantine WHERE id = ?", (quarantine_id,))
