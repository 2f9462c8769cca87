"""The cloud's accounts (S2) and sessions (D2): sign up, sign in and out, the organization a
session works in, and who is signed in (``/me``); ``/ping`` and ``/regions`` for the Manager."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from bwlab.passwords import password_problem
from bwlab.regions import REGIONS
from bwlab.schema import SchemaError

from ...auth import (
    ACCOUNT_KEY,
    CLOUD_COOKIE,
    clear_cookie,
    hash_password,
    new_token,
    set_cookie,
    token_hash,
    verify_password,
)
from ...context import APPLIANCE
from ...errors import Forbidden, Unauthenticated
from ...http import ACCOUNT, PUBLIC, access, json_response, read_body
from ...ids import new_id
from ...throttle import throttled
from .. import store

routes = web.RouteTableDef()


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


SIGN_UP_ANSWER = (
    "if no account uses this e-mail address, one was created with this password: sign in with it "
    "(an address has one account only; its owner keeps theirs)"
)


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
    await store.create_account(ctx.db, new_id("acc"), email, body.name, password_hash, ctx.clock.now())
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
        row = await store.account_credentials(ctx.db, email)
        ok = verify_password(row["password_hash"] if row else None, body.password)
        return row if ok else None

    row = await throttled(
        request, ("account", email), check, Unauthenticated("wrong e-mail or password", code="bad_credentials")
    )
    token = new_token("bws")
    await store.add_session(ctx.db, token_hash(token), row["id"], ctx.clock.now())
    response = json_response({"token": token, "account_id": row["id"]}, status=201)
    set_cookie(response, CLOUD_COOKIE, token)
    return response


@routes.delete("/sessions/current")
@access(ACCOUNT)
async def sign_out(request: web.Request) -> web.Response:
    ctx = request.config_dict[APPLIANCE]
    await store.delete_session(ctx.db, request[ACCOUNT_KEY].session_hash)
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
    role = await store.member_role(ctx.db, body.org_id, account.account_id)
    if role is None:
        raise Forbidden("you are not a member of that organization")
    await store.set_session_org(ctx.db, account.session_hash, body.org_id)
    return json_response({"org_id": body.org_id, "role": role})


@routes.get("/me")
@access(ACCOUNT)
async def me(request: web.Request) -> web.Response:
    ctx = request.config_dict[APPLIANCE]
    account = request[ACCOUNT_KEY]
    orgs = await store.account_organizations(ctx.db, account.account_id)
    return json_response(
        {
            "id": account.account_id,
            "email": account.email,
            "name": account.name,
            "org_id": await store.session_org(ctx.db, account.session_hash),
            "organizations": [
                {"id": o["id"], "name": o["name"], "role": o["role"], "owner": bool(o["owner"])} for o in orgs
            ],
        }
    )
