"""Bad input gets a clear 4xx (or, on the device hub, an error message and a close) and changes
nothing: malformed JSON, unknown fields, wrong types, missing fields and oversized bodies on a
sample of cloud, Manager and lab routes; foreign, replayed and mismatched certificates and
garbage frames on the device hub — after which the appliance keeps serving."""

# covers: D1, S2, S3, S4, S5, S7, S8, S10, L2

from __future__ import annotations

import json
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from cryptography import x509

from appliance import pki
from bwlab.client import Session
from bwlab.wire import messages as m
from bwlab.wire.device_auth import answer_challenge, make_csr, new_device_key

MAX_BODY = 64 * 1024


# ---------------------------------------------------------------------------------------------
# HTTP request bodies


@dataclass
class Case:
    """One route with a body it accepts, and how to read the state it would change."""

    name: str
    principal: str  # admin | manager | lab | anyone
    method: str
    path: str
    valid: dict
    wrong_type: tuple[str, Any]  # dotted key path → a value of the wrong type
    required: str  # a required top-level key
    probe: Callable[[World], Awaitable[Any]]
    extra_bad: list[tuple[dict, str]] = field(default_factory=list)  # (body, key path the message names)


@dataclass
class World:
    appliance: Any
    org_id: str
    system_id: str
    admin: Session
    manager: Session
    lab: Session
    anyone: Session

    @property
    def api(self) -> str:
        return f"/controller/{self.system_id}/api"


async def _metric(w: World, name: str) -> float:
    async with w.anyone.http.get(w.appliance.url + "/metrics", ssl=w.anyone.ssl) as r:
        for line in (await r.text()).splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    raise AssertionError(f"no metric {name}")


def _set(body: dict, dotted: str, value: Any) -> dict:
    out = json.loads(json.dumps(body))
    *parents, last = dotted.split(".")
    node = out
    for p in parents:
        node = node.setdefault(p, {})
    node[last] = value
    return out


CASES = [
    Case(
        "cloud: create account",
        "anyone",
        "POST",
        "/api/cloud/accounts",
        {"email": "new@bad.test", "name": "New", "password": "new-password"},
        ("name", 42),
        "password",
        lambda w: _metric(w, "bwlab_accounts"),
        [
            ({"email": "no-at-sign", "name": "N", "password": "new-password"}, "email"),
            ({"email": "new@bad.test", "name": "N", "password": "short"}, "password"),
        ],
    ),
    Case(
        "cloud: create organization",
        "admin",
        "POST",
        "/api/cloud/orgs",
        {"name": "Another org"},
        ("name", ["x"]),
        "name",
        lambda w: w.admin.get("/api/cloud/me"),
        [({"name": "  "}, "name"), ({"name": "x" * 121}, "name")],
    ),
    Case(
        "cloud: invite",
        "admin",
        "POST",
        "/api/cloud/orgs/{org}/invitations",
        {"email": "invitee@bad.test", "role": "operator"},
        ("role", 1),
        "email",
        lambda w: w.admin.get(f"/api/cloud/orgs/{w.org_id}/members"),
        [({"email": "invitee@bad.test", "role": "superuser"}, "role"), ({"email": "invitee", "role": "user"}, "email")],
    ),
    Case(
        "cloud: order licences",
        "admin",
        "POST",
        "/api/cloud/orgs/{org}/licences",
        {"quantity": 2, "term_months": 12},
        ("quantity", "2"),
        "quantity",
        lambda w: w.admin.get(f"/api/cloud/orgs/{w.org_id}/licence"),
        [
            ({"quantity": 0}, "quantity"),
            ({"quantity": 2, "term_months": 7}, "term_months"),
            ({"quantity": 100001}, "quantity"),
        ],
    ),
    Case(
        "cloud: set role",
        "admin",
        "PUT",
        "/api/cloud/orgs/{org}/members/{operator}",
        {"role": "user"},
        ("role", True),
        "role",
        lambda w: w.admin.get(f"/api/cloud/orgs/{w.org_id}/members"),
    ),
    Case(
        "manager: system settings",
        "manager",
        "PUT",
        "{api}/settings",
        {
            "time_zone": "Europe/Paris",
            "ntp_server": "127.0.0.1:123",
            "network": {"ipv4": "dhcp", "dns": ["127.0.0.53"]},
        },
        ("network.dns", "127.0.0.53"),
        "",
        lambda w: _settings(w),
        [
            ({"network": {"proxy": 8080}}, "network.proxy"),
            ({"network": {"dns": ["a"] * 5}}, "network.dns"),
            ({"network": {"gateway": "10.0.0.1"}}, "network.gateway"),
            ({"country": "Sweden"}, "country"),
            ({"country": "1E"}, "country"),
            # every field of Settings > System > Date and time, Settings > Network, Settings > Camera >
            # Mobile networks is checked and named (covers: S1, S3, T2)
            ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
            ({"ntp_server": "ntp..lab:123"}, "ntp_server"),
            ({"ntp_server": "ntp.lab:70000"}, "ntp_server"),
            ({"network": {"ipv4": "10.0.0.5"}}, "network.ipv4"),
            ({"network": {"ipv4": "10.0.0.0/24"}}, "network.ipv4"),
            ({"network": {"ipv4": "10.0.0.5/24", "gateway": "10.0.1.1"}}, "network.gateway"),
            ({"network": {"dns": ["127.0.0.53", "dns.example"]}}, "network.dns[1]"),
            ({"network": {"proxy": "socks://proxy:1080"}}, "network.proxy"),
            ({"network": {"proxy": "http://proxy:3128/path"}}, "network.proxy"),
            ({"mobile_networks": {"apn": "bad apn!"}}, "mobile_networks.apn"),
        ],
    ),
    Case(
        "manager: Settings > System > Date and time",
        "manager",
        "PUT",
        "{api}/settings/date-time",
        {"time_zone": "Europe/Stockholm", "ntp_server": "127.0.0.1:123"},
        ("time_zone", 1),
        "",
        lambda w: _settings(w),
        [({"time_zone": "Europe/Nowhere"}, "time_zone"), ({"ntp_server": "-bad-.lab"}, "ntp_server")],
    ),
    Case(
        "manager: Settings > Network",
        "manager",
        "PUT",
        "{api}/settings/network",
        {"ipv4": "127.0.0.1/8", "gateway": "127.0.0.254", "dns": ["127.0.0.53"], "proxy": None},
        ("dns", "127.0.0.53"),
        "",
        lambda w: _settings(w),
        [
            ({"ipv4": "dhcp", "gateway": "127.0.0.254"}, "gateway"),
            ({"ipv4": "300.1.1.1/8"}, "ipv4"),
            ({"dns": ["127.0.0.53:0"]}, "dns[0]"),
            ({"proxy": "proxy:3128"}, "proxy"),
        ],
    ),
    Case(
        "manager: Settings > Camera > Mobile networks",
        "manager",
        "PUT",
        "{api}/settings/mobile-networks",
        {"apn": "internet.lab"},
        ("apn", 5),
        "",
        lambda w: _settings(w),
        [({"apn": "-internet"}, "apn"), ({"apn": "a" * 101}, "apn"), ({"apn": "inter net"}, "apn")],
    ),
    Case(
        "manager: create profile",
        "manager",
        "POST",
        "{api}/profiles",
        {"name": "Night", "streaming": True, "remote_activation": True, "remote_mode": "always"},
        ("streaming", "yes"),
        "name",
        lambda w: w.manager.get(w.api + "/profiles"),
        [
            ({"name": "Night", "remote_mode": "sometimes"}, "remote_mode"),
            ({"name": "Night", "location": {"W101": {"enabled": "on"}}}, "location.W101.enabled"),
            ({"name": "Night", "location": {"W100": {"enabled": True}}}, "W100"),
            ({"name": "Night", "wifi_networks": ["NoSuchNet"]}, "wifi_networks[0]"),
        ],
    ),
    Case(
        "manager: add camera",
        "manager",
        "POST",
        "{api}/cameras",
        {"serial": "BAD0001", "model": "W120"},
        ("serial", 1234),
        "model",
        lambda w: w.manager.get(w.api + "/cameras"),
        [
            ({"serial": "BAD0001", "model": "W130"}, "model"),
            ({"serial": "BAD 0001!", "model": "W120"}, "serial"),
            ({"serial": "BAD0001", "model": "W100", "sim_pin": "1234"}, "sim_pin"),
            ({"serial": "BAD0001", "model": "W120", "imei": "35693x"}, "imei"),
            ({"serial": "BAD0001", "model": "W120", "sim_pin": "12a4"}, "sim_pin"),
            ({"serial": "BAD0001", "model": "W120", "sim_pin": "123"}, "sim_pin"),
        ],
    ),
    Case(
        "manager: camera user",
        "manager",
        "PUT",
        "{api}/camera-users/Anna Berg",
        {"network": {"ssid": "Van", "password": "van-pass"}},
        ("network.ssid", 7),
        "",
        lambda w: w.manager.get(w.api + "/camera-users"),
        [
            ({"network": {"ssid": "x" * 33}}, "network.ssid"),
            ({"network": {"ssid": "Van", "password": "p" * 64}}, "network.password"),
        ],
    ),
    Case(
        "manager: import link",
        "manager",
        "POST",
        "{api}/keys/import",
        {"name": "Imported", "link": "placeholder"},
        ("passphrase", 12),
        "link",
        lambda w: w.manager.get(w.api + "/keys"),
    ),
    Case(
        "lab: time travel",
        "lab",
        "POST",
        "/api/lab/time/travel",
        {"seconds": 60},
        ("seconds", "60"),
        "seconds",
        lambda w: _offset(w),
        [({"seconds": -1}, "seconds"), ({"seconds": 10**12}, "seconds"), ({"seconds": True}, "seconds")],
    ),
    Case(
        "lab: new system",
        "lab",
        "POST",
        "/controller/systems",
        {"name": "Rack 2", "admin_password": "rack-pass"},
        ("name", {"n": 1}),
        "admin_password",
        lambda w: w.lab.get("/controller/systems"),
        [({"name": "Rack 2", "admin_password": "short"}, "admin_password")],
    ),
    Case(
        "lab: dock a camera",
        "lab",
        "POST",
        "{api}/docks/Dock A/bays/4",
        {"serial": "B8A44F000101", "csr": "placeholder"},
        ("csr", None),
        "serial",
        lambda w: w.manager.get(w.api + "/cameras"),
        [({"serial": "B8A44F000101", "csr": "-----BEGIN NOTHING-----"}, "csr")],
    ),
]


async def _settings(w: World):
    return (await w.manager.get(w.api))["settings"]


async def _offset(w: World):
    return (await w.lab.get("/api/lab/time"))["offset"]


@pytest.fixture
async def world(appliance, demo_lab, lab):
    system = demo_lab.systems[0]
    async with appliance.session() as admin, appliance.session() as manager, appliance.session() as anyone:
        await admin.sign_in_cloud("admin@demo.bwlab.test", "demo-admin-pass")
        await manager.sign_in_manager(system.id, system.admin_password)
        w = World(appliance, demo_lab.org_id, system.id, admin, manager, lab, anyone)
        yield w


def _path(w: World, template: str, operator_id: str) -> str:
    return template.format(org=w.org_id, api=w.api, operator=operator_id)


async def _send(
    session: Session, method: str, path: str, *, raw: bytes | None = None, data=None, headers: dict | None = None
) -> tuple[int, Any]:
    hdrs = {**session.headers(), "Content-Type": "application/json", **(headers or {})}
    async with session.http.request(
        method, session.base_url + path, data=raw if raw is not None else data, headers=hdrs, ssl=session.ssl
    ) as r:
        text = await r.text()
        try:
            return r.status, json.loads(text)
        except ValueError:
            return r.status, text


def _error_of(status: int, body: Any, expected_status: int | tuple[int, ...]) -> dict:
    expected = expected_status if isinstance(expected_status, tuple) else (expected_status,)
    assert status in expected, (status, body)
    assert isinstance(body, dict) and set(body) == {"error"}, body
    err = body["error"]
    assert isinstance(err.get("code"), str) and err["code"], body
    assert isinstance(err.get("message"), str) and err["message"], body
    return err


async def test_bad_bodies_get_a_4xx_naming_the_key_and_change_nothing(world):
    """Table-driven over CASES in one appliance (building the demo once keeps this fast); every
    failing case is reported, not only the first."""
    failures = []
    for case in CASES:
        try:
            await _check_case(world, case)
        except AssertionError as exc:
            failures.append(f"{case.name}: {exc}")
    assert not failures, "\n".join(failures)


async def _check_case(w: World, case: Case) -> None:
    session = {"admin": w.admin, "manager": w.manager, "lab": w.lab, "anyone": w.anyone}[case.principal]
    members = await w.admin.get(f"/api/cloud/orgs/{w.org_id}/members")
    operator_id = next(mb["id"] for mb in members["members"] if mb["role"] == "operator")
    path = _path(w, case.path, operator_id)
    before = await case.probe(w)

    def body_of(obj) -> bytes:
        return json.dumps(obj).encode()

    # Malformed JSON, a body that is not an object, a body that is not UTF-8.
    for raw in (b'{"name": "x",', b"{'name': 'x'}", b"\xff\xfe\x00{", b"nul"):
        err = _error_of(*await _send(session, case.method, path, raw=raw), 400)
        assert err["code"] == "malformed_json" and "not valid JSON" in err["message"], err
    for raw in (b"[1, 2]", b'"text"', b"42", b"null"):
        err = _error_of(*await _send(session, case.method, path, raw=raw), 400)
        assert err["code"] == "invalid_input" and "expected a table/object" in err["message"], err

    # Unknown field, at the top and nested when the body has a nested object.
    err = _error_of(*await _send(session, case.method, path, raw=body_of({**case.valid, "surprise": 1})), 400)
    assert err["code"] == "invalid_input" and "surprise" in err["message"] and "unknown key" in err["message"], err
    assert err.get("details", {}).get("path") == "surprise", err
    nested = next((k for k, v in case.valid.items() if isinstance(v, dict)), None)
    if nested:
        err = _error_of(
            *await _send(session, case.method, path, raw=body_of(_set(case.valid, f"{nested}.surprise", 1))), 400
        )
        assert f"{nested}.surprise" in err["message"], err

    # Wrong type.
    key, value = case.wrong_type
    err = _error_of(*await _send(session, case.method, path, raw=body_of(_set(case.valid, key, value))), 400)
    assert err["code"] == "invalid_input" and err["message"].startswith(f"{key}: expected"), err
    assert err.get("details", {}).get("path") == key, err

    # Missing required key.
    if case.required:
        body = {k: v for k, v in case.valid.items() if k != case.required}
        err = _error_of(*await _send(session, case.method, path, raw=body_of(body)), 400)
        assert err["code"] == "invalid_input" and err["message"].startswith(f"{case.required}: "), err
        assert "required key is missing" in err["message"], err

    # Values that fit the type but not the rules.
    for bad, named in case.extra_bad:
        err = _error_of(*await _send(session, case.method, path, raw=body_of({**case.valid, **bad})), 400)
        assert named in err["message"], (named, err)

    # Oversized: declared by Content-Length, and streamed without one.
    big = body_of({**case.valid, "padding": "x" * (MAX_BODY + 10)})
    err = _error_of(*await _send(session, case.method, path, raw=big), 413)
    assert err["code"] == "payload_too_large", err

    async def stream():
        for i in range(0, len(big), 8192):
            yield big[i : i + 8192]

    err = _error_of(*await _send(session, case.method, path, data=stream()), 413)
    assert err["code"] == "payload_too_large", err

    assert await case.probe(w) == before, "a refused request must change nothing"


async def test_a_body_at_the_limit_is_read_and_one_byte_over_is_not(world):
    """The 64 KiB limit is exact: a body of exactly 64 KiB is parsed (and refused for its
    content), one byte more is refused for its size."""
    w = world
    pad = MAX_BODY - len(json.dumps({"name": "N", "x": ""}).encode())
    at_limit = json.dumps({"name": "N", "x": "y" * pad}).encode()
    assert len(at_limit) == MAX_BODY
    err = _error_of(*await _send(w.admin, "POST", "/api/cloud/orgs", raw=at_limit), 400)
    assert "x" in err["message"] and "unknown key" in err["message"]
    over = json.dumps({"name": "N", "x": "y" * (pad + 1)}).encode()
    err = _error_of(*await _send(w.admin, "POST", "/api/cloud/orgs", raw=over), 413)


async def test_bad_path_values_get_a_4xx(world):
    w = world
    for method, path, status in [
        ("POST", f"{w.api}/docks/Dock A/bays/nine", 400),
        ("POST", f"{w.api}/docks/Dock A/bays/0", 400),
        ("POST", f"{w.api}/docks/Dock A/bays/99", 400),
        ("POST", f"{w.api}/docks/No dock/bays/1", 404),
        ("PUT", f"{w.api}/cameras/NOSUCHCAM", 404),
        ("PUT", f"{w.api}/profiles/Nope", 404),
        ("GET", "/api/cloud/orgs/org_doesnotexist/systems", 404),
        ("GET", "/controller/ctl_doesnotexist/api", 403),  # signed in, to another system
        ("POST", "/controller/ctl_doesnotexist/api/login", 404),
    ]:
        session = w.lab if "/docks/" in path else w.admin if path.startswith("/api/cloud") else w.manager
        body = b'{"password": "whatever-1"}' if path.endswith("/login") else b"{}"
        _error_of(*await _send(session, method, path, raw=body), status)


async def test_unknown_routes_and_methods_answer_in_the_error_envelope(world):
    w = world
    err = _error_of(*await _send(w.admin, "GET", "/api/cloud/no-such-thing"), 404)
    assert err["code"] == "not_found"
    err = _error_of(*await _send(w.admin, "PATCH", "/api/cloud/orgs"), 405)
    assert err["code"] == "method_not_allowed"


# ---------------------------------------------------------------------------------------------
# Device hub


@dataclass
class DeviceIdentity:
    serial: str
    key: Any
    certificate: str
    ca_pem: str


@pytest.fixture
async def device(appliance, demo_lab, lab) -> DeviceIdentity:
    """A camera of the demo's connected system, docked by the lab with this test's own key."""
    system = demo_lab.systems[0]
    api = f"/controller/{system.id}/api"
    async with appliance.session() as mgr:
        await mgr.sign_in_manager(system.id, system.admin_password)
        await mgr.post(api + "/cameras", {"serial": "HUBTEST1", "model": "W102"})
    key = new_device_key()
    prov = await lab.post(api + "/docks/Dock A/bays/4", {"serial": "HUBTEST1", "csr": make_csr(key, "HUBTEST1")})
    await lab.delete(api + "/docks/Dock A/bays/4")
    return DeviceIdentity("HUBTEST1", key, prov["certificate"], prov["ca_certificate"])


class Hub:
    def __init__(self, appliance):
        self.url = appliance.url.replace("https://", "wss://") + "/hub/v1/devices"
        self.ssl = ssl.create_default_context(cadata=appliance.ca_pem)
        self.http = aiohttp.ClientSession()

    async def close(self):
        await self.http.close()

    async def connect(self) -> tuple[aiohttp.ClientWebSocketResponse, m.Challenge]:
        ws = await self.http.ws_connect(self.url, ssl=self.ssl, max_msg_size=4 * 1024 * 1024)
        challenge = m.decode((await ws.receive(timeout=5)).data, (m.Challenge,))
        return ws, challenge

    async def refused(self, send: Callable[[aiohttp.ClientWebSocketResponse, m.Challenge], Awaitable[None]]) -> dict:
        """Connect, send something bad, expect an error message and then the close."""
        ws, challenge = await self.connect()
        try:
            await send(ws, challenge)
            msg = await ws.receive(timeout=5)
            assert msg.type == aiohttp.WSMsgType.TEXT, msg
            error = m.decode(msg.data, (m.Error,))
            assert error.code and error.message
            closing = await ws.receive(timeout=5)
            assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED)
            assert ws.close_code == 4403, ws.close_code
            return {"code": error.code, "message": error.message}
        finally:
            await ws.close()

    async def welcomed(self, identity: DeviceIdentity) -> tuple[aiohttp.ClientWebSocketResponse, m.Welcome]:
        ws, challenge = await self.connect()
        await ws.send_str(m.encode(hello(identity, challenge)))
        reply = m.decode((await ws.receive(timeout=5)).data, (m.Welcome, m.Error))
        assert isinstance(reply, m.Welcome), reply
        return ws, reply


def hello(identity: DeviceIdentity, challenge: m.Challenge, **override) -> m.Hello:
    fields = {
        "serial": identity.serial,
        "certificate": identity.certificate,
        "signature": answer_challenge(identity.key, challenge.nonce),
    }
    fields.update(override)
    return m.Hello(**fields)


@pytest.fixture
async def hub(appliance):
    h = Hub(appliance)
    yield h
    await h.close()


def _send_hello(identity: DeviceIdentity, **override):
    async def send(ws, challenge):
        await ws.send_str(m.encode(hello(identity, challenge, **override)))

    return send


def _send_text(text: str):
    async def send(ws, challenge):
        await ws.send_str(text)

    return send


async def _status(lab, serial: str) -> dict | None:
    status = await lab.get("/api/lab/status")
    return next((c for s in status["systems"] for c in s["cameras"] if c["serial"] == serial), None)


def foreign_identity(serial: str, now: float, subject_like: str | None = None) -> DeviceIdentity:
    """A camera certificate from a CA the cloud does not know (optionally with the same
    subject name as a connected system's CA, as an impostor would make it)."""
    name = subject_like or "bwlab device CA impostor"
    ca_key, ca_cert = pki.make_ca(name, now)
    if subject_like is not None:
        # make_ca puts the common name in the subject: same name, different key.
        assert pki.load_cert(ca_cert).subject.rfc4514_string().endswith(subject_like)
    key = new_device_key()
    cert = pki.issue_device_cert(ca_key, ca_cert, make_csr(key, serial), serial, now)
    return DeviceIdentity(serial, key, cert, ca_cert)


async def test_hub_refuses_foreign_replayed_and_mismatched_certificates(appliance, lab, hub, device):
    now = appliance.clock.now()

    # The genuine camera is welcomed (the baseline for every refusal below).
    ws, welcome = await hub.welcomed(device)
    assert welcome.serial == device.serial
    await ws.close()

    # A certificate from a CA that is not a connected system's.
    foreign = foreign_identity("FOREIGN1", now)
    refusal = await hub.refused(_send_hello(foreign))
    assert refusal["code"] == "certificate_refused" and "connected system" in refusal["message"], refusal

    # An impostor CA with the very name of the connected system's CA.
    ca_name = pki.load_cert(device.ca_pem).subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
    impostor = foreign_identity(device.serial, now, subject_like=ca_name)
    refusal = await hub.refused(_send_hello(impostor))
    assert refusal["code"] == "certificate_refused", refusal

    # A system that exists but is not connected to the cloud: its dock issues certificates the
    # hub does not trust (T2: the system must be connected first).
    system = await lab.post("/controller/systems", {"name": "Unconnected", "admin_password": "unconnected-pass"})
    async with appliance.session() as mgr:
        await mgr.sign_in_manager(system["id"], "unconnected-pass")
        await mgr.post(f"/controller/{system['id']}/api/docks", {"name": "D", "bays": 1})
        await mgr.post(f"/controller/{system['id']}/api/cameras", {"serial": "LONELY1", "model": "W110"})
    key = new_device_key()
    prov = await lab.post(
        f"/controller/{system['id']}/api/docks/D/bays/1", {"serial": "LONELY1", "csr": make_csr(key, "LONELY1")}
    )
    lonely = DeviceIdentity("LONELY1", key, prov["certificate"], prov["ca_certificate"])
    refusal = await hub.refused(_send_hello(lonely))
    assert refusal["code"] == "certificate_refused", refusal
    # The hub cannot tell who sent an untrusted certificate: the claim is logged in the hub's
    # event log, but never written on the camera's own record.
    assert (await _status(lab, "LONELY1"))["last_refusal"] is None

    # A replayed hello: a valid signature, but over an earlier connection's challenge.
    ws, old_challenge = await hub.connect()
    replayed_signature = answer_challenge(device.key, old_challenge.nonce)
    await ws.close()
    refusal = await hub.refused(_send_hello(device, signature=replayed_signature))
    assert refusal["code"] == "certificate_refused" and "proof of possession" in refusal["message"], refusal

    # A signature by another key over the right challenge (a copied certificate without its key).
    async def stolen(ws, challenge):
        await ws.send_str(
            m.encode(hello(device, challenge, signature=answer_challenge(new_device_key(), challenge.nonce)))
        )

    refusal = await hub.refused(stolen)
    assert refusal["code"] == "certificate_refused", refusal

    # The certificate names another camera than the hello.
    refusal = await hub.refused(_send_hello(device, serial="B8A44F000101"))
    assert refusal["code"] == "certificate_refused" and device.serial in refusal["message"], refusal

    # Not a certificate at all.
    refusal = await hub.refused(_send_hello(device, certificate="-----BEGIN CERTIFICATE-----\nAAAA\n"))
    assert refusal["code"] == "certificate_refused", refusal

    # The genuine camera still gets in, and the appliance serves everything else.
    ws, welcome = await hub.welcomed(device)
    await ws.close()
    assert (await lab.get("/healthz"))["status"] == "ok"


GARBAGE = [
    ("not JSON", _send_text("hello there"), "malformed_json"),
    ("JSON that is not an object", _send_text("[1, 2, 3]"), "bad_message"),
    ("unknown type", _send_text('{"type": "launch"}'), "unexpected_message"),
    ("a message that is not a hello", _send_text('{"type": "ping"}'), "unexpected_message"),
    (
        "hello without a certificate",
        _send_text('{"type": "hello", "serial": "X", "signature": "AA"}'),
        "invalid_message",
    ),
    (
        "hello with an unknown field",
        _send_text('{"type": "hello", "serial": "X", "certificate": "C", "signature": "AA", "root": true}'),
        "invalid_message",
    ),
    (
        "hello with wrong types",
        _send_text('{"type": "hello", "serial": 7, "certificate": "C", "signature": "AA"}'),
        "invalid_message",
    ),
    (
        "garbage certificate and signature",
        _send_text('{"type": "hello", "serial": "X", "certificate": "C", "signature": "***"}'),
        "certificate_refused",
    ),
    (
        "an oversized text frame",
        _send_text('{"type": "hello", "serial": "' + "X" * (70 * 1024) + '"}'),
        "frame_too_large",
    ),
]


async def test_hub_refuses_garbage_frames_and_keeps_serving(appliance, lab, hub, device):
    failures = []
    for name, send, code in GARBAGE:
        refusal = await hub.refused(send)
        if refusal["code"] != code:
            failures.append(f"{name}: expected {code}, got {refusal}")
        ws, welcome = await hub.welcomed(device)  # the hub goes on serving cameras
        assert welcome.serial == device.serial
        await ws.close()
    assert not failures, "\n".join(failures)
    assert (await lab.get("/healthz"))["status"] == "ok"


async def test_hub_refuses_a_binary_hello(hub, device):
    async def send(ws, challenge):
        await ws.send_bytes(m.encode(hello(device, challenge)).encode())

    refusal = await hub.refused(send)
    assert refusal["code"] == "bad_message"


async def test_a_refused_impostor_does_not_take_the_connected_camera_offline(appliance, lab, hub, device):
    """Bad input changes nothing: a refused hello that merely *claims* a connected camera's
    serial must leave that camera's connection and its online state alone."""
    ws, _ = await hub.welcomed(device)
    try:
        assert (await _status(lab, device.serial))["online"]
        impostor = foreign_identity(device.serial, appliance.clock.now())
        refusal = await hub.refused(_send_hello(impostor))
        assert refusal["code"] == "certificate_refused"
        assert not ws.closed, "the genuine connection goes on"
        await ws.send_str(m.encode(m.Ping()))
        assert (await _status(lab, device.serial))["online"], "the genuine camera is still online"
    finally:
        await ws.close()
