"""The audit trail and who is watching, over real sockets (issue 16 item 4; docs/audit.md).

A camera streams; the operator watches it (the admin sees who is watching meanwhile), acknowledges
it, imports a key; the admin invites and changes a role. The admin then reads the log with filters,
exports it as JSON Lines and CSV, and ``bwlab audit verify`` proves the chain — and names the entry
of an export that was changed. Another organization's admin sees none of it, and the other way
round. Entries read the lab clock.
"""

# covers: O4, S14, D6, D2

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import pytest
from aiohttp import web

from appliance.auth import ACCOUNT_KEY, ROLE_KEY, AccountPrincipal
from appliance.cloud import audit, store
from appliance.context import APPLIANCE
from appliance.db import Database
from bwlab.client import ApiError
from bwlab.clock import ManualClock
from bwlab.wire import audit as wire
from tests.conftest import run_bwlab
from tests.integration.test_streaming import ANNA

ADMIN = ("admin@demo.bwlab.test", "demo-admin-pass")
OPERATOR = ("operator@demo.bwlab.test", "demo-operator-pass")
FINGERPRINT = " ".join(["ABCD"] * 16)


async def bwlab(*args: str) -> tuple[int, str, str]:
    return await run_bwlab(*args, env={"BWLAB_PASSWORD": ADMIN[1]})


@pytest.fixture
async def anna_online(appliance, demo_lab, demo_fleet, undock_online, poll):
    fleet = await demo_fleet({ANNA})
    await undock_online(fleet, ANNA)


async def test_actions_are_logged_in_a_verifiable_chain_and_who_is_watching_shows(
    appliance, demo_lab, demo_viewer, anna_online, poll, travel, tmp_path
):
    org = demo_lab.org_id
    base = f"/api/cloud/orgs/{org}"
    async with appliance.session() as admin, appliance.session() as operator:
        await admin.sign_in_cloud(*ADMIN)
        await operator.sign_in_cloud(*OPERATOR)
        start = (await admin.get(base + "/audit"))["head"]["seq"]  # the demo's own set-up: invitations, system
        users = (await operator.get(base + "/camera-users"))["camera_users"]
        anna = next(u for u in users if u["name"] == "Anna Berg")
        await operator.post(f"{base}/camera-users/{anna['id']}/start")  # D4: Anna's profile allows it
        stream = await demo_viewer.wait_for_stream(timeout=10)

        # Who is watching: the operator's live view, while it is open.
        watching = asyncio.create_task(demo_viewer.watch(stream["id"], seconds=3.0))

        async def operator_watches():
            now = (await admin.get(base + "/watching"))["watching"].get(stream["id"], [])
            return [w["name"] for w in now]

        names = await poll(operator_watches, "the operator among who is watching", timeout=10)
        assert names == ["Olivia Operator"]
        report = await watching
        assert report.video_frames > 0
        assert (await admin.get(base + "/watching"))["watching"] == {}, "the view ended: nobody watches"
        played = await demo_viewer.watch(stream["id"], recording=True)  # what is stored so far, downloaded
        assert played.chunks > 0

        await travel(3600)  # entries read the lab clock, not the machine's
        lab_now = appliance.clock.now()
        await operator.post(f"{base}/streams/{stream['id']}/acknowledge")
        await operator.post(
            base + "/audit/key-imports", {"fingerprint": FINGERPRINT, "name": "Demo system", "kind": "passphrase"}
        )
        await admin.post(base + "/invitations", {"email": "new@audit.test", "role": "user"})
        members = (await admin.get(base + "/members"))["members"]
        op_id = next(m["id"] for m in members if m["email"] == OPERATOR[0])
        await admin.put(f"{base}/members/{op_id}", {"role": "admin"})
        await admin.put(f"{base}/members/{op_id}", {"role": "operator"})

        log = await admin.get(base + "/audit")
        entries = [e for e in log["entries"] if e["seq"] > start]
        actions = [e["action"] for e in reversed(entries)]
        assert actions == [
            wire.REMOTE_STARTED,
            wire.STREAM_VIEWED,
            wire.RECORDING_DOWNLOADED,
            wire.ACKNOWLEDGED,
            wire.KEY_IMPORTED,
            wire.USER_INVITED,
            wire.SETTING_CHANGED,
            wire.SETTING_CHANGED,
        ]
        started, viewed, downloaded = entries[-1], entries[-2], entries[-3]
        assert started["camera"]["serial"] == ANNA and started["camera"]["user_id"] == anna["id"]
        assert started["actor"]["email"] == OPERATOR[0]
        assert downloaded["stream_id"] == stream["id"] and downloaded["details"]["to"] >= downloaded["details"]["from"]
        assert viewed["actor"]["email"] == OPERATOR[0] and viewed["actor"]["role"] == "operator"
        assert viewed["camera"]["serial"] == ANNA and viewed["camera"]["user_name"] == "Anna Berg"
        assert viewed["stream_id"] == stream["id"]
        assert viewed["details"]["to"] - viewed["details"]["from"] >= 2.5
        ack = entries[-4]
        assert ack["at"] >= lab_now and ack["at"] - lab_now < 60 and ack["stream_id"] == stream["id"]
        assert entries[0]["details"] == {"setting": "member_role", "account_id": op_id, "role": "operator"}
        assert log["head"] == {"seq": start + 8, "hash": entries[0]["hash"]} and log["matched"] == start + 8

        # Live's filters: what, who, which camera, when.
        only = await admin.get(base + "/audit?action=acknowledged")
        assert [e["action"] for e in only["entries"]] == [wire.ACKNOWLEDGED]
        mine = await admin.get(base + "/audit?actor=operator%40demo")
        assert {e["actor"]["email"] for e in mine["entries"]} == {OPERATOR[0]} and mine["matched"] == 5
        assert (await admin.get(base + "/audit?actor=" + OPERATOR[0].upper()))["matched"] == 5
        anna_log = await admin.get(base + "/audit?camera=anna")
        assert [e["action"] for e in anna_log["entries"]] == [
            wire.ACKNOWLEDGED,
            wire.RECORDING_DOWNLOADED,
            wire.STREAM_VIEWED,
            wire.REMOTE_STARTED,
            wire.USER_INVITED,  # the demo's set-up: the Manager created the camera user Anna Berg
        ]
        assert anna_log["entries"][-1]["details"]["source"] == "manager" and anna_log["entries"][-1]["seq"] <= start
        later = await admin.get(f"{base}/audit?from={lab_now}&to={lab_now + 600}")
        assert wire.STREAM_VIEWED not in [e["action"] for e in later["entries"]] and later["matched"] == 5
        for bad in ("action=deleted", "from=yesterday", "limit=0", "colour=red"):
            with pytest.raises(ApiError) as refused:
                await admin.get(f"{base}/audit?{bad}")
            assert refused.value.status == 400 and refused.value.code == "invalid_input"
        with pytest.raises(ApiError) as refused:
            await operator.get(base + "/audit")
        assert refused.value.status == 403
        with pytest.raises(ApiError) as refused:
            await operator.post(base + "/audit/key-imports", {"fingerprint": "not a fingerprint"})
        assert refused.value.status == 400 and "fingerprint" in refused.value.message
        assert (await admin.get(base + "/audit"))["matched"] == start + 8, "refusals change nothing"

        # The export, in both formats, is the whole chain and verifies.
        for fmt in ("jsonl", "csv"):
            async with admin.http.get(
                f"{admin.base_url}{base}/audit/export?format={fmt}", headers=admin.headers(), ssl=admin.ssl
            ) as r:
                assert r.status == 200 and "attachment" in r.headers["Content-Disposition"]
                text, head = await r.text(), r.headers["X-Audit-Head"]
            verdict = wire.verify(wire.read_export(text), head=head)
            assert verdict.ok and verdict.entries == start + 8 and head == entries[0]["hash"]

    # bwlab audit export / verify, as a user would run them.
    exported = tmp_path / "audit.jsonl"
    code, _, err = await bwlab(
        "audit",
        "export",
        "--email",
        ADMIN[0],
        "--url",
        appliance.url,
        "--data-dir",
        str(appliance.data_dir),
        "-o",
        str(exported),
    )
    assert code == 0, err
    code, out, err = await bwlab("audit", "verify", str(exported), "--head", entries[0]["hash"])
    assert code == 0 and f"intact: {start + 8} entries" in out, err
    lines = exported.read_text().splitlines()
    changed = json.loads(lines[1])
    changed["actor"]["name"] = "Somebody Else"
    (tmp_path / "changed.jsonl").write_text("\n".join([lines[0], json.dumps(changed), *lines[2:]]) + "\n")
    code, _, err = await bwlab("audit", "verify", str(tmp_path / "changed.jsonl"))
    assert code == 1 and "line 2 (entry seq 2): changed" in err
    (tmp_path / "removed.jsonl").write_text("\n".join([*lines[:2], *lines[3:]]) + "\n")
    code, _, err = await bwlab("audit", "verify", str(tmp_path / "removed.jsonl"))
    assert code == 1 and "line 3 (entry seq 4)" in err and "removed" in err
    code, _, err = await bwlab("audit", "verify", str(tmp_path / "missing.jsonl"))
    assert code == 2 and "missing.jsonl" in err


async def test_tenants_never_see_each_others_log(appliance, demo_lab, cloud_account):
    org = demo_lab.org_id
    async with appliance.session() as admin:
        await admin.sign_in_cloud(*ADMIN)
        await admin.post(f"/api/cloud/orgs/{org}/invitations", {"email": "demo-guest@audit.test"})
        foreign = await cloud_account("foreign@audit.test")
        theirs = (await foreign.post("/api/cloud/orgs", {"name": "Foreign Org"}))["id"]
        await foreign.post(f"/api/cloud/orgs/{theirs}/invitations", {"email": "foreign-guest@audit.test"})
        for who, other in ((foreign, org), (admin, theirs)):
            for path in ("/audit", "/audit/export", "/watching"):
                with pytest.raises(ApiError) as refused:
                    await who.get(f"/api/cloud/orgs/{other}{path}")
                assert refused.value.status == 403
        demo_log = (await admin.get(f"/api/cloud/orgs/{org}/audit?action=user_invited"))["entries"]
        foreign_log = (await foreign.get(f"/api/cloud/orgs/{theirs}/audit"))["entries"]
    assert "demo-guest@audit.test" in [e["details"].get("email") for e in demo_log]  # camera users have none
    assert not [e for e in demo_log if "foreign" in json.dumps(e)]
    assert [e["details"]["email"] for e in foreign_log] == ["foreign-guest@audit.test"]
    assert foreign_log[0]["seq"] == 1, "each organization has its own chain"
    assert {e["org_id"] for e in demo_log} == {org} and {e["org_id"] for e in foreign_log} == {theirs}


class _Request(dict):
    """What ``audit.watched`` reads of a request: the app's state, the path and the signed-in account."""

    def __init__(self, config_dict: dict, org_id: str, account) -> None:
        super().__init__()
        self.config_dict = config_dict
        self.match_info = {"org_id": org_id}
        self[ACCOUNT_KEY] = account
        self[ROLE_KEY] = "operator"


async def test_a_view_ended_by_a_dropped_connection_is_recorded_and_a_refused_one_is_not(tmp_path):
    """A live view whose viewer goes away mid-send ends with an error in its handler: it is still a
    view, from when it opened to then. A request refused before any view records nothing."""
    db = await Database.open(tmp_path / "cloud.sqlite3")
    try:
        clock = ManualClock()
        await store.create_account(db, "acc_1", "olivia@audit.test", "Olivia", "x", clock.now())
        await store.create_organization(db, "org_1", "Org", "acc_1", clock.now())
        trail = audit.AuditTrail()
        request = _Request(
            {APPLIANCE: SimpleNamespace(db=db, clock=clock), audit.AUDIT: trail},
            "org_1",
            AccountPrincipal("acc_1", "olivia@audit.test", "Olivia", "session"),
        )
        stream = {
            "id": "str_1",
            "org_id": "org_1",
            "serial": ANNA,
            "system_id": "sys_1",
            "user_id": "u_1",
            "user_name": "Anna Berg",
        }

        async def meta_of(_request):
            return stream

        async def dropped(_request):
            assert [w["name"] for w in trail.watching.of_org("org_1")["str_1"]] == ["Olivia"]
            clock.advance(42)
            raise ConnectionResetError("Cannot write to closing transport")

        async def refused(_request):
            raise web.HTTPBadRequest(reason="no upgrade")

        with pytest.raises(ConnectionResetError):
            await audit.watched(wire.STREAM_VIEWED, meta_of)(dropped)(request)
        with pytest.raises(web.HTTPBadRequest):
            await audit.watched(wire.STREAM_VIEWED, meta_of)(refused)(request)
        (entry,) = await store.audit_entries(db, "org_1")
        assert entry["action"] == wire.STREAM_VIEWED and entry["details"]["to"] - entry["details"]["from"] == 42
        assert trail.watching.of_org("org_1") == {}, "the view is over: nobody watches"
    finally:
        await db.close()
