"""Cameras: registration, assignment to a camera user or self-assignment, SIM PIN (S8, T2 row 4a,
T4 row 5)."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web
from aiosqlite import Row

from bwlab.models import MODELS
from bwlab.schema import FieldError
from bwlab.wire.identifiers import SERIAL

from ...errors import Conflict, InvalidInput
from ...http import LAB, MANAGER, access, json_response, read_body
from .. import store
from ..docking import certificate_valid
from .request import API, appliance, camera_row, db, system_id, user_row

routes = web.RouteTableDef()


def _check_sim_pin(pin: str | None) -> None:
    """Cameras > the camera > SIM PIN (T2 row 4a, T4 row 5): 4 to 8 digits, as a SIM takes."""
    if pin is not None and not (pin.isascii() and pin.isdigit() and 4 <= len(pin) <= 8):
        raise FieldError("sim_pin", "a SIM PIN of 4 to 8 digits", pin)


@dataclass(frozen=True)
class NewCamera:
    serial: str = field(metadata=SERIAL)  # the pattern the device hub accepts in a hello
    model: str = field(metadata={"choices": tuple(MODELS)})
    camera_user: str | None = None
    self_assign: bool = False
    imei: str | None = field(default=None, metadata={"max_len": 20})
    sim_pin: str | None = field(default=None, metadata={"max_len": 8})

    def __post_init__(self):
        _check_sim_pin(self.sim_pin)
        if self.camera_user is not None and self.self_assign:
            raise ValueError("a camera is either assigned to a camera user or self-assigned, not both")


@dataclass(frozen=True)
class CameraUpdate:
    camera_user: str | None = None
    self_assign: bool | None = None
    sim_pin: str | None = field(default=None, metadata={"max_len": 8})

    def __post_init__(self):
        _check_sim_pin(self.sim_pin)


def _check_lte(model: str, sim_pin: str | None) -> None:
    if sim_pin and not MODELS[model].lte:
        raise InvalidInput(f"sim_pin: the {model} has no LTE modem, so it takes no SIM PIN", path="sim_pin")


def _camera_json(row: Row, now: float) -> dict:
    return {
        "serial": row["serial"],
        "model": row["model"],
        "capabilities": MODELS[row["model"]].as_dict(),
        "camera_user_id": row["camera_user_id"],
        "self_assign": bool(row["self_assign"]),
        "imei": row["imei"],
        "sim_pin_set": row["sim_pin"] is not None,
        "dock_id": row["dock_id"],
        "bay": row["bay"],
        "docked": row["dock_id"] is not None,
        "docked_user_id": row["docked_user_id"],
        "last_docked_at": row["last_docked_at"],
        "cert_not_after": row["cert_not_after"],
        "cert_valid": certificate_valid(row["cert_not_after"], now),
        # T4 rows 2, 4, 5: the SIM state as of the last docking, and the alert that docking raised
        "sim_status": row["sim_status"],
        "sim_alert": {"message": row["sim_alert"], "at": row["sim_alert_at"]} if row["sim_alert"] else None,
    }


@routes.get(API + "/cameras")
@access(MANAGER, LAB)
async def list_cameras(request: web.Request) -> web.Response:
    rows = await store.cameras(db(request), system_id(request))
    now = appliance(request).clock.now()
    return json_response({"cameras": [_camera_json(r, now) for r in rows]})


@routes.post(API + "/cameras")
@access(MANAGER)
async def add_camera(request: web.Request) -> web.Response:
    body = await read_body(request, NewCamera)
    ctx = appliance(request)
    user = await user_row(request, body.camera_user) if body.camera_user else None
    if body.imei is not None and not body.imei.isdigit():
        raise InvalidInput("imei: expected digits", path="imei")
    _check_lte(body.model, body.sim_pin)
    serial = body.serial.upper()
    sid = system_id(request)
    if await store.camera(ctx.controller_db, sid, serial) is not None:
        raise Conflict(f"camera {serial} is registered already", code="exists")
    await store.add_camera(
        ctx.controller_db,
        serial,
        sid,
        body.model,
        body.imei,
        body.sim_pin,
        user["id"] if user else None,
        body.self_assign,
        ctx.clock.now(),
    )
    row = await camera_row(request, serial)
    return json_response(_camera_json(row, ctx.clock.now()), status=201)


@routes.put(API + "/cameras/{serial}")
@access(MANAGER)
async def update_camera(request: web.Request) -> web.Response:
    """Cameras: assignment and SIM PIN (T2 row 4a, T4 row 5 are fixed here; the APN is the
    system's, Settings > Camera > Mobile networks)."""
    row = await camera_row(request, request.match_info["serial"])
    body = await read_body(request, CameraUpdate)
    user_id = row["camera_user_id"]
    self_assign = bool(row["self_assign"])
    if body.camera_user is not None:
        user_id = (await user_row(request, body.camera_user))["id"]
        self_assign = False
    if body.self_assign is not None:
        self_assign = body.self_assign
        if self_assign:
            user_id = None
    _check_lte(row["model"], body.sim_pin)
    await store.update_camera(db(request), row["system_id"], row["serial"], user_id, self_assign, body.sim_pin)
    row = await camera_row(request, row["serial"])
    return json_response(_camera_json(row, appliance(request).clock.now()))


@routes.delete(API + "/cameras/{serial}")
@access(MANAGER)
async def remove_camera(request: web.Request) -> web.Response:
    row = await camera_row(request, request.match_info["serial"])
    await store.delete_camera(db(request), row["system_id"], row["serial"])
    return json_response({"deleted": row["serial"]})
