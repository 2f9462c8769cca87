"""The lab's own state (``lab_state`` in cloud.sqlite3: one value per key): the only SQL on it.

Keys: ``clock_offset`` (how far lab time was travelled, kept across restarts, L2),
``blocked_hosts`` (T5 names the lab blocks: ``hostnames.py``), ``settings`` (what the trainer
allows: ``settings.py``), ``site`` (the map's site plan: ``site.py``). Values are text (JSON for
the structured ones); the appliance's start-up reads the clock offset through ``clock_offset``.
"""

from __future__ import annotations

import json
from typing import Any

from bwlab.regions import camera_hosts

from ..db import Database

CLOCK_OFFSET = "clock_offset"
SITE_PLAN = "site"
BLOCKED_HOSTS = "blocked_hosts"


async def get(db: Database, key: str) -> str | None:
    """The stored value of ``key``; None when there is none."""
    row = await db.fetchone("SELECT value FROM lab_state WHERE key = ?", (key,))
    return None if row is None else row["value"]


async def put(db: Database, key: str, value: str) -> None:
    """Store ``value`` under ``key`` (replacing any)."""
    await db.execute(
        "INSERT INTO lab_state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


async def clock_offset(db: Database) -> str | None:
    """The saved lab clock offset as stored (the caller checks it is a number)."""
    return await get(db, CLOCK_OFFSET)


async def save_clock_offset(db: Database, offset: float) -> None:
    await put(db, CLOCK_OFFSET, repr(offset))


async def site_plan(db: Database) -> dict[str, Any] | None:
    """The map's site plan as the lab panel last set it (``site.py``; the cloud's map reads it)."""
    value = await get(db, SITE_PLAN)
    return None if value is None else json.loads(value)


async def save_site_plan(db: Database, plan: dict[str, Any]) -> None:
    await put(db, SITE_PLAN, json.dumps(plan))


async def blocked_hosts(db: Database) -> list[str]:
    """The T5 host names the lab blocks (``hostnames.py``), in the table's order."""
    value = await get(db, BLOCKED_HOSTS)
    return [] if value is None else list(json.loads(value))


async def save_blocked_hosts(db: Database, names: list[str]) -> None:
    await put(db, BLOCKED_HOSTS, json.dumps(names))


async def blocked_camera_host(db: Database, region: str) -> str | None:
    """The first host name a camera of ``region`` needs that the lab blocks, or None (the device
    hub refuses such a camera with ``service_unreachable``, T2 row 5, T5)."""
    names = set(await blocked_hosts(db))
    return next((n for n in camera_hosts(region) if n in names), None)
