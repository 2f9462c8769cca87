"""The system controllers this appliance emulates, the Manager's sign-in and its overview (S1, S3)."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from bwlab import schema
from bwlab.passwords import password_problem
from bwlab.schema import SchemaError

from ... import pki
from ...auth import MANAGER_COOKIE, hash_password, new_token, set_cookie, token_hash, verify_password
from ...errors import Conflict, Unauthenticated
from ...http import LAB, MANAGER, PUBLIC, access, json_response, read_body
from ...ids import new_id
from ...throttle import throttled
from .. import store
from ..cloud_sync import CAMERA_USER_SYNC
from ..connection import Connection
from ..settings import SystemSettings, local_time
from ..timesync import CONTROLLER_CLOCKS
from .request import API, appliance, db, stored_settings, system

routes = web.RouteTableDef()


@dataclass(frozen=True)
class NewSystem:
    name: str = field(metadata={"max_len": 80, "nonempty": True})
    admin_password: str = field(metadata={"max_len": 256})

    def __post_init__(self):
        problem = password_problem(self.admin_password, (self.name,))
        if problem:
            raise SchemaError("admin_password", problem)


@dataclass(frozen=True)
class Login:
    password: str = field(metadata={"max_len": 256})


@routes.get("/systems")
@access(PUBLIC)
async def list_systems(request: web.Request) -> web.Response:
    """The system controllers this appliance emulates (names only, like finding them on the LAN)."""
    rows = await store.system_names(db(request))
    return json_response({"systems": [dict(r) for r in rows]})


@routes.post("/systems")
@access(LAB)
async def create_system(request: web.Request) -> web.Response:
    """Install a new system controller in the lab (the lab's job, like racking a box)."""
    ctx = appliance(request)
    body = await read_body(request, NewSystem)
    system_id = new_id("ctl")
    ca_key, ca_cert = pki.make_ca(f"bwlab device CA {body.name} {system_id}", ctx.clock.now())
    try:
        await store.create_system(
            ctx.controller_db,
            system_id,
            body.name,
            hash_password(body.admin_password),
            schema.as_json(SystemSettings()),
            ca_key,
            ca_cert,
            ctx.clock.now(),
        )
    except Exception as exc:
        raise Conflict(f"cannot create system: {exc}") from None
    return json_response({"id": system_id, "name": body.name}, status=201)


@routes.post(API + "/login")
@access(PUBLIC)
async def login(request: web.Request) -> web.Response:
    ctx = appliance(request)
    row = await system(request)
    body = await read_body(request, Login)

    async def check():
        return row if verify_password(row["admin_password_hash"], body.password) else None

    await throttled(
        request,
        ("manager", row["id"]),
        check,
        Unauthenticated("wrong Manager administrator password", code="bad_credentials"),
    )
    token = new_token("bwm")
    await store.add_session(ctx.controller_db, token_hash(token), row["id"], ctx.clock.now())
    response = json_response({"token": token, "system_id": row["id"]}, status=201)
    set_cookie(response, MANAGER_COOKIE, token, path=f"/controller/{row['id']}")
    return response


@routes.get(API)
@access(MANAGER)
async def overview(request: web.Request) -> web.Response:
    row = await system(request)
    return json_response(
        {
            "id": row["id"],
            "name": row["name"],
            "settings": schema.as_json(stored_settings(row)),
            "connection": Connection.from_json(row["connection"]).public(),
            "allow_troubleshooting": bool(row["allow_troubleshooting"]),
            "device_ca_fingerprint": pki.fingerprint_sha256(row["device_ca_cert_pem"]),
            **clock_json(request, row["id"], stored_settings(row)),
            "cloud_sync": request.config_dict[CAMERA_USER_SYNC].describe(row["id"]),
            "audit_outbox": await store.audit_outbox_count(
                db(request), row["id"]
            ),  # Manager actions not in the cloud yet
        }
    )


def clock_json(request: web.Request, system_id: str, settings: SystemSettings) -> dict:
    """The controller's clock (S1): its time, the same in its time zone, and its last NTP sync."""
    clocks = request.config_dict[CONTROLLER_CLOCKS]
    now = clocks.now(system_id)
    return {"time": now, "local_time": local_time(now, settings.time_zone), "time_sync": clocks.describe(system_id)}
