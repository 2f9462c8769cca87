"""Shared pieces of the offload tests (issue 13): a connection file for a Swift, a Manager
session, a camera that records and docks, and ``FaultProxy`` — a reverse proxy in front of a
content destination that injects the README's error codes, slowness, a wrong Etag, or an outage
(it stops listening), so that a real Swift can be made to misbehave."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from bwlab.wire import content_destination as cd
from tests.conftest import free_port

HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-authenticate",
    "proxy-authorization",
    "host",
    "content-length",
}


def connection_file(auth_url: str, user: str, key: str, **kw) -> bytes:
    return cd.ConnectionFile(
        site_name="Lab site",
        application_name="OpenStack Swift",
        application_version="2.x",
        authentication_token_uri=kw.pop("uris", (auth_url,)),
        blob_api_key=key,
        blob_api_user_name=user,
        **{"container_type": "mkv", "full_store_and_read_support": True, **kw},
    ).to_json()


async def manager(appliance, system_id: str, password: str = "manager-pass"):
    session = appliance.session()
    await session.sign_in_manager(system_id, password)
    return session


async def record(fleet, serial: str, seconds: float) -> None:
    """Take the camera out of its dock, record ``seconds`` (real time), stop and dock it again."""
    cam = fleet.cameras[serial]
    dock, bay = fleet.where[serial]
    await fleet.undock(serial)
    await cam.press("record")
    await asyncio.sleep(seconds)
    await cam.press("record", "long")
    await fleet.dock(serial, dock, bay)


@dataclass
class Rule:
    method: str
    pattern: str  # a regular expression searched in the path
    status: int | None = None  # answer this instead of forwarding
    times: int = 1
    delay: float = 0.0  # forward, but this many seconds later
    bad_etag: bool = False  # forward, then answer with a wrong Etag
    hits: int = 0


@dataclass
class FaultProxy:
    upstream: str  # e.g. http://127.0.0.1:8080
    port: int = field(default_factory=free_port)
    rules: list[Rule] = field(default_factory=list)
    seen: list[tuple[str, str, int]] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _http: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add(self, method: str, pattern: str, **kw) -> Rule:
        rule = Rule(method, pattern, **kw)
        self.rules.append(rule)
        return rule

    async def start(self) -> None:
        if self._http is None:
            self._http = aiohttp.ClientSession(auto_decompress=False)
        app = web.Application(client_max_size=1024**3)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()

    async def down(self) -> None:
        """The destination goes away: nothing listens on its port any more."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def close(self) -> None:
        await self.down()
        if self._http is not None:
            await self._http.close()

    def _rule(self, request: web.Request) -> Rule | None:
        for rule in self.rules:
            if rule.hits < rule.times and rule.method == request.method and re.search(rule.pattern, request.path):
                rule.hits += 1
                return rule
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        rule = self._rule(request)
        if rule is not None and rule.status is not None:
            await request.read()
            self.seen.append((request.method, request.path, rule.status))
            return web.Response(status=rule.status, text=f"injected {rule.status}")
        if rule is not None and rule.delay:
            await asyncio.sleep(rule.delay)
        assert self._http is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP}
        if request.content_length is not None:
            headers["Content-Length"] = str(request.content_length)
        body = request.content.iter_chunked(256 * 1024) if request.can_read_body else None
        async with self._http.request(
            request.method, self.upstream + request.path_qs, headers=headers, data=body, allow_redirects=False
        ) as r:
            data = await r.read()
            out = {k: v for k, v in r.headers.items() if k.lower() not in HOP}
            if "X-Storage-Url" in out:  # keep the client talking through the proxy
                out["X-Storage-Url"] = re.sub(r"^https?://[^/]+", self.url, out["X-Storage-Url"])
            if rule is not None and rule.bad_etag:
                out["Etag"] = "0" * 32
            self.seen.append((request.method, request.path, r.status))
            return web.Response(status=r.status, body=data, headers=out)
