"""Property-based fuzzing of every JSON route and every device message type (issue 10, must show).

Hypothesis generates request bodies from each route's own body schema (its dataclass's keys
with values of any JSON type, unknown keys, wrong nesting) and path parameters (dot-dot,
NUL, non-ASCII, long), and sends them over real HTTPS as a principal the route admits and as
nobody; fixed attacks (nesting 5000 deep, lone surrogates, NaN, ``1e400``, invalid UTF-8, bodies
over 64 KiB) go to every route too. On the device hub a welcomed camera sends every camera
message type with mutated fields, raw text and random binary frames, and fresh sockets send
mutated hellos.

Properties: never a 5xx and never a dropped camera; every refusal is the error envelope (or the
hub's error message); a refused request leaves both databases exactly as they were (a
digest of every row, compared before and after). Examples are bounded and derandomized, so
the file runs in well under a minute and fails the same way every time.
"""

# covers: S2, S3, S10, S14, D1, D3, D4, D5, D9, L2

from __future__ import annotations

import asyncio
import base64
import inspect
import json
import os
import re
import sqlite3
import ssl
import time
import urllib.parse
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from yarl import URL

from appliance.http import ACCOUNT, LAB, MANAGER, ORG_ADMIN, ORG_MEMBER, PUBLIC, SYSTEM
from bwlab.wire import chunk as wire_chunk
from bwlab.wire import messages as m
from tests.conftest import controller_connections
from tests.integration.test_hub_chunks import ANNA, hub_camera  # noqa: F401  (a fixture)
from tests.integration.test_roles import app_routes
from tests.integration.test_roles import fill as fill_raw

EXAMPLES_PER_ROUTE = 6
EXAMPLES_PER_MESSAGE = 12
VOLATILE = {("sessions", "last_used_at"), ("ctl_sessions", "last_used_at")}
"""Columns a request may touch without changing anything: reading with a session slides it (D2)."""
BACKGROUND = {"cloud.sqlite3:system_camera_users", "cloud.sqlite3:licence_periods", "cloud.sqlite3:sqlite_sequence"}
"""Tables written on their own schedule: the controllers' camera-user sync to the cloud (debounced,
retried with back-off; it also moves the licence periods, S15) lands whenever it lands, so these
are left out of the before/after compare (and SQLite's AUTOINCREMENT counters with them)."""


def fuzz_settings(n: int):
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=False,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


# ---------------------------------------------------------------------------------------------
# Values

ODD_STRINGS = [
    "",
    " ",
    "../../../../etc/passwd",
    "..",
    "a/../../b",
    "\x00",
    "\ud800",
    "x\udfffy",
    "é" * 40,
    "a" * 300,
    "%00",
    "<script>alert(1)</script>",
    "Dock A",
    "B8A44F000101",
    "pool.ntp.org:0",
    "https://127.0.0.1:1/x",
    "whsec_",
    "null",
    "1e308",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e308, -1e308, 5e-324]),
    st.text(max_size=24),
    st.sampled_from(ODD_STRINGS),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)

RAW_ATTACKS = [
    b"[" * 5000 + b"]" * 5000,
    b'{"a":' * 3000 + b"1" + b"}" * 3000,
    b'{"name": "\\ud800", "email": "\\udfff@x.test", "password": "\\ud800\\ud800\\ud800\\ud800"}',
    b'{"seconds": NaN, "name": Infinity}',
    b'{"seconds": 1e400}',
    b"\xff\xfe{\x00}",
    b'{"name": "x"' + b" " * (70 * 1024) + b"}",
    b"1" * 5000,
    b"null",
]


def body_schema(handler) -> type | None:
    """The dataclass a handler reads its body into (``read_body(request, Cls)``), if any."""
    match = re.search(r"read_body\(request, (\w+)\)", inspect.getsource(handler))
    cls = handler.__globals__.get(match.group(1)) if match else None
    return cls if is_dataclass(cls) else None


def bodies(cls: type | None):
    """Dicts over the schema's keys (any subset, any JSON values), sometimes an unknown key;
    sometimes any JSON value at all."""
    keys = [f.name for f in fields(cls)] if cls is not None else ["name", "serial", "seconds", "id"]
    shaped = st.fixed_dictionaries({}, optional={k: json_values for k in keys})
    extra = st.builds(lambda d, k, v: {**d, k: v}, shaped, st.text(max_size=6), json_values)
    return st.one_of(shaped, shaped, extra, json_values)


# ---------------------------------------------------------------------------------------------
# State: every row of both databases


def snapshot(data_dir: Path) -> dict[str, list]:
    out: dict[str, list] = {}
    for name in ("cloud.sqlite3", "controller.sqlite3"):
        db = sqlite3.connect(f"file:{data_dir / name}?mode=ro", uri=True)
        try:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            for table in sorted(tables):
                cur = db.execute(f'SELECT * FROM "{table}"')
                cols = [d[0] for d in cur.description]
                keep = [i for i, c in enumerate(cols) if (table, c) not in VOLATILE]
                if f"{name}:{table}" in BACKGROUND:
                    continue
                out[f"{name}:{table}"] = sorted(repr(tuple(row[i] for i in keep)) for row in cur)
        finally:
            db.close()
    return out


def settled(data_dir: Path, state: dict, step: float = 0.25, rounds: int = 20) -> dict:
    """The state once background work an accepted request started has finished: the same over
    two reads ``step`` apart (called from the fuzzing thread, so sleeping blocks no loop)."""

    for _ in range(rounds):
        time.sleep(step)
        now = snapshot(data_dir)
        if now == state:
            return now
        state = now
    return state


def changed(before: dict, after: dict) -> list[str]:
    return [t for t in sorted(set(before) | set(after)) if before.get(t) != after.get(t)]


# ---------------------------------------------------------------------------------------------
# The world the routes are called in


ADMITS = {
    "none": {PUBLIC},
    "lab": {PUBLIC, LAB},
    "manager": {PUBLIC, MANAGER},
    "system": {PUBLIC, SYSTEM},
    "admin": {PUBLIC, ACCOUNT, ORG_MEMBER, ORG_ADMIN},
    "operator": {PUBLIC, ACCOUNT, ORG_MEMBER},
}
"""The levels (appliance/http.py) each principal of the world passes."""
LAST = ("/api/lab/time/travel", "/api/cloud/sessions/current")  # may end sessions: called last


def principals(levels: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """The world's principals a route admits (the most specific first) and those it refuses."""
    allowed = [who for who in ("lab", "manager", "system", "admin", "operator", "none") if ADMITS[who] & set(levels)]
    return allowed, [who for who in ADMITS if who not in allowed]


@pytest.fixture
async def world(appliance, demo_lab):
    system = demo_lab.systems[0]
    api = f"/controller/{system.id}/api"
    async with appliance.session() as admin, appliance.session() as operator, appliance.session() as manager:
        await admin.sign_in_cloud("admin@demo.bwlab.test", "demo-admin-pass")
        await operator.sign_in_cloud("operator@demo.bwlab.test", "demo-operator-pass")
        await manager.sign_in_manager(system.id, system.admin_password)
        soc = await admin.post(
            f"/api/cloud/orgs/{demo_lab.org_id}/soc-integrations",
            {"url": "https://soc.fuzz.invalid/hook", "name": "Fuzz SOC"},
        )
        members = (await admin.get(f"/api/cloud/orgs/{demo_lab.org_id}/members"))["members"]
        connection = controller_connections(appliance.data_dir)[system.id]
        key_id = (await manager.get(api + "/keys"))["keys"][0]["id"]
        profile = (await manager.get(api + "/profiles"))["profiles"][0]["name"]
        yield {
            "tokens": {
                "none": None,
                "admin": admin.token,
                "operator": operator.token,
                "manager": manager.token,
                "system": connection["system_token"],
                "lab": appliance.lab_token,
            },
            "params": {
                "org_id": demo_lab.org_id,
                "system_id": system.id,
                "integration_id": soc["id"],
                "account_id": next(mb["id"] for mb in members if mb["role"] == "operator"),
                "cloud_system_id": connection["cloud_system_id"],
                "key_id": key_id,
                "profile": profile,
                "user": "Anna Berg",
                "serial": "B8A44F000101",
                "dock": next(iter(system.docks.values())),
                "bay": "4",
                "stream_id": "str_0123456789abcdef",
                "path": "live/",
            },
        }


class Caller:
    """Calls routes from Hypothesis's thread through the appliance's event loop."""

    def __init__(self, loop, http, appliance, world):
        self.loop, self.http, self.appliance, self.world = loop, http, appliance, world
        self.ssl = ssl.create_default_context(cadata=appliance.ca_pem)
        self.state = snapshot(appliance.data_dir)
        self.calls = 0
        self.failures: list[str] = []

    def call(
        self, method: str, path: str, who: str, raw: bytes | None, what: str, expect: tuple[int, ...] | None = None
    ) -> None:
        token = self.world["tokens"][who]
        headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
        url = URL(self.appliance.url + path, encoded=True)
        status, body = asyncio.run_coroutine_threadsafe(self._send(method, url, headers, raw), self.loop).result(30)
        self.calls += 1
        after = snapshot(self.appliance.data_dir)
        label = f"{method} {path[:120]} as {who} ({what})"
        if status >= 500:
            self.failures.append(f"{label}: server error {status}: {body[:200]!r}")
        elif expect is not None and status not in expect:
            self.failures.append(f"{label}: expected {expect}, got {status}: {body[:200]!r}")
        elif status >= 400:
            if method != "HEAD":
                try:
                    err = json.loads(body)["error"]
                    assert err["code"] and err["message"]
                except (ValueError, KeyError, TypeError, AssertionError):
                    self.failures.append(f"{label}: {status} without the error envelope: {body[:200]!r}")
            diff = changed(self.state, after)
            if diff:
                self.failures.append(f"{label}: refused with {status} but changed {diff}")
        else:  # accepted: let what it set going (the camera-user sync to the cloud, S3) settle first
            after = settled(self.appliance.data_dir, after)
        self.state = after

    async def _send(self, method, url, headers, raw) -> tuple[int, bytes]:
        async with self.http.request(method, url, data=raw, headers=headers, ssl=self.ssl, allow_redirects=False) as r:
            return r.status, await r.read()


QUERY_KEYS = ["limit", "state", "address", "after", "seq"]  # the query parameters routes read


def _percent(text: str) -> str:
    return urllib.parse.quote(text.encode("utf-8", "surrogatepass"), safe="")


def fill(path: str, params: dict[str, str]) -> str:
    """The route's path with the world's ids, percent-encoded (names like "Anna Berg")."""
    return fill_raw(path, {k: v if "%" in v else _percent(v) for k, v in params.items()})


def fuzz_body(caller: Caller, method: str, path: str, who: str, body_strategy: st.SearchStrategy) -> None:
    """Generated JSON bodies to one route, as ``who``."""

    @fuzz_settings(EXAMPLES_PER_ROUTE)
    @given(body=body_strategy)
    def one(body: Any) -> None:
        caller.call(method, path, who, json.dumps(body).encode(), f"body {json.dumps(body)[:80]}")

    one()


def fuzz_path(caller: Caller, method: str, route_path: str, who: str, world_params: dict[str, str]) -> None:
    """Odd path parameters and query strings to one route, as ``who``."""
    names = re.findall(r"\{(\w+)", route_path)

    @fuzz_settings(EXAMPLES_PER_ROUTE // 2)
    @given(
        name=st.sampled_from(names),
        value=st.one_of(st.sampled_from(ODD_STRINGS), st.text(max_size=30)),
        query=st.dictionaries(
            st.sampled_from(QUERY_KEYS), st.one_of(st.sampled_from(ODD_STRINGS), st.text(max_size=12)), max_size=2
        ),
    )
    def one(name: str, value: str, query: dict[str, str]) -> None:
        params = {**world_params, name: _percent(value) or "%20"}  # encoded: kept as is
        qs = "&".join(f"{_percent(k)}={_percent(v)}" for k, v in query.items())
        caller.call(
            method, fill(route_path, params) + (f"?{qs}" if qs else ""), who, b"{}", f"{name}={value[:30]!r} ?{qs[:60]}"
        )

    one()


async def test_every_json_route_with_fuzzed_bodies_and_paths(appliance, world, tmp_path):
    routes = [r for r in app_routes(tmp_path) if not r.websocket and r.method != "HEAD"]
    routes.sort(key=lambda r: (r.path in LAST, r.path, r.method))
    with_body = [
        r
        for r in routes
        if r.method in ("POST", "PUT", "PATCH", "DELETE")
        and re.search(r"read_(body|json)\(", inspect.getsource(r.handler))
    ]
    assert len(with_body) >= 35, [r.name for r in with_body]  # the walk reaches every sub-app's JSON routes
    with_params = [r for r in routes if "{" in r.path and r.path != "/{path}"]
    loop = asyncio.get_running_loop()

    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        caller = Caller(loop, http, appliance, world)

        def run() -> None:
            caller.state = settled(appliance.data_dir, caller.state)  # what building the world set going
            for route in with_body:
                allowed, refused = principals(route.handler.access)
                who = allowed[0]
                path = fill(route.path, world["params"])
                for other in allowed:
                    for raw in RAW_ATTACKS:
                        caller.call(route.method, path, other, raw, "fixed attack")
                for other in refused:  # 401/403 whatever the body, and nothing changes
                    for raw in (b"{}", RAW_ATTACKS[0]):
                        caller.call(route.method, path, other, raw, "not admitted", expect=(401, 403))
                fuzz_body(caller, route.method, path, who, bodies(body_schema(route.handler)))
            for route in with_params:
                fuzz_path(caller, route.method, route.path, principals(route.handler.access)[0][0], world["params"])
            for path in ("/js/%00", "/live/%ff%fe", "/vendor/..%2f..%2fetc", "/css/%ed%a0%80.css", "/js/" + "a" * 300):
                caller.call("GET", path, "none", None, "static path")

        await asyncio.to_thread(run)
    assert caller.calls > 1000, caller.calls
    assert not caller.failures, f"{len(caller.failures)} of {caller.calls} calls went wrong:\n" + "\n".join(
        caller.failures[:40]
    )
    async with appliance.lab() as lab:
        assert (await lab.get("/healthz"))["status"] == "ok"


# ---------------------------------------------------------------------------------------------
# The device hub


def _templates(camera, now: float) -> dict[str, dict]:
    user = camera.provisioning["camera_user"]
    key = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    return {
        "state": {"type": "state", "state": {"leds": {"power": "green"}, "battery": 80}},
        "ping": {"type": "ping"},
        "stream_start": {
            "type": "stream_start",
            "stream_id": "fuzz-stream",
            "reason": "record",
            "wrapped_key": {},
            "mime": "video/mp4",
            "started_at": now,
            "user_id": user["id"],
            "user_name": user["name"],
            "upload_key": key,
            "request_id": None,
            "resume": False,
        },
        "stream_stop": {
            "type": "stream_stop",
            "stream_id": "fuzz-stream",
            "reason": "stop",
            "last_seq": 3,
            "ended_at": now,
        },
        "remote_start_result": {"type": "remote_start_result", "request_id": "rst_1", "ok": False, "reason": "busy"},
        "log": {"type": "log", "level": "info", "code": "fuzz", "message": "hello", "at": now},
        "track_start": {
            "type": "track_start",
            "track_id": "trk-fuzz",
            "wrapped_key": {},
            "started_at": now,
            "user_id": user["id"],
            "user_name": user["name"],
            "upload_key": key,
            "mode": "always",
        },
        "track_stop": {
            "type": "track_stop",
            "track_id": "trk-fuzz",
            "reason": "docked",
            "last_seq": None,
            "ended_at": now,
        },
    }


SYNC = '{"type": "fuzz-sync"}'  # an unknown type: the hub answers it with an error, marking the end of a reply
HUB_VOLATILE_TABLES = {"cloud.sqlite3:device_state"}  # last_seen_at moves with every message


class HubProbe:
    def __init__(self, loop, camera, appliance):
        self.loop, self.camera, self.appliance = loop, camera, appliance
        self.state = self._state()
        self.sent = 0
        self.failures: list[str] = []

    def _state(self) -> dict:
        return {k: v for k, v in snapshot(self.appliance.data_dir).items() if k not in HUB_VOLATILE_TABLES}

    def send(self, payload: str | bytes, what: str) -> None:
        replies = asyncio.run_coroutine_threadsafe(self._exchange(payload), self.loop).result(30)
        self.sent += 1
        after = self._state()
        if replies is None:
            self.failures.append(f"{what}: the hub closed the camera's socket")
            return
        refused = [
            r
            for r in replies
            if isinstance(r, (m.Error, m.StreamRefused, m.ChunkRefused)) or getattr(r, "type", "") == "track_refused"
        ]
        if refused and changed(self.state, after):
            self.failures.append(f"{what}: refused ({refused[0]}) but changed {changed(self.state, after)}")
        self.state = after

    async def _exchange(self, payload: str | bytes) -> list | None:
        ws = self.camera.ws
        try:
            if isinstance(payload, bytes):
                await ws.send_bytes(payload)
            else:
                await ws.send_str(payload)
            await ws.send_str(SYNC)
        except (aiohttp.ClientConnectionResetError, ConnectionResetError):
            return None
        replies = []
        while True:
            msg = await ws.receive(timeout=10)
            if msg.type != aiohttp.WSMsgType.TEXT:
                return None
            reply = m.decode(msg.data)
            if isinstance(reply, m.Error) and "fuzz-sync" in reply.message:
                return replies
            replies.append(reply)


def _mutations(templates: dict[str, dict]):
    def mutate(kind: str, how: str, index: int, key: str, value: Any) -> str:
        message = dict(templates[kind])
        fields_ = [k for k in message if k != "type"] or ["type"]
        target = fields_[index % len(fields_)]
        if how == "replace":
            message[target] = value
        elif how == "drop":
            message.pop(target, None)
        elif how == "extra":
            message[key or "x"] = value
        else:
            return json.dumps(value)
        return json.dumps(message)

    return st.builds(
        mutate,
        st.sampled_from(sorted(templates)),
        st.sampled_from(["replace", "replace", "drop", "extra", "bare"]),
        st.integers(0, 20),
        st.text(max_size=6),
        json_values,
    )


RAW_FRAMES = [
    '{"type": "state", "state": ' + "[" * 5000 + "]" * 5000 + "}",
    '{"type": "stream_stop", "stream_id": "fuzz-stream", "reason": "stop", "ended_at": NaN}',
    '{"type": "log", "level": "info", "code": "c", "message": "\\ud800", "at": 1e400}',
    '{"type": "stream_start", "stream_id": "../../../escape", "reason": "record"}',
    "not json at all",
    "",
    "x" * (64 * 1024 + 1),
]


async def test_every_device_message_type_fuzzed_on_the_hub(appliance, demo_lab, hub_camera):
    camera = await hub_camera(ANNA)
    loop = asyncio.get_running_loop()
    probe = HubProbe(loop, camera, appliance)
    templates = _templates(camera, appliance.clock.now())
    header = wire_chunk.Chunk(
        "fuzz-stream", wire_chunk.KIND_MEDIA, 1, appliance.clock.now(), 0.1, True, os.urandom(64)
    ).encode(os.urandom(32))

    def run() -> None:
        # A sound stream and track first, so stops and chunks have something to hit.
        for kind in ("stream_start", "track_start"):
            probe.send(json.dumps(templates[kind]), f"valid {kind}")
        for frame in RAW_FRAMES:
            probe.send(frame, f"raw text {frame[:60]!r}")
        for kind in sorted(templates):
            probe.send(json.dumps(templates[kind]), f"valid {kind}")

        @fuzz_settings(EXAMPLES_PER_MESSAGE * len(templates))
        @given(text=_mutations(templates))
        def fuzz_text(text: str) -> None:
            probe.send(text, f"text {text[:100]}")

        @fuzz_settings(EXAMPLES_PER_MESSAGE * 2)
        @given(
            data=st.one_of(
                st.binary(max_size=200),
                st.builds(
                    lambda i, b: header[:i] + b + header[i + len(b) :],
                    st.integers(0, len(header) - 1),
                    st.binary(min_size=1, max_size=8),
                ),
            )
        )
        def fuzz_binary(data: bytes) -> None:
            probe.send(data, f"binary {data[:40]!r}")

        fuzz_text()
        fuzz_binary()

    await asyncio.to_thread(run)
    assert probe.sent > 100
    assert not probe.failures, "\n".join(probe.failures[:40])


async def test_fuzzed_hellos_are_refused_with_an_error_and_a_close(appliance, demo_lab):
    """Before a camera proves itself, every hello that is not a valid one gets an error message
    and the 4403 close: never a dropped socket, never a welcome."""
    url = appliance.url.replace("https://", "wss://") + "/hub/v1/devices"
    ctx = ssl.create_default_context(cadata=appliance.ca_pem)
    loop = asyncio.get_running_loop()
    hello = {
        "type": "hello",
        "serial": "B8A44F000101",
        "certificate": "-----BEGIN CERTIFICATE-----",
        "signature": "c2ln",
        "firmware": "fuzz",
    }
    failures: list[str] = []

    async with aiohttp.ClientSession() as http:

        async def attempt(text: str) -> str | None:
            async with http.ws_connect(url, ssl=ctx) as ws:
                await ws.receive(timeout=5)  # the challenge
                await ws.send_str(text)
                msg = await ws.receive(timeout=10)
                if msg.type != aiohttp.WSMsgType.TEXT or json.loads(msg.data).get("type") != "error":
                    return f"no error message: {msg.type} {str(msg.data)[:80]}"
                await ws.receive(timeout=5)
                return None if ws.close_code == 4403 else f"closed with {ws.close_code}"

        def run() -> None:
            @fuzz_settings(EXAMPLES_PER_MESSAGE * 2)
            @given(key=st.sampled_from(sorted(hello)), value=json_values)
            def fuzz_hello(key: str, value: Any) -> None:
                text = json.dumps({**hello, key: value})
                problem = asyncio.run_coroutine_threadsafe(attempt(text), loop).result(30)
                if problem:
                    failures.append(f"hello with {key}={json.dumps(value)[:60]}: {problem}")

            fuzz_hello()
            for raw in RAW_FRAMES[:5]:
                problem = asyncio.run_coroutine_threadsafe(attempt(raw), loop).result(30)
                if problem:
                    failures.append(f"raw hello {raw[:40]!r}: {problem}")

        await asyncio.to_thread(run)
    assert not failures, "\n".join(failures)
