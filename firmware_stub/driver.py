"""The asyncio driver of one camera: it shuttles bytes and timers for the sans-I/O firmware.

It talks to the appliance only over the network, like a real camera: docking is the dock's
HTTPS call to the controller (with the lab token: the lab plays the physical dock), the
device-to-cloud link is the hub's WebSocket with the camera's own certificate and key, and
media goes up as sealed chunk frames (bwlab.wire.chunk) that the camera keeps until the hub
acknowledges them durable, resending them after a reconnect or an appliance restart.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import logging
import os
import ssl
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

import aiohttp

from bwlab.clock import Clock
from bwlab.wire import chunk as wire_chunk
from bwlab.wire import envelope
from bwlab.wire import messages as m
from bwlab.wire.device_auth import answer_challenge, make_csr, new_device_key

from . import events as ev
from .firmware import Firmware
from .media import LiveEncoder, MediaChunk, SharedSource
from .positions import PositionUplink

log = logging.getLogger(__name__)

MEDIA_TICK = 0.04
RECONNECT_FLOOR = 0.5
MAX_UNACKED = 3000  # about ten minutes of media: the camera's own buffer


class CameraLogAdapter(logging.LoggerAdapter):
    def process(self, msg, kwargs):
        return f"[{self.extra['serial']}] {msg}", kwargs


@dataclass
class _Outgoing:
    stream_id: str
    content_key: bytes
    wrapped_key: dict
    mime: str
    started_at: float
    reason: str
    request_id: str | None
    user_id: str
    user_name: str
    upload_key: bytes
    next_seq: int = 0
    stop_sent: bool = False


@functools.cache
def media_mime(mode: str) -> str:
    """The MSE type of what this process's encoders produce (the same for every camera)."""
    encoder = SharedSource() if mode == "shared" else LiveEncoder("probe")
    try:
        t = 0.0
        while not encoder.feed(t):
            t += 0.1
        return encoder.mime
    finally:
        encoder.close(t)


class CameraDriver:
    """One camera. ``clock`` is the camera's own clock (lab time plus any injected skew)."""

    def __init__(self, serial: str, model: str, *, url: str, ca_pem: str, lab_token: str, clock: Clock,
                 system_id: str, media: str = "live", on_state: Callable[[dict], Awaitable[None]] | None = None):
        self.serial = serial.upper()
        self.model = model
        self.url = url.rstrip("/")
        self.system_id = system_id
        self.clock = clock
        self.media_mode = media
        self.firmware = Firmware(self.serial, model)
        self.log = CameraLogAdapter(log, {"serial": self.serial})
        self._ssl = ssl.create_default_context(cadata=ca_pem)
        self._lab_token = lab_token
        self._key = new_device_key()
        self._http: aiohttp.ClientSession | None = None
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._hub_task: asyncio.Task | None = None
        self._media_task: asyncio.Task | None = None
        self._out: _Outgoing | None = None
        self._unacked: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._pending_control: list[Any] = []
        self._on_state = on_state
        self.state: dict = {}
        self.vibrations = 0
        self.chunks_sent = 0
        self.chunks_acked = 0
        self._closed = False
        self.network = (True, "WLAN")  # the lab's default network until the radio model says otherwise
        self.positions = PositionUplink(self)  # GPS positions, sealed like media (S11, D9)

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        self._spawn(self._timer_loop(), "timers")

    async def close(self) -> None:
        self._closed = True
        await self.positions.close()
        for task in (self._media_task, self._hub_task):
            if task is not None:
                task.cancel()
        if self._ws is not None:
            await self._ws.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, *(t for t in (self._media_task, self._hub_task) if t), return_exceptions=True)
        if self._http is not None:
            await self._http.close()

    def _spawn(self, coro, name: str) -> asyncio.Task:
        task = asyncio.create_task(coro, name=f"camera {self.serial} {name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ---------------------------------------------------------------- the physical world

    async def dock(self, dock: str, bay: int, camera_user: str | None = None) -> dict:
        """Put the camera in a bay: the dock provisions it over the controller's API (D1)."""
        assert self._http is not None
        await self.feed(ev.Docked(self.clock.now(), bay=f"{dock}/{bay}"))
        body = {"serial": self.serial, "csr": make_csr(self._key, self.serial), "camera_user": camera_user}
        async with self._http.post(f"{self.url}/controller/{self.system_id}/api/docks/{dock}/bays/{bay}", json=body,
                                   headers={"Authorization": f"Bearer {self._lab_token}"}, ssl=self._ssl) as r:
            data = await r.json()
            if r.status >= 400:
                raise RuntimeError(f"dock refused camera {self.serial}: {data.get('error', data)}")
        self.provisioning = data
        profile = data.get("profile") or {"streaming": False}
        await self.feed(ev.Provisioned(
            self.clock.now(), serial=self.serial, model=self.model,
            user_id=(data.get("camera_user") or {}).get("id", ""),
            user_name=(data.get("camera_user") or {}).get("name", ""),
            cert_pem=data["certificate"], cert_not_after=data["not_after"],
            system_public_key=(data.get("e2e") or {}).get("public_key", ""),
            wifi_networks=tuple(ev.WifiNetwork(n["ssid"], n.get("password")) for n in data["wifi_networks"]),
            profile=ev.ProfileSettings(
                streaming=profile.get("streaming", False),
                live_stream_on_record=profile.get("live_stream_on_record", False),
                remote_activation=profile.get("remote_activation"),
                location=profile.get("location") is not None,
                location_mode=profile.get("location") or "while_recording_or_streaming"),
            allow_troubleshooting=data["allow_troubleshooting"], time=data["time"]))
        return data

    async def undock(self, dock: str, bay: int) -> None:
        assert self._http is not None
        async with self._http.delete(f"{self.url}/controller/{self.system_id}/api/docks/{dock}/bays/{bay}",
                                     headers={"Authorization": f"Bearer {self._lab_token}"}, ssl=self._ssl) as r:
            if r.status >= 400:
                raise RuntimeError(f"undock refused: {(await r.json()).get('error')}")
        await self.feed(ev.Undocked(self.clock.now()))
        up, mode = self.network
        await self.feed(ev.NetworkChanged(self.clock.now(), up=up, mode=mode))

    async def press(self, button: str, gesture: str = "press") -> None:
        await self.feed(ev.ButtonGesture(self.clock.now(), button=button, gesture=gesture))

    async def set_network(self, up: bool, mode: str | None) -> None:
        self.network = (up, mode)
        await self.feed(ev.NetworkChanged(self.clock.now(), up=up, mode=mode if up else None))

    # ---------------------------------------------------------------- the firmware pump

    async def feed(self, event: ev.Event) -> None:
        async with self._lock:
            commands = self.firmware.handle_event(event)
            for command in commands:
                await self._execute(command)
        self._wake.set()

    async def _timer_loop(self) -> None:
        while not self._closed:
            deadline = self.firmware.get_timer()
            self._wake.clear()
            delay = 3600.0 if deadline is None else max(0.0, deadline - self.clock.now())
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=min(delay, 1.0))
            except asyncio.TimeoutError:
                pass
            deadline = self.firmware.get_timer()
            if deadline is not None and self.clock.now() >= deadline:
                await self.feed(ev.TimerFired(self.clock.now()))

    async def _execute(self, command: ev.Command) -> None:
        if isinstance(command, ev.ReportState):
            self.state = command.state
            await self._send(m.State(state=command.state))
            if self._on_state is not None:
                await self._on_state(command.state)
        elif isinstance(command, ev.OpenHubConnection):
            if self._hub_task is None or self._hub_task.done():
                self._hub_task = asyncio.create_task(self._hub_session(), name=f"camera {self.serial} hub")
        elif isinstance(command, ev.CloseHubConnection):
            if self._ws is not None:
                await self._ws.close()
        elif isinstance(command, ev.RequestStreamStart):
            await self._request_stream(command)
        elif isinstance(command, ev.StartMedia):
            if self._media_task is None or self._media_task.done():
                self._media_task = asyncio.create_task(self._media_loop(command.stream_id),
                                                       name=f"camera {self.serial} media")
        elif isinstance(command, ev.StopMedia):
            await self._stop_media()
        elif isinstance(command, ev.StopStream):
            await self._stop_media()
            if command.stream_id is not None and self._out is not None and self._out.stream_id == command.stream_id:
                msg = m.StreamStop(stream_id=command.stream_id, reason=command.reason,
                                   last_seq=self._out.next_seq - 1, ended_at=self.clock.now())
                self._out.stop_sent = True
                if not await self._send(msg):
                    self._pending_control.append(msg)
        elif isinstance(command, ev.RemoteStartResult):
            await self._send(m.RemoteStartResult(request_id=command.request_id, ok=command.ok, reason=command.reason))
        elif isinstance(command, ev.Vibrate):
            self.vibrations += 1
        elif isinstance(command, ev.LogEvent):
            self.log.info("%s: %s", command.code, command.message)
            await self._send(m.Log(level=command.level, code=command.code, message=command.message[:500],
                                   at=self.clock.now()))
        elif isinstance(command, ev.SetLocationReporting):
            await self.positions.set_reporting(command.active)
        # StartRecording / StopRecording: local state, shown in ReportState.

    async def _send(self, message: Any) -> bool:
        ws = self._ws
        if ws is None or ws.closed:
            return False
        try:
            await ws.send_str(m.encode(message))
            return True
        except (ConnectionError, RuntimeError):
            return False

    # ---------------------------------------------------------------- device hub link

    async def _hub_session(self) -> None:
        """Connect, authenticate, then read until the link drops; report the outcome to the firmware."""
        assert self._http is not None
        hub_url = (self.provisioning.get("system") or {}).get("hub_url") or self.url.replace("https", "wss") + "/hub/v1/devices"
        reason = "connection_lost"
        try:
            async with self._http.ws_connect(hub_url, ssl=self._ssl, heartbeat=20.0,
                                             max_msg_size=4 * 1024 * 1024) as ws:
                challenge = m.decode((await ws.receive(timeout=10)).data, (m.Challenge,))
                await ws.send_str(m.encode(m.Hello(serial=self.serial, certificate=self.provisioning["certificate"],
                                                   signature=answer_challenge(self._key, challenge.nonce))))
                reply = m.decode((await ws.receive(timeout=10)).data, (m.Welcome, m.Error))
                if isinstance(reply, m.Error):
                    reason = reply.code
                    return
                self._ws = ws
                await self.feed(ev.HubConnected(self.clock.now()))
                await self._send(m.State(state=self.state))
                for msg in self._pending_control:
                    await self._send(msg)
                self._pending_control.clear()
                await self._resend_unacked()
                async for frame in ws:
                    if frame.type != aiohttp.WSMsgType.TEXT:
                        continue
                    await self._on_hub_message(m.decode(frame.data))
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError, m.ProtocolError, TypeError) as exc:
            reason = f"connection_failed: {type(exc).__name__}"
            self.log.debug("hub link: %s", exc)
        finally:
            self._ws = None
            if not self._closed:
                await asyncio.sleep(RECONNECT_FLOOR)
                await self.feed(ev.HubDisconnected(self.clock.now(), reason=reason))

    async def _on_hub_message(self, message: Any) -> None:
        now = self.clock.now()
        if isinstance(message, m.ChunkAck):
            if self._unacked.pop((message.stream_id, message.seq), None) is not None:
                self.chunks_acked += 1
        elif isinstance(message, m.StreamAccepted):
            await self.feed(ev.StreamAccepted(now, stream_id=message.stream_id))
        elif isinstance(message, m.StreamRefused):
            if self._out is not None and self._out.stream_id == message.stream_id:
                self._out = None
            await self.feed(ev.StreamRefused(now, reason_code=message.code))
        elif isinstance(message, m.RemoteStart):
            await self.feed(ev.RemoteStartRequested(now, request_id=message.request_id, operator=message.operator))
        elif isinstance(message, m.Acknowledge):
            await self.feed(ev.Acknowledged(now, stream_id=message.stream_id, operator=message.operator))
        elif isinstance(message, (m.ChunkRefused, m.Error)):
            self.log.warning("hub refused: %s %s", message.code, message.message)

    async def _request_stream(self, command: ev.RequestStreamStart) -> None:
        prov = self.provisioning
        if command.stream_id is None or self._out is None or self._out.stream_id != command.stream_id:
            public = envelope.public_key_from_b64((prov.get("e2e") or {}).get("public_key", ""))
            stream_id = command.stream_id or uuid.uuid4().hex
            content_key = os.urandom(32)
            user = prov.get("camera_user") or {}
            self._out = _Outgoing(
                stream_id=stream_id, content_key=content_key,
                wrapped_key=envelope.wrap_content_key(public, stream_id, content_key),
                mime=media_mime(self.media_mode), started_at=self.clock.now(), reason=command.reason,
                request_id=command.request_id, user_id=user.get("id", ""), user_name=user.get("name", ""),
                upload_key=os.urandom(32))
        out = self._out
        await self._send(m.StreamStart(
            stream_id=out.stream_id, reason=out.reason, wrapped_key=out.wrapped_key, mime=out.mime,
            started_at=out.started_at, user_id=out.user_id, user_name=out.user_name, request_id=out.request_id,
            upload_key=base64.urlsafe_b64encode(out.upload_key).decode().rstrip("="),
            resume=command.stream_id is not None))

    async def _resend_unacked(self) -> None:
        ws = self._ws
        for frame in list(self._unacked.values()):
            if ws is None or ws.closed:
                return
            await ws.send_bytes(frame)

    # ---------------------------------------------------------------- media uplink

    def _encoder(self, user_name: str) -> LiveEncoder | SharedSource:
        if self.media_mode == "shared":
            return SharedSource()
        return LiveEncoder(user_name or self.serial)

    async def _media_loop(self, stream_id: str) -> None:
        out = self._out
        if out is None or out.stream_id != stream_id:
            return
        encoder = self._encoder(out.user_name)
        # The encoder is not thread-safe, and a worker thread cannot be cancelled: when the stop
        # comes while a feed runs, wait for that feed and keep what it made, then close.
        feeding: asyncio.Future | None = None
        try:
            while True:
                feeding = asyncio.ensure_future(asyncio.to_thread(encoder.feed, self.clock.now()))
                chunks = await asyncio.shield(feeding)
                feeding = None
                for c in chunks:
                    await self._upload(out, c)
                await asyncio.sleep(MEDIA_TICK)
        except asyncio.CancelledError:
            if feeding is not None:
                for c in await feeding:
                    await self._upload(out, c)
            for c in await asyncio.to_thread(encoder.close, self.clock.now()):
                await self._upload(out, c)
            raise

    async def _upload(self, out: _Outgoing, media: MediaChunk) -> None:
        kind = wire_chunk.KIND_INIT if media.kind == "init" else wire_chunk.KIND_MEDIA
        seq = out.next_seq
        out.next_seq += 1
        sealed = envelope.seal_chunk(out.content_key, out.stream_id, kind, seq, media.data)
        frame = wire_chunk.Chunk(stream_id=out.stream_id, kind=kind, seq=seq, capture_time=media.capture_time,
                                 duration=media.duration, keyframe=media.keyframe, payload=sealed).encode(out.upload_key)
        self._unacked[(out.stream_id, seq)] = frame
        while len(self._unacked) > MAX_UNACKED:
            self._unacked.popitem(last=False)
        self.chunks_sent += 1
        ws = self._ws
        if ws is not None and not ws.closed:
            try:
                await ws.send_bytes(frame)
            except (ConnectionError, RuntimeError):
                pass

    async def _stop_media(self) -> None:
        task, self._media_task = self._media_task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    @property
    def unacked(self) -> int:
        return len(self._unacked)
