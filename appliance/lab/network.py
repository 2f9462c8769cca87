"""The lab network in the appliance: the NTP server and the faults (SPEC S1, T1–T4, L2, L3, L4;
DESIGN "Time", "Lab network"). The HTTP side is in ``api/``: faults (``api/faults.py``),
troubleshooting pages, diagnosis and pcap (``api/troubleshooting.py``, ``api/diagnosis.py``,
``api/pcap.py``).

The physical world of the cameras — their radios, positions, SIM cards — runs in the fleets next
to the cameras (``firmware_stub/network.py``); the appliance keeps what the lab as a whole owns:

* **NTP** (``start_ntp_server``) on lab time, UDP port ``ApplianceConfig.ntp_port`` (0 = a free
  port, None = none), announced in ``GET /api/lab/time``. NTP faults change its responder.
* **Faults** (``/api/lab/faults``): one book of ``faults.Fault`` for every kind (APs, cells, SIM
  cards, link impairments, camera clocks, NTP, time travel). Each change is checked against the
  world the running fleets declared (their APs, cells and cameras), then the whole list goes to
  every fleet, which applies it to its cameras; so clearing is exact and a fleet that connects
  later gets the same list.
* **Troubleshooting pages** (``GET /api/lab/cameras/{serial}/troubleshooting``, T1): built from
  what the camera reports, only on a W102/W120 whose system allows the mode and whose top button
  has put it into the mode; otherwise 409 with the reason.
* **Diagnosis** (``GET /api/lab/cameras/{serial}/diagnosis``, ``GET /api/lab/diagnosis``, L3):
  ``diagnosis.diagnose`` over the camera's reported state joined with what the controller knows
  (certificate, last docking, profile) and the cloud knows (licence, the hub's last refusal).
  T2 row 1 is about a system, not a camera: for a system whose cloud extensions are not enabled
  yet, the lab tries the cloud the way its Manager would (through the system's network settings)
  and names the cause when that fails.
* **pcap** (``GET /api/lab/cameras/{serial}/pcap``, L4): the fleet sends the camera's 802.11
  frame log over the fleet link when asked; the appliance writes the pcap with scapy in a thread.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bwlab.schema import SchemaError
from bwlab.wire import fleet_link
from labnet.faults import Fault, FaultBook, World, check_against, ntp_settings, parse_fault
from labnet.ntp import NtpResponder

from ..context import APPLIANCE, LAB_NTP_SERVER
from ..errors import InvalidInput
from .fleet import FleetLink
from .ntp_server import start_ntp_server

log = logging.getLogger(__name__)


class LabNetwork:
    """The appliance's side of the lab network (see the module docstring)."""

    def __init__(self, fleet: FleetLink, travel: Callable[[float], Awaitable[Any]]):
        self.fleet = fleet  # fleet.FleetLink: sockets, states, broadcast, ask
        self.travel = travel  # moves lab time forward (the lab API's one way to do it)
        self.book = FaultBook()
        self.worlds: dict[int, World] = {}  # id(fleet socket) → the world that fleet declared
        self.responder: NtpResponder | None = None
        self.ntp_host: str | None = None
        self.ntp_port: int | None = None

    def world(self) -> World:
        aps: dict[str, Any] = {}
        cells: dict[str, Any] = {}
        sims: dict[str, Any] = {}
        for w in self.worlds.values():
            aps.update({ap.name: ap for ap in w.access_points})
            cells.update({c.name: c for c in w.cells})
            sims.update(w.sims)
        return World(tuple(aps.values()), tuple(cells.values()), sims)

    def declare(self, ws: Any, data: Any) -> None:
        """A fleet registered with the world of its scenario (APs, cells, SIM cards)."""
        try:
            self.worlds[id(ws)] = World.from_dict(data) if isinstance(data, dict) else World()
        except SchemaError as exc:
            log.warning("a fleet declared a world the lab cannot read: %s", exc)
            self.worlds[id(ws)] = World()

    def forget(self, ws: Any) -> None:
        self.worlds.pop(id(ws), None)

    def faults_message(self) -> fleet_link.Faults:
        return fleet_link.Faults(faults=self.book.as_list())

    def apply_ntp(self) -> None:
        if self.responder is not None:
            settings = ntp_settings(self.book)
            self.responder.set_offset(settings.offset_s)
            self.responder.set_mode(settings.mode, settings.kiss_code)

    def ntp_server(self) -> tuple[str, int] | None:
        """(host, port) of the lab NTP server for the system controllers; None when none runs."""
        if self.ntp_port is None:
            return None
        return (self.ntp_host or "127.0.0.1", self.ntp_port)

    def ntp_info(self) -> dict[str, Any] | None:
        if self.responder is None:
            return None
        settings = ntp_settings(self.book)
        return {
            "host": self.ntp_host,
            "port": self.ntp_port,
            **settings.as_dict(),
            "requests": self.responder.requests,
            "answered": self.responder.answered,
        }


LAB_NETWORK = web.AppKey("lab_network", LabNetwork)


def setup_network(app: web.Application, fleet: FleetLink, travel: Callable[[float], Awaitable[Any]]) -> None:
    app[LAB_NETWORK] = LabNetwork(fleet, travel)
    app[LAB_NTP_SERVER] = app[LAB_NETWORK].ntp_server

    async def ntp_ctx(app: web.Application):
        net = app[LAB_NETWORK]
        config = app[APPLIANCE].config
        transport = None
        if config.ntp_port is not None:
            host = config.host if config.host not in ("0.0.0.0", "::", "") else "0.0.0.0"
            transport, net.responder = await start_ntp_server(app[APPLIANCE].clock, host, config.ntp_port)
            net.ntp_host = None if host == "0.0.0.0" else host
            net.ntp_port = transport.get_extra_info("sockname")[1]
            log.info("lab NTP server on udp %s:%d", host, net.ntp_port)
        yield
        if transport is not None:
            transport.close()

    app.cleanup_ctx.append(ntp_ctx)


# --------------------------------------------------------------------------------------------
# Faults (L2)


async def add_fault(config: Any, data: Any) -> Fault:
    """Validate, record and apply one fault (a travel moves lab time: D1, S15); ``config`` is
    the application (or a request's ``config_dict``)."""
    net, ctx = config[LAB_NETWORK], config[APPLIANCE]
    try:
        fault = parse_fault(data, fault_id=net.book.next_id(), now=ctx.clock.now(), path="")
        check_against(fault, net.world(), net.fleet.sockets.keys())
        net.book.add(fault)
    except SchemaError as exc:
        raise InvalidInput(str(exc), path=exc.path) from None
    if fault.kind == "travel":
        await net.travel(float(fault.set["seconds"]))
    net.apply_ntp()
    await net.fleet.broadcast(net.faults_message())
    log.info("fault %s added: %s", fault.id, fault.summary())
    return fault
