"""The system controller's Manager API ("AXIS Body Worn Manager"), mounted at /controller.

One appliance emulates several system controllers, each at ``/controller/{system_id}/api``
with its own administrator login. Covered here: system settings (S1), the connection flow to
the cloud (S3), end-to-end keys (S4–S6), camera profiles (S7, S11), Wi-Fi networks and their
priority (S8), camera users, cameras, docks, "Allow troubleshooting mode" (T1), and docking
(D1): the dock — the lab's physical world — hands the camera its certificate and settings.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass, field, replace
from typing import Literal

from aiohttp import web

from bwlab import schema
from bwlab.models import MODELS
from bwlab.passwords import password_problem
from bwlab.regions import REGIONS
from bwlab.schema import FieldError, SchemaError
from bwlab.wire import authorization, envelope
from bwlab.wire.identifiers import SERIAL

from .. import pki
from ..auth import MANAGER_COOKIE, hash_password, new_token, set_cookie, token_hash, verify_password
from ..cloud.routes import new_id
from ..context import APPLIANCE
from ..errors import ClientError, Conflict, InvalidInput, NotFound, Unauthenticated
from ..http import LAB, MANAGER, PUBLIC, access, json_response, read_body
from ..throttle import throttled
from .cloud_client import CloudClient, system_client
from .cloud_sync import CAMERA_USER_SYNC
from .settings import DateTime, MobileNetworks, NetworkSettings, SystemSettings, local_time, settings_from_json
from .offload.settings import recording_settings
from .timesync import CONTROLLER_CLOCKS, server_of
from .provisioning import ProfileSettings, WifiCredential, effective_networks

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

API = "/{system_id}/api"


# ---------------------------------------------------------------------------------------------
# request bodies


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


@dataclass(frozen=True)
class Install:
    hosting: Literal["axis-hosted"] = "axis-hosted"


@dataclass(frozen=True)
class Toggle:
    enabled: bool


@dataclass(frozen=True)
class Eula:
    accepted: bool


@dataclass(frozen=True)
class CloudSignIn:
    email: str = field(metadata={"max_len": 254})
    password: str = field(metadata={"max_len": 256})


@dataclass(frozen=True)
class OrganizationChoice:
    """S3: pick an organization, or create one (its creator becomes owner and admin)."""

    id: str | None = None
    create: str | None = field(default=None, metadata={"max_len": 120})

    def __post_init__(self):
        if (self.id is None) == (self.create is None):
            raise ValueError("give exactly one of id (an existing organization) or create (a new name)")


@dataclass(frozen=True)
class StorageChoice:
    region: str = field(metadata={"choices": tuple(REGIONS)})


@dataclass(frozen=True)
class Finish:
    authorization_code: str = field(metadata={"max_len": 128})


@dataclass(frozen=True)
class NewKey:
    name: str = field(default="Key", metadata={"max_len": 80, "nonempty": True})


@dataclass(frozen=True)
class LinkRequest:
    passphrase: str | None = field(default=None, metadata={"max_len": 256})


@dataclass(frozen=True)
class ImportLink:
    name: str = field(metadata={"max_len": 80, "nonempty": True})
    link: str = field(metadata={"max_len": 4096})
    passphrase: str | None = field(default=None, metadata={"max_len": 256})


@dataclass(frozen=True)
class NewCameraUser:
    name: str = field(metadata={"max_len": 80, "nonempty": True})
    profile: str | None = None
    network: WifiCredential | None = None


@dataclass(frozen=True)
class CameraUserUpdate:
    name: str | None = field(default=None, metadata={"max_len": 80, "nonempty": True})  # a rename (issue 13: Users/)
    profile: str | None = None
    network: WifiCredential | None = None
    clear_network: bool = False


@dataclass(frozen=True)
class AssistantNetwork:
    network: WifiCredential | None


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


@dataclass(frozen=True)
class NewDock:
    name: str = field(metadata={"max_len": 80, "nonempty": True})
    bays: int = field(default=8, metadata={"min": 1, "max": 8})


@dataclass(frozen=True)
class Troubleshooting:
    allow: bool


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


# ---------------------------------------------------------------------------------------------
# helpers


def _ctx(request: web.Request):
    return request.config_dict[APPLIANCE]


async def _system(request: web.Request):
    row = await _ctx(request).controller_db.fetchone("SELECT * FROM ctl_systems WHERE id = ?", (request.match_info["system_id"],))
    if row is None:
        raise NotFound(f"no system controller {request.match_info['system_id']!r}")
    return row


async def _connection(request: web.Request) -> dict:
    return json.loads((await _system(request))["connection"])


async def _save_connection(request: web.Request, connection: dict) -> None:
    await _ctx(request).controller_db.execute(
        "UPDATE ctl_systems SET connection = ? WHERE id = ?", (json.dumps(connection), request.match_info["system_id"])
    )


def stored_settings(system) -> SystemSettings:
    return settings_from_json(system["settings"], system["id"])


async def _settings(request: web.Request) -> SystemSettings:
    return stored_settings(await _system(request))


def _public_connection(connection: dict) -> dict:
    hidden = {"cloud_token", "system_token", "authorization_code", "authorization_code_expires_at"}
    return {k: v for k, v in connection.items() if k not in hidden}


_STEPS = ["not_installed", "installed", "extensions_enabled", "eula_accepted", "signed_in", "organization_chosen",
          "storage_chosen", "connected"]


def _require_step(connection: dict, at_least: str) -> None:
    state = connection.get("state", "not_installed")
    if state == "connected" and at_least != "connected":
        raise Conflict("the system is connected already", code="already_connected")
    if _STEPS.index(state) < _STEPS.index(at_least):
        raise Conflict(
            f"this step needs the connection to be at least at '{at_least}', it is at '{state}' (S3 order: "
            + " → ".join(_STEPS[1:]) + ")",
            code="wrong_step",
        )


async def _cloud(request: web.Request, token: str | None = None) -> CloudClient:
    return system_client(_ctx(request), (await _system(request))["settings"], token=token)


async def _profile_row(request: web.Request, ref: str):
    system_id = request.match_info["system_id"]
    row = await _ctx(request).controller_db.fetchone(
        "SELECT * FROM ctl_profiles WHERE system_id = ? AND (id = ? OR name = ?)", (system_id, ref, ref)
    )
    if row is None:
        raise NotFound(f"no camera profile {ref!r}")
    return row


async def _user_row(request: web.Request, ref: str):
    system_id = request.match_info["system_id"]
    row = await _ctx(request).controller_db.fetchone(
        "SELECT * FROM ctl_camera_users WHERE system_id = ? AND (id = ? OR name = ?)", (system_id, ref, ref)
    )
    if row is None:
        raise NotFound(f"no camera user {ref!r}")
    return row


def _profile_json(row) -> dict:
    return {"id": row["id"], **json.loads(row["settings"])}


def _user_json(row, profile_name: str | None) -> dict:
    return {
        "id": row["id"], "name": row["name"], "profile_id": row["profile_id"], "profile": profile_name,
        "network": json.loads(row["manager_network"]) if row["manager_network"] else None,
        "assistant_network": json.loads(row["assistant_network"]) if row["assistant_network"] else None,
    }


# ---------------------------------------------------------------------------------------------
# systems and sign-in


@routes.get("/systems")
@access(PUBLIC)
async def list_systems(request: web.Request) -> web.Response:
    """The system controllers this appliance emulates (names only, like finding them on the LAN)."""
    rows = await _ctx(request).controller_db.fetchall("SELECT id, name FROM ctl_systems ORDER BY created_at")
    return json_response({"systems": [dict(r) for r in rows]})


@routes.post("/systems")
@access(LAB)
async def create_system(request: web.Request) -> web.Response:
    """Install a new system controller in the lab (the lab's job, like racking a box)."""
    ctx = _ctx(request)
    body = await read_body(request, NewSystem)
    system_id = new_id("ctl")
    ca_key, ca_cert = pki.make_ca(f"bwlab device CA {body.name} {system_id}", ctx.clock.now())
    try:
        await ctx.controller_db.execute(
            "INSERT INTO ctl_systems (id, name, admin_password_hash, settings, connection, device_ca_key_pem, "
            "device_ca_cert_pem, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (system_id, body.name, hash_password(body.admin_password), json.dumps(schema.as_json(SystemSettings())),
             json.dumps({"state": "not_installed"}), ca_key, ca_cert, ctx.clock.now()),
        )
    except Exception as exc:
        raise Conflict(f"cannot create system: {exc}") from None
    return json_response({"id": system_id, "name": body.name}, status=201)


@routes.post(API + "/login")
@access(PUBLIC)
async def login(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    system = await _system(request)
    body = await read_body(request, Login)

    async def check():
        return system if verify_password(system["admin_password_hash"], body.password) else None

    await throttled(request, ("manager", system["id"]), check,
                    Unauthenticated("wrong Manager administrator password", code="bad_credentials"))
    token = new_token("bwm")
    now = ctx.clock.now()
    await ctx.controller_db.execute(
        "INSERT INTO ctl_sessions (token_hash, system_id, created_at, last_used_at) VALUES (?, ?, ?, ?)",
        (token_hash(token), system["id"], now, now),
    )
    response = json_response({"token": token, "system_id": system["id"]}, status=201)
    set_cookie(response, MANAGER_COOKIE, token, path=f"/controller/{system['id']}")
    return response


@routes.get(API)
@access(MANAGER)
async def overview(request: web.Request) -> web.Response:
    system = await _system(request)
    connection = json.loads(system["connection"])
    return json_response({
        "id": system["id"], "name": system["name"],
        "settings": schema.as_json(stored_settings(system)),
        "connection": _public_connection(connection),
        "allow_troubleshooting": bool(system["allow_troubleshooting"]),
        "device_ca_fingerprint": pki.fingerprint_sha256(system["device_ca_cert_pem"]),
        **_clock_json(request, system["id"], stored_settings(system)),
        "cloud_sync": request.config_dict[CAMERA_USER_SYNC].describe(system["id"]),
    })


def _clock_json(request: web.Request, system_id: str, settings: SystemSettings) -> dict:
    """The controller's clock (S1): its time, the same in its time zone, and its last NTP sync."""
    clocks = request.config_dict[CONTROLLER_CLOCKS]
    now = clocks.now(system_id)
    return {"time": now, "local_time": local_time(now, settings.time_zone), "time_sync": clocks.describe(system_id)}


async def _save_settings(request: web.Request, settings: SystemSettings, extra: dict | None = None) -> web.Response:
    system_id = request.match_info["system_id"]
    await _ctx(request).controller_db.execute(
        "UPDATE ctl_systems SET settings = ? WHERE id = ?", (json.dumps(schema.as_json(settings)), system_id)
    )
    clocks = request.config_dict[CONTROLLER_CLOCKS]  # S1: a new NTP server is used at once
    await clocks.sync(system_id, await server_of(request.config_dict, _ctx(request).controller_db, system_id))
    return json_response({**schema.as_json(settings), **_clock_json(request, system_id, settings), **(extra or {})})


@routes.put(API + "/settings")
@access(MANAGER)
async def put_settings(request: web.Request) -> web.Response:
    """All of Settings at once: date and time (S1), network (S3), mobile networks (T2 row 4c)."""
    body = await read_body(request, SystemSettings)
    await _system(request)
    return await _save_settings(request, body)


@routes.put(API + "/settings/date-time")
@access(MANAGER)
async def put_date_time(request: web.Request) -> web.Response:
    """Settings > System > Date and time: time zone and NTP server (S1); the clock syncs at once."""
    body = await read_body(request, DateTime)
    settings = replace(await _settings(request), time_zone=body.time_zone, ntp_server=body.ntp_server)
    return await _save_settings(request, settings)


@routes.put(API + "/settings/network")
@access(MANAGER)
async def put_network(request: web.Request) -> web.Response:
    """Settings > Network: IP address, gateway, DNS servers, proxy (S3, T2 row 1). Saved, then
    tried: the answer says whether the cloud can be reached through them."""
    body = await read_body(request, NetworkSettings)
    settings = replace(await _settings(request), network=body)
    ctx = _ctx(request)
    try:
        await CloudClient(ctx.config.url, ctx.tls.ca_pem, network=body, timeout=3.0).request("GET", "/ping")
        cloud = {"reachable": True, "error": None}
    except ClientError as exc:
        cloud = {"reachable": False, "error": exc.message}
    return await _save_settings(request, settings, {"cloud": cloud})


@routes.put(API + "/settings/mobile-networks")
@access(MANAGER)
async def put_mobile_networks(request: web.Request) -> web.Response:
    """Settings > Camera > Mobile networks (Show advanced: APN; T2 row 4c, T4 row 7): every LTE
    camera of the system receives it when docked."""
    body = await read_body(request, MobileNetworks)
    return await _save_settings(request, replace(await _settings(request), mobile_networks=body))


@routes.put(API + "/troubleshooting")
@access(MANAGER)
async def put_troubleshooting(request: web.Request) -> web.Response:
    """T1: "Allow troubleshooting mode"; cameras learn it when docked."""
    body = await read_body(request, Troubleshooting)
    await _ctx(request).controller_db.execute(
        "UPDATE ctl_systems SET allow_troubleshooting = ? WHERE id = ?", (int(body.allow), request.match_info["system_id"])
    )
    return json_response({"allow_troubleshooting": body.allow})


# ---------------------------------------------------------------------------------------------
# S3: Add-on services > AXIS Body Worn Live > Axis-hosted


@routes.post(API + "/addon/install")
@access(MANAGER)
async def addon_install(request: web.Request) -> web.Response:
    body = await read_body(request, Install)
    connection = await _connection(request)
    _require_step(connection, "not_installed")
    connection.update(state="installed", hosting=body.hosting)
    await _save_connection(request, connection)
    return json_response(_public_connection(connection))


@routes.put(API + "/addon/cloud-extensions")
@access(MANAGER)
async def addon_cloud_extensions(request: web.Request) -> web.Response:
    """Enable cloud extensions: the controller must reach the cloud through its network
    settings; if it cannot, the cause is the system's IP, DNS, proxy or firewall (S3, T2)."""
    body = await read_body(request, Toggle)
    connection = await _connection(request)
    _require_step(connection, "installed")
    if body.enabled:
        await (await _cloud(request)).request("GET", "/ping")
        connection.update(state="extensions_enabled")
    else:
        connection = {"state": "installed", "hosting": connection.get("hosting")}
    await _save_connection(request, connection)
    return json_response(_public_connection(connection))


@routes.put(API + "/addon/eula")
@access(MANAGER)
async def addon_eula(request: web.Request) -> web.Response:
    body = await read_body(request, Eula)
    connection = await _connection(request)
    _require_step(connection, "extensions_enabled")
    if not body.accepted:
        raise Conflict("the licence agreement must be accepted to continue", code="eula_declined")
    connection.update(state="eula_accepted", eula_accepted_at=_ctx(request).clock.now())
    await _save_connection(request, connection)
    return json_response(_public_connection(connection))


@routes.post(API + "/addon/sign-in")
@access(MANAGER)
async def addon_sign_in(request: web.Request) -> web.Response:
    """Sign in to the cloud account (S3 step 6); the controller keeps the session only until
    the connection is finished."""
    body = await read_body(request, CloudSignIn)
    connection = await _connection(request)
    _require_step(connection, "eula_accepted")
    session = await (await _cloud(request)).request("POST", "/sessions", {"email": body.email, "password": body.password})
    me = await (await _cloud(request, session["token"])).request("GET", "/me")
    connection.update(state="signed_in", cloud_token=session["token"], account_email=me["email"])
    for key in ("org_id", "org_name", "region"):
        connection.pop(key, None)
    await _save_connection(request, connection)
    admin_orgs = [o for o in me["organizations"] if o["role"] == "admin"]
    return json_response({**_public_connection(connection), "organizations": admin_orgs})


@routes.get(API + "/addon/organizations")
@access(MANAGER)
async def addon_organizations(request: web.Request) -> web.Response:
    connection = await _connection(request)
    _require_step(connection, "signed_in")
    me = await (await _cloud(request, connection["cloud_token"])).request("GET", "/me")
    return json_response({"organizations": [o for o in me["organizations"] if o["role"] == "admin"]})


@routes.post(API + "/addon/organization")
@access(MANAGER)
async def addon_organization(request: web.Request) -> web.Response:
    """S3 step 7: create (or pick) the organization; a new one makes the account owner and admin."""
    body = await read_body(request, OrganizationChoice)
    connection = await _connection(request)
    _require_step(connection, "signed_in")
    cloud = await _cloud(request, connection["cloud_token"])
    if body.create is not None:
        org = await cloud.request("POST", "/orgs", {"name": body.create})
    else:
        me = await cloud.request("GET", "/me")
        org = next((o for o in me["organizations"] if o["id"] == body.id), None)
        if org is None or org["role"] != "admin":
            raise Conflict("the signed-in account is not an admin of that organization", code="not_org_admin")
    connection.update(state="organization_chosen", org_id=org["id"], org_name=org["name"])
    await _save_connection(request, connection)
    return json_response(_public_connection(connection))


async def _new_authorization_code(request: web.Request, system, connection: dict) -> None:
    """Ask the cloud for an authorization code bound to this controller's device CA (S3 step 9)."""
    cloud = await _cloud(request, connection["cloud_token"])
    issued = await cloud.request("POST", f"/orgs/{connection['org_id']}/authorization-codes",
                                 {"device_ca_pem": system["device_ca_cert_pem"]})
    connection.update(authorization_code=issued["authorization_code"],
                      authorization_code_expires_at=issued["expires_at"])


@routes.post(API + "/addon/storage")
@access(MANAGER)
async def addon_storage(request: web.Request) -> web.Response:
    """S3 step 8: the country/region where evidence is stored (S17, T5); the cloud then issues
    this controller its authorization code."""
    body = await read_body(request, StorageChoice)
    system = await _system(request)
    connection = json.loads(system["connection"])
    _require_step(connection, "organization_chosen")
    await _new_authorization_code(request, system, connection)
    connection.update(state="storage_chosen", region=body.region)
    await _save_connection(request, connection)
    return json_response(_public_connection(connection))


@routes.get(API + "/addon/authorization-code")
@access(MANAGER)
async def addon_authorization_code(request: web.Request) -> web.Response:
    """S3 step 9: the Manager's authorization code, to copy into the last step (a new one once
    the last has expired)."""
    system = await _system(request)
    connection = json.loads(system["connection"])
    _require_step(connection, "storage_chosen")
    if _ctx(request).clock.now() >= connection.get("authorization_code_expires_at", 0):
        await _new_authorization_code(request, system, connection)
        await _save_connection(request, connection)
    return json_response({"authorization_code": connection["authorization_code"],
                          "expires_at": connection["authorization_code_expires_at"]})


@routes.post(API + "/addon/finish")
@access(MANAGER)
async def addon_finish(request: web.Request) -> web.Response:
    """S3 steps 10–11: paste the code and Finish; the controller proves it holds its device CA
    key, the cloud registers that CA and starts the 30-day trial licence."""
    body = await read_body(request, Finish)
    system = await _system(request)
    connection = json.loads(system["connection"])
    _require_step(connection, "storage_chosen")
    code = authorization.normalise(body.authorization_code)
    if not secrets.compare_digest(code.encode(), connection["authorization_code"].encode()):
        raise Conflict("the authorization code does not match this Manager's code", code="bad_authorization_code")
    cloud = await _cloud(request, connection["cloud_token"])
    result = await cloud.request("POST", f"/orgs/{connection['org_id']}/systems", {
        "name": system["name"], "authorization_code": code,
        "device_ca_pem": system["device_ca_cert_pem"], "region": connection["region"],
        "proof": authorization.sign_proof(pki.load_key(system["device_ca_key_pem"]), connection["org_id"], code),
    })
    try:
        await cloud.request("DELETE", "/sessions/current")
    finally:
        connection.update(
            state="connected", cloud_system_id=result["id"], system_token=result["system_token"],
            hub_url=result["hub_url"], connected_at=_ctx(request).clock.now(),
        )
        for key in ("cloud_token", "authorization_code", "authorization_code_expires_at"):
            connection.pop(key, None)
        await _save_connection(request, connection)
    return json_response(_public_connection(connection))


@routes.get(API + "/addon/licence")
@access(MANAGER)
async def addon_licence(request: web.Request) -> web.Response:
    """The Axis-hosted overview's licence line (S3, S15): trial, purchased or expired, as the
    cloud tells this connected system."""
    connection = await _connection(request)
    if connection.get("state") != "connected":
        raise Conflict("the system is not connected to AXIS Body Worn Live (S3)", code="not_connected")
    cloud = await _cloud(request, connection["system_token"])
    return json_response(await cloud.request("GET", f"/systems/{connection['cloud_system_id']}/licence"))


# ---------------------------------------------------------------------------------------------
# S4–S6: end-to-end encryption keys


def _key_json(row) -> dict:
    return {"id": row["id"], "name": row["name"], "fingerprint": row["fingerprint"], "origin": row["origin"],
            "active": bool(row["active"]), "created_at": row["created_at"], "public_key": row["public_key"]}


async def _store_key(request: web.Request, name: str, private_key, origin: str) -> dict:
    ctx = _ctx(request)
    system_id = request.match_info["system_id"]
    key_id = new_id("key")
    public = private_key.public_key()
    await ctx.controller_db.transaction([
        ("UPDATE ctl_keys SET active = 0 WHERE system_id = ?", (system_id,)),
        ("INSERT INTO ctl_keys (id, system_id, name, public_key, private_key, fingerprint, origin, active, created_at) "
         "VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)",
         (key_id, system_id, name, envelope.public_key_to_b64(public),
          envelope.b64url_encode(envelope.private_key_to_pkcs8(private_key)), envelope.key_fingerprint(public),
          origin, ctx.clock.now())),
    ])
    row = await ctx.controller_db.fetchone("SELECT * FROM ctl_keys WHERE id = ?", (key_id,))
    return _key_json(row)


@routes.get(API + "/keys")
@access(MANAGER)
async def list_keys(request: web.Request) -> web.Response:
    """S6: the key list with each key's fingerprint."""
    rows = await _ctx(request).controller_db.fetchall(
        "SELECT * FROM ctl_keys WHERE system_id = ? ORDER BY created_at", (request.match_info["system_id"],)
    )
    return json_response({"keys": [_key_json(r) for r in rows]})


@routes.post(API + "/keys")
@access(MANAGER)
async def generate_key(request: web.Request) -> web.Response:
    """S4: Generate key. The new key becomes the one cameras receive at their next docking."""
    body = await read_body(request, NewKey)
    pair = envelope.generate_system_keypair()
    return json_response(await _store_key(request, body.name, pair.private_key, "generated"), status=201)


@routes.post(API + "/keys/{key_id}/link")
@access(MANAGER)
async def copy_link(request: web.Request) -> web.Response:
    """S5: Copy link with key (plain) or Copy password-protected link with key."""
    body = await read_body(request, LinkRequest)
    row = await _ctx(request).controller_db.fetchone(
        "SELECT * FROM ctl_keys WHERE id = ? AND system_id = ?", (request.match_info["key_id"], request.match_info["system_id"])
    )
    if row is None:
        raise NotFound("no such key")
    private_key = envelope.private_key_from_pkcs8(envelope.b64url_decode(row["private_key"]))
    try:
        link = envelope.make_link(_ctx(request).config.url + "/live/", private_key, body.passphrase, name=row["name"])
    except envelope.EnvelopeError as exc:
        raise InvalidInput(str(exc)) from None
    return json_response({"link": link, "fingerprint": row["fingerprint"],
                          "protected": body.passphrase is not None})


@routes.post(API + "/keys/import")
@access(MANAGER)
async def import_link(request: web.Request) -> web.Response:
    """S5: Import link with key — a second system reuses the first system's key."""
    body = await read_body(request, ImportLink)
    try:
        link = envelope.read_link(body.link, body.passphrase)
    except envelope.PassphraseRequired as exc:
        raise InvalidInput(str(exc), code="passphrase_required") from None
    except envelope.WrongPassphrase as exc:
        raise InvalidInput(str(exc), code="wrong_passphrase") from None
    except envelope.EnvelopeError as exc:
        raise InvalidInput(f"link: {exc}", code="bad_link") from None
    return json_response(await _store_key(request, body.name, link.private_key, "imported"), status=201)


# ---------------------------------------------------------------------------------------------
# Settings > Camera: Wi-Fi networks (S8 option 1)


@routes.get(API + "/wifi-networks")
@access(MANAGER)
async def list_wifi(request: web.Request) -> web.Response:
    rows = await _ctx(request).controller_db.fetchall(
        "SELECT id, ssid FROM ctl_wifi_networks WHERE system_id = ? ORDER BY ssid", (request.match_info["system_id"],)
    )
    return json_response({"wifi_networks": [dict(r) for r in rows]})


@routes.post(API + "/wifi-networks")
@access(MANAGER)
async def add_wifi(request: web.Request) -> web.Response:
    body = await read_body(request, WifiCredential)
    ctx = _ctx(request)
    system_id = request.match_info["system_id"]
    if await ctx.controller_db.fetchone("SELECT 1 FROM ctl_wifi_networks WHERE system_id = ? AND ssid = ?", (system_id, body.ssid)):
        raise Conflict(f"a network named {body.ssid!r} exists already", code="exists")
    net_id = new_id("net")
    await ctx.controller_db.execute("INSERT INTO ctl_wifi_networks (id, system_id, ssid, password) VALUES (?, ?, ?, ?)",
                         (net_id, system_id, body.ssid, body.password))
    return json_response({"id": net_id, "ssid": body.ssid}, status=201)


@routes.delete(API + "/wifi-networks/{network_id}")
@access(MANAGER)
async def delete_wifi(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    system_id = request.match_info["system_id"]
    row = await ctx.controller_db.fetchone("SELECT ssid FROM ctl_wifi_networks WHERE system_id = ? AND (id = ? OR ssid = ?)",
                                (system_id, request.match_info["network_id"], request.match_info["network_id"]))
    if row is None:
        raise NotFound("no such Wi-Fi network")
    for p in await ctx.controller_db.fetchall("SELECT name, settings FROM ctl_profiles WHERE system_id = ?", (system_id,)):
        if row["ssid"] in json.loads(p["settings"]).get("wifi_networks", []):
            raise Conflict(f"the network is assigned to profile {p['name']!r}; unassign it first", code="in_use")
    await ctx.controller_db.execute("DELETE FROM ctl_wifi_networks WHERE system_id = ? AND ssid = ?", (system_id, row["ssid"]))
    return json_response({"deleted": row["ssid"]})


# ---------------------------------------------------------------------------------------------
# Camera profiles (S7, S8, S11)


async def _check_profile_networks(request: web.Request, settings: ProfileSettings) -> None:
    rows = await _ctx(request).controller_db.fetchall("SELECT ssid FROM ctl_wifi_networks WHERE system_id = ?",
                                          (request.match_info["system_id"],))
    known = {r["ssid"] for r in rows}
    for i, ssid in enumerate(settings.wifi_networks):
        if ssid not in known:
            raise InvalidInput(f"wifi_networks[{i}]: no Wi-Fi network {ssid!r} in Settings > Camera", path=f"wifi_networks[{i}]")


@routes.get(API + "/models")
@access(MANAGER)
async def list_models(request: web.Request) -> web.Response:
    """The camera models and what they can do (S8 bands, S11 GPS, T1, T4): the Manager offers
    Location per model only for the models with GPS."""
    return json_response({"models": [m.as_dict() for m in MODELS.values()]})


@routes.get(API + "/profiles")
@access(MANAGER)
async def list_profiles(request: web.Request) -> web.Response:
    rows = await _ctx(request).controller_db.fetchall("SELECT * FROM ctl_profiles WHERE system_id = ? ORDER BY name",
                                          (request.match_info["system_id"],))
    return json_response({"profiles": [_profile_json(r) for r in rows]})


@routes.post(API + "/profiles")
@access(MANAGER)
async def create_profile(request: web.Request) -> web.Response:
    body = await read_body(request, ProfileSettings)
    await _check_profile_networks(request, body)
    ctx = _ctx(request)
    system_id = request.match_info["system_id"]
    if await ctx.controller_db.fetchone("SELECT 1 FROM ctl_profiles WHERE system_id = ? AND name = ?", (system_id, body.name)):
        raise Conflict(f"a profile named {body.name!r} exists already", code="exists")
    profile_id = new_id("prf")
    await ctx.controller_db.execute("INSERT INTO ctl_profiles (id, system_id, name, settings) VALUES (?, ?, ?, ?)",
                         (profile_id, system_id, body.name, json.dumps(schema.as_json(body))))
    return json_response({"id": profile_id, **schema.as_json(body)}, status=201)


@routes.put(API + "/profiles/{profile}")
@access(MANAGER)
async def update_profile(request: web.Request) -> web.Response:
    row = await _profile_row(request, request.match_info["profile"])
    body = await read_body(request, ProfileSettings)
    await _check_profile_networks(request, body)
    ctx = _ctx(request)
    clash = await ctx.controller_db.fetchone("SELECT 1 FROM ctl_profiles WHERE system_id = ? AND name = ? AND id != ?",
                                  (row["system_id"], body.name, row["id"]))
    if clash:
        raise Conflict(f"a profile named {body.name!r} exists already", code="exists")
    await ctx.controller_db.execute("UPDATE ctl_profiles SET name = ?, settings = ? WHERE id = ?",
                         (body.name, json.dumps(schema.as_json(body)), row["id"]))
    return json_response({"id": row["id"], **schema.as_json(body)})


@routes.delete(API + "/profiles/{profile}")
@access(MANAGER)
async def delete_profile(request: web.Request) -> web.Response:
    row = await _profile_row(request, request.match_info["profile"])
    ctx = _ctx(request)
    if await ctx.controller_db.fetchone("SELECT 1 FROM ctl_camera_users WHERE profile_id = ?", (row["id"],)):
        raise Conflict("camera users use this profile; give them another first", code="in_use")
    await ctx.controller_db.execute("DELETE FROM ctl_profiles WHERE id = ?", (row["id"],))
    return json_response({"deleted": row["id"]})


# ---------------------------------------------------------------------------------------------
# Camera users (S8 option 2a; 2b comes from the Assistant app)


async def _profile_streaming(request: web.Request, profile_id: str | None) -> bool:
    if profile_id is None:
        return False
    row = await _ctx(request).controller_db.fetchone("SELECT settings FROM ctl_profiles WHERE id = ?", (profile_id,))
    return bool(row and json.loads(row["settings"]).get("streaming"))


@routes.get(API + "/camera-users")
@access(MANAGER)
async def list_camera_users(request: web.Request) -> web.Response:
    rows = await _ctx(request).controller_db.fetchall(
        "SELECT u.*, p.name AS profile_name FROM ctl_camera_users u LEFT JOIN ctl_profiles p ON p.id = u.profile_id "
        "WHERE u.system_id = ? ORDER BY u.name", (request.match_info["system_id"],))
    return json_response({"camera_users": [_user_json(r, r["profile_name"]) for r in rows]})


@routes.post(API + "/camera-users")
@access(MANAGER)
async def create_camera_user(request: web.Request) -> web.Response:
    body = await read_body(request, NewCameraUser)
    ctx = _ctx(request)
    system_id = request.match_info["system_id"]
    profile = await _profile_row(request, body.profile) if body.profile else None
    if body.network is not None and not (profile and json.loads(profile["settings"]).get("streaming")):
        raise Conflict("a Wi-Fi network can be assigned to a camera user only when streaming is on in the "
                       "camera user's profile (S8 option 2a)", code="streaming_required")
    if await ctx.controller_db.fetchone("SELECT 1 FROM ctl_camera_users WHERE system_id = ? AND name = ?", (system_id, body.name)):
        raise Conflict(f"a camera user named {body.name!r} exists already", code="exists")
    user_id = new_id("usr")
    await ctx.controller_db.execute(
        "INSERT INTO ctl_camera_users (id, system_id, name, profile_id, manager_network) VALUES (?, ?, ?, ?, ?)",
        (user_id, system_id, body.name, profile["id"] if profile else None,
         json.dumps(schema.as_json(body.network)) if body.network else None))
    row = await _user_row(request, user_id)
    return json_response(_user_json(row, profile["name"] if profile else None), status=201)


@routes.put(API + "/camera-users/{user}")
@access(MANAGER)
async def update_camera_user(request: web.Request) -> web.Response:
    row = await _user_row(request, request.match_info["user"])
    body = await read_body(request, CameraUserUpdate)
    ctx = _ctx(request)
    profile_id = row["profile_id"]
    if body.profile is not None:
        profile_id = (await _profile_row(request, body.profile))["id"]
    network = row["manager_network"]
    if body.clear_network:
        network = None
    if body.network is not None:
        network = json.dumps(schema.as_json(body.network))
    if network is not None and not await _profile_streaming(request, profile_id):
        raise Conflict("a Wi-Fi network can be assigned to a camera user only when streaming is on in the "
                       "camera user's profile (S8 option 2a)", code="streaming_required")
    if body.name is not None and body.name != row["name"] and await ctx.controller_db.fetchone(
            "SELECT 1 FROM ctl_camera_users WHERE system_id = ? AND name = ?", (row["system_id"], body.name)):
        raise Conflict(f"a camera user named {body.name!r} exists already", code="exists")
    await ctx.controller_db.execute(
        "UPDATE ctl_camera_users SET name = COALESCE(?, name), profile_id = ?, manager_network = ? WHERE id = ?",
        (body.name, profile_id, network, row["id"]))
    row = await _user_row(request, row["id"])
    profile = await ctx.controller_db.fetchone("SELECT name FROM ctl_profiles WHERE id = ?", (profile_id,)) if profile_id else None
    return json_response(_user_json(row, profile["name"] if profile else None))


@routes.put(API + "/assistant/camera-users/{user}/network")
@access(LAB)
async def assistant_network(request: web.Request) -> web.Response:
    """S8 option 2b: the camera user adds a network in the Assistant app; it replaces every other."""
    row = await _user_row(request, request.match_info["user"])
    body = await read_body(request, AssistantNetwork)
    await _ctx(request).controller_db.execute(
        "UPDATE ctl_camera_users SET assistant_network = ? WHERE id = ?",
        (json.dumps(schema.as_json(body.network)) if body.network else None, row["id"]))
    return json_response({"camera_user": row["id"], "assistant_network": schema.as_json(body.network)})


@routes.get(API + "/camera-users/{user}/networks")
@access(MANAGER)
async def camera_user_networks(request: web.Request) -> web.Response:
    """S8: the networks the camera user's camera receives, in priority order (passwords hidden)."""
    row = await _user_row(request, request.match_info["user"])
    networks = await _effective_networks(request, row)
    return json_response({"networks": [{k: v for k, v in n.items() if k != "password"} for n in networks]})


async def _effective_networks(request: web.Request, user_row) -> list[dict]:
    ctx = _ctx(request)
    profile_nets: list[WifiCredential] = []
    if user_row["profile_id"]:
        prof = await ctx.controller_db.fetchone("SELECT settings FROM ctl_profiles WHERE id = ?", (user_row["profile_id"],))
        ssids = json.loads(prof["settings"]).get("wifi_networks", [])
        rows = await ctx.controller_db.fetchall("SELECT ssid, password FROM ctl_wifi_networks WHERE system_id = ?",
                                     (user_row["system_id"],))
        by_ssid = {r["ssid"]: r["password"] for r in rows}
        profile_nets = [WifiCredential(s, by_ssid[s]) for s in ssids if s in by_ssid]
    manager = schema.from_mapping(WifiCredential, json.loads(user_row["manager_network"])) if user_row["manager_network"] else None
    assistant = (schema.from_mapping(WifiCredential, json.loads(user_row["assistant_network"]))
                 if user_row["assistant_network"] else None)
    return effective_networks(profile_nets, manager, assistant)


# ---------------------------------------------------------------------------------------------
# Cameras and docks


def _camera_json(row, now: float) -> dict:
    return {
        "serial": row["serial"], "model": row["model"], "capabilities": MODELS[row["model"]].as_dict(),
        "camera_user_id": row["camera_user_id"], "self_assign": bool(row["self_assign"]),
        "imei": row["imei"], "sim_pin_set": row["sim_pin"] is not None,
        "dock_id": row["dock_id"], "bay": row["bay"], "docked": row["dock_id"] is not None,
        "docked_user_id": row["docked_user_id"], "last_docked_at": row["last_docked_at"],
        "cert_not_after": row["cert_not_after"],
        "cert_valid": row["cert_not_after"] is not None and now < row["cert_not_after"],
        # T4 rows 2, 4, 5: the SIM state as of the last docking, and the alert that docking raised
        "sim_status": row["sim_status"],
        "sim_alert": {"message": row["sim_alert"], "at": row["sim_alert_at"]} if row["sim_alert"] else None,
    }


@routes.get(API + "/cameras")
@access(MANAGER, LAB)
async def list_cameras(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    rows = await ctx.controller_db.fetchall("SELECT * FROM ctl_cameras WHERE system_id = ? ORDER BY serial",
                                 (request.match_info["system_id"],))
    return json_response({"cameras": [_camera_json(r, ctx.clock.now()) for r in rows]})


@routes.post(API + "/cameras")
@access(MANAGER)
async def add_camera(request: web.Request) -> web.Response:
    body = await read_body(request, NewCamera)
    ctx = _ctx(request)
    user = await _user_row(request, body.camera_user) if body.camera_user else None
    if body.imei is not None and not body.imei.isdigit():
        raise InvalidInput("imei: expected digits", path="imei")
    if body.sim_pin and not MODELS[body.model].lte:
        raise InvalidInput(f"sim_pin: the {body.model} has no LTE modem, so it takes no SIM PIN", path="sim_pin")
    serial = body.serial.upper()
    system_id = request.match_info["system_id"]
    if await ctx.controller_db.fetchone("SELECT 1 FROM ctl_cameras WHERE system_id = ? AND serial = ?",
                                        (system_id, serial)):
        raise Conflict(f"camera {serial} is registered already", code="exists")
    await ctx.controller_db.execute(
        "INSERT INTO ctl_cameras (serial, system_id, model, imei, sim_pin, camera_user_id, self_assign, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (serial, request.match_info["system_id"], body.model, body.imei, body.sim_pin,
         user["id"] if user else None, int(body.self_assign), ctx.clock.now()))
    row = await _camera_row(request, serial)
    return json_response(_camera_json(row, ctx.clock.now()), status=201)


async def _camera_row(request: web.Request, serial: str):
    row = await _ctx(request).controller_db.fetchone("SELECT * FROM ctl_cameras WHERE serial = ? AND system_id = ?",
                                          (serial.upper(), request.match_info["system_id"]))
    if row is None:
        raise NotFound(f"no camera {serial!r} in this system")
    return row


@routes.put(API + "/cameras/{serial}")
@access(MANAGER)
async def update_camera(request: web.Request) -> web.Response:
    """Cameras: assignment and SIM PIN (T2 row 4a, T4 row 5 are fixed here; the APN is the
    system's, Settings > Camera > Mobile networks)."""
    row = await _camera_row(request, request.match_info["serial"])
    body = await read_body(request, CameraUpdate)
    ctx = _ctx(request)
    user_id = row["camera_user_id"]
    self_assign = bool(row["self_assign"])
    if body.camera_user is not None:
        user_id = (await _user_row(request, body.camera_user))["id"]
        self_assign = False
    if body.self_assign is not None:
        self_assign = body.self_assign
        if self_assign:
            user_id = None
    if body.sim_pin and not MODELS[row["model"]].lte:
        raise InvalidInput(f"sim_pin: the {row['model']} has no LTE modem, so it takes no SIM PIN", path="sim_pin")
    await ctx.controller_db.execute(
        "UPDATE ctl_cameras SET camera_user_id = ?, self_assign = ?, sim_pin = COALESCE(?, sim_pin) "
        "WHERE system_id = ? AND serial = ?",
        (user_id, int(self_assign), body.sim_pin, row["system_id"], row["serial"]))
    row = await _camera_row(request, row["serial"])
    return json_response(_camera_json(row, ctx.clock.now()))


@routes.delete(API + "/cameras/{serial}")
@access(MANAGER)
async def remove_camera(request: web.Request) -> web.Response:
    row = await _camera_row(request, request.match_info["serial"])
    await _ctx(request).controller_db.execute("DELETE FROM ctl_cameras WHERE system_id = ? AND serial = ?",
                                              (row["system_id"], row["serial"]))
    return json_response({"deleted": row["serial"]})


@routes.get(API + "/docks")
@access(MANAGER, LAB)
async def list_docks(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    system_id = request.match_info["system_id"]
    docks = await ctx.controller_db.fetchall("SELECT * FROM ctl_docks WHERE system_id = ? ORDER BY name", (system_id,))
    cams = await ctx.controller_db.fetchall("SELECT serial, dock_id, bay FROM ctl_cameras WHERE system_id = ? AND dock_id IS NOT NULL",
                                 (system_id,))
    out = []
    for d in docks:
        bays = {c["bay"]: c["serial"] for c in cams if c["dock_id"] == d["id"]}
        out.append({"id": d["id"], "name": d["name"], "bays": [
            {"bay": b, "serial": bays.get(b)} for b in range(1, d["bays"] + 1)]})
    return json_response({"docks": out})


@routes.post(API + "/docks")
@access(MANAGER)
async def add_dock(request: web.Request) -> web.Response:
    body = await read_body(request, NewDock)
    ctx = _ctx(request)
    system_id = request.match_info["system_id"]
    if await ctx.controller_db.fetchone("SELECT 1 FROM ctl_docks WHERE system_id = ? AND name = ?", (system_id, body.name)):
        raise Conflict(f"a dock named {body.name!r} exists already", code="exists")
    dock_id = new_id("dck")
    await ctx.controller_db.execute("INSERT INTO ctl_docks (id, system_id, name, bays) VALUES (?, ?, ?, ?)",
                         (dock_id, system_id, body.name, body.bays))
    return json_response({"id": dock_id, "name": body.name, "bays": body.bays}, status=201)


async def _dock_row(request: web.Request):
    ref = request.match_info["dock"]
    row = await _ctx(request).controller_db.fetchone("SELECT * FROM ctl_docks WHERE system_id = ? AND (id = ? OR name = ?)",
                                          (request.match_info["system_id"], ref, ref))
    if row is None:
        raise NotFound(f"no dock {ref!r}")
    return row


def _bay(request: web.Request, dock) -> int:
    try:
        bay = int(request.match_info["bay"])
    except ValueError:
        raise InvalidInput("bay: expected a bay number") from None
    if not 1 <= bay <= dock["bays"]:
        raise InvalidInput(f"bay: expected 1 to {dock['bays']}, got {bay}")
    return bay


@routes.post(API + "/docks/{dock}/bays/{bay}")
@access(LAB)
async def dock_camera(request: web.Request) -> web.Response:
    """D1, S4, S7, S8, S11: a camera put in a bay is charged and provisioned — a device
    certificate valid six days from the system's device CA, the system public key, its camera
    user's effective Wi-Fi list, its profile's streaming and location settings, and the time."""
    ctx = _ctx(request)
    system = await _system(request)
    dock = await _dock_row(request)
    bay = _bay(request, dock)
    body = await read_body(request, DockCamera)
    camera = await _camera_row(request, body.serial)
    occupant = await ctx.controller_db.fetchone("SELECT serial FROM ctl_cameras WHERE dock_id = ? AND bay = ?", (dock["id"], bay))
    if occupant is not None and occupant["serial"] != camera["serial"]:
        raise Conflict(f"bay {bay} of {dock['name']} holds camera {occupant['serial']}", code="bay_occupied")
    if camera["self_assign"]:
        if body.camera_user is None:
            user_id = camera["docked_user_id"]
            if user_id is None:
                raise InvalidInput("camera_user: a self-assigned camera needs the camera user who takes it",
                                   path="camera_user")
        else:
            user_id = (await _user_row(request, body.camera_user))["id"]
    else:
        if body.camera_user is not None and camera["camera_user_id"] is not None:
            given = await _user_row(request, body.camera_user)
            if given["id"] != camera["camera_user_id"]:
                raise Conflict("this camera is assigned to another camera user", code="assigned_elsewhere")
        user_id = camera["camera_user_id"]
    now = ctx.clock.now()
    try:
        cert = pki.issue_device_cert(system["device_ca_key_pem"], system["device_ca_cert_pem"], body.csr,
                                     camera["serial"], now)
    except ValueError as exc:
        raise InvalidInput(f"csr: {exc}", path="csr") from None
    not_after = pki.load_cert(cert).not_valid_after_utc.timestamp()
    await ctx.controller_db.execute(
        "UPDATE ctl_cameras SET dock_id = ?, bay = ?, docked_user_id = ?, last_docked_at = ?, cert_serial = ?, "
        "cert_not_after = ? WHERE system_id = ? AND serial = ?",
        (dock["id"], bay, user_id, now, str(pki.load_cert(cert).serial_number), not_after, system["id"],
         camera["serial"]))
    await request.config_dict[CAMERA_USER_SYNC].ensure_known(system["id"], camera["serial"])  # issue 10
    if body.modem is not None and MODELS[camera["model"]].lte:
        alert = body.modem.dock_alert
        await ctx.controller_db.execute(
            "UPDATE ctl_cameras SET sim_status = ?, sim_alert = ?, sim_alert_at = ? WHERE system_id = ? AND serial = ?",
            (body.modem.sim_status, alert, now if alert else None, system["id"], camera["serial"]))
    return json_response(await _provisioning(request, system, camera["serial"], cert, not_after, user_id), status=201)


async def _provisioning(request: web.Request, system, serial: str, cert: str, not_after: float,
                        user_id: str | None) -> dict:
    ctx = _ctx(request)
    camera = await ctx.controller_db.fetchone("SELECT * FROM ctl_cameras WHERE system_id = ? AND serial = ?",
                                              (system["id"], serial))
    connection = json.loads(system["connection"])
    settings = stored_settings(system)
    key = await ctx.controller_db.fetchone("SELECT public_key, fingerprint FROM ctl_keys WHERE system_id = ? AND active = 1",
                                (system["id"],))
    user = await ctx.controller_db.fetchone("SELECT * FROM ctl_camera_users WHERE id = ?", (user_id,)) if user_id else None
    profile = None
    networks: list[dict] = []
    if user is not None:
        networks = await _effective_networks(request, user)
        if user["profile_id"]:
            prow = await ctx.controller_db.fetchone("SELECT settings FROM ctl_profiles WHERE id = ?", (user["profile_id"],))
            profile = schema.from_mapping(ProfileSettings, json.loads(prow["settings"])).for_camera(camera["model"])
    return {
        "camera": {"serial": serial, "model": camera["model"], "imei": camera["imei"]},
        "camera_user": {"id": user["id"], "name": user["name"]} if user else None,
        "certificate": cert,
        "ca_certificate": system["device_ca_cert_pem"],
        "not_after": not_after,
        "system": {
            "id": system["id"], "name": system["name"], "connected": connection.get("state") == "connected",
            "cloud_system_id": connection.get("cloud_system_id"), "hub_url": connection.get("hub_url"),
            "cloud_url": ctx.config.url, "region": connection.get("region"),  # T5: its storage host
        },
        "e2e": {"public_key": key["public_key"], "fingerprint": key["fingerprint"]} if key else None,
        "wifi_networks": networks,
        "profile": profile,
        "allow_troubleshooting": bool(system["allow_troubleshooting"]) and MODELS[camera["model"]].troubleshooting,
        # Cameras: the SIM PIN; Settings > Camera > Mobile networks > Show advanced: the APN (T2 row 4c)
        "sim": {"pin": camera["sim_pin"], "apn": settings.mobile_networks.apn} if MODELS[camera["model"]].lte else None,
        "time": request.config_dict[CONTROLLER_CLOCKS].now(system["id"]),  # the controller's clock (S1)
        "time_zone": settings.time_zone,
        "ntp_server": settings.ntp_server,
        "lab_ca": ctx.tls.ca_pem,
        "recording": await recording_settings(ctx.controller_db, system["id"], settings.time_zone),  # issue 13
    }


@routes.delete(API + "/docks/{dock}/bays/{bay}")
@access(LAB)
async def undock_camera(request: web.Request) -> web.Response:
    """Take the camera out of the bay; it keeps its certificate until it expires (D1)."""
    ctx = _ctx(request)
    dock = await _dock_row(request)
    bay = _bay(request, dock)
    row = await ctx.controller_db.fetchone("SELECT serial FROM ctl_cameras WHERE dock_id = ? AND bay = ?", (dock["id"], bay))
    if row is None:
        raise Conflict(f"bay {bay} of {dock['name']} is empty", code="bay_empty")
    await ctx.controller_db.execute("UPDATE ctl_cameras SET dock_id = NULL, bay = NULL WHERE system_id = ? AND serial = ?",
                                    (dock["system_id"], row["serial"]))
    return json_response({"serial": row["serial"], "undocked_at": ctx.clock.now()})
