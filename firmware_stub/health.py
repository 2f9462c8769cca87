"""The camera's battery, temperature and storage rate, as plain models on the lab clock (issue 16
item 5, SPEC O5). Pure: fed the time and what the camera does, read out a ``Health`` report.

Battery: drains a little while on standby, more while recording, most while streaming (the radio
and the encoder), and charges in the dock; the rates are per hour of lab time, so time travel
drains or charges it at once. Temperature: approaches a target set by what the camera does (its
own heat over the room's) with a time constant, so it warms while streaming and cools in the dock.
Storage: the recording rate is measured from the used bytes the recordings report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bwlab.wire.health import Health

AMBIENT_C = 21.0
TEMPERATURE_TAU_S = 600.0  # the camera's thermal time constant
RATE_GAP_S = 60.0  # two storage readings further apart (a time travel): no rate from them, the media is real-time


@dataclass(frozen=True)
class BatteryProfile:
    """Percent per hour of lab time (a W100-class camera: about 12 h recording, 4 h streaming)."""

    standby_drain: float = 2.0
    recording_drain: float = 8.0
    streaming_drain: float = 25.0
    charge: float = 40.0
    standby_heat_c: float = 3.0
    recording_heat_c: float = 9.0
    streaming_heat_c: float = 17.0
    charging_heat_c: float = 6.0


class HealthModel:
    """One camera's battery and temperature since ``now``; ``advance`` integrates to a new time."""

    def __init__(self, now: float, *, battery_percent: float = 90.0, profile: BatteryProfile | None = None):
        self.profile = profile or BatteryProfile()
        self.battery = battery_percent
        self.temperature = AMBIENT_C + self.profile.standby_heat_c
        self._at = now
        self._docked = self._recording = self._streaming = False
        self._storage: tuple[float, int] | None = None  # (when, used bytes) of the last storage reading
        self._storage_rate = 0.0  # bytes per second while recording

    def _drain(self) -> float:
        p = self.profile
        if self._docked:
            return -p.charge
        if self._streaming:
            return p.streaming_drain
        return p.recording_drain if self._recording else p.standby_drain

    def _heat(self) -> float:
        p = self.profile
        if self._streaming:
            return p.streaming_heat_c
        if self._recording:
            return p.recording_heat_c
        return p.charging_heat_c if self._docked else p.standby_heat_c

    def advance(self, now: float, *, docked: bool, recording: bool, streaming: bool) -> None:
        """Integrate up to ``now`` what the camera does now: sampled every few seconds, the camera
        did the same since the last call; over a time travel, it did what it was doing when the lab
        clock jumped (a camera streaming through three hours of lab time drained for three hours)."""
        self._docked, self._recording, self._streaming = docked, recording and not docked, streaming and not docked
        dt = max(0.0, now - self._at)
        self.battery = min(100.0, max(0.0, self.battery - self._drain() * dt / 3600))
        target = AMBIENT_C + self._heat()
        self.temperature = target + (self.temperature - target) * math.exp(-dt / TEMPERATURE_TAU_S)
        self._at = now

    def storage(self, now: float, used: int) -> None:
        """A reading of the storage's used bytes: while recording, the rate it fills at."""
        if self._storage is not None and self._recording:
            when, before = self._storage
            if 0 < now - when <= RATE_GAP_S and used >= before:
                rate = (used - before) / (now - when)
                self._storage_rate = rate if self._storage_rate == 0 else 0.7 * self._storage_rate + 0.3 * rate
        if not self._recording:
            self._storage_rate = 0.0
        self._storage = (now, used)

    def report(self, now: float, storage: dict[str, Any], radio: dict[str, Any]) -> Health:
        """The health message at ``now`` (after ``advance``): battery, storage, signal, temperature."""
        used, capacity = int(storage.get("used") or 0), max(1, int(storage.get("capacity") or 1))
        self.storage(now, used)
        drain = self._drain()
        battery_left = None if drain <= 0 else min(100_000.0, self.battery / drain * 60)
        storage_left = None
        if self._recording and self._storage_rate > 0:
            storage_left = min(100_000.0, max(0, capacity - used) / self._storage_rate / 60)
        link, dbm = _signal(radio)
        return Health(
            battery_percent=round(self.battery, 2),
            charging=self._docked,
            battery_minutes_left=None if battery_left is None else round(battery_left, 1),
            storage_used=used,
            storage_capacity=capacity,
            storage_minutes_left=None if storage_left is None else round(storage_left, 1),
            temperature_c=round(self.temperature, 1),
            signal_dbm=dbm,
            link=link,
            at=now,
        )


def _signal(radio: dict[str, Any]) -> tuple[str | None, float | None]:
    """(link, dBm) from the camera's radio summary: the signal of the network it uses now (its
    Wi-Fi, or its mobile network when a SIM switched the Wi-Fi off, T3 row 1); (None, None) off-line."""
    network = radio.get("network") or {}
    if network.get("up") is False:
        return None, None
    link = "mobile" if str(radio.get("mode") or "").upper() == "LTE" else "wifi"
    value = (radio.get(link) or {}).get("signal_db")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and -150 <= value <= 0:
        return link, float(value)
    return link, None
