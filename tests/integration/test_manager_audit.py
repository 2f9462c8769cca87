"""The Manager's admin actions in the organization's audit trail (issue 16 item 4; docs/audit.md
"The Manager"): the controller sends each one over its authenticated link to the cloud, which
appends it to the organization's hash chain with the Manager's administrator as the actor and the
system as the source; while the cloud cannot be reached they wait in the controller's store and
go later, in order; an invalid or forged event is refused with a 4xx and appends nothing.

covers: O4, S3, S14
"""

from __future__ import annotations

import json

import aiohttp
import pytest

from bwlab.client import ApiError
from bwlab.wire import audit as wire
from tests.conftest import controller_connections, free_port

ADMIN = ("admin@demo.bwlab.test", "demo-admin-pass")


async def _export(admin, org: str) -> tuple[list[dict], str]:
    async with admin.http.get(
        f"{admin.base_url}/api/cloud/orgs/{org}/audit/export?format=jsonl", headers=admin.headers(), ssl=admin.ssl
    ) as response:
        assert response.status == 200
        return [json.loads(line) for line in (await response.text()).splitlines()], response.headers["X-Audit-Head"]


def _manager(entries: list[dict]) -> list[dict]:
    return [e for e in entries if (e["details"] or {}).get("source") == "manager"]


async def test_manager_actions_reach_the_audit_trail_in_order_even_through_an_outage(appliance, demo_lab, poll):
    org, system = demo_lab.org_id, demo_lab.systems[0]
    api = f"/controller/{system.id}/api"
    async with appliance.session() as manager, appliance.session() as admin:
        await manager.sign_in_manager(system.id, system.admin_password)
        await admin.sign_in_cloud(*ADMIN)
        # The demo's own set-up in the Manager (keys, networks, profiles, camera users…) is there already.
        before, _ = await _export(admin, org)
        setup = _manager(before)
        assert {"Anna Berg", "Ben Carter"} <= {(e["camera"] or {}).get("user_name") for e in setup}
        assert (await manager.get(api))["audit_outbox"] == 0

        # A setting change and a new camera user, each in the trail with the Manager's administrator.
        await manager.put(api + "/troubleshooting", {"allow": False})
        zoe = await manager.post(api + "/camera-users", {"name": "Zoe Test"})
        entries = await poll(lambda: _grown(admin, org, len(before) + 2), "the two Manager actions in the trail")
        changed, invited = entries[-2:]
        actor = {"id": f"manager:{changed['details']['system_id']}", "name": "Manager administrator (Main station)"}
        for e in (changed, invited):
            assert {k: e["actor"][k] for k in ("id", "name")} == actor and e["actor"]["role"] == "manager"
            assert e["actor"]["email"] is None and e["details"]["source"] == "manager"
            assert e["details"]["system_name"] == "Main station"
        assert changed["action"] == "setting_changed" and changed["details"]["setting"] == "troubleshooting_mode"
        assert invited["action"] == "user_invited" and invited["camera"]["user_name"] == "Zoe Test"
        assert invited["camera"]["user_id"] == zoe["id"]

        # The cloud out of reach (the controller's proxy leads nowhere): actions wait, in order…
        network = (await manager.get(api))["settings"]["network"]
        answer = await manager.put(api + "/settings/network", {**network, "proxy": f"http://127.0.0.1:{free_port()}"})
        assert answer["cloud"]["reachable"] is False
        await manager.post(api + "/camera-users", {"name": "Yann Test"})
        await manager.put(api + "/troubleshooting", {"allow": True})
        assert (await manager.get(api))["audit_outbox"] == 3
        assert len(await _entries(admin, org)) == len(entries)
        # …and go, all of them, in the order they were made, once the way to the cloud is back.
        await manager.put(api + "/settings/network", network)
        entries = await poll(
            lambda: _grown(admin, org, len(entries) + 4), "the waiting actions in the trail", timeout=15
        )
        tail = entries[-4:]
        assert [(e["action"], e["details"].get("setting")) for e in tail] == [
            ("setting_changed", "network"),
            ("user_invited", None),
            ("setting_changed", "troubleshooting_mode"),
            ("setting_changed", "network"),
        ]
        assert tail[1]["camera"]["user_name"] == "Yann Test"
        assert "proxy" not in json.dumps(tail), "what changed is named, not the values (they may be secrets)"
        await poll(lambda: _outbox_empty(manager, api), "the controller's outbox to empty")

        # The chain still proves itself, Manager entries and all (bwlab audit verify's check).
        exported, head = await _export(admin, org)
        verdict = wire.verify(enumerate(exported, 1), head=head)
        assert verdict.ok and verdict.entries == len(exported) == len(entries), verdict.message()
        assert [e["seq"] for e in exported] == list(range(1, len(exported) + 1))


async def _entries(admin, org: str) -> list[dict]:
    return (await _export(admin, org))[0]


async def _grown(admin, org: str, n: int) -> list[dict] | None:
    entries = await _entries(admin, org)
    return entries if len(entries) >= n else None


async def _outbox_empty(manager, api: str) -> bool:
    return (await manager.get(api))["audit_outbox"] == 0


async def test_an_invalid_or_forged_event_from_the_link_is_refused_and_appends_nothing(appliance, demo_lab):
    org, system = demo_lab.org_id, demo_lab.systems[0]
    connection = controller_connections(appliance.data_dir)[system.id]
    cloud_id, token = connection["cloud_system_id"], connection["system_token"]
    url = f"{appliance.url}/api/cloud/systems/{cloud_id}/audit-events"
    now = appliance.clock.now()
    good = {"seq": 10**9, "at": now, "action": "setting_changed", "setting": "network", "details": {}}
    async with appliance.session() as admin:
        await admin.sign_in_cloud(*ADMIN)
        before, head = await _export(admin, org)
        ssl_ctx = admin.ssl
        async with aiohttp.ClientSession() as http:

            async def post(body, bearer: str | None = token) -> tuple[int, dict]:
                headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
                async with http.post(url, json=body, headers=headers, ssl=ssl_ctx) as response:
                    return response.status, await response.json(content_type=None)

            refused = [
                ({"events": [{**good, "action": "stream_viewed"}]}, "events[0].action"),  # not a Manager action
                (
                    {"events": [{**good, "actor": {"name": "Alex Admin"}}]},
                    "events[0].actor",
                ),  # the cloud names the actor
                ({"events": [{**good, "details": {"source": "live"}}]}, "events[0].details.source"),
                ({"events": [{**good, "details": {"system_id": "sys_other"}}]}, "events[0].details.system_id"),
                ({"events": [{**good, "at": now + 86400}]}, "events[0].at"),  # in the cloud's future
                ({"events": [{**good, "seq": 0}]}, "events[0].seq"),
                ({"events": [good, {**good}]}, "events"),  # seq not increasing
                ({"events": [{**good, "setting": None}]}, "events[0].setting"),
                ({"events": [{**good, "details": {"note": "x" * 201}}]}, "events[0].details.note"),
            ]
            for body, path in refused:
                status, answer = await post(body)
                assert 400 <= status < 500 and answer["error"]["code"] == "invalid_input", (body, answer)
                assert path in answer["error"]["message"], (path, answer)
            for bearer, status_wanted in ((None, 401), ("bws_forged", 401)):
                status, answer = await post({"events": [good]}, bearer)
                assert status == status_wanted and "error" in answer
            after, head_after = await _export(admin, org)
        assert after == before and head_after == head, "nothing appended"

        # The same event, valid, is appended once; resent (a lost answer), it is not appended again.
        async with aiohttp.ClientSession() as http:
            for _ in range(2):
                async with http.post(
                    url, json={"events": [good]}, headers={"Authorization": f"Bearer {token}"}, ssl=ssl_ctx
                ) as response:
                    assert response.status == 200
        after, _ = await _export(admin, org)
        assert len(after) == len(before) + 1 and after[-1]["details"]["setting"] == "network"
    with pytest.raises(ApiError):
        async with appliance.session() as operator:
            await operator.sign_in_cloud("operator@demo.bwlab.test", "demo-operator-pass")
            await operator.get(f"/api/cloud/orgs/{org}/audit/export")  # the trail is the admins'
