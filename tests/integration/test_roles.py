"""Every route of the appliance against every principal (S14 and the access rules of the API).

1. The route table is walked (sub-apps included): every handler must declare its access, and
   the declarations must match a hard-coded table of what matters (who may invite, who may see
   an organization's systems, who may touch a system's Manager, who may dock cameras), so a
   wrong declaration is caught even when the code enforces it faithfully.
2. Every route is then called over real HTTPS as each principal — no session, a signed-in
   account that is not a member, org ``user``, ``operator``, ``admin``, the Manager admin of the
   system, the Manager admin of another system, a connected system by its cloud token, another
   connected system, the admin of another organization whose system has a camera with a demo
   camera's serial and that system's token (issue 10: a camera is (system, serial)), the lab —
   with real ids from the demo. Principals
   that are not allowed get 401 (no credentials) or 403 (wrong credentials), never 2xx or 5xx;
   allowed ones never get 401/403. WebSocket upgrades are refused to principals not allowed;
   the device hub lets anyone upgrade and closes a socket without a valid hello with an error.
"""

# covers: S2, S10, S13, S14, D2, L2

from __future__ import annotations

import inspect
import json
import ssl
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from appliance.app import create_app
from appliance.auth import access_middleware
from appliance.context import ApplianceConfig
from appliance.http import (
    ACCOUNT,
    DEVICE,
    LAB,
    LEVELS,
    MANAGER,
    ORG_ADMIN,
    ORG_MEMBER,
    PUBLIC,
    SYSTEM,
    error_middleware,
)
from bwlab.apply import connect_system
from bwlab.wire import messages as m
from tests.conftest import controller_connections

PRINCIPALS = (
    "none",
    "account",
    "user",
    "operator",
    "admin",
    "manager",
    "other_manager",
    "system",
    "other_system",
    "foreign_admin",
    "foreign_system",
    "lab",
)
EVERYONE = frozenset(PRINCIPALS)
ACCOUNTS = frozenset({"account", "user", "operator", "admin", "foreign_admin"})
MEMBERS = frozenset({"user", "operator", "admin"})
ADMIN = frozenset({"admin"})
MGR = frozenset({"manager"})
LAB_ONLY = frozenset({"lab"})
SYS = frozenset({"system"})

# ---------------------------------------------------------------------------------------------
# What each declared level lets in, and the hard-coded expectations for the routes that matter.


def allowed_by(levels: tuple[str, ...]) -> frozenset[str]:
    out: set[str] = set()
    for level in levels:
        out |= {
            PUBLIC: EVERYONE,
            DEVICE: EVERYONE,
            ACCOUNT: ACCOUNTS,
            ORG_MEMBER: MEMBERS,
            ORG_ADMIN: ADMIN,
            MANAGER: MGR,
            LAB: LAB_ONLY,
            SYSTEM: SYS,
        }[level]
    return frozenset(out)


EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    # the cloud: anyone may sign up and sign in (S2)
    ("GET", "/api/cloud/ping"): EVERYONE,
    ("GET", "/api/cloud/regions"): EVERYONE,
    ("POST", "/api/cloud/accounts"): EVERYONE,
    ("POST", "/api/cloud/sessions"): EVERYONE,
    # a signed-in account, member or not (D2, S2, S10)
    ("GET", "/api/cloud/me"): ACCOUNTS,
    ("PUT", "/api/cloud/sessions/current"): ACCOUNTS,
    ("DELETE", "/api/cloud/sessions/current"): ACCOUNTS,
    ("POST", "/api/cloud/orgs"): ACCOUNTS,
    ("GET", "/api/cloud/invitations"): ACCOUNTS,
    ("POST", "/api/cloud/invitations/{invitation_id}/accept"): ACCOUNTS,
    # any member of the organization views (S14)
    ("GET", "/api/cloud/orgs/{org_id}"): MEMBERS,
    ("GET", "/api/cloud/orgs/{org_id}/systems"): MEMBERS,
    ("GET", "/api/cloud/orgs/{org_id}/licence"): MEMBERS,
    ("GET", "/api/cloud/orgs/{org_id}/streams"): MEMBERS,
    ("GET", "/api/cloud/orgs/{org_id}/streams/{stream_id}"): MEMBERS,
    ("POST", "/api/cloud/orgs/{org_id}/streams/{stream_id}/acknowledge"): MEMBERS,
    ("GET", "/api/cloud/orgs/{org_id}/streams/{stream_id}/talk"): MEMBERS,  # talk-back (issue 16 item 3)
    ("GET", "/api/cloud/orgs/{org_id}/help-requests"): MEMBERS,  # issue 16: help requests, as streams
    ("POST", "/api/cloud/orgs/{org_id}/help-requests/{help_id}/acknowledge"): MEMBERS,
    # only the admin manages the organization: invites, roles, members, systems (S10, S14, S3)
    ("POST", "/api/cloud/orgs/{org_id}/invitations"): ADMIN,
    ("DELETE", "/api/cloud/orgs/{org_id}/invitations/{invitation_id}"): ADMIN,  # S10, Live's Settings > Users
    ("GET", "/api/cloud/orgs/{org_id}/members"): ADMIN,
    ("PUT", "/api/cloud/orgs/{org_id}/members/{account_id}"): ADMIN,
    ("DELETE", "/api/cloud/orgs/{org_id}/members/{account_id}"): ADMIN,
    ("POST", "/api/cloud/orgs/{org_id}/systems"): ADMIN,
    ("POST", "/api/cloud/orgs/{org_id}/authorization-codes"): ADMIN,
    # only the admin orders and renews licences (S15)
    ("POST", "/api/cloud/orgs/{org_id}/licences"): ADMIN,
    ("POST", "/api/cloud/orgs/{org_id}/licences/{licence_id}/renewal"): ADMIN,
    # issue 16 item 4: only the admin reads and exports the audit trail; members see who is watching
    # and tell the log which key their browser imported
    ("GET", "/api/cloud/orgs/{org_id}/audit"): ADMIN,
    ("GET", "/api/cloud/orgs/{org_id}/audit/export"): ADMIN,
    ("GET", "/api/cloud/orgs/{org_id}/watching"): MEMBERS,
    ("POST", "/api/cloud/orgs/{org_id}/audit/key-imports"): MEMBERS,
    # a connected system tells the cloud its camera users, with its own token only
    ("PUT", "/api/cloud/systems/{cloud_system_id}/camera-users"): SYS,
    ("GET", "/api/cloud/systems/{cloud_system_id}/licence"): SYS,
    ("POST", "/api/cloud/systems/{cloud_system_id}/audit-events"): SYS,  # the Manager's actions (issue 16 item 4)
    # the system controllers
    ("GET", "/controller/systems"): EVERYONE,
    ("POST", "/controller/systems"): LAB_ONLY,
    ("POST", "/controller/{system_id}/api/login"): EVERYONE,
    ("GET", "/controller/{system_id}/api/cameras"): MGR | LAB_ONLY,
    ("GET", "/controller/{system_id}/api/docks"): MGR | LAB_ONLY,
    # the physical world is the lab's: docks and the camera user's Assistant app
    ("POST", "/controller/{system_id}/api/docks/{dock}/bays/{bay}"): LAB_ONLY,
    ("DELETE", "/controller/{system_id}/api/docks/{dock}/bays/{bay}"): LAB_ONLY,
    ("PUT", "/controller/{system_id}/api/assistant/camera-users/{user}/network"): LAB_ONLY,
    # the Manager's Settings screens (S1, S3, T2 rows 1 and 4c): that system's Manager admin only
    ("PUT", "/controller/{system_id}/api/settings/date-time"): MGR,
    ("PUT", "/controller/{system_id}/api/settings/network"): MGR,
    ("PUT", "/controller/{system_id}/api/settings/mobile-networks"): MGR,
    # issue 13: only the system's admin imports a connection file; the dock moves recordings
    ("POST", "/controller/{system_id}/api/content-destination"): MGR,
    ("GET", "/controller/{system_id}/api/content-destination"): MGR | LAB_ONLY,
    ("PUT", "/controller/{system_id}/api/recording-settings"): MGR,
    ("GET", "/controller/{system_id}/api/recording-settings"): MGR | LAB_ONLY,
    ("GET", "/controller/{system_id}/api/recordings"): MGR | LAB_ONLY,
    ("GET", "/controller/{system_id}/api/recordings/{recording}"): MGR | LAB_ONLY,
    ("GET", "/controller/{system_id}/api/recordings/{recording}/files/{name}"): MGR,
    ("PUT", "/controller/{system_id}/api/docks/{dock}/bays/{bay}/recordings/{recording}"): LAB_ONLY,
    ("PUT", "/controller/{system_id}/api/docks/{dock}/bays/{bay}/recordings/{recording}/files/{name}"): LAB_ONLY,
    ("POST", "/controller/{system_id}/api/docks/{dock}/bays/{bay}/recordings/{recording}/done"): LAB_ONLY,
    ("PUT", "/controller/{system_id}/api/docks/{dock}/bays/{bay}/storage"): LAB_ONLY,
    ("GET", "/controller/{system_id}/api/camera-storage"): MGR | LAB_ONLY,
    # the lab
    ("POST", "/api/lab/login"): EVERYONE,
    ("POST", "/api/lab/time/travel"): LAB_ONLY,
    ("GET", "/api/lab/status"): LAB_ONLY,
    # the appliance itself
    ("GET", "/healthz"): EVERYONE,
    ("GET", "/lab-ca.pem"): EVERYONE,
    ("GET", "/hub/v1/devices"): EVERYONE,  # DEVICE: the camera proves itself inside the socket
}


def expected_for(method: str, path: str) -> frozenset[str] | None:
    """The hard-coded expectation for a route, by exact entry or by rule; None if neither."""
    method = "GET" if method == "HEAD" else method
    if (method, path) in EXPECTED:
        return EXPECTED[(method, path)]
    if path.startswith("/controller/{system_id}/api"):
        return MGR  # every other Manager route: only that system's Manager admin
    if path.startswith("/api/lab/"):
        return LAB_ONLY
    return None


# ---------------------------------------------------------------------------------------------
# The route table


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # the canonical template, e.g. /api/cloud/orgs/{org_id}/members
    handler: object
    websocket: bool

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"


def walk(router: web.UrlDispatcher) -> list[Route]:
    out: list[Route] = []
    for resource in router.resources():
        info = resource.get_info()
        if "app" in info:  # a sub-app (/api/cloud, /controller, /api/lab): its resources carry the prefix
            out += walk(info["app"].router)
            continue
        for route in resource:
            handler = route.handler
            try:
                source = inspect.getsource(handler)
            except (OSError, TypeError):
                source = ""
            out.append(Route(route.method, resource.canonical, handler, "WebSocketResponse(" in source))
    return out


def app_routes(tmp_path: Path) -> list[Route]:
    return walk(create_app(ApplianceConfig(data_dir=tmp_path / "unused", zeroconf=False, ntp_port=None)).router)


def test_every_route_declares_its_access(tmp_path):
    routes = app_routes(tmp_path)
    prefixes = {"/api/cloud/", "/controller/", "/api/lab/", "/hub/", "/healthz"}
    assert all(any(r.path.startswith(p) for r in routes) for p in prefixes), "the walk must reach every sub-app"
    assert len(routes) > 60
    undeclared = [r.name for r in routes if getattr(r.handler, "access", None) is None]
    assert not undeclared, f"routes without @access(...): {undeclared}"
    bad = [r.name for r in routes if not r.handler.access or set(r.handler.access) - set(LEVELS)]
    assert not bad, f"routes with an empty or unknown access level: {bad}"


def test_declarations_match_the_table_of_what_matters(tmp_path):
    routes = app_routes(tmp_path)
    wrong = []
    for r in routes:
        declared = allowed_by(r.handler.access)
        expected = expected_for(r.method, r.path)
        if expected is not None and declared != expected:
            wrong.append(f"{r.name}: declared {sorted(declared)}, expected {sorted(expected)}")
        if r.path.startswith("/api/cloud/orgs/{org_id}") and not declared <= MEMBERS:
            wrong.append(f"{r.name}: an organization's route open to non-members: {sorted(declared)}")
    assert not wrong, "\n".join(wrong)
    listed = {(r.method, r.path) for r in routes}
    stale = [k for k in EXPECTED if k not in listed]
    assert not stale, f"the table names routes that do not exist (any more): {stale}"


async def test_a_route_without_a_declaration_is_closed():
    """The guard itself: a handler that declares nothing is refused by the access middleware."""

    async def undeclared(request):  # pragma: no cover - must never run
        raise AssertionError("an undeclared handler ran")

    app = web.Application(middlewares=[error_middleware, access_middleware])
    app.router.add_get("/open", undeclared)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/open") as r:
            assert r.status == 403
            assert (await r.json())["error"]["code"] == "route_closed"
    finally:
        await runner.cleanup()
    assert any(getattr(r.handler, "access", None) is None for r in walk(app.router))


# ---------------------------------------------------------------------------------------------
# Calling every route as every principal


@dataclass
class World:
    tokens: dict[str, str | None]
    params: dict[str, str]


@pytest.fixture
async def world(appliance, demo_lab, lab, cloud_account, new_system) -> World:
    """The demo (admin and operator accounts, a connected system) plus a ``user`` member, an
    account outside the organization, a member the admin may remove, a pending invitation,
    a second system, and spares that the Manager's DELETE routes may really delete."""
    org_id = demo_lab.org_id
    system = demo_lab.systems[0]
    api = f"/controller/{system.id}/api"
    async with appliance.session() as admin, appliance.session() as operator, appliance.session() as manager:
        await admin.sign_in_cloud("admin@demo.bwlab.test", "demo-admin-pass")
        await operator.sign_in_cloud("operator@demo.bwlab.test", "demo-operator-pass")
        user = await cloud_account("user@roles.test")
        outsider = await cloud_account("outsider@roles.test")
        victim = await cloud_account("victim@roles.test")
        for member in (user, victim):
            email = (await member.get("/api/cloud/me"))["email"]
            await admin.post(f"/api/cloud/orgs/{org_id}/invitations", {"email": email, "role": "user"})
            (inv,) = (await member.get("/api/cloud/invitations"))["invitations"]
            await member.post(f"/api/cloud/invitations/{inv['id']}/accept")
        pending = await admin.post(f"/api/cloud/orgs/{org_id}/invitations", {"email": "pending@roles.test"})
        roles = {mb["email"]: mb["role"] for mb in (await admin.get(f"/api/cloud/orgs/{org_id}/members"))["members"]}
        assert roles["user@roles.test"] == "user" and roles["operator@demo.bwlab.test"] == "operator"
        assert roles["admin@demo.bwlab.test"] == "admin" and "outsider@roles.test" not in roles

        await manager.sign_in_manager(system.id, system.admin_password)
        other_id, other_manager = await new_system("Another station")
        await connect_system(
            other_manager,
            f"/controller/{other_id}/api",
            email="admin@demo.bwlab.test",
            password="demo-admin-pass",
            org_id=org_id,
            region="eu",
        )
        # Another organization, whose own system registers a camera with a demo camera's serial.
        foreign = await cloud_account("foreign@roles.test")
        foreign_org = await foreign.post("/api/cloud/orgs", {"name": "Foreign Org"})
        foreign_id, foreign_manager = await new_system("Foreign station")
        await connect_system(
            foreign_manager,
            f"/controller/{foreign_id}/api",
            email="foreign@roles.test",
            password="account-pass",
            org_id=foreign_org["id"],
            region="eu",
        )
        await foreign_manager.post(f"/controller/{foreign_id}/api/camera-users", {"name": "Anna Berg"})
        await foreign_manager.post(
            f"/controller/{foreign_id}/api/cameras",
            {"serial": "B8A44F000101", "model": "W100", "camera_user": "Anna Berg"},
        )
        connections = controller_connections(appliance.data_dir)
        await manager.post(api + "/wifi-networks", {"ssid": "Spare-net"})
        await manager.post(api + "/profiles", {"name": "Spare profile"})
        await manager.post(api + "/cameras", {"serial": "SPARE001", "model": "W110"})
        key_id = (await manager.get(api + "/keys"))["keys"][0]["id"]
        camera_user = next(
            u for u in (await manager.get(api + "/camera-users"))["camera_users"] if u["name"] == "Anna Berg"
        )
        victim_id = (await victim.get("/api/cloud/me"))["id"]
        trial_id = (await admin.get(f"/api/cloud/orgs/{org_id}/licence"))["licences"][0]["id"]
        # Bearer tokens outlive the client sessions that obtained them.
        return World(
            tokens={
                "none": None,
                "account": outsider.token,
                "user": user.token,
                "operator": operator.token,
                "admin": admin.token,
                "manager": manager.token,
                "other_manager": other_manager.token,
                "system": connections[system.id]["system_token"],
                "other_system": connections[other_id]["system_token"],
                "foreign_admin": foreign.token,
                "foreign_system": connections[foreign_id]["system_token"],
                "lab": appliance.lab_token,
            },
            params={
                "org_id": org_id,
                "account_id": victim_id,
                "invitation_id": pending["id"],
                "stream_id": "str_0123456789abcdef",
                "user_id": camera_user["id"],
                "system_id": system.id,
                "key_id": key_id,
                "network_id": "Spare-net",
                "profile": "Spare profile",
                "user": "Anna Berg",
                "serial": "SPARE001",
                "dock": "Dock A",
                "bay": "1",
                "path": "live/",
                "fault_id": "f1",
                "licence_id": trial_id,
                "cloud_system_id": connections[system.id]["cloud_system_id"],
            },
        )


def fill(path: str, params: dict[str, str]) -> str:
    """The path with real ids; a parameter the world does not know yet (a new route) gets a
    well-formed id of nothing, which still tests access (checked before the handler runs)."""
    out = path
    for name in (seg[1:-1] for seg in path.split("/") if seg.startswith("{")):
        out = out.replace("{" + name + "}", params.get(name, f"{name.removesuffix('_id')}_0000000000000000"))
    return out


# Routes that end the caller's own session go last, so the other routes still see it alive.
LAST = {("DELETE", "/api/cloud/sessions/current")}


async def test_every_route_against_every_principal(appliance, world, tmp_path):
    routes = sorted(app_routes(tmp_path), key=lambda r: ((r.method, r.path) in LAST, r.path, r.method))
    ssl_ctx = ssl.create_default_context(cadata=appliance.ca_pem)
    failures: list[str] = []
    calls = 0
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        for route in routes:
            allowed = allowed_by(route.handler.access)
            hard = expected_for(route.method, route.path)
            if hard is not None and hard != allowed:
                failures.append(f"{route.name}: declared {sorted(allowed)} but the table expects {sorted(hard)}")
                allowed = hard  # judge the behaviour by the table
            url = appliance.url + fill(route.path, world.params)
            # Principals that are refused go first; the allowed ones (who may change state) after.
            for who in sorted(PRINCIPALS, key=lambda p: p in allowed):
                token = world.tokens[who]
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                calls += 1
                status, body = await _call(http, route.method, url, headers, ssl_ctx)
                problem = _judge(route, who, who in allowed, status, body)
                if problem:
                    failures.append(f"{route.name} as {who}: {problem}")
                if route.websocket and route.method == "GET":
                    calls += 1
                    problem = await _judge_upgrade(http, route, url, headers, ssl_ctx, who, who in allowed)
                    if problem:
                        failures.append(f"{route.name} (WebSocket upgrade) as {who}: {problem}")
    assert calls > 500
    assert not failures, f"{len(failures)} of {calls} calls went wrong:\n" + "\n".join(failures)
    async with appliance.lab() as lab:
        assert (await lab.get("/healthz"))["status"] == "ok"


async def _call(http, method: str, url: str, headers: dict, ssl_ctx) -> tuple[int, object]:
    kwargs = {"headers": headers, "ssl": ssl_ctx, "allow_redirects": False}
    if method in ("POST", "PUT", "PATCH"):
        kwargs["json"] = {}
    async with http.request(method, url, **kwargs) as r:
        raw = await r.read()
        try:
            return r.status, json.loads(raw) if raw else None
        except ValueError:
            return r.status, raw[:80]


def _judge(route: Route, who: str, allowed: bool, status: int, body: object) -> str | None:
    if status >= 500:
        return f"server error {status}: {body}"
    if allowed:
        if status in (401, 403):
            return f"allowed, but got {status}: {body}"
        return None
    if 200 <= status < 300:
        return f"not allowed, but got {status}"
    if status not in (401, 403):
        return f"not allowed: expected 401 or 403, got {status}: {body}"
    if who == "none" and status != 401:
        return f"no credentials: expected 401, got {status}"
    wrong_credentials = (
        (who in ("account", "foreign_admin") and route.path.startswith("/api/cloud/orgs/{org_id}"))
        or (who in ("user", "operator") and allowed_by(route.handler.access) == ADMIN)
        or (who == "other_manager" and MANAGER in route.handler.access)
        or (who in ("other_system", "foreign_system") and SYSTEM in route.handler.access)
    )
    if wrong_credentials and status != 403:
        return f"signed in, but without the right: expected 403, got {status}: {body}"
    if route.method != "HEAD":
        err = body.get("error") if isinstance(body, dict) else None
        if not (isinstance(err, dict) and err.get("code") and err.get("message")):
            return f"refusal without the error envelope: {body}"
    return None


async def _judge_upgrade(http, route: Route, url: str, headers: dict, ssl_ctx, who: str, allowed: bool) -> str | None:
    ws_url = url.replace("https://", "wss://")
    try:
        ws = await http.ws_connect(ws_url, headers=headers, ssl=ssl_ctx, timeout=aiohttp.ClientWSTimeout(ws_close=5))
    except aiohttp.WSServerHandshakeError as exc:
        if exc.status >= 500:
            return f"server error {exc.status}"
        if allowed:
            return f"allowed, but the upgrade was refused with {exc.status}" if exc.status in (401, 403) else None
        if exc.status not in (401, 403) or (who == "none" and exc.status != 401):
            return f"not allowed: expected 401/403, got {exc.status}"
        return None
    try:
        if not allowed:
            return "not allowed, but the upgrade succeeded"
        if route.path == "/hub/v1/devices":
            return await _hub_without_hello(ws)
        return None
    finally:
        await ws.close()


async def _hub_without_hello(ws) -> str | None:
    """The hub: anyone may open the socket, but without a valid hello it is closed with an error."""
    first = await ws.receive(timeout=5)
    try:
        m.decode(first.data, (m.Challenge,))
    except (m.ProtocolError, TypeError) as exc:
        return f"the hub did not start with a challenge: {exc}"
    await ws.send_str(m.encode(m.Ping()))
    reply = await ws.receive(timeout=5)
    if reply.type != aiohttp.WSMsgType.TEXT:
        return f"no error message before the close: {reply}"
    error = json.loads(reply.data)
    if error.get("type") != "error" or not error.get("message"):
        return f"expected an error message, got {error}"
    closing = await ws.receive(timeout=5)
    if closing.type not in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
        return f"the socket stayed open after the error: {closing}"
    if ws.close_code != 4403:
        return f"expected close code 4403, got {ws.close_code}"
    return None
