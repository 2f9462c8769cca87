"""The camera's health reports to the device hub (issue 16 item 5): the driver of
``firmware_stub.health``. Every ``HEALTH_EVERY`` seconds it advances the model to lab time with what
the camera does (docked, recording, streaming) and, while the camera is connected, sends the report.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from bwlab.clock import Clock
from bwlab.wire.health import Health

from .health import HealthModel
from .recording_driver import RecordingUnit


class HealthSource(Protocol):
    """What the health reports read of their camera (``driver.CameraDriver``) and how they reach the hub."""

    @property
    def lab_clock(self) -> Clock: ...
    @property
    def state(self) -> dict: ...
    @property
    def in_bay(self) -> tuple[str, int] | None: ...
    @property
    def recordings(self) -> RecordingUnit: ...
    async def _send(self, message: Any) -> bool: ...


HEALTH_EVERY = 5.0  # seconds between reports


class HealthUplink:
    def __init__(self, driver: HealthSource, every: float = HEALTH_EVERY) -> None:
        self.driver = driver
        self.every = every
        self.model = HealthModel(driver.lab_clock.now())
        self.last: Health | None = None

    def sample(self) -> Health:
        """Advance the model to now and read the report (also kept as ``last``)."""
        d = self.driver
        now = d.lab_clock.now()
        fw = d.state or {}
        self.model.advance(
            now,
            docked=d.in_bay is not None,
            recording=bool(fw.get("recording")),
            streaming=fw.get("streaming") == "live",
        )
        self.last = self.model.report(now, d.recordings.state(), fw.get("radio") or {})
        return self.last

    async def run(self) -> None:
        while True:
            await self.driver._send(self.sample())  # off-line: dropped, the next one says it all
            await asyncio.sleep(self.every)
