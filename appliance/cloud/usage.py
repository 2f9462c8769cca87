"""Where the cloud learns licence usage (SPEC S15): the cameras' own reports to the device hub.

The cloud and the system controllers are separate boxes; the cloud never reads the Manager's
assignment table. What it does see is each camera's state report over the device hub: the camera
user it is assigned to and that user's profile (with its streaming flag), from the moment it is
out of its dock and connected until it docks again or drops off. Each change of (camera user,
streaming) opens a new ``licence_periods`` row and closes the previous one; a disconnection
closes it. ``appliance.cloud.licences`` turns those periods into daily counts and the seven-day
average. The decision and its consequences are in docs/decisions.md ("Licensing").
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from bwlab.clock import isoformat

from ..context import APPLIANCE
from ..db import Database
from . import licences

log = logging.getLogger(__name__)

KEEP_PERIODS = (licences.WINDOW_DAYS + 1) * licences.DAY
"""Closed periods older than the averaging window (plus a day) are pruned."""


def _facts(state: dict[str, Any]) -> tuple[str | None, bool]:
    user = state.get("user") if isinstance(state.get("user"), dict) else None
    profile = state.get("profile") if isinstance(state.get("profile"), dict) else None
    user_id = str(user["id"]) if user and user.get("id") else None
    return user_id, bool(user_id and profile and profile.get("streaming") is True)


async def camera_reported(db: Database, org_id: str, serial: str, state: dict[str, Any], now: float) -> None:
    """A camera reported its state to the hub: keep its open period in step with it."""
    user_id, streaming = _facts(state)
    row = await db.fetchone(
        "SELECT id, org_id, user_id, streaming FROM licence_periods WHERE serial = ? AND ended_at IS NULL "
        "ORDER BY id DESC LIMIT 1", (serial,))
    if row is not None and (row["org_id"], row["user_id"], bool(row["streaming"])) == (org_id, user_id, streaming):
        return
    statements: list[tuple[str, tuple]] = [
        ("UPDATE licence_periods SET ended_at = MAX(started_at, ?) WHERE serial = ? AND ended_at IS NULL",
         (now, serial)),
        ("DELETE FROM licence_periods WHERE ended_at IS NOT NULL AND ended_at < ?", (now - KEEP_PERIODS,)),
    ]
    if user_id is not None:
        statements.append((
            "INSERT INTO licence_periods (org_id, serial, user_id, streaming, started_at) VALUES (?, ?, ?, ?, ?)",
            (org_id, serial, user_id, int(streaming), now)))
    await db.transaction(statements)


async def camera_offline(db: Database, serial: str, now: float) -> None:
    """The camera left the hub (docked, out of coverage, refused): its period ends now."""
    await db.execute("UPDATE licence_periods SET ended_at = MAX(started_at, ?) WHERE serial = ? AND ended_at IS NULL",
                     (now, serial))


async def close_stale_periods(db: Database) -> int:
    """After a restart no camera is connected yet: periods left open end when their camera was
    last heard of (so the appliance's downtime is not counted as use)."""
    return await db.execute(
        "UPDATE licence_periods SET ended_at = MAX(started_at, COALESCE("
        "(SELECT d.last_seen_at FROM device_state d WHERE d.serial = licence_periods.serial), started_at)) "
        "WHERE ended_at IS NULL")


async def organization_usage(db: Database, org_id: str, now: float) -> licences.Usage:
    """S15 for one organization at ``now``."""
    first = await db.fetchone("SELECT MIN(starts_at) AS t FROM licences WHERE org_id = ?", (org_id,))
    since = first["t"] if first is not None else None
    lo, _ = licences.window(now, since)
    rows = await db.fetchall(
        "SELECT serial, user_id, streaming, started_at, ended_at FROM licence_periods "
        "WHERE org_id = ? AND (ended_at IS NULL OR ended_at >= ?)", (org_id, lo * licences.DAY))
    periods = [licences.Assignment(r["serial"], r["user_id"], bool(r["streaming"]), r["started_at"],
                                   None if r["ended_at"] is None else max(r["ended_at"], r["started_at"]))
               for r in rows]
    return licences.usage(periods, now, since)


def usage_json(u: licences.Usage) -> dict[str, Any]:
    return {
        "needed": u.needed,
        "average": round(u.average, 3),
        "window_days": len(u.days),
        "daily": [{"date": isoformat(d.start)[:10], "start": d.start, "cameras": d.cameras} for d in u.days],
    }


def setup_usage(app: web.Application) -> None:
    async def usage_ctx(app: web.Application):
        closed = await close_stale_periods(app[APPLIANCE].db)
        if closed:
            log.info("licence usage: closed %d periods left open by the last run", closed)
        yield

    app.cleanup_ctx.append(usage_ctx)
