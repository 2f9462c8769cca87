"""The recording settings a system's docks hand to its cameras (issue 13): clip length and the
dock's transfer rate, with the controller's time zone."""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RecordingSettings:
    """Clip length (s) and the dock's transfer rate (bytes/s)."""

    clip_seconds: float = field(default=300.0, metadata={"min": 1, "max": 3600})
    dock_transfer_rate: float = field(default=40 * 1024 * 1024, metadata={"min": 10_000, "max": 10 * 1024**3})


async def recording_settings(db, system_id: str, time_zone: str) -> dict:
    """The ``recording`` part of a camera's provisioning."""
    row = await db.fetchone("SELECT settings FROM ctl_recording_settings WHERE system_id = ?", (system_id,))
    settings = json.loads(row["settings"]) if row else {}
    return {**RecordingSettings().__dict__, **settings, "timezone": time_zone}
