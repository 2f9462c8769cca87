"""A fleet: the cameras of a scenario, run in one process (``bwlab fleet``).

The fleet follows the appliance's lab clock (the offset is pushed on every time travel, and the
docks then renew the certificates of the cameras in their bays that near expiry, D1),
docks the cameras that the scenario starts docked, and keeps a control link to the lab
(``/api/lab/fleet``) over which the Lab panel and the CLI press buttons, dock and undock,
and on which every camera's physical state (LEDs, screen, vibration) is reported live.

When the scenario declares a lab network (access points or cells), each camera lives in it
(``network.CameraNetwork``): the fleet builds the world from the scenario, tells the lab what it
holds when it registers (so faults can be checked against it), and applies the lab's fault list
to every camera whenever it changes. The cameras keep their clocks with the lab's NTP server.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

from bwlab.client import Session
from bwlab.clock import LabClock, SkewedClock
from bwlab.models import get_model
from bwlab.scenario import Camera, Scenario
from bwlab.wire import fleet_link
from bwlab.wire.messages import ProtocolError
from bwlab.wire.recordings import Category
from labnet.faults import Fault, World, camera_clock_skew, faults_from_list, ntp_settings
from labnet.mobile import NO_SIM, Cell, MobileConfig, Sim
from labnet.radio_config import RadioConfig, access_points_from_list
from labnet.telemetry import frame_to_dict

from .driver import DEFAULT_FRAGMENT_FRAMES, CameraDriver
from .gps import SiteFrame
from .network import CameraNetwork, PositionSource
from .positions import route_from_spec
from .recorder import DEFAULT_CAPACITY
from .services import ServiceRoute

log = logging.getLogger(__name__)

CONTROL_RETRY = (0.5, 5.0)  # first and longest wait between attempts to reconnect the control link
RENEWALS_AT_ONCE = 16  # D1: certificate renewals in flight at once after a time travel (large fleets)


@dataclass
class Fleet:
    url: str
    ca_pem: str
    lab_token: str
    media: str = "live"
    fragment_frames: int = DEFAULT_FRAGMENT_FRAMES
    audio_chunk_frames: int = 0  # AAC frames per audio-only fragment sent ahead of the video (0: none)
    clock: LabClock = field(default_factory=LabClock)
    seed: int | None = None  # the random draws of every camera's link (``bwlab test --seed``)
    cameras: dict[str, CameraDriver] = field(default_factory=dict)
    where: dict[str, tuple[str, int]] = field(default_factory=dict)  # serial → (dock, bay) while docked
    _ws: aiohttp.ClientWebSocketResponse | None = None
    _session: Session | None = None
    _tasks: set[asyncio.Task] = field(default_factory=set)
    world: World | None = None  # the scenario's lab network (None: cameras get an ideal network)
    faults: list[Fault] = field(default_factory=list)
    _clock_skews: dict[str, float] = field(default_factory=dict)  # the scenario's clock_skew_s per camera
    _fault_skews: dict[str, float | None] = field(default_factory=dict)  # the clock_skew fault applied
    route: ServiceRoute | None = None  # the real lab network: cameras reach the T5 names (issue 15)
    data_dir: Path | None = None  # the cameras' storage lives under <data_dir>/cameras/<serial> (issue 13)
    storage_bytes: int = DEFAULT_CAPACITY  # each camera's storage

    async def start(self, scenario: Scenario, only: set[str] | None = None) -> None:
        self._session = Session(self.url, self.ca_pem, token=self.lab_token)
        lab_time = await self._session.get("/api/lab/time")
        self.clock.set_offset(max(self.clock.offset, lab_time["offset"]))
        ntp = lab_time.get("ntp") or None
        ntp_server = (ntp.get("host") or urlsplit(self.url).hostname or "127.0.0.1", int(ntp["port"])) if ntp else None
        self.world = _world(scenario)
        radio_config = RadioConfig.from_mapping(scenario.radio, "radio")
        mobile_config = MobileConfig.from_mapping(scenario.mobile, "mobile")
        systems = {s["name"]: s["id"] for s in (await self._session.get("/controller/systems"))["systems"]}
        for system in scenario.systems:
            if system.name not in systems:
                raise RuntimeError(f"the appliance has no system named {system.name!r}; apply the scenario first")
            for cam in system.cameras:
                serial = cam.serial.upper()
                if only is not None and serial not in only:
                    continue
                net = None
                if self.world is not None:
                    net = CameraNetwork(
                        serial,
                        get_model(cam.model),
                        world=self.world,
                        radio_config=radio_config,
                        mobile_config=mobile_config,
                        position=_xy(cam.position or (0.0, 0.0)),
                        imei=cam.imei,
                        route=self._walk(scenario, cam),
                        now=self.clock.now(),
                    )
                driver = CameraDriver(
                    serial,
                    cam.model,
                    url=self.url,
                    ca_pem=self.ca_pem,
                    lab_token=self.lab_token,
                    clock=SkewedClock(self.clock),
                    system_id=systems[system.name],
                    media=self.media,
                    fragment_frames=self.fragment_frames,
                    audio_chunk_frames=self.audio_chunk_frames,
                    on_state=functools.partial(self._report, serial),
                    net=net,
                    lab_clock=self.clock,
                    seed=self.seed,
                    route=self.route,
                    storage_dir=self._storage_dir(serial),
                    storage_bytes=self.storage_bytes,
                )
                driver.ntp_server = ntp_server
                if cam.clock_skew_s:
                    self._clock_skews[serial] = cam.clock_skew_s
                    driver.set_clock_skew(cam.clock_skew_s)  # S1: a camera whose clock is off from the start
                await driver.start()
                driver.positions.set_route(
                    route_from_spec(scenario.route(cam.route)), offset=cam.route_offset_s, fix=cam.gps_fix
                )  # L1: the GPS route this camera user walks
                self.cameras[serial] = driver
        await self._connect_control()
        for system in scenario.systems:
            for cam in system.cameras:
                serial = cam.serial.upper()
                if serial in self.cameras and cam.docked:
                    await self.dock(serial, cam.dock, cam.bay, cam.camera_user if cam.self_assign else None)
                    if cam.taken_out:  # provisioned in its bay, then out in its camera user's hands
                        await self.undock(serial)

    async def _connect_control(self) -> None:
        await self._open_control()
        task = asyncio.create_task(self._control_link(), name="fleet control")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _open_control(self) -> None:
        assert self._session is not None
        self._ws = await self._session.http.ws_connect(
            self.url + "/api/lab/fleet", ssl=self._session.ssl, headers=self._session.headers(), heartbeat=20.0
        )
        world = self.world.as_dict() if self.world is not None else None
        await self._ws.send_str(fleet_link.encode(fleet_link.Register(serials=sorted(self.cameras), world=world)))

    async def _control_link(self) -> None:
        """Carry out the lab's messages; when the link drops (the appliance stopped or was
        killed), connect again until it is back, register, and report every camera's state."""
        wait = 0.0
        while True:
            try:
                if self._ws is None or self._ws.closed:
                    await self._open_control()
                    for serial, driver in self.cameras.items():
                        if driver.state:
                            await self._report(serial, driver.state)
                    log.info("fleet: control link to %s back", self.url)
                wait = 0.0
                await self._control_loop()
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                log.debug("fleet: control link: %s", exc)
            wait = min(max(2 * wait, CONTROL_RETRY[0]), CONTROL_RETRY[1])
            await asyncio.sleep(wait)

    async def _control_loop(self) -> None:
        assert self._ws is not None
        async for msg in self._ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            try:
                message = fleet_link.decode(msg.data, fleet_link.TO_FLEET)
            except ProtocolError as exc:
                log.warning("fleet: a message from the lab is ignored: %s", exc)
                continue
            if isinstance(message, fleet_link.Clock):
                self.clock.set_offset(max(self.clock.offset, message.offset))
                await self.renew_docked()  # before any later action (an undock) is carried out
                if message.id is not None:  # the travel waits for every fleet to live at the new time
                    await self._ws.send_str(fleet_link.encode(fleet_link.Result(id=message.id)))
            elif isinstance(message, fleet_link.Faults):
                await self.apply_faults(faults_from_list(message.faults))
            elif isinstance(message, fleet_link.Action):
                task = asyncio.create_task(self._act(message), name=f"fleet action {message.id}")
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _act(self, data: fleet_link.Action) -> None:
        serial = data.serial
        reply: dict = {}
        try:
            driver = self.cameras[serial]
            action = data.action
            if action == "press":
                if data.button is None:
                    raise ValueError("button: required for a press")
                await driver.press(data.button, data.gesture or "press")  # type: ignore[arg-type]  # CameraAction checked both choices
                reply["press"] = driver.firmware.state().get("last_press")  # and why it did nothing, if so
            elif action == "dock":
                dock, bay = data.dock, data.bay
                if dock is None or bay is None:
                    dock, bay = self.where.get(serial, (None, None)) if serial in self.where else self._last_bay(serial)
                await self.dock(serial, dock, bay, data.camera_user)
            elif action == "undock":
                await self.undock(serial)
            elif action == "network":
                await driver.lab_network(bool(data.up), data.mode)  # type: ignore[arg-type]  # CameraAction checked the choice
            elif action == "stats":
                reply["stats"] = {
                    "chunks_sent": driver.chunks_sent,
                    "chunks_acked": driver.chunks_acked,
                    "unacked": driver.unacked,
                }
            elif action == "gps":
                driver.positions.set_fix(bool(data.fix))  # D9: the GPS loses or regains its fix
            elif action == "skew":
                driver.set_clock_skew(float(data.seconds or 0.0))  # S1, L2: this camera's clock runs off lab time
            elif action == "move":
                position = data.position or []
                if len(position) != 2:
                    raise ValueError("position: expected [x, y] in metres")
                await driver.move((float(position[0]), float(position[1])), float(data.seconds or 0.0))
            elif action == "bookmark":  # issue 13: what a camera user adds in the Assistant app
                await driver.recordings.annotate(text=data.text or "", tags=data.tags or "")
            elif action == "category":
                await driver.recordings.annotate(category=Category(data.category_id or "", data.category_name or ""))
            elif action == "speaker":  # issue 16 item 3: what the camera heard of talk-back
                reply["speaker"] = driver.speaker.report(with_wav=bool(data.wav))
            elif action == "frames":
                reply["frames"] = [frame_to_dict(f) for f in driver.frames()]  # L4: for the pcap
            result = fleet_link.Result(id=data.id, state=driver.state, **reply)
        except (KeyError, RuntimeError, ValueError) as exc:
            result = fleet_link.Result(id=data.id, ok=False, error=str(exc), code="action_failed")
        if self._ws is not None and not self._ws.closed:
            await self._ws.send_str(fleet_link.encode(result))

    async def renew_docked(self) -> None:
        """D1: lab time moved — the docks renew the certificates of the cameras in their bays
        that near expiry, so a camera left docked over a weekend (or a time travel) comes out valid."""
        due = [d for d in self.cameras.values() if d.renewal_due()]
        gate = asyncio.Semaphore(RENEWALS_AT_ONCE)

        async def renew(driver: CameraDriver) -> bool:
            async with gate:
                return await driver.renew_in_dock()

        results = await asyncio.gather(*(renew(d) for d in due), return_exceptions=True)
        for driver, result in zip(due, results, strict=True):
            if isinstance(result, BaseException):
                log.warning("camera %s: the dock could not renew its certificate: %s", driver.serial, result)

    async def apply_faults(self, faults: list[Fault]) -> None:
        """The lab's fault list changed: every camera's world, link and clock follow (L2)."""
        ntp_changed = ntp_settings(faults) != ntp_settings(self.faults)
        self.faults = faults
        for serial, driver in self.cameras.items():
            await driver.set_faults(faults)
            skew = camera_clock_skew(serial, faults)
            if skew != self._fault_skews.get(serial):  # only a change of the fault touches the clock
                self._fault_skews[serial] = skew
                driver.set_clock_skew(skew if skew is not None else self._clock_skews.get(serial))
            if ntp_changed:
                driver.request_clock_sync()

    def _storage_dir(self, serial: str) -> Path | None:
        if self.data_dir is None:
            return None
        root = (self.data_dir / "cameras").resolve()
        path = (root / serial).resolve()
        if path.parent != root:
            raise ValueError(f"camera serial {serial!r}: not a name for a directory under {root}")
        return path

    def _walk(self, scenario: Scenario, cam: Camera) -> PositionSource | None:
        """Where the camera user's GPS route puts them, on the site's metre grid (L1, L4)."""
        route = route_from_spec(scenario.route(cam.route))
        if route is None or scenario.site is None:
            return None
        frame = SiteFrame(_xy(scenario.site.origin))
        started, offset = self.clock.now(), cam.route_offset_s

        def at(now: float) -> tuple[float, float]:
            p = route.at(now - started + offset)
            return frame.to_xy(p.lat, p.lon)

        return at

    def _last_bay(self, serial: str) -> tuple[str | None, int | None]:
        return getattr(self.cameras[serial], "last_bay", (None, None))

    async def dock(self, serial: str, dock: str | None, bay: int | None, camera_user: str | None = None) -> dict:
        if dock is None or bay is None:
            raise ValueError(f"camera {serial}: which dock and bay? (give dock and bay)")
        driver = self.cameras[serial]
        data = await driver.dock(dock, bay, camera_user)
        self.where[serial] = (dock, bay)
        driver.last_bay = (dock, bay)  # type: ignore[attr-defined]
        return data

    async def undock(self, serial: str) -> None:
        if serial not in self.where:
            raise RuntimeError(f"camera {serial} is not docked")
        dock, bay = self.where.pop(serial)
        await self.cameras[serial].undock(dock, bay)

    async def _report(self, serial: str, state: dict) -> None:
        if self._ws is not None and not self._ws.closed:
            try:
                await self._ws.send_str(fleet_link.encode(fleet_link.State(serial=serial, state=state)))
            except ConnectionError:
                pass

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._ws is not None:
            await self._ws.close()
        for driver in self.cameras.values():
            await driver.close()
        if self._session is not None:
            await self._session.close()


def _world(scenario: Scenario) -> World | None:
    """The scenario's lab network, or None when it declares no access point and no cell."""
    if not scenario.access_points and not scenario.cells:
        return None
    sims: dict[str, Sim] = {}
    for system in scenario.systems:
        for cam in system.cameras:
            if get_model(cam.model).lte:
                sims[cam.serial.upper()] = Sim.from_mapping(cam.sim, "sim") if cam.sim else NO_SIM
    return World(
        access_points_from_list(scenario.access_points, "access_points"),
        tuple(Cell.from_mapping(c, f"cells[{i}]") for i, c in enumerate(scenario.cells)),
        sims,
    )


def _xy(point: list[float] | tuple[float, float]) -> tuple[float, float]:
    """A position or origin [x, y] (the scenario checked it has two items) as a pair."""
    x, y = point
    return (x, y)
