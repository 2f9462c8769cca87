"""The lab network in the appliance: the NTP server, the faults API, the troubleshooting pages,
the diagnosis and the pcap export (SPEC S1, T1–T4, L2, L3, L4; DESIGN "Time", "Lab network").

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

import asyncio
import json
import logging
from typing import Any, Awaitable, Callable

from aiohttp import web

from bwlab.models import MODELS
from bwlab.regions import SERVICE_HOSTS
from bwlab.schema import SchemaError
from labnet.faults import FAULT_KINDS, Fault, FaultBook, World, check_against, ntp_settings, parse_fault
from labnet.ntp import NtpResponder
from labnet.telemetry import frames_from_list, mobile_status, wifi_status
from bwlab.wire import fleet_link

from ..cloud.store import licence_valid
from ..context import APPLIANCE, LAB_NTP_SERVER
from ..controller import store as controller_store
from ..controller.cloud_client import system_client
from ..errors import ClientError, Conflict, InvalidInput, NotFound
from ..http import LAB, access, json_response, read_json
from . import diagnosis, hostnames, troubleshooting
from .facts import CameraFacts, camera_telemetry
from .ntp_server import start_ntp_server
from .pcap import pcap_bytes

log = logging.getLogger(__name__)

routes = web.RouteTableDef()
PCAP_TIMEOUT = 20.0


class LabNetwork:
    """The appliance's side of the lab network (see the module docstring)."""

    def __init__(self, fleet: Any, travel: Callable[[float], Awaitable[Any]]):
        self.fleet = fleet  # routes.FleetLink: sockets, states, broadcast, ask
        self.travel = travel  # moves lab time forward (the lab API's one way to do it)
        self.book = FaultBook()
        self.worlds: dict[int, World] = {}  # id(fleet socket) → the world that fleet declared
        self.responder: NtpResponder | None = None
        self.ntp_host: str | None = None
        self.ntp_port: int | None = None

    def world(self) -> World:
        aps, cells, sims = {}, {}, {}
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
        return {"host": self.ntp_host, "port": self.ntp_port, **settings.as_dict(),
                "requests": self.responder.requests, "answered": self.responder.answered}


LAB_NETWORK = web.AppKey("lab_network", LabNetwork)


def setup_network(app: web.Application, fleet: Any, travel: Callable[[float], Awaitable[Any]]) -> None:
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


def _net(request: web.Request) -> LabNetwork:
    return request.config_dict[LAB_NETWORK]


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


@routes.get("/faults")
@access(LAB)
async def list_faults(request: web.Request) -> web.Response:
    """L2: the faults injected now, the kinds there are, and the world they change."""
    net = _net(request)
    world = net.world()
    blocked = await hostnames.blocked(request.config_dict[APPLIANCE].db)  # /api/lab/faults/blocked-hosts
    return json_response({"faults": net.book.as_list(), "kinds": FAULT_KINDS, "ntp": net.ntp_info(),
                          "blocked_hosts": blocked, "world": world.as_dict()})


@routes.post("/faults")
@access(LAB)
async def post_fault(request: web.Request) -> web.Response:
    """L2: inject a fault: ``{"kind", "target", "set": {...}, "id"?}`` (kinds in faults.py)."""
    fault = await add_fault(request.config_dict, await read_json(request))
    return json_response(fault.as_dict(), status=201)


@routes.delete("/faults")
@access(LAB)
async def clear_faults(request: web.Request) -> web.Response:
    """L2: clear every fault (time travel stays: lab time never goes back)."""
    net = _net(request)
    gone = net.book.clear()
    net.apply_ntp()
    await net.fleet.broadcast(net.faults_message())
    return json_response({"cleared": [f.id for f in gone]})


@routes.delete("/faults/{fault_id}")
@access(LAB)
async def clear_fault(request: web.Request) -> web.Response:
    net = _net(request)
    fault = net.book.remove(request.match_info["fault_id"])
    if fault is None:
        raise NotFound(f"no fault {request.match_info['fault_id']!r}; GET /api/lab/faults lists them")
    net.apply_ntp()
    await net.fleet.broadcast(net.faults_message())
    return json_response({"cleared": [fault.id], "fault": fault.as_dict()})


# --------------------------------------------------------------------------------------------
# Per-camera facts


async def _camera_row(request: web.Request, serial: str):
    ctx = request.config_dict[APPLIANCE]
    row = await controller_store.camera_anywhere(ctx.controller_db, serial)
    if row is None and serial not in _net(request).fleet.states:
        raise NotFound(f"no camera {serial!r} in the lab")
    return row


async def _facts(request: web.Request, serial: str, row) -> CameraFacts:
    ctx = request.config_dict[APPLIANCE]
    state = _net(request).fleet.states.get(serial) or {}
    if row is None:
        return CameraFacts(serial=serial, model=str(state.get("model") or "W102"))
    streaming_enabled = None
    licence = True
    blocked: tuple[str, ...] = ()
    country = None
    system = await ctx.controller_db.fetchone("SELECT connection, settings FROM ctl_systems WHERE id = ?",
                                              (row["system_id"],))
    if system is not None:
        country = json.loads(system["settings"] or "{}").get("country")  # T2 row 7: where the system is
        conn = json.loads(system["connection"] or "{}")
        cloud_system = conn.get("cloud_system_id")
        if conn.get("region"):  # T2 row 5 (derived): the T5 names this camera needs, blocked by the lab
            names = set(await hostnames.blocked(ctx.db))
            blocked = tuple(n for n in hostnames.camera_hosts(conn["region"]) if n in names)
        if cloud_system:
            org = await ctx.db.fetchone("SELECT org_id FROM cloud_systems WHERE id = ?", (cloud_system,))
            if org is not None:
                licence = await licence_valid(ctx.db, org["org_id"], ctx.clock.now())
    user_id = row["docked_user_id"] or row["camera_user_id"]
    if user_id:
        prof = await ctx.controller_db.fetchone(
            "SELECT p.settings FROM ctl_camera_users u JOIN ctl_profiles p ON p.id = u.profile_id WHERE u.id = ?",
            (user_id,))
        if prof is not None:
            streaming_enabled = bool(json.loads(prof["settings"]).get("streaming"))
        else:
            streaming_enabled = False
    return CameraFacts(serial=serial, model=row["model"], docked=row["dock_id"] is not None,
                       last_docked_at=row["last_docked_at"], cert_not_after=row["cert_not_after"],
                       streaming_enabled=streaming_enabled, licence_valid=licence, blocked_hostnames=blocked,
                       system_country=country)


async def _hub_facts(request: web.Request, serial: str, camera) -> dict[str, Any]:
    """What the hub knows of the camera of this system (a camera is (system, serial), issue 10)."""
    ctx = request.config_dict[APPLIANCE]
    system = None if camera is None else await ctx.controller_db.fetchone(
        "SELECT connection FROM ctl_systems WHERE id = ?", (camera["system_id"],))
    cloud_system_id = json.loads(system["connection"] or "{}").get("cloud_system_id") if system else None
    row = await ctx.db.fetchone("SELECT online, last_refusal FROM device_state WHERE cloud_system_id = ? AND serial = ?",
                                (cloud_system_id, serial))
    events = await ctx.db.fetchall(
        "SELECT at, kind, detail FROM device_events WHERE serial = ? AND (cloud_system_id IS NULL OR cloud_system_id = ?) "
        "AND kind NOT LIKE 'camera:%' ORDER BY id DESC LIMIT 5", (serial, cloud_system_id))
    return {"online": bool(row and row["online"]),
            "last_refusal": json.loads(row["last_refusal"]) if row and row["last_refusal"] else None,
            "recent_events": [dict(e) for e in events]}


async def _diagnose(request: web.Request, serial: str) -> dict[str, Any]:
    ctx = request.config_dict[APPLIANCE]
    row = await _camera_row(request, serial)
    facts = await _facts(request, serial, row)
    state = _net(request).fleet.states.get(serial)
    now = ctx.clock.now()
    telemetry = camera_telemetry(now, facts, state)
    findings = diagnosis.diagnose(telemetry)
    radio = (state or {}).get("radio") or {}
    return {
        "serial": serial, "model": facts.model, "lab_time": now, "reporting": state is not None,
        "system_id": row["system_id"] if row is not None else None,
        "findings": [{"code": f.code, "spec_id": f.spec_id, "symptom": f.symptom, "cause": f.cause, "fix": f.fix,
                      "observed": f.observed, "lab_derived": diagnosis.ROWS[f.code].lab_derived,
                      "manager": diagnosis.ROWS[f.code].as_dict()["manager"]}
                     | ({"hostnames": _hostnames(telemetry.blocked_hostnames, radio)} if f.code == "T2-5-hostnames" else {})
                     for f in findings],
        "codes": [f.code for f in findings],
        "facts": {"docked": telemetry.docked, "cert_not_after": telemetry.cert_not_after,
                  "last_docked_at": telemetry.last_docked_at, "streaming_enabled": telemetry.streaming_enabled,
                  "licence_valid": telemetry.licence_valid, "camera_clock_offset_s": telemetry.camera_clock_offset_s,
                  "mode": radio.get("mode"), "wifi_failure": (radio.get("wifi") or {}).get("failure"),
                  "mobile_problem": (radio.get("mobile") or {}).get("problem")},
        "hub": await _hub_facts(request, serial, row),
        "last_press": (state or {}).get("last_press"),  # a press that did nothing says why (L3's doctor too)
    }


def _hostnames(names: tuple[str, ...], radio: dict) -> list[dict]:
    """T2 row 5 (derived): each name not reached, its T5 row, and what the camera saw (issue 15)."""
    rows = {h.name: h.purpose for h in SERVICE_HOSTS}
    seen = radio.get("services") if isinstance(radio.get("services"), dict) else {}
    return [{"hostname": n, "t5_row": rows.get(n), "port": 443, "observed": (seen.get(n) or {}).get("error") or "blocked"}
            for n in names]


@routes.get("/cameras/{serial}/diagnosis")
@access(LAB)
async def camera_diagnosis(request: web.Request) -> web.Response:
    """L3: every row of the manual's tables whose rule holds for this camera: symptom, cause, fix."""
    return json_response(await _diagnose(request, request.match_info["serial"].upper()))


_BEFORE_EXTENSIONS = ("not_installed", "installed")
SYSTEM_ROWS = ("T2-1",)


async def _system_diagnosis(request: web.Request, system) -> dict[str, Any]:
    """T2 row 1 for one system: can its Manager reach the cloud with its network settings?"""
    ctx = request.config_dict[APPLIANCE]
    connection = json.loads(system["connection"] or "{}")
    state = connection.get("state", "not_installed")
    error = None
    if state in _BEFORE_EXTENSIONS:
        try:
            await system_client(ctx, system["settings"], timeout=3.0).request("GET", "/ping")
        except ClientError as exc:
            error = exc.message
    telemetry = diagnosis.CameraTelemetry(camera_id=system["id"], model="", now=ctx.clock.now(),
                                          cloud_extensions_error=error)
    findings = [f for f in diagnosis.diagnose(telemetry) if f.code in SYSTEM_ROWS]
    return {"id": system["id"], "name": system["name"], "connection_state": state, "cloud_error": error,
            "codes": [f.code for f in findings],
            "findings": [{"code": f.code, "spec_id": f.spec_id, "symptom": f.symptom, "cause": f.cause, "fix": f.fix,
                          "observed": f.observed, "lab_derived": False,
                          "manager": diagnosis.ROWS[f.code].as_dict()["manager"]} for f in findings]}


@routes.get("/diagnosis")
@access(LAB)
async def lab_diagnosis(request: web.Request) -> web.Response:
    """L3 for every system and every camera the controllers know or a fleet runs (``bwlab doctor``)."""
    ctx = request.config_dict[APPLIANCE]
    serials = await controller_store.all_serials(ctx.controller_db)
    serials |= set(_net(request).fleet.states)
    systems = [row for row, _ in await controller_store.systems_with_connection(ctx.controller_db)]
    return json_response({"lab_time": ctx.clock.now(),
                          "systems": [await _system_diagnosis(request, s) for s in systems],
                          "cameras": [await _diagnose(request, s) for s in sorted(serials)]})


# --------------------------------------------------------------------------------------------
# Troubleshooting mode (T1)


@routes.get("/cameras/{serial}/troubleshooting")
@access(LAB)
async def camera_troubleshooting(request: web.Request) -> web.Response:
    """T1: the four pages the camera shows in troubleshooting mode, with the manual's fields."""
    serial = request.match_info["serial"].upper()
    row = await _camera_row(request, serial)
    state = _net(request).fleet.states.get(serial)
    model_name = row["model"] if row is not None else str((state or {}).get("model"))
    model = MODELS.get(model_name)
    if model is None or not model.troubleshooting:
        raise Conflict(f"the {model_name} has no troubleshooting mode (only the W102 and W120 have it)",
                       code="troubleshooting_unsupported")
    if state is None:
        raise Conflict(f"camera {serial} is not running: no fleet reports it", code="camera_not_running")
    mode = state.get("troubleshooting") or {}
    if not mode.get("available"):
        raise Conflict("troubleshooting mode is not allowed: in AXIS Body Worn Manager go to Add-on services > "
                       "AXIS Body Worn Live > Axis-hosted overview > Show more > Allow troubleshooting mode, "
                       "then dock the camera", code="troubleshooting_not_allowed")
    if not mode.get("active"):
        raise Conflict("the camera is not in troubleshooting mode: press its top button twice",
                       code="troubleshooting_not_active")
    radio = state.get("radio") or {}
    now = request.config_dict[APPLIANCE].clock.now()
    try:
        pages = troubleshooting.build_pages(
            model=model, allowed=True, system_time=now + float(radio.get("clock_offset_s") or 0.0),
            wifi=wifi_status(radio.get("wifi")), mobile=mobile_status(radio.get("mobile")),
            endpoint_response_code=radio.get("endpoint_response_code"))
    except troubleshooting.TroubleshootingUnavailable as exc:
        raise Conflict(str(exc), code=f"troubleshooting_{exc.reason}") from None
    fields = {f.key: f.value for p in pages for f in p.fields}
    return json_response({"serial": serial, "model": model.name, "page": mode.get("page"),
                          "pages": [p.as_dict() for p in pages], "fields": fields})


# --------------------------------------------------------------------------------------------
# pcap (L4)


@routes.get("/cameras/{serial}/pcap")
@access(LAB)
async def camera_pcap(request: web.Request) -> web.Response:
    """L4: the camera's emulated 802.11 management frames (and EAPOL) as a pcap for Wireshark."""
    serial = request.match_info["serial"].upper()
    result = await _net(request).fleet.ask(serial, fleet_link.CameraAction(action="frames"), PCAP_TIMEOUT)
    frames = frames_from_list(result.frames or [])
    data = await asyncio.to_thread(pcap_bytes, frames)
    return web.Response(body=data, content_type="application/vnd.tcpdump.pcap", headers={
        "Content-Disposition": f'attachment; filename="{serial}-80211.pcap"', "X-Frames": str(len(frames))})
