"""Connected systems (S3): the authorization codes a Manager asks for, the connection that
registers its device CA and starts the 30-day trial licence, the organization's systems, and
its licence (S3, S15)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from aiohttp import web

from bwlab.regions import REGIONS
from bwlab.wire import authorization

from ... import pki
from ...auth import ACCOUNT_KEY, new_token, token_hash
from ...context import APPLIANCE
from ...errors import ClientError, Conflict, Forbidden, InvalidInput
from ...http import ORG_ADMIN, ORG_MEMBER, access, json_response, read_body
from ...ids import new_id
from .. import audit, store
from ..store import organization_standing, organization_usage
from .licensing import standing_json, usage_json

routes = web.RouteTableDef()

TRIAL_DAYS = 30  # S3
AUTHORIZATION_CODE_TTL = 15 * 60  # lab seconds a Manager's authorization code stays valid (S3)
MAX_OPEN_CODES = 20  # unused, unexpired authorization codes an organization may hold at once


@dataclass(frozen=True)
class NewAuthorizationCode:
    device_ca_pem: str = field(metadata={"max_len": 8192})


@dataclass(frozen=True)
class NewSystem:
    name: str = field(metadata={"max_len": 120, "nonempty": True})
    authorization_code: str = field(metadata={"max_len": 128, "nonempty": True})
    device_ca_pem: str = field(metadata={"max_len": 8192})
    region: str = field(metadata={"choices": tuple(REGIONS)})
    proof: str = field(metadata={"max_len": 512, "nonempty": True})  # bwlab.wire.authorization


def _device_ca(pem: str) -> pki.x509.Certificate:
    """A system's device CA certificate from a request body, or a 400 naming the field."""
    try:
        ca = pki.load_cert(pem)
    except ValueError:
        raise InvalidInput("device_ca_pem: expected a PEM X.509 CA certificate", path="device_ca_pem") from None
    try:
        is_ca = ca.extensions.get_extension_for_class(pki.x509.BasicConstraints).value.ca
    except pki.x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise InvalidInput("device_ca_pem: the certificate is not a CA certificate", path="device_ca_pem")
    return ca


async def _refuse_registered_ca(db, fingerprint: str) -> None:
    if await store.ca_registered(db, fingerprint):
        raise Conflict("a system with this device CA is connected already", code="device_ca_registered")


@routes.post("/orgs/{org_id}/authorization-codes")
@access(ORG_ADMIN)
async def issue_authorization_code(request: web.Request) -> web.Response:
    """S3 step 9: the Manager asks for the authorization code its admin copies. The code is bound
    to that controller's device CA key, to this account and organization; it is single-use and
    expires after 15 minutes of lab time (docs/decisions.md "Device identity")."""
    ctx = request.config_dict[APPLIANCE]
    body = await read_body(request, NewAuthorizationCode)
    fingerprint = authorization.key_fingerprint(_device_ca(body.device_ca_pem))
    await _refuse_registered_ca(ctx.db, fingerprint)
    now = ctx.clock.now()
    org_id = request.match_info["org_id"]
    if await store.open_authorization_codes(ctx.db, org_id, now) >= MAX_OPEN_CODES:
        raise ClientError(
            f"the organization holds {MAX_OPEN_CODES} unused authorization codes; use one or wait "
            f"{AUTHORIZATION_CODE_TTL // 60} minutes",
            code="too_many_authorization_codes",
            status=429,
        )
    code = authorization.new_code()
    await store.add_authorization_code(
        ctx.db,
        token_hash(code),
        org_id,
        request[ACCOUNT_KEY].account_id,
        fingerprint,
        now,
        now + AUTHORIZATION_CODE_TTL,
    )
    return json_response({"authorization_code": code, "expires_at": now + AUTHORIZATION_CODE_TTL}, status=201)


async def _claim_authorization_code(request: web.Request, body: NewSystem, ca) -> tuple[str, str]:
    """Check the code of the last S3 step and take it (single use); returns (code hash, device CA
    key fingerprint). Every refusal is a 4xx that changes nothing."""
    ctx = request.config_dict[APPLIANCE]
    org_id = request.match_info["org_id"]
    code = authorization.normalise(body.authorization_code)
    code_hash = token_hash(code)
    row = await store.authorization_code(ctx.db, code_hash)
    if row is None or row["org_id"] != org_id:
        raise Forbidden("unknown authorization code: copy the code the Manager shows", code="bad_authorization_code")
    fingerprint = authorization.key_fingerprint(ca)
    if (
        row["account_id"] != request[ACCOUNT_KEY].account_id
        or row["device_ca_fingerprint"] != fingerprint
        or not authorization.verify_proof(ca, org_id, code, body.proof)
    ):
        raise Forbidden(
            "this authorization code was issued to another system controller or account",
            code="foreign_authorization_code",
        )
    now = ctx.clock.now()
    if row["used_at"] is not None:
        raise Conflict(
            "this authorization code was used already; ask the Manager for a new one", code="authorization_code_used"
        )
    if now >= row["expires_at"]:
        raise Conflict(
            "this authorization code has expired; ask the Manager for a new one", code="authorization_code_expired"
        )
    await _refuse_registered_ca(ctx.db, fingerprint)
    if not await store.take_authorization_code(
        ctx.db, code_hash, now
    ):  # another request took it between the check and now
        raise Conflict("this authorization code was used already", code="authorization_code_used")
    return code_hash, fingerprint


@routes.post("/orgs/{org_id}/systems")
@access(ORG_ADMIN)
async def connect_system(request: web.Request) -> web.Response:
    """S3: the last step of connecting a system — the organization receives the system, its
    device CA (so the device hub accepts its cameras), and a 30-day trial licence starts. Only
    with an authorization code the cloud issued to this controller and account, once, in time."""
    ctx = request.config_dict[APPLIANCE]
    body = await read_body(request, NewSystem)
    org_id = request.match_info["org_id"]
    ca = _device_ca(body.device_ca_pem)
    code_hash, fingerprint = await _claim_authorization_code(request, body, ca)
    now = ctx.clock.now()
    system_id = new_id("sys")
    system_token = new_token("bwsys")
    try:
        await store.add_system(
            ctx.db,
            system_id=system_id,
            org_id=org_id,
            name=body.name,
            device_ca_pem=body.device_ca_pem,
            fingerprint=fingerprint,
            token_hash=token_hash(system_token),
            region=body.region,
            code_hash=code_hash,
            now=now,
            trial_seconds=TRIAL_DAYS * 86400,
        )
    except BaseException as exc:  # give the code back: a refused request changes nothing
        await store.give_back_authorization_code(ctx.db, code_hash)
        if isinstance(exc, sqlite3.IntegrityError):  # the same CA connected by a concurrent request
            raise Conflict("a system with this device CA is connected already", code="device_ca_registered") from None
        raise
    await audit.record(request, audit.SETTING_CHANGED, details={"setting": "system_connected", "system_id": system_id})
    return json_response(
        {
            "id": system_id,
            "org_id": org_id,
            "region": body.region,
            "system_token": system_token,
            "hub_url": ctx.config.url.replace("https://", "wss://") + "/hub/v1/devices",
        },
        status=201,
    )


@routes.get("/orgs/{org_id}/systems")
@access(ORG_MEMBER)
async def list_systems(request: web.Request) -> web.Response:
    ctx = request.config_dict[APPLIANCE]
    rows = await store.org_systems(ctx.db, request.match_info["org_id"])
    return json_response(
        {
            "systems": [
                {
                    "id": r["id"],
                    "name": r["name"],
                    "region": r["region"],
                    "connected_at": r["connected_at"],
                    "device_ca_fingerprint": pki.fingerprint_sha256(r["device_ca_pem"]),
                }
                for r in rows
            ]
        }
    )


@routes.get("/orgs/{org_id}/licence")
@access(ORG_MEMBER)
async def licence(request: web.Request) -> web.Response:
    """The organization's licences, whether one is valid now (S3, S15), where it stands (trial,
    purchased, expired; the quantity held now, covered until), and how many it needs: cameras of
    streaming-enabled camera users per day, averaged over the last seven days."""
    ctx = request.config_dict[APPLIANCE]
    now = ctx.clock.now()
    org_id = request.match_info["org_id"]
    rows = await store.org_licence_rows(ctx.db, org_id)
    used = usage_json(await organization_usage(ctx.db, org_id, now))
    return json_response(
        {**standing_json(await organization_standing(ctx.db, org_id, now)), "licences": [dict(r) for r in rows], **used}
    )
