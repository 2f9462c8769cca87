"""S3: Add-on services > AXIS Body Worn Live > Axis-hosted — the connection flow to the cloud.

The order of the steps and what each keeps is ``connection.Connection``; the handlers here only
talk to the cloud and store the next value."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Literal

from aiohttp import web
from aiosqlite import Row

from bwlab.regions import REGIONS
from bwlab.wire import authorization

from ... import pki
from ...errors import Conflict
from ...http import MANAGER, access, json_response, read_body
from ..connection import Connection
from .request import API, appliance, cloud, connection, save_connection, system

routes = web.RouteTableDef()


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


async def _saved(request: web.Request, value: Connection) -> web.Response:
    await save_connection(request, value)
    return json_response(value.public())


@routes.post(API + "/addon/install")
@access(MANAGER)
async def addon_install(request: web.Request) -> web.Response:
    body = await read_body(request, Install)
    return await _saved(request, (await connection(request)).install(body.hosting))


@routes.put(API + "/addon/cloud-extensions")
@access(MANAGER)
async def addon_cloud_extensions(request: web.Request) -> web.Response:
    """Enable cloud extensions: the controller must reach the cloud through its network
    settings; if it cannot, the cause is the system's IP, DNS, proxy or firewall (S3, T2)."""
    body = await read_body(request, Toggle)
    current = await connection(request)
    current.require("installed")
    if body.enabled:
        await (await cloud(request)).request("GET", "/ping")
        return await _saved(request, current.enable_extensions())
    return await _saved(request, current.disable_extensions())


@routes.put(API + "/addon/eula")
@access(MANAGER)
async def addon_eula(request: web.Request) -> web.Response:
    body = await read_body(request, Eula)
    current = await connection(request)
    return await _saved(request, current.accept_eula(body.accepted, appliance(request).clock.now()))


@routes.post(API + "/addon/sign-in")
@access(MANAGER)
async def addon_sign_in(request: web.Request) -> web.Response:
    """Sign in to the cloud account (S3 step 6); the controller keeps the session only until
    the connection is finished."""
    body = await read_body(request, CloudSignIn)
    current = await connection(request)
    current.require("eula_accepted")
    session = await (await cloud(request)).request(
        "POST", "/sessions", {"email": body.email, "password": body.password}
    )
    me = await (await cloud(request, session["token"])).request("GET", "/me")
    signed_in = current.sign_in(session["token"], me["email"])
    await save_connection(request, signed_in)
    admin_orgs = [o for o in me["organizations"] if o["role"] == "admin"]
    return json_response({**signed_in.public(), "organizations": admin_orgs})


@routes.get(API + "/addon/organizations")
@access(MANAGER)
async def addon_organizations(request: web.Request) -> web.Response:
    current = await connection(request)
    current.require("signed_in")
    me = await (await cloud(request, current.cloud_token)).request("GET", "/me")
    return json_response({"organizations": [o for o in me["organizations"] if o["role"] == "admin"]})


@routes.post(API + "/addon/organization")
@access(MANAGER)
async def addon_organization(request: web.Request) -> web.Response:
    """S3 step 7: create (or pick) the organization; a new one makes the account owner and admin."""
    body = await read_body(request, OrganizationChoice)
    current = await connection(request)
    current.require("signed_in")
    client = await cloud(request, current.cloud_token)
    if body.create is not None:
        org = await client.request("POST", "/orgs", {"name": body.create})
    else:
        me = await client.request("GET", "/me")
        org = next((o for o in me["organizations"] if o["id"] == body.id), None)
        if org is None or org["role"] != "admin":
            raise Conflict("the signed-in account is not an admin of that organization", code="not_org_admin")
    return await _saved(request, current.choose_organization(org["id"], org["name"]))


async def _new_authorization_code(request: web.Request, system_row: Row, current: Connection) -> Connection:
    """Ask the cloud for an authorization code bound to this controller's device CA (S3 step 9)."""
    client = await cloud(request, current.cloud_token)
    issued = await client.request(
        "POST", f"/orgs/{current.org_id}/authorization-codes", {"device_ca_pem": system_row["device_ca_cert_pem"]}
    )
    return current.with_authorization_code(issued["authorization_code"], issued["expires_at"])


@routes.post(API + "/addon/storage")
@access(MANAGER)
async def addon_storage(request: web.Request) -> web.Response:
    """S3 step 8: the country/region where evidence is stored (S17, T5); the cloud then issues
    this controller its authorization code."""
    body = await read_body(request, StorageChoice)
    row = await system(request)
    current = Connection.from_json(row["connection"])
    current.require("organization_chosen")
    current = await _new_authorization_code(request, row, current)
    return await _saved(request, current.choose_storage(body.region))


@routes.get(API + "/addon/authorization-code")
@access(MANAGER)
async def addon_authorization_code(request: web.Request) -> web.Response:
    """S3 step 9: the Manager's authorization code, to copy into the last step (a new one once
    the last has expired)."""
    row = await system(request)
    current = Connection.from_json(row["connection"])
    current.require("storage_chosen")
    if current.code_expired(appliance(request).clock.now()):
        current = await _new_authorization_code(request, row, current)
        await save_connection(request, current)
    return json_response(
        {"authorization_code": current.authorization_code, "expires_at": current.authorization_code_expires_at}
    )


@routes.post(API + "/addon/finish")
@access(MANAGER)
async def addon_finish(request: web.Request) -> web.Response:
    """S3 steps 10–11: paste the code and Finish; the controller proves it holds its device CA
    key, the cloud registers that CA and starts the 30-day trial licence."""
    body = await read_body(request, Finish)
    row = await system(request)
    current = Connection.from_json(row["connection"])
    current.require("storage_chosen")
    code = authorization.normalise(body.authorization_code)
    if not secrets.compare_digest(code.encode(), (current.authorization_code or "").encode()):
        raise Conflict("the authorization code does not match this Manager's code", code="bad_authorization_code")
    client = await cloud(request, current.cloud_token)
    org_id = current.org_id or ""  # set since organization_chosen
    result = await client.request(
        "POST",
        f"/orgs/{org_id}/systems",
        {
            "name": row["name"],
            "authorization_code": code,
            "device_ca_pem": row["device_ca_cert_pem"],
            "region": current.region,
            "proof": authorization.sign_proof(pki.load_key(row["device_ca_key_pem"]), org_id, code),
        },
    )
    try:
        await client.request("DELETE", "/sessions/current")
    finally:
        current = current.finish(
            result["id"], result["system_token"], result["hub_url"], appliance(request).clock.now()
        )
        await save_connection(request, current)
    return json_response(current.public())


@routes.get(API + "/addon/licence")
@access(MANAGER)
async def addon_licence(request: web.Request) -> web.Response:
    """The Axis-hosted overview's licence line (S3, S15): trial, purchased or expired, as the
    cloud tells this connected system."""
    current = await connection(request)
    current.require_connected()
    client = await cloud(request, current.system_token)
    return json_response(await client.request("GET", f"/systems/{current.cloud_system_id}/licence"))
