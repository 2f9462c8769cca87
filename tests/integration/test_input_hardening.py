"""Issue 10, items 2, 3, 6, 7 and 11: what an outside tester sent that got through, now refused.

2. A ``stream_id`` with ``../`` is refused at the wire, writes nothing, and the 24 h retention
   purge never deletes outside its stream's evidence directory, even for a row stored before
   the check existed.
3. Numbers a camera sends are finite and in range (``started_at: 1e308`` and a NaN are refused),
   and a bad row already in the database is quarantined at start-up: the appliance starts.
6. A body sent in two writes is read whole; a chunked body over 64 KiB is refused with 413.
7. Crafted input gets a 4xx in the error envelope, never a 500: JSON nested 5000 deep, lone
   surrogates, a non-ASCII lab token, ``%00`` in a static path, a 300-character NTP server
   (refused *before* it is saved). A real internal failure is a 500 that names no internals.
11. Every response — 401, 404, 500, static files — carries the security headers; Live may be
   framed by a web VMS on another site, the Manager and the lab panel only by this origin.
"""

# covers: D1, D8, S1, S2, S9, S17, L2

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import re
import sqlite3
import ssl
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bwlab.wire import chunk as wire_chunk
from bwlab.wire import messages as m
from tests.conftest import start_appliance
from tests.integration.test_hub_chunks import ANNA, hub_camera  # noqa: F401  (a fixture)

MAX_BODY = 64 * 1024


# ---------------------------------------------------------------------------------------------
# helpers: raw HTTPS, so the test controls the framing and the header bytes


async def raw_request(
    appliance, head: str | bytes, parts: list[bytes] = (), pause: float = 0.1
) -> tuple[int, dict[str, str], bytes]:
    """Send ``head`` (request line and headers, without the blank line) and the body ``parts``
    in separate writes with a pause between; return status, headers (lower-case) and body."""
    ctx = ssl.create_default_context(cadata=appliance.ca_pem)
    reader, writer = await asyncio.open_connection("127.0.0.1", appliance.port, ssl=ctx)
    try:
        head = head.encode() if isinstance(head, str) else head
        writer.write(head + b"\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        await writer.drain()
        for part in parts:
            await asyncio.sleep(pause)
            writer.write(part)
            await writer.drain()
        raw = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    header_block, _, body = raw.partition(b"\r\n\r\n")
    lines = header_block.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    if headers.get("transfer-encoding") == "chunked":
        body = _unchunk(body)
    return int(lines[0].split()[1]), headers, body


def _unchunk(data: bytes) -> bytes:
    out = b""
    while data:
        size, _, rest = data.partition(b"\r\n")
        n = int(size, 16)
        if n == 0:
            break
        out, data = out + rest[:n], rest[n + 2 :]
    return out


def chunked(*pieces: bytes) -> list[bytes]:
    return [b"%x\r\n%s\r\n" % (len(p), p) for p in pieces] + [b"0\r\n\r\n"]


def envelope_of(status: int, body: bytes, expected: int) -> dict:
    assert status == expected, (status, body[:300])
    err = json.loads(body)["error"]
    assert err["code"] and err["message"], err
    return err


async def lab_offset(appliance) -> float:
    async with appliance.lab() as lab:
        return (await lab.get("/api/lab/time"))["offset"]


# ---------------------------------------------------------------------------------------------
# Item 6: one body reader, whatever the framing


async def test_a_body_in_two_writes_is_read_whole(appliance):
    body = b'{"seconds": 60}'
    offset = await lab_offset(appliance)
    status, _, answer = await raw_request(
        appliance,
        f"POST /api/lab/time/travel HTTP/1.1\r\nAuthorization: Bearer {appliance.lab_token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}",
        [body[:7], body[7:]],
    )
    assert status == 200, answer
    assert await lab_offset(appliance) >= offset + 60


async def test_a_chunked_body_over_the_limit_is_refused_and_changes_nothing(appliance):
    offset = await lab_offset(appliance)
    head = (
        f"POST /api/lab/time/travel HTTP/1.1\r\nAuthorization: Bearer {appliance.lab_token}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked"
    )
    # A valid body first, then whitespace (still valid JSON) past 64 KiB.
    pieces = [b'{"seconds": 60}'] + [b" " * 16384] * 5
    status, _, answer = await raw_request(appliance, head, chunked(*pieces))
    assert envelope_of(status, answer, 413)["code"] == "payload_too_large"
    assert await lab_offset(appliance) == offset
    # Under the limit, the same chunked framing is read whole and accepted.
    status, _, answer = await raw_request(appliance, head, chunked(b'{"seconds":', b" 60}"))
    assert status == 200, answer


# ---------------------------------------------------------------------------------------------
# Item 7: crafted input is a 4xx, never a 500, and a refused request changes nothing


async def test_deep_nesting_and_lone_surrogates_are_400(appliance):
    async with appliance.session() as anyone, appliance.lab() as lab:
        deep = ("[" * 5000 + "]" * 5000).encode()
        deep_object = ('{"seconds": ' + "[" * 5000 + "]" * 5000 + "}").encode()
        lone = b'{"email": "\\ud800@x.test", "name": "\\udfff", "password": "long-enough-password"}'
        for session, path, raw in [
            (anyone, "/api/cloud/sessions", deep),
            (anyone, "/api/cloud/accounts", deep),
            (lab, "/api/lab/time/travel", deep_object),
            (anyone, "/api/cloud/sessions", lone),
            (anyone, "/api/cloud/accounts", lone),
            (lab, "/api/lab/time/travel", b'{"seconds": NaN}'),
            (lab, "/api/lab/time/travel", b'{"seconds": 1e400}'),
        ]:
            async with session.http.post(
                session.base_url + path,
                data=raw,
                ssl=session.ssl,
                headers={**session.headers(), "Content-Type": "application/json"},
            ) as r:
                err = envelope_of(r.status, await r.read(), 400)
                assert err["code"] == "malformed_json", (path, err)
        assert (await lab.get("/api/lab/time"))["offset"] == 0
        assert (await lab.get("/healthz"))["status"] == "ok"


async def test_a_non_ascii_lab_token_is_401(appliance):
    for token in ("bwlab_\u00e9t\u00e9".encode(), b"bwlab_\xff\xfe", appliance.lab_token.encode() + "é".encode()):
        status, _, body = await raw_request(
            appliance, b"GET /api/lab/status HTTP/1.1\r\nAuthorization: Bearer " + token
        )
        assert envelope_of(status, body, 401)["code"] == "unauthenticated"


async def test_non_ascii_tokens_and_cookies_of_every_kind_are_401(appliance, demo_lab):
    system = demo_lab.systems[0]
    cloud_system = "/api/cloud/systems/sys_0000000000000000/camera-users"
    for prefix, method, path in [
        ("bws", "GET", "/api/cloud/me"),
        ("bwm", "GET", f"/controller/{system.id}/api"),
        ("bwsys", "PUT", cloud_system),
        ("bwlab", "GET", "/api/lab/status"),
    ]:
        for tail in ("\u00e9".encode(), b"\xff\xfe", b"\xed\xa0\x80"):
            for header in (
                b"Authorization: Bearer ",
                b"Cookie: bwl_session=",
                b"Cookie: bwm_session=",
                b"Cookie: bwlab_lab=",
            ):
                head = f"{method} {path} HTTP/1.1\r\n".encode() + header + prefix.encode() + b"_" + tail
                status, _, body = await raw_request(appliance, head)
                assert envelope_of(status, body, 401)["code"] == "unauthenticated", (prefix, header, tail)


async def test_nul_and_control_characters_in_static_paths_are_404(appliance):
    for path in ("/js/%00.js", "/live/%00", "/css/app.css%00.png", "/vendor/leaflet/%00/x.js", "/js/%0a"):
        status, _, body = await raw_request(appliance, f"GET {path} HTTP/1.1")
        assert envelope_of(status, body, 404)["code"] == "not_found", path


async def test_a_300_character_ntp_server_is_refused_before_it_is_saved(appliance, new_system):
    system_id, manager = await new_system("Rack NTP")
    api = f"/controller/{system_id}/api"
    before = (await manager.get(api))["settings"]
    for bad in ("n" * 300, "a." * 130 + "b", "pool.ntp.org:99999", "bad host.example", "\u00e9.example"):
        async with manager.http.put(
            manager.base_url + api + "/settings", json={"ntp_server": bad}, headers=manager.headers(), ssl=manager.ssl
        ) as r:
            err = envelope_of(r.status, await r.read(), 400)
            assert "ntp_server" in err["message"], err
    assert (await manager.get(api))["settings"] == before
    # A good one is still saved.
    saved = await manager.put(api + "/settings", {"ntp_server": "pool.ntp.org:123"})
    assert saved["ntp_server"] == "pool.ntp.org:123"

    # Saved before the check existed (written here straight into the database): the Manager
    # still answers, without it, and the controller's clock keeps syncing (lab time).
    with sqlite3.connect(appliance.data_dir / "controller.sqlite3") as db:
        db.execute(
            "UPDATE ctl_systems SET settings = ? WHERE id = ?",
            (json.dumps({**before, "ntp_server": "n" * 300}), system_id),
        )
    db.close()
    shown = await manager.get(api)
    assert shown["settings"]["ntp_server"] is None and shown["settings"]["time_zone"] == before["time_zone"]
    async with appliance.lab() as lab:
        await lab.post("/api/lab/time/travel", {"seconds": 60})  # every controller syncs at once
        assert (await lab.get("/healthz"))["status"] == "ok"
    assert (await manager.get(api))["settings"]["ntp_server"] is None


async def _serve_failing_app(caplog) -> tuple[web.AppRunner, int]:
    from appliance.http import error_middleware, setup_security_headers

    async def broken(request):
        raise RuntimeError("internal detail: /srv/secret.key")

    async def busy(request):
        raise sqlite3.OperationalError("database is locked")

    app = web.Application(middlewares=[error_middleware])
    setup_security_headers(app)
    app.router.add_get("/broken", broken)
    app.router.add_get("/busy", busy)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


async def test_an_internal_failure_is_a_500_without_internals_and_is_logged_and_a_busy_database_a_503(caplog):
    runner, port = await _serve_failing_app(caplog)
    try:
        with caplog.at_level(logging.ERROR, logger="appliance.http"):
            async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/broken") as r:
                body = await r.read()
                headers = r.headers
        err = envelope_of(r.status, body, 500)
        assert err["code"] == "internal_error"
        assert b"Traceback" not in body and b"secret" not in body and b"RuntimeError" not in body
        assert headers["X-Content-Type-Options"] == "nosniff" and "aiohttp" not in headers.get("Server", "")
        assert any(rec.exc_info and "secret.key" in str(rec.exc_info[1]) for rec in caplog.records), caplog.text
        # A database that stays locked beyond its busy timeout: 503 and when to try again.
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/busy") as r:
            assert envelope_of(r.status, await r.read(), 503)["code"] == "unavailable"
            assert r.headers["Retry-After"] == "1"
    finally:
        await runner.cleanup()


# ---------------------------------------------------------------------------------------------
# Item 11: security headers on every response


def _check_security_headers(headers: dict[str, str], what: str) -> None:
    h = {k.lower(): v for k, v in headers.items()}
    assert h.get("x-content-type-options") == "nosniff", what
    assert h.get("referrer-policy") == "no-referrer", what
    assert h.get("strict-transport-security", "").startswith("max-age="), what
    assert "content-security-policy" in h, what
    assert "aiohttp" not in h.get("server", "").lower() and "python" not in h.get("server", "").lower(), what


def _frame_ancestors(csp: str) -> str:
    return next(d.split(None, 1)[1] for d in csp.split(";") if d.strip().startswith("frame-ancestors"))


async def test_every_response_carries_the_security_headers(appliance):
    cases = [
        ("GET /api/cloud/me HTTP/1.1", 401),
        ("GET /api/cloud/no-such-route HTTP/1.1", 404),
        ("GET /nothing-here HTTP/1.1", 404),
        ("PATCH /api/cloud/orgs HTTP/1.1", 405),
        ("GET /healthz HTTP/1.1", 200),
        ("GET /live/ HTTP/1.1", 200),
        ("GET /js/api.js HTTP/1.1", 200),
        ("GET /css/app.css HTTP/1.1", 200),
        ("GET /manager/ HTTP/1.1", 200),
        ("GET /lab-ca.pem HTTP/1.1", 200),
        (f"GET /api/lab/status HTTP/1.1\r\nAuthorization: Bearer {appliance.lab_token}", 200),
    ]
    seen = {}
    for head, expected in cases:
        status, headers, _ = await raw_request(appliance, head)
        assert status == expected, (head, status)
        _check_security_headers(headers, head)
        seen[head.split()[1]] = headers["content-security-policy"]
    # S9: a web VMS on another site frames Live; the Manager and API answers are not framed.
    assert _frame_ancestors(seen["/live/"]) == "*"
    assert _frame_ancestors(seen["/manager/"]) == "'self'"
    assert _frame_ancestors(seen["/api/cloud/me"]) == "'none'"
    assert "script-src 'self'" in seen["/live/"] and "'unsafe-eval'" not in seen["/live/"]


async def test_no_page_has_an_inline_script_and_scripts_come_from_this_origin_only(appliance):
    """The map page's script is a module file too (issue 11), so the policy names no script hash."""
    for page in ("/live/", "/map/", "/manager/", "/lab/"):
        status, headers, body = await raw_request(appliance, f"GET {page} HTTP/1.1")
        assert status == 200, page
        assert re.findall(rb"<script(?![^>]*\bsrc=)[^>]*>", body, re.IGNORECASE) == [], page
        assert "script-src 'self';" in headers["content-security-policy"], page


async def test_the_device_hub_handshake_carries_the_security_headers(appliance):
    ctx = ssl.create_default_context(cadata=appliance.ca_pem)
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(appliance.url.replace("https", "wss") + "/hub/v1/devices", ssl=ctx) as ws:
            _check_security_headers(dict(ws._response.headers), "hub handshake")


# ---------------------------------------------------------------------------------------------
# Item 2: identifiers that reach a path


def _outside(tmp_path: Path, evidence: Path) -> list[Path]:
    """Chunk files outside the evidence directory, and anything the attacker named."""
    return [p for p in tmp_path.rglob("*.bwc") if evidence not in p.parents] + list(tmp_path.rglob("*escape*"))


def _stream_start(camera, stream_id: str, upload_key: bytes, **override) -> str:
    user = camera.provisioning["camera_user"]
    fields = dict(
        stream_id=stream_id,
        reason="record",
        mime="video/mp4",
        started_at=camera.appliance.clock.now(),
        wrapped_key={"v": 1},
        user_id=user["id"],
        user_name=user["name"],
        upload_key=base64.urlsafe_b64encode(upload_key).decode().rstrip("="),
    )
    fields.update(override)
    return m.encode(m.StreamStart(**fields))


async def test_a_stream_id_with_dot_dot_is_refused_and_writes_nothing(appliance, demo_lab, hub_camera, tmp_path):
    anna = await hub_camera(ANNA)
    evidence = appliance.data_dir / "evidence"
    upload_key = os.urandom(32)
    for bad in ("../../../../escape", "..", "a/../../escape", "escape\u0000x", "./escape", "escape/x"):
        await anna.send_text(_stream_start(anna, bad, upload_key))
        error = await anna.receive(m.Error, m.StreamRefused)
        assert isinstance(error, m.Error) and error.code == "invalid_message", error
        # A chunk naming that stream in its header is refused as well, and stored nowhere.
        frame = wire_chunk.Chunk(
            bad.replace("\u0000", "_"), wire_chunk.KIND_INIT, 0, anna.appliance.clock.now(), 0.0, False, os.urandom(48)
        ).encode(upload_key)
        assert await anna.refused(frame) in ("bad_chunk", "unknown_stream")
    await anna.send_text(m.encode(m.StreamStop(stream_id="../../escape", reason="stop")))
    assert (await anna.receive(m.Error)).code == "invalid_message"
    assert _outside(tmp_path, evidence) == []
    # The camera still streams with a good id.
    await anna.send_text(_stream_start(anna, "good-stream-1", upload_key))
    assert (await anna.receive(m.StreamAccepted)).stream_id == "good-stream-1"


async def test_retention_never_deletes_outside_a_streams_directory(appliance, demo_lab, lab, poll, tmp_path):
    """A row stored before the identifier check (written here straight into the database) with
    an id that climbs out of the evidence directory: the purge refuses the path, quarantines the
    row and deletes nothing."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("not evidence")
    evidence = appliance.data_dir / "evidence"
    sibling = evidence / "eu" / demo_lab.org_id / "neighbour"
    sibling.mkdir(parents=True)
    (sibling / "000000000000.bwc").write_bytes(b"another stream's evidence")
    now = appliance.clock.now()
    rows = [("../../../../victim", now - 2 * 86400), (f"../{demo_lab.org_id}/neighbour", now - 2 * 86400)]
    with sqlite3.connect(appliance.data_dir / "cloud.sqlite3") as db:
        for stream_id, ended in rows:
            db.execute(
                "INSERT INTO streams (id, org_id, cloud_system_id, serial, user_id, user_name, reason, region, "
                "mime, wrapped_key, upload_key, started_at, created_lab_at, ended_at, end_reason) "
                "VALUES (?, ?, 'sys', 'CAM1', 'u', 'U', 'record', 'eu', 'video/mp4', '{}', ?, ?, ?, ?, 'stop')",
                (stream_id, demo_lab.org_id, "00" * 32, ended - 60, ended - 60, ended),
            )
    db.close()

    await lab.post("/api/lab/time/travel", {"seconds": 60})  # housekeeping runs at once after a travel

    def quarantined():
        with sqlite3.connect(f"file:{appliance.data_dir / 'cloud.sqlite3'}?mode=ro", uri=True) as db:
            left = db.execute("SELECT COUNT(*) FROM streams WHERE id LIKE '%..%'").fetchone()[0]
            moved = db.execute("SELECT row_key, reason FROM quarantine WHERE source = 'streams'").fetchall()
        db.close()
        return left == 0 and len(moved) == 2 and moved

    moved = await poll(quarantined, "the two rows moved to the quarantine", timeout=10)
    assert all("evidence path refused" in reason for _, reason in moved), moved
    assert (victim / "keep.txt").read_text() == "not evidence"
    assert (sibling / "000000000000.bwc").exists()
    assert (await lab.get("/healthz"))["status"] == "ok"


# ---------------------------------------------------------------------------------------------
# Item 3: numbers from a device, and a restart that never depends on a stored row


async def test_out_of_range_numbers_from_a_camera_are_refused(appliance, demo_lab, hub_camera):
    anna = await hub_camera(ANNA)
    upload_key = os.urandom(32)
    for override in ({"started_at": 1e308}, {"started_at": -1.0}, {"started_at": 10.0**12}):
        await anna.send_text(_stream_start(anna, "stream-n1", upload_key, **override))
        error = await anna.receive(m.Error, m.StreamAccepted)
        assert isinstance(error, m.Error) and error.code == "invalid_message", (override, error)
    await anna.send_text(_stream_start(anna, "stream-n1", upload_key))
    await anna.receive(m.StreamAccepted)
    for text in (
        '{"type":"stream_stop","stream_id":"stream-n1","reason":"stop","ended_at":NaN}',
        '{"type":"stream_stop","stream_id":"stream-n1","reason":"stop","ended_at":1e400}',
        '{"type":"stream_stop","stream_id":"stream-n1","reason":"stop","ended_at":1e308}',
        '{"type":"stream_stop","stream_id":"stream-n1","reason":"stop","last_seq":99999999999999999999}',
        '{"type":"log","level":"info","code":"x","message":"m","at":Infinity}',
        '{"type":"state","state":' + "[" * 5000 + "]" * 5000 + "}",
    ):
        code = await anna.error(text)
        assert code in ("invalid_message", "malformed_json"), (text[:60], code)
    async with appliance.lab() as lab:
        async with appliance.session() as admin:
            await admin.sign_in_cloud("admin@demo.bwlab.test", "demo-admin-pass")
            stream = await admin.get(f"/api/cloud/orgs/{demo_lab.org_id}/streams/stream-n1")
        assert stream["live"] and stream["ended_at"] is None
        assert (await lab.get("/healthz"))["status"] == "ok"


async def test_bad_rows_stored_before_the_checks_do_not_stop_a_restart(tmp_path, caplog):
    """``started_at: 1e308`` once hung the restart in the SOC outbox's catch-up; an ``ended_at``
    NaN (stored by SQLite as NULL beside an end reason) left a stream live for ever. Both rows,
    and a location track with an unreadable key, are quarantined and logged; a saved lab clock
    offset of infinity is ignored; the appliance starts and serves."""
    data = tmp_path / "data"
    handle, stop, task = await start_appliance(data)
    try:
        async with handle.session() as s:
            await s.post(
                "/api/cloud/accounts",
                {"email": "q@quarantine.test", "name": "Q", "password": "correct-horse-battery-7"},
            )
            await s.sign_in_cloud("q@quarantine.test", "correct-horse-battery-7")
            org_id = (await s.post("/api/cloud/orgs", {"name": "Quarantine org"}))["id"]
        now = handle.clock.now()
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)

    columns = (
        "id, org_id, cloud_system_id, serial, user_id, user_name, reason, region, mime, wrapped_key, "
        "upload_key, started_at, created_lab_at, ended_at, end_reason"
    )
    with sqlite3.connect(data / "cloud.sqlite3") as db:
        db.execute(
            "INSERT INTO soc_integrations (id, org_id, url, events, enabled, created_at, updated_at) "
            "VALUES ('soc_q', ?, 'https://soc.invalid/hook', ?, 1, ?, ?)",
            (org_id, json.dumps(["stream.started", "stream.ended"]), now - 3600, now - 3600),
        )
        db.execute(
            f"INSERT INTO streams ({columns}) VALUES ('huge-start', ?, 's', 'CAM1', 'u', 'U', 'record', 'eu', "
            "'video/mp4', '{}', ?, 1e308, ?, NULL, NULL)",
            (org_id, "00" * 32, now - 60),
        )
        db.execute(
            f"INSERT INTO streams ({columns}) VALUES ('nan-end', ?, 's', 'CAM1', 'u', 'U', 'record', 'eu', "
            "'video/mp4', '{}', ?, ?, ?, ?, 'stop')",
            (org_id, "00" * 32, now - 60, now - 60, float("nan")),
        )
        db.execute(
            f"INSERT INTO streams ({columns}) VALUES ('sound', ?, 's', 'CAM1', 'u', 'U', 'record', 'eu', "
            "'video/mp4', '{}', ?, ?, ?, ?, 'stop')",
            (org_id, "00" * 32, now - 60, now - 60, now - 30),
        )
        db.execute(
            "INSERT INTO location_tracks (id, org_id, cloud_system_id, serial, user_id, user_name, mode, "
            "region, wrapped_key, upload_key, started_at, created_lab_at) VALUES ('trk-bad', ?, 's', 'CAM1', "
            "'u', 'U', 'always', 'eu', '{}', 'not hex', ?, ?)",
            (org_id, now - 60, now - 60),
        )
        assert db.execute("SELECT ended_at FROM streams WHERE id = 'nan-end'").fetchone() == (None,)
        db.execute("INSERT OR REPLACE INTO lab_state (key, value) VALUES ('clock_offset', 'inf')")
    db.close()

    with caplog.at_level(logging.WARNING, logger="appliance.quarantine"):
        handle, stop, task = await start_appliance(data)
        try:
            async with handle.lab() as lab:
                assert (await lab.get("/healthz"))["status"] == "ok"
                assert (await lab.get("/api/lab/time"))["offset"] == 0  # the saved infinite offset is ignored
            async with handle.session() as s:
                await s.sign_in_cloud("q@quarantine.test", "correct-horse-battery-7")
                listed = {st["id"] for st in (await s.get(f"/api/cloud/orgs/{org_id}/streams"))["streams"]}
            assert listed == {"sound"}
        finally:
            stop.set()
            await asyncio.wait_for(task, 15)
    with sqlite3.connect(f"file:{data / 'cloud.sqlite3'}?mode=ro", uri=True) as db:
        moved = dict(db.execute("SELECT row_key, reason FROM quarantine").fetchall())
    db.close()
    assert set(moved) == {"huge-start", "nan-end", "trk-bad"}, moved
    assert "started_at" in moved["huge-start"] and "NaN" in moved["nan-end"] and "upload_key" in moved["trk-bad"]
    assert sum("quarantined" in r.getMessage() for r in caplog.records) == 3, caplog.text


async def test_a_start_up_that_fails_ends_with_its_error_instead_of_hanging(tmp_path):
    """A failure part-way through start-up (here the lab NTP port is taken) used to leave the
    databases' threads running, so the process hung without listening; now what had started is
    stopped and the error comes out (the autouse fixture checks that no thread is left)."""
    import socket

    from appliance.app import serve
    from appliance.context import ApplianceConfig
    from tests.conftest import free_port

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = free_port()
        config = ApplianceConfig(
            data_dir=tmp_path / "data",
            host="127.0.0.1",
            port=port,
            zeroconf=False,
            ntp_port=taken.getsockname()[1],
            public_url=f"https://127.0.0.1:{port}",
        )
        with pytest.raises(OSError):
            await asyncio.wait_for(serve(config), 20)
