"""The cloud's tables as functions: what another part (the device hub, the lab) may read of them.

Other parts never run SQL on ``cloud_systems``, ``system_cameras`` or ``licences``; they call these.
(The cloud's own handlers still hold most of their SQL; it moves here as they are split.)
"""

from __future__ import annotations

from typing import Any

from ..db import Database
from .usage import organization_standing

__all__ = ["cloud_systems", "licence_valid", "organization_standing", "system_camera_registered", "system_org",
           "system_region"]


async def licence_valid(db: Database, org_id: str, now: float) -> bool:
    """S3, S15: the organization holds a licence (trial or purchased) that covers ``now``."""
    row = await db.fetchone(
        "SELECT 1 FROM licences WHERE org_id = ? AND starts_at <= ? AND ends_at > ?", (org_id, now, now)
    )
    return row is not None


async def cloud_systems(db: Database) -> dict[str, Any]:
    """Every connected system: id → its row (id, org_id, device_ca_pem, region)."""
    return {s["id"]: s for s in await db.fetchall("SELECT id, org_id, device_ca_pem, region FROM cloud_systems")}


async def system_region(db: Database, cloud_system_id: str) -> str | None:
    """The storage region a connected system chose (S17, T5); None for an unknown system."""
    row = await db.fetchone("SELECT region FROM cloud_systems WHERE id = ?", (cloud_system_id,))
    return row["region"] if row is not None else None


async def system_org(db: Database, cloud_system_id: str) -> str | None:
    """The organization a connected system belongs to; None for an unknown system."""
    row = await db.fetchone("SELECT org_id FROM cloud_systems WHERE id = ?", (cloud_system_id,))
    return row["org_id"] if row is not None else None


async def system_camera_registered(db: Database, cloud_system_id: str, serial: str) -> bool:
    """The camera is registered in the system (its controller synced it to the cloud, issue 10)."""
    row = await db.fetchone("SELECT 1 FROM system_cameras WHERE cloud_system_id = ? AND serial = ?",
                            (cloud_system_id, serial))
    return row is not None
