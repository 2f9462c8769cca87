"""Docks and docking (D1, S4, S7, S8, S11, T4): a camera put in a bay is charged and provisioned.

Which camera user takes the camera, and whether the bay is free, are the rules of
``appliance/controller/docking.py``; this module looks the rows up and builds what the dock
hands the camera."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web
from aiosqlite import Row

from bwlab import schema
from bwlab.models import MODELS

from ... import pki
from ...errors import Conflict, InvalidInput
from ...http import LAB, MANAGER, access, json_response, read_body
from ...ids import new_id
from .. import store
from ..cloud_sync import CAMERA_USER_SYNC
from ..connection import Connection
from ..docking import CameraAssignment, bay_number, check_bay_free, docking_user, needs_named_user
from ..offload.settings import recording_settings
from ..provisioning import ProfileSettings
from ..timesync import CONTROLLER_CLOCKS
from .camera_users import user_networks
from .request import API, appliance, camera_row, db, dock_row, stored_settings, system, system_id, user_row

routes = web.RouteTableDef()


@dataclass(frozen=True)
class NewDock:
    name: str = field(metadata={"max_len": 80, "nonempty": True})
    bays: int = field(default=8, metadata={"min": 1, "max": 8})


@dataclass(frozen=True)
class Modem:
    """What the dock reads from an LTE camera's modem: the SIM state and the alert to raise (T4)."""

    sim_status: str | None = field(default=None, metadata={"max_len": 40})
    dock_alert: str | None = field(default=None, metadata={"max_len": 120})


@dataclass(frozen=True)
class DockCamera:
    """What the dock learns from a camera put in a bay: its serial and a certificate request;
    for a self-assigned camera, which camera user takes it; on LTE models, its modem's state."""

    serial: str = field(metadata={"max_len": 32})
    csr: str = field(metadata={"max_len": 4096})
    camera_user: str | None = None
    modem: Modem | None = None


@routes.get(API + "/docks")
@access(MANAGER, LAB)
async def list_docks(request: web.Request) -> web.Response:
    sid = system_id(request)
    docks = await store.docks(db(request), sid)
    cams = await store.docked_cameras(db(request), sid)
    out = []
    for d in docks:
        bays = {c["bay"]: c["serial"] for c in cams if c["dock_id"] == d["id"]}
        out.append(
            {
                "id": d["id"],
                "name": d["name"],
                "bays": [{"bay": b, "serial": bays.get(b)} for b in range(1, d["bays"] + 1)],
            }
        )
    return json_response({"docks": out})


@routes.post(API + "/docks")
@access(MANAGER)
async def add_dock(request: web.Request) -> web.Response:
    body = await read_body(request, NewDock)
    sid = system_id(request)
    if await store.dock_name_taken(db(request), sid, body.name):
        raise Conflict(f"a dock named {body.name!r} exists already", code="exists")
    dock_id = new_id("dck")
    await store.add_dock(db(request), dock_id, sid, body.name, body.bays)
    return json_response({"id": dock_id, "name": body.name, "bays": body.bays}, status=201)


@routes.post(API + "/docks/{dock}/bays/{bay}")
@access(LAB)
async def dock_camera(request: web.Request) -> web.Response:
    """D1, S4, S7, S8, S11: a camera put in a bay is charged and provisioned — a device
    certificate valid six days from the system's device CA, the system public key, its camera
    user's effective Wi-Fi list, its profile's streaming and location settings, and the time."""
    ctx = appliance(request)
    system_row = await system(request)
    dock = await dock_row(request)
    bay = bay_number(request.match_info["bay"], dock["bays"])
    body = await read_body(request, DockCamera)
    camera = await camera_row(request, body.serial)
    check_bay_free(await store.bay_occupant(ctx.controller_db, dock["id"], bay), camera["serial"], bay, dock["name"])
    assignment = CameraAssignment(
        camera["serial"], bool(camera["self_assign"]), camera["camera_user_id"], camera["docked_user_id"]
    )
    named = None
    if body.camera_user is not None and needs_named_user(assignment):
        named = (await user_row(request, body.camera_user))["id"]
    user_id = docking_user(assignment, named)
    now = ctx.clock.now()
    try:
        cert = pki.issue_device_cert(
            system_row["device_ca_key_pem"], system_row["device_ca_cert_pem"], body.csr, camera["serial"], now
        )
    except ValueError as exc:
        raise InvalidInput(f"csr: {exc}", path="csr") from None
    not_after = pki.load_cert(cert).not_valid_after_utc.timestamp()
    await store.record_docking(
        ctx.controller_db,
        system_row["id"],
        camera["serial"],
        dock["id"],
        bay,
        user_id,
        now,
        str(pki.load_cert(cert).serial_number),
        not_after,
    )
    await request.config_dict[CAMERA_USER_SYNC].ensure_known(system_row["id"], camera["serial"])  # issue 10
    if body.modem is not None and MODELS[camera["model"]].lte:
        await store.record_modem(
            ctx.controller_db, system_row["id"], camera["serial"], body.modem.sim_status, body.modem.dock_alert, now
        )
    return json_response(
        await _provisioning(request, system_row, camera["serial"], cert, not_after, user_id), status=201
    )


async def _provisioning(
    request: web.Request, system_row: Row, serial: str, cert: str, not_after: float, user_id: str | None
) -> dict:
    ctx = appliance(request)
    camera = await camera_row(request, serial)
    connection = Connection.from_json(system_row["connection"])
    settings = stored_settings(system_row)
    key = await store.active_key(ctx.controller_db, system_row["id"])
    user = await store.user(ctx.controller_db, user_id) if user_id else None
    profile = None
    networks: list[dict] = []
    if user is not None:
        networks = await user_networks(ctx.controller_db, user)
        if user["profile_id"]:
            stored = await store.profile_settings(ctx.controller_db, user["profile_id"])
            profile = schema.from_mapping(ProfileSettings, stored).for_camera(camera["model"])
    return {
        "camera": {"serial": serial, "model": camera["model"], "imei": camera["imei"]},
        "camera_user": {"id": user["id"], "name": user["name"]} if user else None,
        "certificate": cert,
        "ca_certificate": system_row["device_ca_cert_pem"],
        "not_after": not_after,
        "system": {
            "id": system_row["id"],
            "name": system_row["name"],
            "connected": connection.connected,
            "cloud_system_id": connection.cloud_system_id,
            "hub_url": connection.hub_url,
            "cloud_url": ctx.config.url,
            "region": connection.region,  # T5: its storage host
        },
        "e2e": {"public_key": key["public_key"], "fingerprint": key["fingerprint"]} if key else None,
        "wifi_networks": networks,
        "profile": profile,
        "allow_troubleshooting": bool(system_row["allow_troubleshooting"]) and MODELS[camera["model"]].troubleshooting,
        # Cameras: the SIM PIN; Settings > Camera > Mobile networks > Show advanced: the APN (T2 row 4c)
        "sim": {"pin": camera["sim_pin"], "apn": settings.mobile_networks.apn} if MODELS[camera["model"]].lte else None,
        "time": request.config_dict[CONTROLLER_CLOCKS].now(system_row["id"]),  # the controller's clock (S1)
        "time_zone": settings.time_zone,
        "ntp_server": settings.ntp_server,
        "lab_ca": ctx.tls.ca_pem,
        "recording": await recording_settings(ctx.controller_db, system_row["id"], settings.time_zone),  # issue 13
    }


@routes.delete(API + "/docks/{dock}/bays/{bay}")
@access(LAB)
async def undock_camera(request: web.Request) -> web.Response:
    """Take the camera out of the bay; it keeps its certificate until it expires (D1)."""
    ctx = appliance(request)
    dock = await dock_row(request)
    bay = bay_number(request.match_info["bay"], dock["bays"])
    serial = await store.bay_occupant(ctx.controller_db, dock["id"], bay)
    if serial is None:
        raise Conflict(f"bay {bay} of {dock['name']} is empty", code="bay_empty")
    await store.undock(ctx.controller_db, dock["system_id"], serial)
    return json_response({"serial": serial, "undocked_at": ctx.clock.now()})
