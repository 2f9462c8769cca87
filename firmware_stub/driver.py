"""The asyncio driver of one camera: it shuttles bytes and timers for the sans-I/O firmware.

It talks to the appliance only over the network, like a real camera: docking is the dock's
HTTPS call to the controller (with the lab token: the lab plays the physical dock), which the
dock repeats while the camera sits in its bay whenever the certificate nears expiry on the lab
clock (checked every minute and on every time travel, D1), the
device-to-cloud link is the hub's WebSocket with the camera's own certificate and key, and
media goes up as sealed chunk frames (bwlab.wire.chunk) that the camera keeps until the hub
acknowledges them durable, resending them after a reconnect or an appliance restart.

In a scenario with a lab network the camera lives in it (``network.CameraNetwork``): its Wi-Fi
radio and LTE modem decide whether the firmware has a network, everything it sends to the hub
goes through the link the radio gives (``uplink.ShapedUplink``: latency, loss, rate, paused
during a hand-over), its state carries a ``radio`` part (Wi-Fi and mobile status, link, clock,
NTP, the endpoint response code) from which the lab builds the troubleshooting pages and the
diagnosis, and it keeps its clock with NTP (``ntplib``) against the system's NTP server or the
lab's. The endpoint response code (T1 page 4) is 200 when the device hub accepts the camera, 403
when it refuses it (its certificate, an unreachable service), the HTTP status of a refused
WebSocket upgrade, or ``refused``/``timeout``/``dns``/``tls`` when no answer came.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import logging
import os
import random
import ssl
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import ntplib

from bwlab.clock import Clock, SkewedClock, monotonic, system_time, wait_event
from bwlab.wire import chunk as wire_chunk
from bwlab.wire import envelope
from bwlab.wire import messages as m
from bwlab.wire import talk as wire_talk
from bwlab.wire.device_auth import answer_challenge, make_csr, new_device_key
from bwlab.wire.health import Health
from bwlab.wire.help import HelpAcknowledged
from labnet.faults import Impairment, camera_impairment, impair
from labnet.propagation import LinkQuality
from labnet.radio_config import WifiNetwork

from . import events as ev
from .adaptation import AdaptiveEncoder, LinkAdapter
from .firmware import Firmware
from .health_uplink import HealthUplink
from .help import current_position, help_request
from .media.live import LiveEncoder
from .media.shared import SharedSource
from .media.stream import MediaChunk
from .network import LINK_IDEAL, CameraNetwork
from .positions import PositionUplink
from .recorder import DEFAULT_CAPACITY
from .recording_driver import RecordingUnit
from .services import STORAGE_EVERY, Reachability, ServiceRoute, check_storage, failure, lan_facts, storage_session
from .speaker import Speaker
from .uplink import MAX_UNACKED, ShapedSocket, ShapedUplink

log = logging.getLogger(__name__)

MEDIA_TICK = 0.04  # the longest the media loop sleeps; it wakes when the encoder's next fragment is due
DEFAULT_FRAGMENT_FRAMES = 2  # 133 ms fragments at 15 fps (docs/decisions.md "Streaming")
RECONNECT_FLOOR = 0.5
RADIO_TICK = 0.1  # seconds between two looks at the radio (walks, hand-overs, faults)
RADIO_REPORT_EVERY = 1.0  # a radio change that matters goes out at once, signal drift at most this often
NTP_POLL = 64.0  # seconds between two NTP syncs of the camera's clock
NTP_TIMEOUT = 1.0
RENEW_BEFORE = 86400.0  # D1: the dock renews a docked camera's certificate in its last day (lab time)
SPEAKER_REPORT_EVERY = 0.25  # seconds between two speaker levels sent to the lab while an operator talks
RENEW_CHECK_EVERY = 60.0  # seconds between two looks at a docked camera's certificate (and on time travel)
# Control messages that must still reach the hub after a reconnect when the link lost them.
_NOT_REQUEUED = (m.State, m.Log, m.StreamStart, m.RemoteStartResult, Health)


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
    reason: ev.StreamReason
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

    def __init__(
        self,
        serial: str,
        model: str,
        *,
        url: str,
        ca_pem: str,
        lab_token: str,
        clock: Clock,
        system_id: str,
        media: str = "live",
        fragment_frames: int = DEFAULT_FRAGMENT_FRAMES,
        audio_chunk_frames: int = 0,
        on_state: Callable[[dict], Awaitable[None]] | None = None,
        net: CameraNetwork | None = None,
        lab_clock: Clock | None = None,
        seed: int | None = None,
        route: ServiceRoute | None = None,
        storage_dir: Path | None = None,
        storage_bytes: int = DEFAULT_CAPACITY,
    ):
        self.serial = serial.upper()
        self.model = model
        self.url = url.rstrip("/")
        self.system_id = system_id
        self.clock = clock
        self.media_mode = media
        self.fragment_frames = fragment_frames
        self.audio_chunk_frames = audio_chunk_frames
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
        self.low_latency_stream: str | None = None  # the stream low-latency viewers watch (hub's viewer_latency)
        self._unacked: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._pending_control: list[Any] = []
        self._on_state = on_state
        self.state: dict = {}
        self.vibrations = 0
        self.vibration_patterns: list[str] = []  # each vibration's pattern, in order (D6, issue 16)
        self.chunks_sent = 0
        self.chunks_acked = 0
        self._closed = False
        self.network: tuple[bool, ev.NetworkMode | None] = (
            True,
            "WLAN",
        )  # the lab's default network when the scenario has no radio model
        self._network_down: tuple[bool, ev.NetworkMode | None] | None = None  # the lab pulled the network (L2): holds
        self.weak_signal = False
        self.net = net  # the lab network as this camera lives it (None: an ideal network)
        # the physical world's time
        self.lab_clock: Clock = lab_clock or (clock.base if isinstance(clock, SkewedClock) else clock)
        # the link's random draws (loss, retransmissions): per camera, and reproducible with a run's seed
        self._rng = random.Random(self.serial if seed is None else f"{seed}:{self.serial}")
        self._uplink: ShapedUplink | None = None
        self._impairment: Impairment | None = None  # link faults when there is no radio model
        self._firmware_state: dict = {}
        self._radio_key: Any = None
        self._radio_last: dict | None = None
        self._radio_sent_at = 0.0
        self.endpoint_response_code: int | str | None = None
        self.ntp_server: tuple[str, int] | None = None  # the lab's NTP server, when it runs one
        self.ntp: dict[str, Any] = {"server": None, "synced_at": None, "offset": None, "error": None}
        self._fixed_skew: float | None = None  # a clock set off lab time that NTP does not correct
        self._synced_skew = 0.0
        self._ntp_wake = asyncio.Event()
        self.positions = PositionUplink(self)  # GPS positions, sealed like media (S11, D9)
        self.in_bay: tuple[str, int] | None = None  # the dock and bay the camera sits in
        self._bay_lock = asyncio.Lock()  # docking, undocking and the dock's renewals, one at a time
        self.route = route  # the real lab network: the T5 names it reaches (services.py); None: self.url
        self.reach = Reachability()
        self.lan: dict | None = None  # its address, MAC and namespace on the real lab network
        self._storage_http: aiohttp.ClientSession | None = None
        self.recordings = RecordingUnit(self, storage_dir, storage_bytes)  # local recordings, dock offload (issue 13)
        self.adapter: LinkAdapter | None = None  # the live stream's level on this link (adaptation.py)
        self.speaker = Speaker()  # talk-back: what operators say through the camera (issue 16 item 3)
        self._speaker_reported = 0.0
        self.health = HealthUplink(self)  # battery, storage, signal, temperature (issue 16 item 5)

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        if self.route is not None:
            self._storage_http = storage_session()
            self.lan = lan_facts(urlsplit(self.url).hostname or "127.0.0.1")  # shown in the Lab panel
        await self.recordings.power_on()
        self._spawn(self._timer_loop(), "timers")
        self._spawn(self._ntp_loop(), "ntp")
        self._spawn(self._renewal_loop(), "dock renewal")
        self._spawn(self.health.run(), "health")
        if self.net is not None:
            self.network = self.net.network(self.lab_clock.now())
            self._spawn(self._radio_loop(), "radio")

    @property
    def http(self) -> aiohttp.ClientSession:
        assert self._http is not None
        return self._http

    @property
    def ssl(self) -> ssl.SSLContext:
        return self._ssl

    @property
    def lab_token(self) -> str:
        return self._lab_token

    async def close(self) -> None:
        self._closed = True
        await self.positions.close()
        await self.recordings.close()
        for task in (self._media_task, self._hub_task):
            if task is not None:
                task.cancel()
        if self._ws is not None:
            await self._ws.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(
            *self._tasks, *(t for t in (self._media_task, self._hub_task) if t), return_exceptions=True
        )
        if self._http is not None:
            await self._http.close()
        if self._storage_http is not None:
            await self._storage_http.close()

    def _spawn(self, coro, name: str) -> asyncio.Task:
        task = asyncio.create_task(coro, name=f"camera {self.serial} {name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ---------------------------------------------------------------- the physical world

    async def dock(self, dock: str, bay: int, camera_user: str | None = None) -> dict:
        """Put the camera in a bay: the dock provisions it over the controller's API (D1)."""
        async with self._bay_lock:
            await self.feed(ev.Docked(self.clock.now(), bay=f"{dock}/{bay}"))  # its last words go out where it is
            if self.net is not None:
                self.net.dock(self.lab_clock.now())
            data = await self._provision(dock, bay, camera_user)
            self.in_bay = (dock, bay)
        self.recordings.docked(dock, bay, data)  # the dock moves the recordings to the controller (issue 13)
        if self.net is not None:
            await self._follow_radio()
        self._ntp_wake.set()  # docked: the camera sets its clock
        return data

    def renewal_due(self, now: float | None = None) -> bool:
        """D1: whether the dock should renew this docked camera's certificate now (it is within
        ``RENEW_BEFORE`` of its expiry, or past it, on the lab clock)."""
        prov = getattr(self, "provisioning", None)
        if self.in_bay is None or prov is None:
            return False
        now = self.lab_clock.now() if now is None else now
        return now >= float(prov["not_after"]) - RENEW_BEFORE

    async def renew_in_dock(self) -> bool:
        """D1: the dock keeps a docked camera renewed — the manual asks only that a camera be
        docked at least once every six days, so one left in its bay never expires. Returns
        whether a renewal was made."""
        async with self._bay_lock:  # never re-dock a camera that is being taken out
            if not self.renewal_due():
                return False
            dock, bay = self.in_bay  # type: ignore[misc]
            await self._provision(dock, bay, None)
        self.log.info("certificate renewed in the dock, valid until %s", self.provisioning["not_after"])
        return True

    async def _renewal_loop(self) -> None:
        while not self._closed:
            await asyncio.sleep(RENEW_CHECK_EVERY)
            try:
                await self.renew_in_dock()
            except (TimeoutError, aiohttp.ClientError, OSError, RuntimeError) as exc:
                self.log.warning("the dock could not renew the certificate: %s", exc)

    async def _provision(self, dock: str, bay: int, camera_user: str | None) -> dict:
        """The dock's call to the controller: a certificate for the camera's key, its settings (D1)."""
        assert self._http is not None
        body: dict[str, Any] = {
            "serial": self.serial,
            "csr": make_csr(self._key, self.serial),
            "camera_user": camera_user,
        }
        modem = self.net.mobile_status(self.lab_clock.now()) if self.net is not None else None
        if modem is not None:  # the dock reads the SIM state; the Manager raises its alert (T4 rows 2, 4, 5)
            body["modem"] = {"sim_status": modem.sim_status, "dock_alert": modem.dock_alert}
        for _ in range(3):
            travelled = getattr(self.lab_clock, "offset", 0.0)
            async with self._http.post(
                f"{self.url}/controller/{self.system_id}/api/docks/{dock}/bays/{bay}",
                json=body,
                headers={"Authorization": f"Bearer {self._lab_token}"},
                ssl=self._ssl,
            ) as r:
                data = await r.json()
                if r.status >= 400:
                    raise RuntimeError(f"dock refused camera {self.serial}: {data.get('error', data)}")
            if getattr(self.lab_clock, "offset", 0.0) == travelled:
                break
            # lab time travelled while the dock asked: the controller's time in the answer is of
            # before the travel, and the camera would take the difference for its clock's error
            # (its new certificate then seeming to expire days early). Ask again.
        self.provisioning = data
        profile = data.get("profile") or {"streaming": False}
        await self.feed(
            ev.Provisioned(
                self.clock.now(),
                serial=self.serial,
                model=self.model,
                user_id=(data.get("camera_user") or {}).get("id", ""),
                user_name=(data.get("camera_user") or {}).get("name", ""),
                cert_pem=data["certificate"],
                cert_not_after=data["not_after"],
                system_public_key=(data.get("e2e") or {}).get("public_key", ""),
                wifi_networks=tuple(ev.WifiNetwork(n["ssid"], n.get("password")) for n in data["wifi_networks"]),
                profile=ev.ProfileSettings(
                    streaming=profile.get("streaming", False),
                    live_stream_on_record=profile.get("live_stream_on_record", False),
                    remote_activation=profile.get("remote_activation"),
                    location=profile.get("location") is not None,
                    location_mode=profile.get("location") or "while_recording_or_streaming",
                    help_gesture=profile.get("help_gesture"),
                    help_stream=profile.get("help_stream", True),
                ),
                allow_troubleshooting=data["allow_troubleshooting"],
                time=data["time"],
            )
        )
        if self.net is not None:
            sim = data.get("sim") or {}
            self.net.provisioned(
                self.lab_clock.now(),
                [WifiNetwork(n["ssid"], n.get("password") or None) for n in data["wifi_networks"]],
                pin=sim.get("pin"),
                apn=sim.get("apn"),
            )
        return data

    async def undock(self, dock: str, bay: int) -> None:
        assert self._http is not None
        async with self._bay_lock:
            async with self._http.delete(
                f"{self.url}/controller/{self.system_id}/api/docks/{dock}/bays/{bay}",
                headers={"Authorization": f"Bearer {self._lab_token}"},
                ssl=self._ssl,
            ) as r:
                if r.status >= 400:
                    raise RuntimeError(f"undock refused: {(await r.json()).get('error')}")
            self.in_bay = None
        self.recordings.undocked()
        await self.feed(ev.Undocked(self.clock.now()))
        if self.net is not None:
            self.net.undock(self.lab_clock.now())
            self.network = self._network_down or self.net.network(self.lab_clock.now())
            self.weak_signal = self.net.weak_signal(self.lab_clock.now())
        await self.set_network(*self.network)

    async def press(self, button: ev.Button, gesture: ev.Gesture = "press") -> None:
        await self.feed(ev.ButtonGesture(self.clock.now(), button=button, gesture=gesture))

    async def lab_network(self, up: bool, mode: ev.NetworkMode | None) -> None:
        """The lab's network action (L2): down stays down whatever the radio model says, until the
        lab brings it up again; up gives the camera back to its radio model (or this mode)."""
        self._network_down = None if up else (False, mode)
        if up and self.net is not None:
            await self.set_network(*self.net.network(self.lab_clock.now()))
        else:
            await self.set_network(up, mode)

    async def set_network(self, up: bool, mode: ev.NetworkMode | None) -> None:
        self.network = (up, mode)
        await self.feed(ev.NetworkChanged(self.clock.now(), up=up, mode=mode, weak_signal=self.weak_signal))

    async def move(self, position: tuple[float, float], walk_s: float = 0.0) -> None:
        """Put the camera somewhere else on the site (metres), walking there in ``walk_s`` s."""
        if self.net is None:
            raise RuntimeError(
                f"camera {self.serial} is in a scenario without a lab network (no access points or cells)"
            )
        self.net.move(self.lab_clock.now(), position, walk_s)
        await self._follow_radio()

    async def set_faults(self, faults: list) -> None:
        """The lab's faults changed: the radio world and the uplink follow (L2)."""
        if self.net is not None:
            self.net.set_faults(self.lab_clock.now(), faults)
            await self._follow_radio()
        else:
            self._impairment = camera_impairment(self.serial, faults)
            await self._publish()

    def link(self) -> LinkQuality:
        """What the uplink gets now: the radio's link with the lab's impairments on top."""
        if self.net is not None:
            return self.net.link(self.lab_clock.now())
        return impair(LINK_IDEAL, self._impairment)

    def set_clock_skew(self, seconds: float | None) -> None:
        """S1, L2: set the camera's clock ``seconds`` off lab time and keep it there (no NTP),
        or (None) let it follow NTP again."""
        skewed = self.clock
        if seconds is not None:
            self._fixed_skew = float(seconds)
            skewed.skew = float(seconds)  # type: ignore[attr-defined]
        elif self._fixed_skew is not None:
            self._fixed_skew = None
            skewed.skew = self._synced_skew  # type: ignore[attr-defined]
            self._ntp_wake.set()

    def request_clock_sync(self) -> None:
        self._ntp_wake.set()

    # ---------------------------------------------------------------- the lab network

    async def _radio_loop(self) -> None:
        while not self._closed:
            await self._follow_radio()
            await asyncio.sleep(RADIO_TICK)

    async def _follow_radio(self) -> None:
        """Advance the radio; tell the firmware when its network changes; report the radio."""
        assert self.net is not None
        now = self.lab_clock.now()
        self.net.tick(now)
        network = self._network_down or self.net.network(now)
        weak = self.net.weak_signal(now)
        if network != self.network or weak != self.weak_signal:
            self.weak_signal = weak
            await self.set_network(*network)
        summary = self._radio_summary(now)
        key = _radio_key(summary)
        if key != self._radio_key or (
            summary != self._radio_last and monotonic() - self._radio_sent_at >= RADIO_REPORT_EVERY
        ):
            await self._publish()

    def _radio_summary(self, now: float) -> dict[str, Any]:
        summary: dict[str, Any] = (
            self.net.summary(now)
            if self.net is not None
            else {
                "mode": self.network[1] or "WLAN",
                "network": {"up": self.network[0], "mode": self.network[1]},
                "wifi": None,
                "mobile": None,
            }
        )
        summary["clock_offset_s"] = round(getattr(self.clock, "skew", 0.0), 4)
        summary["clock_fixed"] = self._fixed_skew is not None
        summary["ntp"] = dict(self.ntp)
        summary["endpoint_response_code"] = self.endpoint_response_code
        summary["uplink_queue"] = self._uplink.queued if self._uplink is not None else 0
        if self.route is not None:
            summary["services"] = self.reach.as_dict()  # what it observed per T5 host name (issue 15)
            summary["lan"] = self.lan
        if self.net is None:
            summary["impairment"] = self._impairment.as_dict() if self._impairment is not None else None
        return summary

    async def _publish(self) -> None:
        """Send the camera's state (firmware + radio) to the hub and the lab."""
        radio = self._radio_summary(self.lab_clock.now())
        self._radio_key, self._radio_last, self._radio_sent_at = _radio_key(radio), radio, monotonic()
        self.state = {
            **self._firmware_state,
            "radio": radio,
            "storage": self.recordings.state(),
            "stream_quality": self.adapter.as_dict() if self.adapter is not None else None,
        }
        await self._send(m.State(state=self.state))
        await self._report_lab()

    async def _report_lab(self) -> None:
        """The lab (not the hub) also sees the speaker: the hub must learn nothing of talk-back audio."""
        if self._on_state is not None:
            self._speaker_reported = monotonic()
            await self._on_state({**self.state, "speaker": self.speaker.state()})

    publish = _publish

    def _sent(self, nbytes: int) -> None:
        if self.net is not None:
            self.net.record_usage(self.lab_clock.now(), nbytes)

    def frames(self) -> list:
        """The camera's 802.11 frame log (for the pcap, L4)."""
        return list(self.net.frames(self.lab_clock.now())) if self.net is not None else []

    async def _ntp_loop(self) -> None:
        while not self._closed:
            await self.sync_clock()
            self._ntp_wake.clear()
            await wait_event(self._ntp_wake, NTP_POLL)

    async def sync_clock(self) -> None:
        """Set the camera's clock from NTP (S1): the system's NTP server, else the lab's."""
        server = self._ntp_target()
        if server is None or self._fixed_skew is not None:
            return
        host, port = server
        self.ntp["server"] = f"{host}:{port}"
        try:
            stats = await asyncio.to_thread(_ntp_query, host, port)
        except (ntplib.NTPException, OSError) as exc:
            self.ntp["error"] = f"no answer from {host}:{port} ({type(exc).__name__})"
        else:
            if stats.stratum == 0 or stats.leap == 3:
                code = stats.ref_id.to_bytes(4, "big").decode("ascii", "replace").strip("\0")
                self.ntp["error"] = f"kiss-o'-death {code}" if stats.stratum == 0 else "server unsynchronised"
            elif self._fixed_skew is None:
                skew = system_time() + stats.offset - self.lab_clock.now()
                self._synced_skew = skew
                self.clock.skew = skew  # type: ignore[attr-defined]
                self.ntp.update(synced_at=self.lab_clock.now(), offset=round(stats.offset, 4), error=None)
        if self.net is not None or self.state:
            await self._publish()

    def _ntp_target(self) -> tuple[str, int] | None:
        configured = (getattr(self, "provisioning", None) or {}).get("ntp_server")
        if configured:
            host, _, port = str(configured).rpartition(":") if ":" in str(configured) else (str(configured), "", "123")
            try:
                return host, int(port)
            except ValueError:
                return str(configured), 123
        return self.ntp_server

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
            await wait_event(self._wake, min(delay, 1.0))
            deadline = self.firmware.get_timer()
            if deadline is not None and self.clock.now() >= deadline:
                await self.feed(ev.TimerFired(self.clock.now()))

    async def _execute(self, command: ev.Command) -> None:
        if isinstance(command, ev.ReportState):
            self._firmware_state = command.state
            await self._publish()
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
                self._media_task = asyncio.create_task(
                    self._media_loop(command.stream_id), name=f"camera {self.serial} media"
                )
        elif isinstance(command, ev.StopMedia):
            await self._stop_media()
        elif isinstance(command, ev.StopStream):
            await self._stop_media()
            if command.stream_id is not None and self._out is not None and self._out.stream_id == command.stream_id:
                msg = m.StreamStop(
                    stream_id=command.stream_id,
                    reason=command.reason,
                    last_seq=self._out.next_seq - 1,
                    ended_at=self.clock.now(),
                )
                self._out.stop_sent = True
                if not await self._send(msg):
                    self._pending_control.append(msg)
                if self.speaker.stop():  # talk-back goes through the live stream: it ends with it
                    await self._report_lab()
        elif isinstance(command, ev.RemoteStartResult):
            await self._send(m.RemoteStartResult(request_id=command.request_id, ok=command.ok, reason=command.reason))
        elif isinstance(command, ev.Vibrate):
            self.vibrations += 1
            self.vibration_patterns.append(command.pattern)
        elif isinstance(command, ev.SendHelpRequest):  # issue 16: sealed position, queued while offline
            now = self.clock.now()
            help_msg = help_request(
                self.provisioning, command.help_id, command.gesture, current_position(self.positions.receiver, now), now
            )
            if not await self._send(help_msg):
                self._pending_control.append(help_msg)
        elif isinstance(command, ev.LogEvent):
            self.log.info("%s: %s", command.code, command.message)
            await self._send(
                m.Log(level=command.level, code=command.code, message=command.message[:500], at=self.clock.now())
            )
        elif isinstance(command, ev.SetLocationReporting):
            await self.positions.set_reporting(command.active)
        elif isinstance(command, ev.StartRecording):
            await self.recordings.start(command.trigger)
        elif isinstance(command, ev.StopRecording):
            await self.recordings.stop(command.reason)

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
        hub_url = (self.provisioning.get("system") or {}).get("hub_url") or self.url.replace(
            "https", "wss"
        ) + "/hub/v1/devices"
        reason = "connection_lost"
        uplink_task: asyncio.Task | None = None
        storage_watch: asyncio.Task | None = None
        storage = None
        if self.route is not None:  # issue 15: the T5 names through the lab DNS, SNI on port 443
            hub_url = self.route.hub_url
            storage = self.route.storage((self.provisioning.get("system") or {}).get("region"))
        try:
            if storage is not None and not await self._storage_reached(storage):
                reason = "service_unreachable"
                return
            async with self._http.ws_connect(
                hub_url, ssl=self._ssl, heartbeat=20.0, max_msg_size=4 * 1024 * 1024
            ) as ws:
                if self.route is not None:
                    await self._observed(self.route.messaging, None)
                challenge = m.decode((await ws.receive(timeout=10)).data, (m.Challenge,))
                await ws.send_str(
                    m.encode(
                        m.Hello(
                            serial=self.serial,
                            certificate=self.provisioning["certificate"],
                            signature=answer_challenge(self._key, challenge.nonce),
                        )
                    )
                )
                reply = m.decode((await ws.receive(timeout=10)).data, (m.Welcome, m.Error))
                if isinstance(reply, m.Error):
                    reason = reply.code
                    self.endpoint_response_code = 403
                    return
                self.endpoint_response_code = 200
                self._uplink = ShapedUplink(ws, self.link, self._rng, on_sent=self._sent)
                uplink_task = asyncio.create_task(self._uplink.run(), name=f"camera {self.serial} uplink")
                self._ws = ShapedSocket(ws, self._uplink)  # type: ignore[assignment]  # every send is shaped
                await self.feed(ev.HubConnected(self.clock.now()))
                await self.feed(
                    ev.LicenceChanged(self.clock.now(), valid=reply.licence_valid, until=reply.licence_until)
                )  # S15, T2 row 2b
                await self._send(m.State(state=self.state))
                for msg in self._pending_control:
                    await self._send(msg)
                self._pending_control.clear()
                await self._resend_unacked()
                if storage is not None:
                    storage_watch = asyncio.create_task(
                        self._watch_storage(storage, ws), name=f"camera {self.serial} storage"
                    )
                async for frame in ws:
                    if frame.type != aiohttp.WSMsgType.TEXT:
                        continue
                    await self._on_hub_message(m.decode(frame.data))
                if storage_watch is not None and storage_watch.done() and not storage_watch.cancelled():
                    reason = "service_unreachable"  # the storage host stopped answering
        except (TimeoutError, aiohttp.ClientError, OSError, m.ProtocolError, TypeError) as exc:
            reason = f"connection_failed: {type(exc).__name__}"
            if self._ws is None:
                self.endpoint_response_code = _no_answer_code(exc)
                if self.route is not None:
                    await self._observed(self.route.messaging, failure(exc))
            self.log.debug("hub link: %s", exc)
        finally:
            if storage_watch is not None:
                storage_watch.cancel()
                await asyncio.gather(storage_watch, return_exceptions=True)
            self._ws = None
            if uplink_task is not None:
                uplink_task.cancel()
                await asyncio.gather(uplink_task, return_exceptions=True)
            if self._uplink is not None:
                self._pending_control.extend(_requeued(self._uplink.unsent_text()))
                self._uplink = None
            if not self._closed:
                await asyncio.sleep(RECONNECT_FLOOR)
                await self.feed(ev.HubDisconnected(self.clock.now(), reason=reason))

    async def _storage_reached(self, host: str) -> bool:
        assert self._storage_http is not None and self.route is not None
        error = await check_storage(self._storage_http, self.route, host, self._ssl)
        await self._observed(host, error)
        return error is None

    async def _watch_storage(self, host: str, ws: aiohttp.ClientWebSocketResponse) -> None:
        """While online, the storage host must stay reachable; when it stops, the link goes."""
        while True:
            await asyncio.sleep(STORAGE_EVERY)
            if not await self._storage_reached(host):
                self.log.warning("storage host %s unreachable: %s", host, self.reach.hosts[host]["error"])
                await ws.close()
                return

    async def _observed(self, host: str, error: str | None) -> None:
        now = self.lab_clock.now()
        changed = self.reach.ok(host, now) if error is None else self.reach.failed(host, error, now)
        if changed:
            await self._publish()

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
        elif isinstance(message, m.ViewerLatency):
            if message.low:
                self.low_latency_stream = message.stream_id
            elif self.low_latency_stream == message.stream_id:
                self.low_latency_stream = None
        elif isinstance(message, m.Licence):
            await self.feed(ev.LicenceChanged(now, valid=message.valid, until=message.until))
        elif isinstance(message, wire_talk.CAMERA_MESSAGES):
            await self._on_talk(message)
        elif isinstance(message, HelpAcknowledged):
            await self.feed(ev.HelpAcknowledged(now, help_id=message.help_id, operator=message.operator))
        elif isinstance(message, (m.ChunkRefused, m.Error)):
            self.log.warning("hub refused: %s %s", message.code, message.message)

    async def _on_talk(self, message: wire_talk.TalkStart | wire_talk.TalkPacket | wire_talk.TalkStop) -> None:
        """Talk-back (issue 16 item 3): the speaker plays what the operator says into our live stream."""
        out = self._out if self._out is not None and not self._out.stop_sent else None  # our live stream
        if isinstance(message, wire_talk.TalkStart):
            changed = self.speaker.start(message, out.stream_id if out else None, out.content_key if out else None)
        elif out is None or out.stream_id != message.stream_id:
            changed = self.speaker.stop()  # the stream ended: its talk-back is over
        elif isinstance(message, wire_talk.TalkPacket):
            played = self.speaker.play(message, self.lab_clock.now())
            changed = played and monotonic() - self._speaker_reported >= SPEAKER_REPORT_EVERY
        else:
            changed = self.speaker.stop(message)
        if changed:
            await self._report_lab()

    async def _request_stream(self, command: ev.RequestStreamStart) -> None:
        prov = self.provisioning
        if command.stream_id is None or self._out is None or self._out.stream_id != command.stream_id:
            public = envelope.public_key_from_b64((prov.get("e2e") or {}).get("public_key", ""))
            stream_id = command.stream_id or uuid.uuid4().hex
            content_key = os.urandom(32)
            user = prov.get("camera_user") or {}
            self._out = _Outgoing(
                stream_id=stream_id,
                content_key=content_key,
                wrapped_key=envelope.wrap_content_key(public, stream_id, content_key),
                mime=media_mime(self.media_mode),
                started_at=self.clock.now(),
                reason=command.reason,
                request_id=command.request_id,
                user_id=user.get("id", ""),
                user_name=user.get("name", ""),
                upload_key=os.urandom(32),
            )
        out = self._out
        await self._send(
            m.StreamStart(
                stream_id=out.stream_id,
                reason=out.reason,
                wrapped_key=out.wrapped_key,
                mime=out.mime,
                started_at=out.started_at,
                user_id=out.user_id,
                user_name=out.user_name,
                request_id=out.request_id,
                upload_key=base64.urlsafe_b64encode(out.upload_key).decode().rstrip("="),
                resume=command.stream_id is not None,
            )
        )

    async def _resend_unacked(self) -> None:
        ws = self._ws
        for frame in list(self._unacked.values()):
            if ws is None or ws.closed:
                return
            await ws.send_bytes(frame)

    # ---------------------------------------------------------------- media uplink

    def _encoder(self, user_name: str) -> LiveEncoder | SharedSource:
        if self.media_mode == "shared":
            return SharedSource(fragment_frames=self.fragment_frames)
        return AdaptiveEncoder(
            user_name or self.serial, fragment_frames=self.fragment_frames, audio_chunk_frames=self.audio_chunk_frames
        )

    async def _media_loop(self, stream_id: str) -> None:
        out = self._out
        if out is None or out.stream_id != stream_id:
            return
        encoder = self._encoder(out.user_name)
        # The encoder is not thread-safe, and a worker thread cannot be cancelled: when the stop
        # comes while a feed runs, wait for that feed and keep what it made, then close.
        feeding: asyncio.Future | None = None
        self.adapter = LinkAdapter() if isinstance(encoder, AdaptiveEncoder) else None
        try:
            while True:
                if self.adapter is not None and isinstance(encoder, AdaptiveEncoder):
                    changed = self.adapter.update(self.lab_clock.now(), self.link())
                    encoder.want(self.adapter.level)
                    if changed:
                        await self._publish()
                if isinstance(encoder, LiveEncoder):
                    encoder.set_low_latency(self.low_latency_stream == stream_id)
                feeding = asyncio.ensure_future(asyncio.to_thread(encoder.feed, self.clock.now()))
                chunks = await asyncio.shield(feeding)
                feeding = None
                for c in chunks:
                    await self._upload(out, c)
                due = encoder.get_timer()  # wake when the next fragment is complete, not a tick later
                await asyncio.sleep(MEDIA_TICK if due is None else min(MEDIA_TICK, max(0.001, due - self.clock.now())))
        except asyncio.CancelledError:
            if feeding is not None:
                for c in await feeding:
                    await self._upload(out, c)
            for c in await asyncio.to_thread(encoder.close, self.clock.now()):
                await self._upload(out, c)
            self.adapter = None
            raise

    async def _upload(self, out: _Outgoing, media: MediaChunk) -> None:
        kind = wire_chunk.KIND_INIT if media.kind == "init" else wire_chunk.KIND_MEDIA
        seq = out.next_seq
        out.next_seq += 1
        sealed = envelope.seal_chunk(out.content_key, out.stream_id, kind, seq, media.data)
        frame = wire_chunk.Chunk(
            stream_id=out.stream_id,
            kind=kind,
            seq=seq,
            capture_time=media.capture_time,
            duration=media.duration,
            keyframe=media.keyframe,
            payload=sealed,
        ).encode(out.upload_key)
        self.chunks_sent += 1
        await self.send_frame(out.stream_id, seq, frame)

    # ---------------------------------------------------------------- the link the position uplink uses

    @property
    def outgoing(self) -> _Outgoing | None:
        """The stream being sent now, if any."""
        return self._out

    async def send_frame(self, container: str, seq: int, frame: bytes) -> None:
        """Send a chunk frame; it waits in the unacknowledged buffer until the hub acknowledges it
        (resent after a reconnection)."""
        self._unacked[(container, seq)] = frame
        while len(self._unacked) > MAX_UNACKED:
            self._unacked.popitem(last=False)
        ws = self._ws
        if ws is not None and not ws.closed:
            try:
                await ws.send_bytes(frame)
            except (ConnectionError, RuntimeError):
                pass

    async def send_or_queue(self, message: Any) -> None:
        """Send a control message now, or first after the next connection."""
        if not await self._send(message):
            self._pending_control.append(message)

    async def _stop_media(self) -> None:
        task, self._media_task = self._media_task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    @property
    def unacked(self) -> int:
        return len(self._unacked)


def _radio_key(summary: dict) -> Any:
    """What in a radio summary must reach the lab at once (not the signal drifting on a walk)."""
    wifi, mobile = summary.get("wifi") or {}, summary.get("mobile") or {}
    return (
        summary.get("mode"),
        str(summary.get("network")),
        str(summary.get("impairment")),
        summary.get("clock_fixed"),
        round(summary.get("clock_offset_s") or 0.0, 1),
        str(summary.get("ntp")),
        summary.get("endpoint_response_code"),
        len(summary.get("wifi_log") or ()),
        str((summary.get("wifi_log") or [None])[-1]),
        tuple(
            wifi.get(k)
            for k in (
                "state",
                "ssid",
                "ipv4",
                "auth_status",
                "ap_mac",
                "failure",
                "weak_signal",
                "degraded",
                "last_roam_at",
                "ap",
            )
        ),
        tuple(
            mobile.get(k)
            for k in (
                "sim_status",
                "ipv4",
                "roaming",
                "apn",
                "problem",
                "registration",
                "dock_alert",
                "lte_icon",
                "warning_icon",
                "cell",
            )
        ),
    )


def _requeued(texts: list[str]) -> list[Any]:
    """The queued control messages that must still reach the hub after a reconnect."""
    out = []
    for text in texts:
        try:
            message = m.decode(text)
        except m.ProtocolError:
            continue
        if not isinstance(message, _NOT_REQUEUED):
            out.append(message)
    return out


def _ntp_query(host: str, port: int) -> ntplib.NTPStats:
    return ntplib.NTPClient().request(host, version=4, port=port, timeout=NTP_TIMEOUT)


def _no_answer_code(exc: BaseException) -> int | str:
    """T1 page 4 when the hub's endpoint gave no usable answer."""
    if isinstance(exc, aiohttp.WSServerHandshakeError):
        return exc.status
    if isinstance(exc, (aiohttp.ClientConnectorCertificateError, ssl.SSLError)):
        return "tls"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "dns"
    if isinstance(exc, asyncio.TimeoutError):
        return "timeout"
    return "refused"
