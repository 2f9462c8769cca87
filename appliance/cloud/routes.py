"""The cloud's account API: accounts (S2), sessions (D2), organizations (S2, S13), invitations and
roles (S10, S14), connected systems (S3) and their trial licence.

Mounted at /api/cloud. Every handler declares its access (appliance.http.access).
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass, field

from aiohttp import web

from bwlab.passwords import password_problem
from bwlab.regions import REGIONS
from bwlab.wire import authorization
from bwlab.schema import FieldError, SchemaError

from .. import pki
from ..auth import (ACCOUNT_KEY, ROLE_KEY, CLOUD_COOKIE, ROLES, clear_cookie, hash_password, new_token, set_cookie,
                    token_hash, verify_password)
from ..context import APPLIANCE
from ..errors import BwlabError, Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from ..http import ACCOUNT, ORG_ADMIN, ORG_MEMBER, PUBLIC, access, json_response, read_body
from ..throttle import throttled
from . import audit
from .usage import organization_standing, organization_usage, standing_json, usage_json

routes = web.RouteTableDef()

TRIAL_DAYS = 30  # S3
AUTHORIZATION_CODE_TTL = 15 * 60  # lab seconds a Manager's authorization code stays valid (S3)
MAX_OPEN_CODES = 20  # unused, unexpired authorization codes an organization may hold at once


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


@dataclass(frozen=True)
class NewAccount:
    email: str = field(metadata={"max_len": 254, "nonempty": True})
    name: str = field(metadata={"max_len": 120, "nonempty": True})
    password: str = field(metadata={"max_len": 256})

    def __post_init__(self):
        if "@" not in self.email:
            raise SchemaError("email", "must be an e-mail address")
        problem = password_problem(self.password, (self.email, self.name))
        if problem:
            raise SchemaError("password", problem)


@dataclass(frozen=True)
class Credentials:
    email: str = field(metadata={"max_len": 254})
    password: str = field(metadata={"max_len": 256})


@dataclass(frozen=True)
class SessionChoice:
    org_id: str = field(metadata={"max_len": 64})


@dataclass(frozen=True)
class NewOrganization:
    name: str = field(metadata={"max_len": 120, "nonempty": True})


@dataclass(frozen=True)
class NewInvitation:
    email: str = field(metadata={"max_len": 254, "nonempty": True})
    role: str = field(default="operator", metadata={"choices": ROLES})

    def __post_init__(self):
        if "@" not in self.email.strip()[1:-1]:
            raise FieldError("email", "the e-mail address of a My Axis account", self.email)


@dataclass(frozen=True)
class RoleChange:
    role: str = field(metadata={"choices": ROLES})


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


@routes.get("/ping")
@access(PUBLIC)
async def ping(request: web.Request) -> web.Response:
    """Reachability of the cloud; the Manager checks it to enable cloud extensions (S3)."""
    ctx = request.config_dict[APPLIANCE]
    return json_response({"service": "bwlab cloud", "time": ctx.clock.now()})


@routes.get("/regions")
@access(PUBLIC)
async def regions(request: web.Request) -> web.Response:
    return json_response({"regions": [r.as_dict() for r in REGIONS.values()]})


SIGN_UP_ANSWER = ("if no account uses this e-mail address, one was created with this password: sign in with it "
                  "(an address has one account only; its owner keeps theirs)")


@routes.post("/accounts")
@access(PUBLIC)
async def create_account(request: web.Request) -> web.Response:
    """S2: an account is created once. The answer (202, the same body) and its work (one Argon2
    hash) are the same whether or not the address had an account, so sign-up cannot be used to
    find out which e-mail addresses have one (docs/security.md, item 5); an existing account is
    left untouched."""
    ctx = request.config_dict[APPLIANCE]
    body = await read_body(request, NewAccount)
    email = body.email.strip().lower()
    password_hash = hash_password(body.password)
    await ctx.db.execute(
        "INSERT INTO accounts (id, email, name, password_hash, created_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(email) DO NOTHING",
        (new_id("acc"), email, body.name, password_hash, ctx.clock.now()),
    )
    return json_response({"email": email, "message": SIGN_UP_ANSWER}, status=202)


@routes.post("/sessions")
@access(PUBLIC)
async def sign_in(request: web.Request) -> web.Response:
    """D2: sign in; the session cookie lives while used and dies after 7 unused days. Throttled per
    account and per address; an unknown address costs the same Argon2 work as a known one."""
    ctx = request.config_dict[APPLIANCE]
    body = await read_body(request, Credentials)
    email = body.email.strip().lower()

    async def check():
        row = await ctx.db.fetchone("SELECT id, password_hash FROM accounts WHERE email = ?", (email,))
        ok = verify_password(row["password_hash"] if row else None, body.password)
        return row if ok else None

    row = await throttled(request, ("account", email), check,
                          Unauthenticated("wrong e-mail or password", code="bad_credentials"))
    token = new_token("bws")
    now = ctx.clock.now()
    await ctx.db.execute(
        "INSERT INTO sessions (token_hash, account_id, created_at, last_used_at) VALUES (?, ?, ?, ?)",
        (token_hash(token), row["id"], now, now),
    )
    response = json_response({"token": token, "account_id": row["id"]}, status=201)
    set_cookie(response, CLOUD_COOKIE, token)
    return response


@routes.delete("/sessions/current")
@access(ACCOUNT)
async def sign_out(request: web.Request) -> web.Response:
    ctx = request.config_dict[APPLIANCE]
    await ctx.db.execute("DELETE FROM sessions WHERE token_hash = ?", (request[ACCOUNT_KEY].session_hash,))
    response = json_response({"signed_out": True})
    clear_cookie(response, CLOUD_COOKIE)
    return response


@routes.put("/sessions/current")
@access(ACCOUNT)
async def choose_organization(request: web.Request) -> web.Response:
    """D2: after signing in, pick the organization."""
    ctx = request.config_dict[APPLIANCE]
    body = await read_body(request, SessionChoice)
    account = request[ACCOUNT_KEY]
    role = await ctx.db.fetchone(
        "SELECT role FROM memberships WHERE org_id = ? AND account_id = ?", (body.org_id, account.account_id)
    )
    if role is None:
        raise Forbidden("you are not a member of that organization")
    await ctx.db.execute("UPDATE sessions SET org_id = ? WHERE token_hash = ?", (body.org_id, account.session_hash))
    return json_response({"org_id": body.org_id, "role": role["role"]})


@routes.get("/me")
@access(ACCOUNT)
async def me(request: web.Request) -> web.Response:
    ctx = request.config_dict[APPLIANCE]
    account = request[ACCOUNT_KEY]
    orgs = await ctx.db.fetchall(
        "SELECT o.id, o.name, m.role, o.owner_account_id = ? AS owner FROM memberships m "
        "JOIN organizations o ON o.id = m.org_id WHERE m.account_id = ? ORDER BY o.name",
        (account.account_id, account.account_id),
    )
    session = await ctx.db.fetchone("SELECT org_id FROM sessions WHERE token_hash = ?", (account.session_hash,))
    return json_response({
        "id": account.account_id,
        "email": account.email,
        "name": account.name,
        "org_id": session["org_id"] if session else None,
        "organizations": [
            {"id": o["id"], "name": o["name"], "role": o["role"], "owner": bool(o["owner"])} for o in orgs
        ],
    })


@routes.post("/orgs")
@access(ACCOUNT)
async def create_organization(request: web.Request) -> web.Response:
    """S2: the creator becomes owner and gets the admin role."""
    ctx = request.config_dict[APPLIANCE]
    body = await read_body(request, NewOrganization)
    account = request[ACCOUNT_KEY]
    org_id = new_id("org")
    now = ctx.clock.now()
    await ctx.db.transaction([
        ("INSERT INTO organizations (id, name, owner_account_id, created_at) VALUES (?, ?, ?, ?)",
         (org_id, body.name, account.account_id, now)),
        ("INSERT INTO memberships (org_id, account_id, role) VALUES (?, ?, 'admin')", (org_id, account.account_id)),
    ])
    return json_response({"id": org_id, "name": body.name, "role": "admin", "owner": True}, status=201)


@routes.get("/orgs/{org_id}")
@access(ORG_MEMBER)
async def get_organization(request: web.Request) -> web.Response:
    ctx = request.config_dict[APPLIANCE]
    org = await ctx.db.fetchone("SELECT * FROM organizations WHERE id = ?", (request.match_info["org_id"],))
    return json_response({
        "id": org["id"], "name": org["name"], "storage_region": org["storage_region"],
        "owner_account_id": org["owner_account_id"], "role": request[ROLE_KEY],
    })


@routes.get("/orgs/{org_id}/members")
@access(ORG_ADMIN)
async def list_members(request: web.Request) -> web.Response:
    ctx = request.config_dict[APPLIANCE]
    rows = await ctx.db.fetchall(
        "SELECT a.id, a.email, a.name, m.role FROM memberships m JOIN accounts a ON a.id = m.account_id "
        "WHERE m.org_id = ? ORDER BY a.email",
        (request.match_info["org_id"],),
    )
    invitations = await ctx.db.fetchall(
        "SELECT id, email, role, accepted_at FROM invitations WHERE org_id = ? AND accepted_at IS NULL",
        (request.match_info["org_id"],),
    )
    return json_response({
        "members": [dict(r) for r in rows],
        "pending_invitations": [dict(r) for r in invitations],
    })


@routes.post("/orgs/{org_id}/invitations")
@access(ORG_ADMIN)
async def invite(request: web.Request) -> web.Response:
    """S10: an admin invites an account into the organization."""
    ctx = request.config_dict[APPLIANCE]
    body = await read_body(request, NewInvitation)
    org_id = request.match_info["org_id"]
    email = body.email.strip().lower()
    member = await ctx.db.fetchone(
        "SELECT 1 FROM memberships m JOIN accounts a ON a.id = m.account_id WHERE m.org_id = ? AND a.email = ?",
        (org_id, email),
    )
    if member:
        raise Conflict(f"{email} is a member already", code="already_member")
    if await ctx.db.fetchone("SELECT 1 FROM invitations WHERE org_id = ? AND email = ?", (org_id, email)):
        raise Conflict(f"{email} is invited already", code="already_invited")
    inv_id = new_id("inv")
    await ctx.db.execute(
        "INSERT INTO invitations (id, org_id, email, role, invited_by, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (inv_id, org_id, email, body.role, request[ACCOUNT_KEY].account_id, ctx.clock.now()),
    )
    await audit.record(request, audit.USER_INVITED, details={"email": email, "role": body.role})
    return json_response({"id": inv_id, "email": email, "role": body.role}, status=201)


@routes.delete("/orgs/{org_id}/invitations/{invitation_id}")
@access(ORG_ADMIN)
async def withdraw_invitation(request: web.Request) -> web.Response:
    """S10: an admin withdraws an invitation not accepted yet."""
    ctx = request.config_dict[APPLIANCE]
    if not await ctx.db.execute("DELETE FROM invitations WHERE id = ? AND org_id = ? AND accepted_at IS NULL",
                                (request.match_info["invitation_id"], request.match_info["org_id"])):
        raise NotFound("no pending invitation with that id in this organization")
    await audit.record(request, audit.SETTING_CHANGED, details={"setting": "invitation_withdrawn",
                                                                "invitation_id": request.match_info["invitation_id"]})
    return json_response({"withdrawn": request.match_info["invitation_id"]})


@routes.get("/invitations")
@access(ACCOUNT)
async def my_invitations(request: web.Request) -> web.Response:
    ctx = request.config_dict[APPLIANCE]
    rows = await ctx.db.fetchall(
        "SELECT i.id, i.org_id, o.name AS org_name, i.role FROM invitations i JOIN organizations o ON o.id = i.org_id "
        "WHERE i.email = ? AND i.accepted_at IS NULL",
        (request[ACCOUNT_KEY].email,),
    )
    return json_response({"invitations": [dict(r) for r in rows]})


@routes.post("/invitations/{invitation_id}/accept")
@access(ACCOUNT)
async def accept_invitation(request: web.Request) -> web.Response:
    """S10: each invited account accepts."""
    ctx = request.config_dict[APPLIANCE]
    account = request[ACCOUNT_KEY]
    inv = await ctx.db.fetchone("SELECT * FROM invitations WHERE id = ?", (request.match_info["invitation_id"],))
    if inv is None or inv["email"] != account.email:
        raise NotFound("no such invitation for this account")
    if inv["accepted_at"] is not None:
        raise Conflict("the invitation was accepted already", code="already_accepted")
    await ctx.db.transaction([
        ("UPDATE invitations SET accepted_at = ? WHERE id = ?", (ctx.clock.now(), inv["id"])),
        ("INSERT INTO memberships (org_id, account_id, role) VALUES (?, ?, ?)",
         (inv["org_id"], account.account_id, inv["role"])),
    ])
    return json_response({"org_id": inv["org_id"], "role": inv["role"]})


@routes.put("/orgs/{org_id}/members/{account_id}")
@access(ORG_ADMIN)
async def set_role(request: web.Request) -> web.Response:
    """S10, S14: the admin gives each member a role."""
    ctx = request.config_dict[APPLIANCE]
    body = await read_body(request, RoleChange)
    org_id, account_id = request.match_info["org_id"], request.match_info["account_id"]
    org = await ctx.db.fetchone("SELECT owner_account_id FROM organizations WHERE id = ?", (org_id,))
    if account_id == org["owner_account_id"] and body.role != "admin":
        raise Conflict("the owner of the organization keeps the admin role", code="owner_is_admin")
    changed = await ctx.db.execute(
        "UPDATE memberships SET role = ? WHERE org_id = ? AND account_id = ?", (body.role, org_id, account_id)
    )
    if not changed:
        raise NotFound("no such member")
    await audit.record(request, audit.SETTING_CHANGED, details={"setting": "member_role", "account_id": account_id,
                                                                "role": body.role})
    return json_response({"account_id": account_id, "role": body.role})


@routes.delete("/orgs/{org_id}/members/{account_id}")
@access(ORG_ADMIN)
async def remove_member(request: web.Request) -> web.Response:
    ctx = request.config_dict[APPLIANCE]
    org_id, account_id = request.match_info["org_id"], request.match_info["account_id"]
    org = await ctx.db.fetchone("SELECT owner_account_id FROM organizations WHERE id = ?", (org_id,))
    if account_id == org["owner_account_id"]:
        raise Conflict("the owner cannot be removed", code="owner_is_admin")
    if not await ctx.db.execute("DELETE FROM memberships WHERE org_id = ? AND account_id = ?", (org_id, account_id)):
        raise NotFound("no such member")
    await audit.record(request, audit.SETTING_CHANGED, details={"setting": "member_removed", "account_id": account_id})
    return json_response({"removed": account_id})


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
    if await db.fetchone("SELECT 1 FROM cloud_systems WHERE device_ca_fingerprint = ?", (fingerprint,)):
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
    open_codes = await ctx.db.fetchone("SELECT COUNT(*) AS n FROM authorization_codes WHERE org_id = ? "
                                       "AND used_at IS NULL AND expires_at > ?", (org_id, now))
    if open_codes["n"] >= MAX_OPEN_CODES:
        raise BwlabError(f"the organization holds {MAX_OPEN_CODES} unused authorization codes; use one or wait "
                         f"{AUTHORIZATION_CODE_TTL // 60} minutes", code="too_many_authorization_codes", status=429)
    code = authorization.new_code()
    await ctx.db.transaction([
        ("DELETE FROM authorization_codes WHERE expires_at < ?", (now - 86400,)),
        ("INSERT INTO authorization_codes (code_hash, org_id, account_id, device_ca_fingerprint, created_at, "
         "expires_at) VALUES (?, ?, ?, ?, ?, ?)",
         (token_hash(code), org_id, request[ACCOUNT_KEY].account_id, fingerprint, now,
          now + AUTHORIZATION_CODE_TTL)),
    ])
    return json_response({"authorization_code": code, "expires_at": now + AUTHORIZATION_CODE_TTL}, status=201)


async def _claim_authorization_code(request: web.Request, body: NewSystem, ca) -> tuple[str, str]:
    """Check the code of the last S3 step and take it (single use); returns (code hash, device CA
    key fingerprint). Every refusal is a 4xx that changes nothing."""
    ctx = request.config_dict[APPLIANCE]
    org_id = request.match_info["org_id"]
    code = authorization.normalise(body.authorization_code)
    code_hash = token_hash(code)
    row = await ctx.db.fetchone("SELECT * FROM authorization_codes WHERE code_hash = ?", (code_hash,))
    if row is None or row["org_id"] != org_id:
        raise Forbidden("unknown authorization code: copy the code the Manager shows", code="bad_authorization_code")
    fingerprint = authorization.key_fingerprint(ca)
    if (row["account_id"] != request[ACCOUNT_KEY].account_id or row["device_ca_fingerprint"] != fingerprint
            or not authorization.verify_proof(ca, org_id, code, body.proof)):
        raise Forbidden("this authorization code was issued to another system controller or account",
                        code="foreign_authorization_code")
    now = ctx.clock.now()
    if row["used_at"] is not None:
        raise Conflict("this authorization code was used already; ask the Manager for a new one",
                       code="authorization_code_used")
    if now >= row["expires_at"]:
        raise Conflict("this authorization code has expired; ask the Manager for a new one",
                       code="authorization_code_expired")
    await _refuse_registered_ca(ctx.db, fingerprint)
    taken = await ctx.db.execute(
        "UPDATE authorization_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL AND expires_at > ?",
        (now, code_hash, now))
    if not taken:  # another request took it between the check and now
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
    statements = [
        ("INSERT INTO cloud_systems (id, org_id, name, device_ca_pem, device_ca_fingerprint, token_hash, region, "
         "connected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
         (system_id, org_id, body.name, body.device_ca_pem, fingerprint, token_hash(system_token), body.region, now)),
        ("UPDATE authorization_codes SET cloud_system_id = ? WHERE code_hash = ?", (system_id, code_hash)),
        ("UPDATE organizations SET storage_region = COALESCE(storage_region, ?) WHERE id = ?", (body.region, org_id)),
    ]
    trial = await ctx.db.fetchone("SELECT 1 FROM licences WHERE org_id = ? AND kind = 'trial'", (org_id,))
    if trial is None:
        statements.append((
            "INSERT INTO licences (id, org_id, kind, starts_at, ends_at) VALUES (?, ?, 'trial', ?, ?)",
            (new_id("lic"), org_id, now, now + TRIAL_DAYS * 86400),
        ))
    try:
        await ctx.db.transaction(statements)
    except BaseException as exc:  # give the code back: a refused request changes nothing
        await ctx.db.execute("UPDATE authorization_codes SET used_at = NULL WHERE code_hash = ?", (code_hash,))
        if isinstance(exc, sqlite3.IntegrityError):  # the same CA connected by a concurrent request
            raise Conflict("a system with this device CA is connected already", code="device_ca_registered") from None
        raise
    await audit.record(request, audit.SETTING_CHANGED, details={"setting": "system_connected", "system_id": system_id})
    return json_response(
        {"id": system_id, "org_id": org_id, "region": body.region, "system_token": system_token,
         "hub_url": ctx.config.url.replace("https://", "wss://") + "/hub/v1/devices"},
        status=201,
    )


@routes.get("/orgs/{org_id}/systems")
@access(ORG_MEMBER)
async def list_systems(request: web.Request) -> web.Response:
    ctx = request.config_dict[APPLIANCE]
    rows = await ctx.db.fetchall(
        "SELECT id, name, region, connected_at, device_ca_pem FROM cloud_systems WHERE org_id = ? ORDER BY name",
        (request.match_info["org_id"],),
    )
    return json_response({"systems": [
        {"id": r["id"], "name": r["name"], "region": r["region"], "connected_at": r["connected_at"],
         "device_ca_fingerprint": pki.fingerprint_sha256(r["device_ca_pem"])}
        for r in rows
    ]})


@routes.get("/orgs/{org_id}/licence")
@access(ORG_MEMBER)
async def licence(request: web.Request) -> web.Response:
    """The organization's licences, whether one is valid now (S3, S15), where it stands (trial,
    purchased, expired; the quantity held now, covered until), and how many it needs: cameras of
    streaming-enabled camera users per day, averaged over the last seven days."""
    ctx = request.config_dict[APPLIANCE]
    now = ctx.clock.now()
    org_id = request.match_info["org_id"]
    rows = await ctx.db.fetchall(
        "SELECT id, kind, starts_at, ends_at, quantity, term_months, renews, ordered_at FROM licences "
        "WHERE org_id = ? ORDER BY starts_at, id", (org_id,))
    used = usage_json(await organization_usage(ctx.db, org_id, now))
    return json_response({**standing_json(await organization_standing(ctx.db, org_id, now)),
                          "licences": [dict(r) for r in rows], **used})


async def licence_valid(db, org_id: str, now: float) -> bool:
    row = await db.fetchone(
        "SELECT 1 FROM licences WHERE org_id = ? AND starts_at <= ? AND ends_at > ?", (org_id, now, now)
    )
    return row is not None
