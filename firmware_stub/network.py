"""A camera's place in the lab network: its Wi-Fi radio, its LTE modem, where it is, and the link
its uplink gets (SPEC S8, T1–T4, L2, L4; DESIGN "Lab network").

A sans-I/O core like the firmware: ``CameraNetwork`` is fed what happens in the physical world with
the lab time — the dock provisions Wi-Fi networks, PIN and APN (``provisioned``), the camera is
docked or taken out (``dock``/``undock``), it moves or walks its GPS route (``move``, the route),
the lab's faults change access points, cells, its SIM or its link (``set_faults``) — and is read
out with ``network(now)`` (what the firmware sees: up or not, WLAN or LTE), ``link(now)`` (what the
driver applies to the real uplink: latency, loss, rate, or paused) and ``summary(now)`` (the
``radio`` part of the camera's state, from which the lab builds the troubleshooting pages and the
diagnosis). The radio cores are the lab network's pure models in ``labnet`` (wifi.py,
mobile.py, faults.py): they describe the physical world, not the appliance, and are shared by the
fleet and the appliance like ``bwlab.wire`` (docs/decisions.md, "Lab network").

Decisions:

* The firmware sees the network **up** on Wi-Fi while the camera holds an IPv4 address, so also
  during a hand-over between two APs of one SSID (the address and the TCP connections survive a
  roam); the hand-over gap pauses the uplink instead (``link(now).up`` is false), which is the
  stream lag of T3 row 5. On LTE it is up while data passes (T4 row 9: an address but no data is
  down).
* A SIM in the camera puts it in the LTE sub-mode and switches its Wi-Fi off (T3 row 1).
* Position: while docked the camera is at its scenario ``position`` (the docks; the site origin
  by default); out of the dock it is where its camera user's GPS route puts them (the same walk
  the map shows, converted to the site's metre grid), unless a ``move`` put it somewhere else
  (until it is docked again); a ``move`` with ``walk_s`` walks there in a straight line.
* The mobile modem only exists on models with LTE (W120); its IMEI comes from the Manager or is
  derived from the serial.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from bwlab.models import CameraModel
from firmware_stub.supplicant_log import connected_line, failed_line
from labnet.events import WifiConnected, WifiConnectFailed, WifiRoamed, WifiRoamStarted
from labnet.faults import Fault, Impairment, World, apply_world, camera_impairment, impair
from labnet.mobile import NO_SIM, MobileConfig, MobileRadio, MobileStatus, ModemSettings
from labnet.propagation import LINK_DOWN, LinkQuality
from labnet.radio_config import RadioConfig, WifiNetwork, derive_mac
from labnet.wifi import WifiRadio, WifiStatus

from .events import NetworkMode

Position = tuple[float, float]
PositionSource = Callable[[float], Position]  # lab time → where the camera user's walk puts them (x, y metres)


def derive_imei(serial: str) -> str:
    """A stable 15-digit IMEI (with a valid Luhn check digit) for a camera without one."""
    digits = "35" + "".join(str(b % 10) for b in hashlib.sha256(serial.encode()).digest()[:12])
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return digits + str((10 - total % 10) % 10)


class CameraNetwork:
    """The lab network as one camera lives it (see the module docstring)."""

    def __init__(
        self,
        serial: str,
        model: CameraModel,
        *,
        world: World = World(),
        radio_config: RadioConfig = RadioConfig(),
        mobile_config: MobileConfig = MobileConfig(),
        position: Position = (0.0, 0.0),
        imei: str | None = None,
        route: PositionSource | None = None,
        now: float = 0.0,
    ):
        self.serial = serial.upper()
        self.model = model
        self.base_world = world
        self._faults: tuple[Fault, ...] = ()
        self._world = world
        self._home: Position = (float(position[0]), float(position[1]))
        self._route = route
        self._walk: tuple[float, Position, float, Position] | None = None  # (t0, from, t1, to)
        self._placed: Position | None = None  # a move overrides the route until the next dock
        self.docked = True
        self.impairment: Impairment | None = None
        self.wifi = WifiRadio(
            model,
            derive_mac("camera:" + self.serial),
            config=radio_config,
            access_points=world.access_points,
            position=self._home,
        )
        self.mobile: MobileRadio | None = None
        if model.lte:
            self.mobile = MobileRadio(
                model,
                imei if imei and imei.isdigit() and len(imei) == 15 else derive_imei(self.serial),
                sim=world.sims.get(self.serial, NO_SIM),
                cells=world.cells,
                position=self._home,
                docked=True,
                config=mobile_config,
            )
        self.wifi_networks: tuple[WifiNetwork, ...] = ()
        self.roams: deque[dict[str, Any]] = deque(maxlen=20)  # hand-overs, for the trails (L4)
        self.wifi_log: deque[dict[str, Any]] = deque(maxlen=8)  # the supplicant's lines (L3, supplicant_log.py)
        self._sync_sim_mode(now)

    # -- inputs ---------------------------------------------------------------------------

    def provisioned(
        self, now: float, networks: Iterable[WifiNetwork], *, pin: str | None = None, apn: str | None = None
    ) -> None:
        """The dock gave the camera its effective Wi-Fi list (S8) and, on LTE models, PIN and APN."""
        self.wifi_networks = tuple(networks)
        self.wifi.set_networks(now, self.wifi_networks)
        if self.mobile is not None:
            self.mobile.set_settings(now, ModemSettings(pin=pin, apn=apn))
        self._sync_sim_mode(now)

    def dock(self, now: float) -> None:
        self.docked = True
        self._walk = None
        self._placed = None
        self._relocate(now, self._home)
        if self.mobile is not None:
            self.mobile.dock(now)
        self._sync_sim_mode(now)

    def undock(self, now: float) -> None:
        self.docked = False
        if self.mobile is not None:
            self.mobile.undock(now)
        self._sync_sim_mode(now)

    def move(self, now: float, position: Position, walk_s: float = 0.0) -> None:
        """Put the camera at ``position`` (metres), walking there in ``walk_s`` seconds."""
        target = (float(position[0]), float(position[1]))
        if walk_s > 0:
            self._walk = (now, self.position(now), now + walk_s, target)
        else:
            self._walk = None
            self._relocate(now, target)
        self._placed = target
        if self.docked:
            self._home = target

    def set_faults(self, now: float, faults: Iterable[Fault]) -> None:
        """The lab's faults now (all of them, in order): the world is recomputed from its base."""
        self._faults = tuple(faults)
        world = apply_world(self.base_world, self._faults)
        if world.access_points != self._world.access_points:
            self.wifi.set_access_points(now, world.access_points)
        if self.mobile is not None:
            if world.cells != self._world.cells:
                self.mobile.set_cells(now, world.cells)
            sim = world.sims.get(self.serial, NO_SIM)
            if sim != self.mobile.sim:
                self.mobile.insert_sim(now, sim)
        self._world = world
        self.impairment = camera_impairment(self.serial, self._faults)
        self._sync_sim_mode(now)

    def record_usage(self, now: float, nbytes: int) -> None:
        """Bytes the camera sent over LTE spend the SIM's data credit (T4 row 9)."""
        if self.mobile is not None and self.mode(now) == "LTE":
            self.mobile.record_usage(now, nbytes)

    def tick(self, now: float) -> None:
        """Advance the radios and the walk to ``now``."""
        pos = self.position(now)
        if pos != self.wifi.position:
            self._relocate(now, pos)
        else:
            self.wifi.handle_timer(now)
        while (event := self.wifi.next_event()) is not None:
            if isinstance(event, (WifiRoamStarted, WifiRoamed)):
                self.roams.append(
                    {
                        "event": "roam_started" if isinstance(event, WifiRoamStarted) else "roamed",
                        "at": event.at,
                        "from_ap": event.from_ap,
                        "to_ap": event.to_ap,
                        "position": [round(c, 2) for c in event.position],
                    }
                )
            elif isinstance(event, WifiConnected):
                self.wifi_log.append(connected_line(event.at, event.ssid, event.bssid))
            elif (
                isinstance(event, WifiConnectFailed)
                and (line := failed_line(event.at, event.ssid, event.bssid, event.failure)) is not None
            ):
                self.wifi_log.append(line)
        if self.mobile is not None:
            while self.mobile.next_event() is not None:
                pass

    # -- outputs --------------------------------------------------------------------------

    def position(self, now: float) -> Position:
        if self._walk is not None:
            t0, a, t1, b = self._walk
            if now >= t1:
                return b
            f = max(0.0, (now - t0) / (t1 - t0))
            return (a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f)
        if self._placed is not None:
            return self._placed
        if not self.docked and self._route is not None:
            return self._route(now)
        return self._home

    def mobile_status(self, now: float) -> MobileStatus | None:
        return self.mobile.status(now) if self.mobile is not None else None

    def mode(self, now: float) -> NetworkMode:
        status = self.mobile_status(now)
        return "LTE" if status is not None and status.mode == "LTE" else "WLAN"

    def network(self, now: float) -> tuple[bool, NetworkMode]:
        """What the firmware sees: (up, "WLAN"/"LTE"): the sub-mode stays when the network is
        down, so the camera shows the warning of the right network (T2 rows 3 and 4)."""
        mobile = self.mobile_status(now)
        if mobile is not None and mobile.mode == "LTE":
            return mobile.data_ok, "LTE"
        wifi = self.wifi.status(now)
        return wifi.ipv4 is not None and wifi.state in ("connected", "roaming"), "WLAN"

    def weak_signal(self, now: float) -> bool:
        """Whether the camera's screen shows the weak Wi-Fi signal icon (T3 row 4): on Wi-Fi,
        with the access point heard below the weak-signal level or lost out of range."""
        if self.mode(now) == "LTE":
            return False
        return bool(self.wifi.status(now).weak_signal)

    def radio_link(self, now: float) -> LinkQuality:
        mobile = self.mobile_status(now)
        if mobile is not None and mobile.mode == "LTE":
            return mobile.link
        return self.wifi.status(now).link

    def link(self, now: float) -> LinkQuality:
        """The radio's link with the lab's impairments on top (what the uplink gets)."""
        return impair(self.radio_link(now), self.impairment)

    def summary(self, now: float) -> dict[str, Any]:
        """The ``radio`` part of the camera's reported state (JSON)."""
        wifi = self.wifi.status(now)
        mobile = self.mobile_status(now)
        up, mode = self.network(now)
        return {
            "mode": "LTE" if mobile is not None and mobile.mode == "LTE" else "WLAN",
            "network": {"up": up, "mode": mode},
            "position": [round(c, 2) for c in self.position(now)],
            "wifi": _status_dict(wifi),
            "mobile": _status_dict(mobile) if mobile is not None else None,
            "link": _link_dict(self.link(now)),
            "impairment": self.impairment.as_dict() if self.impairment is not None else None,
            "wifi_networks": len(self.wifi_networks),
            "station_mac": self.wifi.station_mac,
            "roams": list(self.roams),
            "wifi_log": list(self.wifi_log),
        }

    def frames(self, now: float | None = None) -> tuple:
        """The 802.11 frames sent so far (up to ``now`` when given: a capture taken then, L4)."""
        return self.wifi.frames if now is None else self.wifi.frames_until(now)

    # -- internals ------------------------------------------------------------------------

    def _relocate(self, now: float, pos: Position) -> None:
        self.wifi.move(now, pos)
        if self.mobile is not None and _far(self.mobile.position, pos):
            self.mobile.move(now, pos)

    def _sync_sim_mode(self, now: float) -> None:
        """A SIM in the camera switches its Wi-Fi off (T3 row 1)."""
        lte = self.mobile is not None and self.mobile.status(now).mode == "LTE"
        self.wifi.set_enabled(now, not lte)


def _far(a: Position, b: Position) -> bool:
    return math.hypot(a[0] - b[0], a[1] - b[1]) >= 0.5


def _link_dict(link: LinkQuality) -> dict[str, Any]:
    return dataclasses.asdict(link)


def _status_dict(status: WifiStatus | MobileStatus) -> dict[str, Any]:
    out = dataclasses.asdict(status)
    for key, value in out.items():
        if isinstance(value, tuple):
            out[key] = list(value)
    return out


LINK_IDEAL = LinkQuality(up=True, latency_ms=0.0, loss_ratio=0.0, throughput_kbps=math.inf)
__all__ = ["CameraNetwork", "LINK_DOWN", "LINK_IDEAL", "derive_imei"]
