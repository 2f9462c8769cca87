"""A fleet: the cameras of a scenario, run in one process (``bwlab fleet``).

The fleet follows the appliance's lab clock (the offset is pushed on every time travel),
docks the cameras that the scenario starts docked, and keeps a control link to the lab
(``/api/lab/fleet``) over which the Lab panel and the CLI press buttons, dock and undock,
and on which every camera's physical state (LEDs, screen, vibration) is reported live.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field

import aiohttp

from bwlab.client import Session
from bwlab.clock import LabClock, SkewedClock
from bwlab.scenario import Scenario

from .driver import CameraDriver
from .positions import route_from_spec

log = logging.getLogger(__name__)


@dataclass
class Fleet:
    url: str
    ca_pem: str
    lab_token: str
    media: str = "live"
    clock: LabClock = field(default_factory=LabClock)
    cameras: dict[str, CameraDriver] = field(default_factory=dict)
    where: dict[str, tuple[str, int]] = field(default_factory=dict)  # serial → (dock, bay) while docked
    _ws: aiohttp.ClientWebSocketResponse | None = None
    _session: Session | None = None
    _tasks: set[asyncio.Task] = field(default_factory=set)

    async def start(self, scenario: Scenario, only: set[str] | None = None) -> None:
        self._session = Session(self.url, self.ca_pem, token=self.lab_token)
        lab_time = await self._session.get("/api/lab/time")
        self.clock.set_offset(max(self.clock.offset, lab_time["offset"]))
        systems = {s["name"]: s["id"] for s in (await self._session.get("/controller/systems"))["systems"]}
        for system in scenario.systems:
            if system.name not in systems:
                raise RuntimeError(f"the appliance has no system named {system.name!r}; apply the scenario first")
            for cam in system.cameras:
                serial = cam.serial.upper()
                if only is not None and serial not in only:
                    continue
                driver = CameraDriver(serial, cam.model, url=self.url, ca_pem=self.ca_pem, lab_token=self.lab_token,
                                      clock=SkewedClock(self.clock), system_id=systems[system.name], media=self.media,
                                      on_state=lambda state, serial=serial: self._report(serial, state))
                await driver.start()
                driver.positions.set_route(route_from_spec(scenario.route(cam.route)), offset=cam.route_offset_s,
                                           fix=cam.gps_fix)  # L1: the GPS route this camera user walks
                self.cameras[serial] = driver
        await self._connect_control()
        for system in scenario.systems:
            for cam in system.cameras:
                serial = cam.serial.upper()
                if serial in self.cameras and cam.docked:
                    await self.dock(serial, cam.dock, cam.bay, cam.camera_user if cam.self_assign else None)

    async def _connect_control(self) -> None:
        assert self._session is not None
        self._ws = await self._session.http.ws_connect(
            self.url + "/api/lab/fleet", ssl=self._session.ssl, headers=self._session.headers(), heartbeat=20.0)
        await self._ws.send_json({"type": "register", "serials": sorted(self.cameras)})
        task = asyncio.create_task(self._control_loop(), name="fleet control")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _control_loop(self) -> None:
        assert self._ws is not None
        async for msg in self._ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            if data.get("type") == "clock":
                self.clock.set_offset(max(self.clock.offset, float(data["offset"])))
            elif data.get("type") == "action":
                task = asyncio.create_task(self._act(data), name=f"fleet action {data.get('id')}")
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _act(self, data: dict) -> None:
        serial = data.get("serial", "")
        reply = {"type": "result", "id": data.get("id"), "ok": True}
        try:
            driver = self.cameras[serial]
            action = data["action"]
            if action == "press":
                await driver.press(data["button"], data.get("gesture") or "press")
            elif action == "dock":
                dock, bay = data.get("dock"), data.get("bay")
                if dock is None or bay is None:
                    dock, bay = self.where.get(serial, (None, None)) if serial in self.where else self._last_bay(serial)
                await self.dock(serial, dock, bay, data.get("camera_user"))
            elif action == "undock":
                await self.undock(serial)
            elif action == "network":
                await driver.set_network(bool(data.get("up")), data.get("mode"))
            elif action == "stats":
                reply["stats"] = {"chunks_sent": driver.chunks_sent, "chunks_acked": driver.chunks_acked,
                                  "unacked": driver.unacked}
            elif action == "gps":
                driver.positions.set_fix(bool(data.get("fix")))  # D9: the GPS loses or regains its fix
            elif action == "skew":
                driver.clock.skew = float(data["seconds"])  # S1, L2: this camera's clock runs off lab time
            reply["state"] = driver.state
        except (KeyError, RuntimeError, ValueError) as exc:
            reply.update(ok=False, error=str(exc), code="action_failed")
        if self._ws is not None and not self._ws.closed:
            await self._ws.send_json(reply)

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
                await self._ws.send_json({"type": "state", "serial": serial, "state": state})
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
