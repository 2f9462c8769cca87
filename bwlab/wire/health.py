"""Camera health on the wire (issue 16 item 5, SPEC O5): the ``health`` message camera → hub and
the warnings every reader draws from it the same way (Live, ``bwlab status``).

The camera reports, every few seconds while connected: its battery (percent, charging in the dock,
minutes left at the present draw), its storage (bytes used of its capacity, minutes left at the
present recording rate), its signal (the Wi-Fi RSSI or mobile RSRP it lives, dBm, and over what),
and its temperature, all read on the lab clock (``at``). The hub keeps the last report and when the
camera was last heard from ("last contact"). Every field is range-checked here, so a report out of
range is refused as an invalid message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from .identifiers import TIMESTAMP
from .messages import register

MINUTES = {"min": 0.0, "max": 100_000.0}

# Thresholds of the warnings "before a camera runs out" (docs/decisions.md, camera health).
BATTERY_LOW_PERCENT = 20.0
BATTERY_LOW_MINUTES = 30.0
STORAGE_LOW_FRACTION = 0.10
STORAGE_LOW_MINUTES = 30.0
TEMPERATURE_HIGH_C = 45.0
SIGNAL_WEAK_DBM = -75.0


@register
@dataclass(frozen=True)
class Health:
    """camera → hub: how the camera is doing (O5)."""

    battery_percent: float = field(metadata={"min": 0.0, "max": 100.0})
    charging: bool
    battery_minutes_left: float | None = field(metadata=MINUTES)  # None while charging
    storage_used: int = field(metadata={"min": 0, "max": 2**50})
    storage_capacity: int = field(metadata={"min": 1, "max": 2**50})
    storage_minutes_left: float | None = field(metadata=MINUTES)  # None while not recording
    temperature_c: float = field(metadata={"min": -40.0, "max": 125.0})
    signal_dbm: float | None = field(metadata={"min": -150.0, "max": 0.0})
    link: str | None = field(metadata={"choices": ("wifi", "mobile")})  # None: no network
    at: float = field(metadata=TIMESTAMP)
    type: Literal["health"] = "health"


def warnings(health: dict[str, Any]) -> list[dict[str, str]]:
    """What an operator should hear of before the camera runs out: ``[{code, message}]``."""
    out = []
    battery, left = health.get("battery_percent"), health.get("battery_minutes_left")
    if battery is not None and not health.get("charging"):
        if battery <= 0:
            out.append(("battery_empty", "the battery is empty: the camera must go to its dock"))
        elif battery <= BATTERY_LOW_PERCENT or (left is not None and left <= BATTERY_LOW_MINUTES):
            minutes = f", about {left:.0f} min left" if left is not None else ""
            out.append(("battery_low", f"battery at {battery:.0f} %{minutes}: dock the camera soon"))
    used, capacity = health.get("storage_used"), health.get("storage_capacity")
    if used is not None and capacity:
        free = max(0.0, 1 - used / capacity)
        rec_left = health.get("storage_minutes_left")
        if used >= capacity:
            out.append(("storage_full", "the storage is full: recording stops until the dock offloads it"))
        elif free <= STORAGE_LOW_FRACTION or (rec_left is not None and rec_left <= STORAGE_LOW_MINUTES):
            more = f", about {rec_left:.0f} min of recording left" if rec_left is not None else ""
            out.append(("storage_low", f"storage {free * 100:.0f} % free{more}: dock the camera to offload"))
    temperature = health.get("temperature_c")
    if temperature is not None and temperature >= TEMPERATURE_HIGH_C:
        out.append(("temperature_high", f"the camera is at {temperature:.0f} °C"))
    signal = health.get("signal_dbm")
    if signal is not None and signal <= SIGNAL_WEAK_DBM:
        out.append(("signal_weak", f"weak signal ({signal:.0f} dBm): the stream may stall"))
    return [{"code": code, "message": message} for code, message in out]


def summary(report: str | dict[str, Any] | None, last_contact: float | None) -> dict[str, Any] | None:
    """A camera's health as Live and ``bwlab status`` show it: the last report (without its
    ``type``), when the camera was last heard from, and the warnings. None: never reported."""
    if report is None:
        return None
    data: dict[str, Any] = json.loads(report) if isinstance(report, str) else dict(report)
    fields = {k: v for k, v in data.items() if k != "type"}
    return {**fields, "last_contact": last_contact, "warnings": warnings(fields)}
