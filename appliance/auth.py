"""Who is calling: passwords, sessions (D2), roles (S14), and the access check on every route.

Principals:
- a cloud account, by session cookie ``bwl_session`` or ``Authorization: Bearer bws_…``;
  a session lives while it is used and dies after seven days of lab time unused (D2);
- the administrator of one system controller (the Manager's own login), by cookie
  ``bwm_session`` or bearer ``bwm_…``;
- a connected system controller, by bearer ``bwsys_…`` (the token the cloud gave it on the last
  step of S3), for the routes under ``/api/cloud/systems/{cloud_system_id}`` of that system only;
- the lab (trainers and the camera fleet: the physical world — docking, buttons, faults), by
  bearer ``bwlab_…`` (the token ``bwlab up`` prints and keeps in the data directory) or cookie
  ``bwlab_lab``.
Cookies are ``Secure`` and ``HttpOnly``. The Live session cookie is also ``SameSite=None;
Partitioned`` (CHIPS): the web client works as a top-level page of a VMS's embedded browser and
inside a web VMS's frame on another site, where the browser keeps the cookie in that site's own
partition, so no third-party cookie is needed (S9). The Manager's and the lab's cookies are
``SameSite=Lax``. Because a cookie may now ride along from another site's frame, a request that
relies on a session cookie to change something (any method but GET/HEAD/OPTIONS, and every
WebSocket upgrade) must come from this origin: ``cross_site_middleware`` refuses it when the
browser says it comes from another site (``Sec-Fetch-Site``) or another origin (``Origin``).
Bearer tokens are not ambient, so API clients are not concerned.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass

from aiohttp import web
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from .cloud import store as cloud_store
from .context import APPLIANCE
from .controller import store as controller_store
from .errors import Forbidden, NotFound, Unauthenticated
from .http import ACCOUNT, DEVICE, LAB, MANAGER, ORG_ADMIN, ORG_MEMBER, PUBLIC, SYSTEM, Handler

SESSION_IDLE_LIMIT = 7 * 24 * 3600  # D2
CLOUD_COOKIE = "bwl_session"
MANAGER_COOKIE = "bwm_session"
LAB_COOKIE = "bwlab_lab"
ROLES = ("user", "operator", "admin")  # S14

# Memory-hard (Argon2id) with parameters that keep a sign-in well under 100 ms on the lab box.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches the ``stored`` hash. With no stored hash (an unknown account)
    the same Argon2 work is done against a dummy hash, so that the answer's timing does not tell
    which accounts exist (docs/security.md, item 5)."""
    try:
        return _hasher.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def new_token(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def token_hash(token: str) -> str:
    # "replace": a header or cookie may carry bytes that are not UTF-8; such a token matches nothing
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


@dataclass(frozen=True)
class AccountPrincipal:
    account_id: str
    email: str
    name: str
    session_hash: str


@dataclass(frozen=True)
class ManagerPrincipal:
    system_id: str
    session_hash: str


@dataclass(frozen=True)
class LabPrincipal:
    pass


@dataclass(frozen=True)
class SystemPrincipal:
    """A connected system controller speaking to the cloud (its id there, and its organization)."""

    cloud_system_id: str
    org_id: str


ACCOUNT_KEY = web.RequestKey("account", AccountPrincipal)
ROLE_KEY = web.RequestKey("role", str)
PRINCIPAL_KEY = web.RequestKey("principal", object)


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[7:].strip()
    return None


def _candidates(request: web.Request, prefix: str, cookie: str) -> list[str]:
    found = []
    bearer = _bearer(request)
    if bearer and bearer.startswith(prefix + "_"):
        found.append(bearer)
    value = request.cookies.get(cookie)
    if value and value.startswith(prefix + "_"):
        found.append(value)
    return found


async def account_of(request: web.Request) -> AccountPrincipal | None:
    """The signed-in account, touching its session; None if no live session (D2)."""
    ctx = request.config_dict[APPLIANCE]
    now = ctx.clock.now()
    for token in _candidates(request, "bws", CLOUD_COOKIE):
        h = token_hash(token)
        row = await cloud_store.session_account(ctx.db, h)
        if row is None:
            continue
        if now - row["last_used_at"] > SESSION_IDLE_LIMIT:
            await cloud_store.delete_session(ctx.db, h)
            continue
        if now - row["last_used_at"] > 60:
            await cloud_store.touch_session(ctx.db, h, now)
            _refresh_cookie(request, CLOUD_COOKIE, token, "/")
        return AccountPrincipal(row["id"], row["email"], row["name"], h)
    return None


async def manager_of(request: web.Request, system_id: str) -> ManagerPrincipal | None:
    ctx = request.config_dict[APPLIANCE]
    now = ctx.clock.now()
    for token in _candidates(request, "bwm", MANAGER_COOKIE):
        h = token_hash(token)
        row = await controller_store.session(ctx.controller_db, h)
        if row is None or row["system_id"] != system_id:
            continue
        if now - row["last_used_at"] > SESSION_IDLE_LIMIT:
            await controller_store.delete_session(ctx.controller_db, h)
            continue
        if now - row["last_used_at"] > 60:
            await controller_store.touch_session(ctx.controller_db, h, now)
            _refresh_cookie(request, MANAGER_COOKIE, token, f"/controller/{system_id}")
        return ManagerPrincipal(system_id, h)
    return None


async def manager_of_another_system(request: web.Request, system_id: str) -> bool:
    """Whether the caller holds a live Manager session, but of another system (403, not 401)."""
    ctx = request.config_dict[APPLIANCE]
    now = ctx.clock.now()
    for token in _candidates(request, "bwm", MANAGER_COOKIE):
        row = await controller_store.session(ctx.controller_db, token_hash(token))
        if row is not None and row["system_id"] != system_id and now - row["last_used_at"] <= SESSION_IDLE_LIMIT:
            return True
    return False


async def system_of(request: web.Request) -> tuple[SystemPrincipal | None, bool]:
    """The connected system whose token is presented, if it is the system in the path; and
    whether a valid token of *another* system was presented (403, not 401)."""
    token = _bearer(request)
    if not token or not token.startswith("bwsys_"):
        return None, False
    row = await cloud_store.system_by_token(request.config_dict[APPLIANCE].db, token_hash(token))
    if row is None:
        return None, False
    if row["id"] != request.match_info.get("cloud_system_id"):
        return None, True
    return SystemPrincipal(row["id"], row["org_id"]), True


def is_lab(request: web.Request) -> bool:
    expected = request.config_dict[APPLIANCE].lab_token
    for token in _candidates(request, "bwlab", LAB_COOKIE):
        # bytes: compare_digest refuses str with non-ASCII characters (a header may hold any)
        if secrets.compare_digest(token.encode("utf-8", "replace"), expected.encode()):
            return True
    return False


async def org_role(request: web.Request, account_id: str, org_id: str) -> str | None:
    return await cloud_store.member_role(request.config_dict[APPLIANCE].db, org_id, account_id)


def _handler_access(request: web.Request) -> tuple[str, ...] | None:
    handler = request.match_info.handler
    levels = getattr(handler, "access", None)
    if levels is None:
        # class-based views and aiohttp's own handlers: look on the wrapped function
        levels = getattr(getattr(handler, "__wrapped__", None), "access", None)
    return levels


@web.middleware
async def access_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Enforce the handler's declared access before it runs; deny when nothing is declared."""
    if request.match_info.http_exception is not None:
        return await handler(request)
    levels = _handler_access(request)
    if levels is None:
        raise Forbidden("this route declares no access and is closed", code="route_closed")
    if PUBLIC in levels:
        return await handler(request)
    reasons: list[str] = []
    authenticated = False
    for level in levels:
        if level == LAB:
            if is_lab(request):
                request[PRINCIPAL_KEY] = LabPrincipal()
                return await handler(request)
            reasons.append("the lab token")
        elif level == SYSTEM:
            principal, known = await system_of(request)
            if principal is not None:
                request[PRINCIPAL_KEY] = principal
                return await handler(request)
            authenticated = authenticated or known
            reasons.append("the token of this connected system")
        elif level == DEVICE:
            # The device hub authenticates cameras inside its WebSocket (challenge-response).
            return await handler(request)
        elif level == MANAGER:
            system_id = request.match_info.get("system_id", "")
            manager = await manager_of(request, system_id)
            if manager:
                request[PRINCIPAL_KEY] = manager
                return await handler(request)
            if await manager_of_another_system(request, system_id):
                authenticated = True  # signed in to a Manager, but another system's
            reasons.append("a Manager administrator session of this system")
        elif level in (ACCOUNT, ORG_MEMBER, ORG_ADMIN):
            account = request.get(ACCOUNT_KEY) or await account_of(request)
            if account is None:
                reasons.append("a signed-in account")
                continue
            authenticated = True
            request[ACCOUNT_KEY] = account
            if level == ACCOUNT:
                request[PRINCIPAL_KEY] = account
                return await handler(request)
            org_id = request.match_info.get("org_id", "")
            role = await org_role(request, account.account_id, org_id)
            if role is None:
                exists = await cloud_store.organization(request.config_dict[APPLIANCE].db, org_id)
                if exists is None:
                    raise NotFound(f"no organization {org_id!r}")
                reasons.append("membership of this organization")
                continue
            request[ROLE_KEY] = role
            if level == ORG_MEMBER or role == "admin":
                request[PRINCIPAL_KEY] = account
                return await handler(request)
            reasons.append("the admin role in this organization")
    if authenticated or any(r.startswith("the admin") for r in reasons):
        raise Forbidden("this needs " + " or ".join(dict.fromkeys(reasons)))
    raise Unauthenticated("this needs " + " or ".join(dict.fromkeys(reasons)))


EMBEDDABLE_COOKIES = frozenset({CLOUD_COOKIE})
"""The cookies of the web client that VMSs embed (S9): partitioned, usable in another site's frame."""


def set_cookie(
    response: web.StreamResponse, name: str, token: str, *, path: str = "/", max_age: int = SESSION_IDLE_LIMIT
) -> None:
    if name in EMBEDDABLE_COOKIES:
        # Written by hand: Python's http.cookies (before 3.14) refuses the Partitioned attribute.
        response.headers.add(
            "Set-Cookie",
            f"{name}={token}; Max-Age={max_age}; Path={path}; Secure; HttpOnly; SameSite=None; Partitioned",
        )
    else:
        response.set_cookie(name, token, max_age=max_age, path=path, secure=True, httponly=True, samesite="Lax")


def clear_cookie(response: web.StreamResponse, name: str, *, path: str = "/") -> None:
    """Remove a cookie from the browser (with the attributes it was set with, so a partitioned
    cookie is found in its partition)."""
    set_cookie(response, name, "", path=path, max_age=0)


_REFRESH_KEY = web.RequestKey("session_cookie_refresh", tuple)


def _refresh_cookie(request: web.Request, name: str, token: str, path: str) -> None:
    """D2: the session was used and came by its cookie: give the cookie seven more days."""
    if request.cookies.get(name) == token:
        request[_REFRESH_KEY] = (name, token, path)


@web.middleware
async def session_cookie_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """D2: a session lives while it is used and ends after seven idle days (on the lab clock, by
    ``last_used_at``); its cookie's lifetime is renewed on use, so the browser does not drop the
    cookie seven days after sign-in of a session in daily use. Not on a response that sets the
    cookie itself (sign-in, sign-out) or that has already been sent (a WebSocket)."""
    response = await handler(request)
    refresh = request.get(_REFRESH_KEY)
    if refresh is not None and not response.prepared:
        name, token, path = refresh
        if (
            not any(v.startswith(name + "=") for v in response.headers.getall("Set-Cookie", []))
            and name not in response.cookies
        ):
            set_cookie(response, name, token, path=path)
    return response


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SESSION_COOKIES = (CLOUD_COOKIE, MANAGER_COOKIE, LAB_COOKIE)


@web.middleware
async def cross_site_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a change (or a WebSocket) made with a session cookie from another site or origin."""
    upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
    if (
        (request.method not in _SAFE_METHODS or upgrade)
        and _bearer(request) is None
        and any(name in request.cookies for name in _SESSION_COOKIES)
    ):
        site = request.headers.get("Sec-Fetch-Site")
        origin = request.headers.get("Origin")
        own = f"{request.scheme}://{request.host}"
        if site in ("cross-site", "same-site") or (origin is not None and origin != own):
            raise Forbidden(
                f"a request from another site or origin ({origin or site}) cannot use this site's session "
                f"cookie; open the web client at {own}",
                code="cross_site_request",
            )
    return await handler(request)
