"""Tenant isolation on the device hub (issue 10, item 1): a camera is (system, serial).

An outside tester with nothing but the public API — a fresh account, its own organization, a
system controller of its own (a device CA it made, connected through S3's last step) — issues a
device certificate for the serial of another organization's camera and speaks the hub protocol.
The real camera must keep its session and its stream; the attacker must see none of the victim's
camera users or stream ids, must not stop the victim's stream, and must not be able to make the
hub refuse the victim's next chunks. Also: the hub accepts a certificate only for a camera the
signing system registered, and a CA that merely copies another CA's name signs for no one.
"""

# covers: S3, S13, S17, D1, D5, D6

from __future__ import annotations

import asyncio

import pytest

from appliance import pki
from bwlab.client import ApiError, Session
from bwlab.wire import authorization
from bwlab.wire import messages as m
from bwlab.wire.device_auth import make_csr, new_device_key
from tests.integration.test_hub_chunks import ANNA, HubCamera, _encode_media, hub_camera  # noqa: F401 (fixture)

VICTIM_SERIAL = ANNA[0]


class OutsideController:
    """A system controller the attacker runs on its own machine: its own device CA, connected to
    its own organization through the cloud's public API only."""

    def __init__(self, appliance, account: Session, org_id: str, name: str):
        self.appliance, self.account, self.org_id, self.name = appliance, account, org_id, name
        self.ca_key_pem, self.ca_pem = pki.make_ca(f"outside device CA {name}", appliance.clock.now())
        self.system_id: str | None = None
        self.system_token: str | None = None

    async def code(self) -> str:
        issued = await self.account.post(
            f"/api/cloud/orgs/{self.org_id}/authorization-codes", {"device_ca_pem": self.ca_pem}
        )
        return issued["authorization_code"]

    def registration(self, code: str) -> dict:
        return {
            "name": self.name,
            "authorization_code": code,
            "device_ca_pem": self.ca_pem,
            "region": "eu",
            "proof": authorization.sign_proof(pki.load_key(self.ca_key_pem), self.org_id, code),
        }

    async def connect(self) -> None:
        done = await self.account.post(f"/api/cloud/orgs/{self.org_id}/systems", self.registration(await self.code()))
        self.system_id, self.system_token = done["id"], done["system_token"]

    async def register_cameras(self, users: list[dict]) -> None:
        async with Session(self.appliance.url, self.appliance.ca_pem, token=self.system_token) as system:
            await system.put(f"/api/cloud/systems/{self.system_id}/camera-users", {"camera_users": users})

    async def camera(self, serial: str, ca_key_pem: str | None = None, ca_pem: str | None = None) -> HubCamera:
        """A device certificate for ``serial`` from this controller's CA (or the one given)."""
        key = new_device_key()
        cert = pki.issue_device_cert(
            ca_key_pem or self.ca_key_pem,
            ca_pem or self.ca_pem,
            make_csr(key, serial),
            serial,
            self.appliance.clock.now(),
        )
        return HubCamera(self.appliance, {"certificate": cert}, key, serial)


@pytest.fixture
async def attacker(appliance, cloud_account):
    """A fresh account from the public API, its own organization and connected outside controller."""
    account = await cloud_account("mallory@attacker.test")
    org = await account.post("/api/cloud/orgs", {"name": "Mallory's Lab"})
    controller = OutsideController(appliance, account, org["id"], "Mallory station")
    await controller.connect()
    return controller


# covers: S13, S17, D5
async def test_a_camera_of_another_organization_cannot_be_taken_over(
    appliance, demo_lab, demo_viewer, hub_camera, attacker, lab, poll
):
    victim = await hub_camera(ANNA)
    user = victim.provisioning["camera_user"]
    mime, media = await asyncio.to_thread(_encode_media, user["name"], appliance.clock.now(), 1.5)
    stream = await victim.open_stream(mime)
    await victim.send_text(
        m.encode(
            m.State(
                state={
                    "user": user,
                    "recording": True,
                    "streaming": "live",
                    "stream_id": stream.stream_id,
                    "model": "W100",
                }
            )
        )
    )
    frames = [stream.frame(seq, chunk) for seq, chunk in enumerate(media)]
    for frame in frames[:3]:
        await victim.stored(frame)

    # The attacker registers the victim's serial in its own system and connects with a
    # certificate its own CA issued for it: the hub knows it as *its* camera, nobody else's.
    await attacker.register_cameras(
        [
            {
                "id": "usr_mallory",
                "name": "Mallory",
                "streaming": True,
                "remote_activation": "always",
                "cameras": [{"serial": VICTIM_SERIAL, "model": "W100"}],
            }
        ]
    )
    impostor = await attacker.camera(VICTIM_SERIAL)
    try:
        welcome = await impostor.hello()
        assert isinstance(welcome, m.Welcome) and welcome.system_id == attacker.system_id

        # The real camera keeps its session: its next chunk is stored and acknowledged.
        await victim.stored(frames[3])
        assert not victim.ws.closed

        # Nothing of the victim shows in the attacker's organization.
        listed = await attacker.account.get(f"/api/cloud/orgs/{attacker.org_id}/camera-users")
        text = repr(listed)
        assert user["id"] not in text and user["name"] not in text and stream.stream_id not in text
        assert (await attacker.account.get(f"/api/cloud/orgs/{attacker.org_id}/streams"))["streams"] == []
        with pytest.raises(ApiError) as hidden:
            await attacker.account.get(f"/api/cloud/orgs/{attacker.org_id}/streams/{stream.stream_id}")
        assert hidden.value.status == 404

        # A stream_stop for the victim's stream id is refused and ends nothing.
        await impostor.send_text(
            m.encode(
                m.StreamStop(
                    stream_id=stream.stream_id, reason="long_press", last_seq=3, ended_at=appliance.clock.now()
                )
            )
        )
        refusal = await impostor.receive(m.Error)
        assert refusal.code == "foreign_stream"
        # … and a stream_start reusing the victim's stream id opens nothing.
        await impostor.send_text(
            m.encode(
                m.StreamStart(
                    stream_id=stream.stream_id,
                    reason="record",
                    mime=mime,
                    started_at=appliance.clock.now(),
                    wrapped_key={"v": 1},
                    user_id="usr_mallory",
                    user_name="Mallory",
                    upload_key="A" * 43,
                    resume=True,
                )
            )
        )
        assert (await impostor.receive(m.StreamRefused)).code == "foreign_stream"
        live = await demo_viewer.session.get(f"/api/cloud/orgs/{demo_viewer.org_id}/streams/{stream.stream_id}")
        assert live["live"] and live["ended_at"] is None

        # The victim's evidence keeps coming in: every later chunk is stored.
        for frame in frames[4:]:
            await victim.stored(frame)
        recorded = await demo_viewer.session.get(f"/api/cloud/orgs/{demo_viewer.org_id}/streams/{stream.stream_id}")
        assert recorded["chunks"] == len(frames) and recorded["serial"] == VICTIM_SERIAL

        # The victim's operator acknowledges: the real camera is told, not the impostor.
        await demo_viewer.session.post(f"/api/cloud/orgs/{demo_viewer.org_id}/streams/{stream.stream_id}/acknowledge")
        ack = await victim.receive(m.Acknowledge)
        assert ack.stream_id == stream.stream_id
        with pytest.raises(asyncio.TimeoutError):
            await impostor.ws.receive(timeout=0.3)

        # The lab sees the victim's camera online, in the victim's system.
        status = await lab.get("/api/lab/status")
        (cam,) = [
            c
            for s in status["systems"]
            if s["id"] == demo_lab.systems[0].id
            for c in s["cameras"]
            if c["serial"] == VICTIM_SERIAL
        ]
        assert cam["online"]
    finally:
        await impostor.close()


# covers: D1, S13
async def test_a_certificate_is_accepted_only_for_a_camera_its_system_registered(appliance, attacker):
    stranger = await attacker.camera("B8A44F0009FF")  # signed by the attacker's CA, registered nowhere
    try:
        refusal = await stranger.hello()
        assert isinstance(refusal, m.Error) and refusal.code == "certificate_refused"
        assert "not registered" in refusal.message
    finally:
        await stranger.close()
    await attacker.register_cameras(
        [{"id": "usr_m", "name": "Mallory", "cameras": [{"serial": "B8A44F0009FF", "model": "W110"}]}]
    )
    registered = await attacker.camera("B8A44F0009FF")
    try:
        assert isinstance(await registered.hello(), m.Welcome)
        # Dropped from the system's list: the camera is disconnected and refused from then on.
        await attacker.register_cameras([])
        dropped = await registered.receive(m.Error)
        assert dropped.code == "certificate_refused"
    finally:
        await registered.close()


# covers: S3, D1
async def test_a_ca_that_copies_another_systems_name_signs_for_no_one(
    appliance, demo_lab, hub_camera, attacker, cloud_account
):
    """Anyone can make a CA with the victim CA's name; the hub picks the system whose CA verifies
    the chain, so the victim's cameras still connect and the look-alike signs for nobody else."""
    victim = await hub_camera(ANNA)  # connected: the victim's CA is trusted for its cameras
    victim_ca = pki.load_cert(victim.provisioning["ca_certificate"])
    name = victim_ca.subject.get_attributes_for_oid(pki.NameOID.COMMON_NAME)[0].value
    account = await cloud_account("eve@lookalike.test")
    org = await account.post("/api/cloud/orgs", {"name": "Look-alike"})
    lookalike = OutsideController(appliance, account, org["id"], "Look-alike")
    lookalike.ca_key_pem, lookalike.ca_pem = pki.make_ca(name, appliance.clock.now())
    assert pki.load_cert(lookalike.ca_pem).subject == victim_ca.subject
    await lookalike.connect()
    await lookalike.register_cameras(
        [{"id": "usr_e", "name": "Eve", "cameras": [{"serial": VICTIM_SERIAL, "model": "W100"}]}]
    )
    await victim.close()
    again = HubCamera(appliance, victim.provisioning, victim.key, VICTIM_SERIAL)
    forged = await lookalike.camera(VICTIM_SERIAL)
    try:
        welcome = await again.hello()
        assert isinstance(welcome, m.Welcome) and welcome.system_id != lookalike.system_id
        welcome = await forged.hello()
        assert isinstance(welcome, m.Welcome) and welcome.system_id == lookalike.system_id
        assert not again.ws.closed
    finally:
        await again.close()
        await forged.close()


# ---------------------------------------------------------------------------------------------
# S3: the authorization code is single-use, bound to the controller and account that asked for
# it, and expires (lab time). Each refusal is a clear 4xx and changes nothing.


async def _systems(account: Session, org_id: str) -> list[dict]:
    return (await account.get(f"/api/cloud/orgs/{org_id}/systems"))["systems"]


async def _refused(call, status: int, code: str) -> None:
    with pytest.raises(ApiError) as refused:
        await call
    assert (refused.value.status, refused.value.code) == (status, code), refused.value
    assert refused.value.message


# covers: S3
async def test_an_authorization_code_is_used_once(appliance, cloud_account, travel):
    account = await cloud_account("owner@codes.test")
    org = await account.post("/api/cloud/orgs", {"name": "Codes"})
    controller = OutsideController(appliance, account, org["id"], "Station one")
    code = await controller.code()
    await account.post(f"/api/cloud/orgs/{org['id']}/systems", controller.registration(code))
    again = controller.registration(code) | {"name": "Station one, again"}
    await _refused(account.post(f"/api/cloud/orgs/{org['id']}/systems", again), 409, "authorization_code_used")
    assert [s["name"] for s in await _systems(account, org["id"])] == ["Station one"]
    # A made-up code is refused too.
    other = OutsideController(appliance, account, org["id"], "Station two")
    await _refused(
        account.post(f"/api/cloud/orgs/{org['id']}/systems", other.registration("0000-1111-2222-3333")),
        403,
        "bad_authorization_code",
    )
    # The same controller (device CA) cannot be connected a second time with a new code either.
    await _refused(controller.code(), 409, "device_ca_registered")
    assert len(await _systems(account, org["id"])) == 1
    # An organization holds at most 20 open codes at a time; once they expire it may ask again.
    for _ in range(20):
        await other.code()
    await _refused(other.code(), 429, "too_many_authorization_codes")
    await travel(15 * 60)
    assert await other.code()


# covers: S3
async def test_an_authorization_code_is_bound_to_its_controller_and_account(appliance, cloud_account):
    owner = await cloud_account("owner@bound.test")
    org = await owner.post("/api/cloud/orgs", {"name": "Bound"})
    asking = OutsideController(appliance, owner, org["id"], "Asking station")
    code = await asking.code()
    # Another controller pastes the code: it cannot prove the asking controller's CA key.
    other = OutsideController(appliance, owner, org["id"], "Other station")
    await _refused(
        owner.post(f"/api/cloud/orgs/{org['id']}/systems", other.registration(code)), 403, "foreign_authorization_code"
    )
    # … nor by presenting the asking controller's CA certificate without its key.
    borrowed = other.registration(code) | {"device_ca_pem": asking.ca_pem}
    await _refused(owner.post(f"/api/cloud/orgs/{org['id']}/systems", borrowed), 403, "foreign_authorization_code")
    # Another admin of the same organization cannot use it either.
    second = await cloud_account("second@bound.test")
    await owner.post(f"/api/cloud/orgs/{org['id']}/invitations", {"email": "second@bound.test", "role": "admin"})
    (inv,) = (await second.get("/api/cloud/invitations"))["invitations"]
    await second.post(f"/api/cloud/invitations/{inv['id']}/accept")
    await _refused(
        second.post(f"/api/cloud/orgs/{org['id']}/systems", asking.registration(code)),
        403,
        "foreign_authorization_code",
    )
    # Nor in another organization.
    elsewhere = await owner.post("/api/cloud/orgs", {"name": "Elsewhere"})
    await _refused(
        owner.post(f"/api/cloud/orgs/{elsewhere['id']}/systems", asking.registration(code)),
        403,
        "bad_authorization_code",
    )
    assert await _systems(owner, org["id"]) == [] and await _systems(owner, elsewhere["id"]) == []
    licence = await owner.get(f"/api/cloud/orgs/{org['id']}/licence")
    assert licence["licences"] == []  # no trial started by a refused request
    # The asking controller itself still can: nothing was used up by the refusals.
    await owner.post(f"/api/cloud/orgs/{org['id']}/systems", asking.registration(code))
    assert [s["name"] for s in await _systems(owner, org["id"])] == ["Asking station"]


# covers: S3
async def test_an_authorization_code_expires(appliance, cloud_account, new_system, travel):
    """Through the Manager (S3 as the admin does it): a code left 16 minutes of lab time is refused
    at Finish; the Manager then shows a fresh one, which connects."""
    account = await cloud_account("owner@expiry.test")
    org = await account.post("/api/cloud/orgs", {"name": "Expiry"})
    system_id, mgr = await new_system("Slow station")
    api = f"/controller/{system_id}/api"
    await mgr.post(api + "/addon/install", {"hosting": "axis-hosted"})
    await mgr.put(api + "/addon/cloud-extensions", {"enabled": True})
    await mgr.put(api + "/addon/eula", {"accepted": True})
    await mgr.post(api + "/addon/sign-in", {"email": "owner@expiry.test", "password": "account-pass"})
    await mgr.post(api + "/addon/organization", {"id": org["id"]})
    await mgr.post(api + "/addon/storage", {"region": "eu"})
    shown = await mgr.get(api + "/addon/authorization-code")
    assert shown["expires_at"] > appliance.clock.now()
    await travel(16 * 60)
    await _refused(
        mgr.post(api + "/addon/finish", {"authorization_code": shown["authorization_code"]}),
        409,
        "authorization_code_expired",
    )
    assert (await mgr.get(api))["connection"]["state"] == "storage_chosen"
    assert await _systems(account, org["id"]) == []
    fresh = await mgr.get(api + "/addon/authorization-code")
    assert fresh["authorization_code"] != shown["authorization_code"]
    done = await mgr.post(api + "/addon/finish", {"authorization_code": fresh["authorization_code"]})
    assert done["state"] == "connected"
    assert [s["name"] for s in await _systems(account, org["id"])] == ["Slow station"]


def test_the_proof_names_the_organization_and_the_code():
    """Unit: a proof made for one organization or code does not verify for another."""
    key_pem, ca_pem = pki.make_ca("proof CA", 1.7e9)
    ca, key = pki.load_cert(ca_pem), pki.load_key(key_pem)
    proof = authorization.sign_proof(key, "org_a", "1A2B-3C4D-5E6F-7081")
    assert authorization.verify_proof(ca, "org_a", " 1a2b-3c4d-5e6f-7081 ", proof)
    assert not authorization.verify_proof(ca, "org_b", "1A2B-3C4D-5E6F-7081", proof)
    assert not authorization.verify_proof(ca, "org_a", "1A2B-3C4D-5E6F-7082", proof)
    assert not authorization.verify_proof(ca, "org_a", "1A2B-3C4D-5E6F-7081", "not-base64!")


# ---------------------------------------------------------------------------------------------
# Two organizations, each with a real camera (firmware stub) of the same serial, stream at once.

HARBOUR = """
name = "harbour"
[[accounts]]
email = "admin@harbour.test"
name = "Hana Admin"
password = "harbour-admin-pass"
[[accounts]]
email = "operator@harbour.test"
name = "Hugo Operator"
password = "harbour-operator-pass"
[organization]
name = "Harbour Watch"
owner = "admin@harbour.test"
members = [{ email = "operator@harbour.test", role = "operator" }]
[[systems]]
name = "Harbour station"
admin_password = "harbour-manager-pass"
region = "eu"
key = { generate = true, name = "Harbour key" }
[[systems.profiles]]
name = "Remote live"
streaming = true
live_stream_on_record = true
remote_activation = true
remote_mode = "always"
[[systems.camera_users]]
name = "Rita Nilsson"
profile = "Remote live"
[[systems.docks]]
name = "Dock H"
bays = 2
[[systems.cameras]]
serial = "{serial}"
model = "W100"
camera_user = "Rita Nilsson"
dock = "Dock H"
bay = 1
""".replace("{serial}", VICTIM_SERIAL)  # the TOML's own braces stay as they are


async def _live(viewer, stream_id: str) -> dict:
    return await viewer.session.get(f"/api/cloud/orgs/{viewer.org_id}/streams/{stream_id}")


async def _online(viewer, user_name: str) -> dict | None:
    users = (await viewer.session.get(f"/api/cloud/orgs/{viewer.org_id}/camera-users"))["camera_users"]
    return next((u for u in users if u["name"] == user_name and u["online"]), None)


# covers: S13, S17, D3, D4, D5, D6, D8
async def test_two_organizations_with_cameras_of_the_same_serial_stream_undisturbed(
    appliance, demo_lab, demo_fleet, demo_viewer, tmp_path, poll
):
    from bwlab.apply import apply_scenario
    from bwlab.scenario import load_scenario
    from bwlab.viewer import Viewer
    from bwlab.wire import envelope
    from firmware_stub.fleet import Fleet

    path = tmp_path / "harbour.toml"
    path.write_text(HARBOUR)
    scenario, _ = load_scenario(path)
    harbour = await apply_scenario(scenario, appliance.url, appliance.ca_pem, appliance.lab_token)
    demo = await demo_fleet({VICTIM_SERIAL})
    other = Fleet(url=appliance.url, ca_pem=appliance.ca_pem, lab_token=appliance.lab_token, clock=appliance.clock)
    try:
        await other.start(scenario, only={VICTIM_SERIAL})
        async with Viewer(
            appliance.url,
            appliance.ca_pem,
            email="operator@harbour.test",
            password="harbour-operator-pass",
            link=harbour.systems[0].link,
            clock=appliance.clock,
        ) as hv:
            anna, rita = demo.cameras[VICTIM_SERIAL], other.cameras[VICTIM_SERIAL]
            await demo.undock(VICTIM_SERIAL)
            await other.undock(VICTIM_SERIAL)
            await poll(lambda: _online(demo_viewer, "Anna Berg"), "Anna's camera online in Demo Security", 10)
            await poll(lambda: _online(hv, "Rita Nilsson"), "Rita's camera online in Harbour Watch", 10)

            # D3: Anna presses record; only Demo Security sees a stream.
            await anna.press("record")
            a = await demo_viewer.wait_for_stream(timeout=10)
            assert a["user_name"] == "Anna Berg" and await hv.streams("live") == []

            # D4: Harbour's operator starts Rita's camera remotely; Anna's camera is not asked.
            rita_user = await _online(hv, "Rita Nilsson")
            started = await hv.session.post(f"/api/cloud/orgs/{hv.org_id}/camera-users/{rita_user['id']}/start")
            assert started["started"]
            b = await hv.wait_for_stream(timeout=10)
            assert b["user_name"] == "Rita Nilsson" and b["serial"] == a["serial"] == VICTIM_SERIAL
            assert b["system_id"] != a["system_id"]
            assert [s["id"] for s in await demo_viewer.streams("live")] == [a["id"]]
            assert [s["id"] for s in await hv.streams("live")] == [b["id"]]

            # Each viewer decrypts its own stream live; neither reaches nor opens the other's.
            seen_a, seen_b = await asyncio.gather(
                demo_viewer.watch(a["id"], seconds=2.0), hv.watch(b["id"], seconds=2.0)
            )
            assert seen_a.user_name == "Anna Berg" and seen_a.video_frames > 0 and not seen_a.ended
            assert seen_b.user_name == "Rita Nilsson" and seen_b.video_frames > 0 and not seen_b.ended
            for viewer, foreign in ((demo_viewer, b), (hv, a)):
                with pytest.raises(ApiError) as hidden:
                    await _live(viewer, foreign["id"])
                assert hidden.value.status == 404
                with pytest.raises(envelope.WrongKey):
                    envelope.unwrap_content_key(viewer.key.private_key, foreign["id"], foreign["wrapped_key"])

            # D6: an acknowledgement makes only its own camera vibrate.
            await demo_viewer.session.post(f"/api/cloud/orgs/{demo_viewer.org_id}/streams/{a['id']}/acknowledge")
            await poll(lambda: anna.vibrations >= 1, "Anna's camera to vibrate")
            assert rita.vibrations == 0

            # D5: Rita's long press ends Rita's stream; Anna's goes on and keeps being stored.
            await rita.press("record", "long")
            await poll(lambda: _ended(hv, b["id"]), "Rita's stream to end")
            before = anna.chunks_acked
            await poll(lambda: anna.chunks_acked >= before + 5, "Anna's camera to keep streaming", 10)
            assert (await _live(demo_viewer, a["id"]))["live"]
            await anna.press("record", "long")
            await poll(lambda: _ended(demo_viewer, a["id"]), "Anna's stream to end")
            await poll(lambda: anna.unacked == 0 and rita.unacked == 0, "every chunk acknowledged")

            # Every chunk each camera sent is stored in its own recording, and each plays whole.
            for viewer, stream, camera in ((demo_viewer, a, anna), (hv, b, rita)):
                recording = await _live(viewer, stream["id"])
                assert recording["chunks"] == camera.chunks_sent and recording["end_reason"] != "certificate_expired"
                played = await viewer.watch(stream["id"], recording=True)
                assert played.seqs == list(range(camera.chunks_sent)) and played.video_frames > 0
    finally:
        await other.close()


async def _ended(viewer, stream_id: str) -> bool:
    return not (await _live(viewer, stream_id))["live"]


# covers: S15, S13
async def test_another_systems_list_with_the_same_serials_leaves_the_licence_count_alone(
    appliance, demo_lab, attacker, travel, poll
):
    """S15 counts a camera per day while it is assigned to a streaming camera user. Another
    organization's system listing the same serials must not close the demo's periods."""
    async with appliance.session() as admin:
        await admin.sign_in_cloud("admin@demo.bwlab.test", "demo-admin-pass")
        url = f"/api/cloud/orgs/{demo_lab.org_id}/licence"
        today = await poll(lambda: _today_cameras(admin, url), "the demo's cameras to be counted")
        serials = [f"B8A44F00010{i}" for i in range(1, 7)]
        await attacker.register_cameras(
            [
                {
                    "id": "usr_x",
                    "name": "X",
                    "streaming": False,
                    "cameras": [{"serial": s, "model": "W110"} for s in serials],
                }
            ]
        )
        await travel(2 * 86400)
        assert await _today_cameras(admin, url) == today


async def _today_cameras(admin: Session, url: str) -> int:
    return (await admin.get(url))["daily"][-1]["cameras"]
