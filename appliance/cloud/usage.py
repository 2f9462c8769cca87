"""Where the cloud learns licence usage (SPEC S15): the assignments each connected system sends.

The manual counts "the cameras assigned to camera users with a camera profile enabled for live
streaming during a 24-hour period". Each connected system controller sends the cloud its camera
users — with their profile's streaming flag and the cameras assigned to them, fixed or
self-assigned at the dock — whenever they change (``cloud/system_sync.py``). Every such list
brings the system's cameras in step: a camera whose (camera user, streaming) differs from its
open ``licence_periods`` row has that row closed and the next one opened; a camera no longer
listed (deleted, or no longer assigned) has its row closed. Periods stay open across restarts:
an assignment holds while the appliance is down, as it does in the Manager.
``appliance.cloud.licences`` turns the periods into daily counts and the seven-day average. The
decision and its consequences are in docs/decisions.md ("Licensing").

``organization_licences`` and ``organization_standing`` read what the organization holds (the
trial, the subscriptions ordered and renewed) for the licence routes and the device hub.
"""

from __future__ import annotations

from typing import Any

from bwlab.clock import isoformat

from ..db import Database
from . import licences

KEEP_PERIODS = (licences.WINDOW_DAYS + 1) * licences.DAY
"""Closed periods older than the averaging window (plus a day) are pruned."""


async def assignment_statements(db: Database, org_id: str, cloud_system_id: str, serials_before: set[str],
                                assigned: dict[str, tuple[str, bool]], now: float) -> list[tuple[str, tuple]]:
    """The statements that bring the periods of a system's cameras in step with its new list.
    A camera is (system, serial): another system's camera with the same serial is not touched.

    ``serials_before``: the cameras the system's previous list named; ``assigned``: serial →
    (camera user id, whether that user's profile streams) in the new list."""
    serials = sorted(serials_before | set(assigned))
    open_rows = {}
    if serials:
        marks = ",".join("?" * len(serials))
        for r in await db.fetchall(
                f"SELECT serial, org_id, user_id, streaming FROM licence_periods WHERE ended_at IS NULL "
                f"AND cloud_system_id = ? AND serial IN ({marks})", (cloud_system_id, *serials)):
            open_rows[r["serial"]] = (r["org_id"], r["user_id"], bool(r["streaming"]))
    statements: list[tuple[str, tuple]] = [
        ("DELETE FROM licence_periods WHERE ended_at IS NOT NULL AND ended_at < ?", (now - KEEP_PERIODS,))]
    for serial in serials:
        fact = assigned.get(serial)
        if fact is not None and open_rows.get(serial) == (org_id, *fact):
            continue
        statements.append(("UPDATE licence_periods SET ended_at = MAX(started_at, ?) WHERE cloud_system_id = ? "
                           "AND serial = ? AND ended_at IS NULL", (now, cloud_system_id, serial)))
        if fact is not None:
            statements.append((
                "INSERT INTO licence_periods (org_id, cloud_system_id, serial, user_id, streaming, started_at) "
                "VALUES (?, ?, ?, ?, ?, ?)", (org_id, cloud_system_id, serial, fact[0], int(fact[1]), now)))
    return statements


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


async def organization_licences(db: Database, org_id: str) -> list[licences.Licence]:
    rows = await db.fetchall("SELECT id, kind, starts_at, ends_at, quantity FROM licences WHERE org_id = ? "
                             "ORDER BY starts_at, id", (org_id,))
    return [licences.Licence(r["id"], r["kind"], r["starts_at"], r["ends_at"], r["quantity"]) for r in rows]


async def organization_standing(db: Database, org_id: str, now: float) -> licences.Standing:
    """S15: trial, purchased or expired, the quantity held now and until when it is covered."""
    return licences.standing(await organization_licences(db, org_id), now)


def standing_json(s: licences.Standing) -> dict[str, Any]:
    return {"state": s.state, "valid": s.valid, "quantity": s.quantity, "covered_until": s.covered_until,
            "ended_at": None if s.valid else s.last_ended_at}


def usage_json(u: licences.Usage) -> dict[str, Any]:
    return {
        "needed": u.needed,
        "average": round(u.average, 3),
        "window_days": len(u.days),
        "daily": [{"date": isoformat(d.start)[:10], "start": d.start, "cameras": d.cameras} for d in u.days],
    }
