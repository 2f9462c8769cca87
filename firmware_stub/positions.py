"""The camera's position uplink: GPS readings sealed end to end like media (SPEC S11, S17, D9).

Two layers, as everywhere in the camera (CONVENTIONS 1):

* ``PositionSampler`` (pure): given the GPS receiver (firmware_stub/gps.py) and ``now``, says
  whether a record is due — one per ``POSITION_INTERVAL`` with a fix, one at once when the fix is
  lost and then one per ``LOST_REPEAT``, nothing before the first fix (D9).
* ``PositionUplink`` (asyncio, attached to a ``CameraDriver``): while the firmware says
  ``SetLocationReporting(True)`` it takes the due records, seals each as a kind-3 chunk and sends
  it like media — into the live stream when there is one (same content key, same sequence
  counter, stored with the stream), otherwise into a **location track** that it opens with
  ``track_start`` (a fresh content key wrapped for the system key) and closes with
  ``track_stop`` when reporting stops or a stream takes over. Frames wait in the driver's
  unacknowledged buffer and are resent after a reconnect, like media.

Record layout and the track messages: bwlab/wire/positions.py; the design: docs/decisions.md
"Map and positions".
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from bwlab.clock import Clock, wait_event
from bwlab.wire import chunk as wire_chunk
from bwlab.wire import envelope
from bwlab.wire import positions as wire_positions
from bwlab.wire.positions import LOST_REPEAT, POSITION_INTERVAL, TrackStart, TrackStop

from .events import LocationMode
from .firmware import Firmware
from .gps import FixLost, FixRegained, GpsReceiver, Route

log = logging.getLogger(__name__)


class OutgoingStream(Protocol):
    """The stream the camera is sending now (positions ride in it while it is live)."""

    stream_id: str
    content_key: bytes
    upload_key: bytes
    next_seq: int
    stop_sent: bool


class CameraLink(Protocol):
    """What the position uplink uses of its camera (``driver.CameraDriver``): its clock, firmware
    and state, the stream it sends now, and its link to the hub (frames wait in its unacknowledged
    buffer until the hub acknowledges them; a control message that cannot be sent now goes out
    first after the next connection)."""

    @property
    def serial(self) -> str: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def firmware(self) -> Firmware: ...
    @property
    def state(self) -> dict: ...
    @property
    def outgoing(self) -> OutgoingStream | None: ...
    async def send_frame(self, container: str, seq: int, frame: bytes) -> None: ...
    async def send_or_queue(self, message: Any) -> None: ...


def route_from_spec(spec: Any) -> Route | None:
    """A scenario's ``GpsRoute`` (bwlab.scenario) as a walkable ``Route``."""
    if spec is None:
        return None
    return Route(
        name=spec.name,
        waypoints=tuple(tuple(w) for w in spec.waypoints),
        speed_mps=spec.speed_mps,
        loop=spec.loop,
        pauses={p.at: p.seconds for p in spec.pauses},
    )


class PositionSampler:
    """When a position record is due (pure: no I/O, time passed in)."""

    def __init__(
        self, receiver: GpsReceiver, *, interval: float = POSITION_INTERVAL, lost_repeat: float = LOST_REPEAT
    ) -> None:
        self.receiver = receiver
        self.interval = interval
        self.lost_repeat = lost_repeat
        self._last_at: float | None = None
        self._last_fix: bool | None = None

    def reset(self) -> None:
        """Reporting (re)starts: the next call reports at once."""
        self._last_at = None
        self._last_fix = None

    def due(self, now: float) -> dict[str, Any] | None:
        """The record to send now, or ``None``."""
        reading = self.receiver.read(now)
        if reading is None:
            return None
        changed = reading.fix != self._last_fix
        period = self.interval if reading.fix else self.lost_repeat
        if not changed and self._last_at is not None and now - self._last_at < period - 1e-6:
            return None
        self._last_at, self._last_fix = now, reading.fix
        return reading.as_record()

    def next_due(self, now: float) -> float:
        if self._last_at is None:
            return now
        return self._last_at + (self.interval if self._last_fix else self.lost_repeat)


@dataclass
class _Track:
    track_id: str
    content_key: bytes
    upload_key: bytes
    next_seq: int = 0


class PositionUplink:
    """Positions of one camera: GPS → sealed kind-3 chunks → the device hub."""

    def __init__(self, driver: CameraLink) -> None:
        self.driver = driver
        self.receiver: GpsReceiver | None = None
        self.sampler: PositionSampler | None = None
        self.reporting = False
        self.sent = 0
        self.last_record: dict[str, Any] | None = None
        self.tracks_opened = 0
        self._track: _Track | None = None
        self._task: asyncio.Task | None = None
        self._wake = asyncio.Event()

    # ---------------------------------------------------------------- the physical world

    def set_route(self, route: Route | None, *, offset: float = 0.0, fix: bool = True) -> None:
        """The route the camera user walks from now on (L1); the GPS exists only on GPS models."""
        self.receiver = GpsReceiver(
            route, started_at=self.driver.clock.now(), offset=offset, fix=fix, model=self.driver.firmware.model
        )
        self.sampler = PositionSampler(self.receiver)
        self._wake.set()

    def set_fix(self, fix: bool) -> None:
        """The GPS gets or loses its satellites (a scenario step or a lab action, D9)."""
        if self.receiver is None:
            raise RuntimeError(f"camera {self.driver.serial} has no GPS route")
        now = self.driver.clock.now()
        self.receiver.handle_event(FixRegained(now) if fix else FixLost(now))
        self._wake.set()

    def state(self) -> dict[str, Any]:
        r = self.receiver
        return {
            "gps": r is not None and r.has_gps,
            "fix": r is not None and r.fix,
            "reporting": self.reporting,
            "track_id": None if self._track is None else self._track.track_id,
            "sent": self.sent,
        }

    # ---------------------------------------------------------------- firmware commands

    async def set_reporting(self, active: bool) -> None:
        """``SetLocationReporting`` (S11)."""
        self.reporting = active
        if active:
            if self.sampler is not None:
                self.sampler.reset()
            if self._task is None or self._task.done():
                self._task = asyncio.create_task(self._loop(), name=f"camera {self.driver.serial} positions")
            self._wake.set()
        else:
            await self._stop_loop()
            await self._close_track("reporting_stopped")

    async def close(self) -> None:
        await self._stop_loop()

    async def _stop_loop(self) -> None:
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    # ---------------------------------------------------------------- the uplink

    async def _loop(self) -> None:
        while self.reporting:
            self._wake.clear()
            delay = 1.0
            if self.sampler is not None:
                now = self.driver.clock.now()
                record = self.sampler.due(now)
                if record is not None:
                    await self._send(record)
                delay = min(1.0, max(0.02, self.sampler.next_due(self.driver.clock.now()) - self.driver.clock.now()))
            await wait_event(self._wake, delay)

    def _live_stream(self):
        out = self.driver.outgoing
        state = self.driver.state
        if (
            out is not None
            and not out.stop_sent
            and state.get("streaming") == "live"
            and state.get("stream_id") == out.stream_id
        ):
            return out
        return None

    async def _send(self, record: dict[str, Any]) -> None:
        wifi = (self.driver.state.get("radio") or {}).get("wifi") or {}
        if wifi.get("ap") and wifi.get("state") in ("connected", "roaming"):
            record = dict(record, ap=str(wifi["ap"])[:80])  # L4: roams show on the map's trails
        plaintext = wire_positions.encode_record(record)
        out = self._live_stream()
        if out is not None:
            await self._close_track("stream_started")
            container, key, upload_key = out.stream_id, out.content_key, out.upload_key
            seq = out.next_seq
            out.next_seq += 1
        else:
            track = self._track or await self._open_track()
            if track is None:
                return
            container, key, upload_key = track.track_id, track.content_key, track.upload_key
            seq = track.next_seq
            track.next_seq += 1
        sealed = envelope.seal_chunk(key, container, envelope.ChunkKind.POSITION, seq, plaintext)
        frame = wire_chunk.Chunk(
            stream_id=container,
            kind=wire_chunk.KIND_POSITION,
            seq=seq,
            capture_time=record["t"],
            duration=0.0,
            keyframe=False,
            payload=sealed,
        ).encode(upload_key)
        self.sent += 1
        self.last_record = record
        await self._send_frame(container, seq, frame)

    async def _open_track(self) -> _Track | None:
        prov = getattr(self.driver, "provisioning", None) or {}
        public_b64 = (prov.get("e2e") or {}).get("public_key")
        if not public_b64:
            log.warning("camera %s: no system key, positions cannot be sealed", self.driver.serial)
            return None
        public = envelope.public_key_from_b64(public_b64)
        track = _Track(
            track_id=wire_positions.TRACK_PREFIX + uuid.uuid4().hex,
            content_key=os.urandom(32),
            upload_key=os.urandom(32),
        )
        user = prov.get("camera_user") or {}
        location = ((prov.get("profile") or {}).get("location")) or "while_recording_or_streaming"
        mode: LocationMode = "while_recording_or_streaming" if location == "while_recording_or_streaming" else "always"
        message = TrackStart(
            track_id=track.track_id,
            wrapped_key=envelope.wrap_content_key(public, track.track_id, track.content_key),
            started_at=self.driver.clock.now(),
            user_id=user.get("id", ""),
            user_name=user.get("name", ""),
            upload_key=base64.urlsafe_b64encode(track.upload_key).decode().rstrip("="),
            mode=mode,
        )
        self._track = track
        self.tracks_opened += 1
        await self._send_control(message)
        return track

    async def _close_track(self, reason: str) -> None:
        track, self._track = self._track, None
        if track is None:
            return
        await self._send_control(
            TrackStop(
                track_id=track.track_id,
                reason=reason,
                last_seq=track.next_seq - 1 if track.next_seq else None,
                ended_at=self.driver.clock.now(),
            )
        )

    async def _send_frame(self, container: str, seq: int, frame: bytes) -> None:
        await self.driver.send_frame(container, seq, frame)

    async def _send_control(self, message: Any) -> None:
        await self.driver.send_or_queue(message)
