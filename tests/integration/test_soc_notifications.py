"""SOC notifications end to end (S12): a real camera streams through the device hub, the appliance
signs and delivers Standard Webhooks notifications to real receivers on 127.0.0.1, and admins
manage integrations and read the delivery log."""

# covers: S12, S14, S17

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from standardwebhooks import Webhook

from bwlab.apply import apply_scenario
from bwlab.client import ApiError
from bwlab.scenario import load_scenario
from bwlab.soc_receiver import SocReceiver
from firmware_stub.fleet import Fleet
from tests.conftest import free_port, start_appliance

ANNA = "B8A44F000101"  # W100, profile "Patrol live" (live stream on record)
ADMIN = ("admin@demo.bwlab.test", "demo-admin-pass")
OPERATOR = ("operator@demo.bwlab.test", "demo-operator-pass")


class Receiver:
    """A SOC receiver (``bwlab soc-receiver``'s core) listening on 127.0.0.1."""

    def __init__(self, secret, clock, port=None):
        self.soc = SocReceiver(secret, clock)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/soc/events"
        self._runner = None

    async def start(self):
        self._runner = web.AppRunner(self.soc.app(), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def close(self):
        if self._runner is not None:
            await self._runner.cleanup()

    def of_type(self, event_type):
        return [e for e in self.soc.accepted() if e.type == event_type]


@pytest.fixture
async def receivers(appliance):
    made = []

    async def make(secret=None, port=None):
        r = await Receiver(secret, appliance.clock, port).start()
        made.append(r)
        return r

    yield make
    for r in made:
        await r.close()


async def signed_in(appliance, who):
    s = appliance.session()
    await s.sign_in_cloud(*who)
    return s


async def test_admin_manages_integrations_and_every_stream_event_reaches_the_soc_signed(
    appliance, demo_lab, demo_fleet, receivers, undock_online, poll, lab
):
    # the receivers listen on 127.0.0.1: the lab allows its own network explicitly (docs/security.md)
    await lab.put("/api/lab/settings", {"soc_private_targets": True})
    org = demo_lab.org_id
    base = f"/api/cloud/orgs/{org}/soc-integrations"
    async with await signed_in(appliance, ADMIN) as admin, await signed_in(appliance, OPERATOR) as operator:
        # S14: Settings are the admin's; an operator may neither list nor add integrations
        for call in (operator.get(base), operator.post(base, {"url": "http://127.0.0.1:9/x"})):
            with pytest.raises(ApiError) as refused:
                await call
            assert refused.value.status == 403
        # bad input names the field
        for body, field in (
            ({"url": "ftp://127.0.0.1/x"}, "url"),
            ({"url": "http://127.0.0.1/x", "secret": "whsec_abc"}, "secret"),
            ({"url": "http://127.0.0.1/x", "events": ["stream.paused"]}, "events[0]"),
        ):
            with pytest.raises(ApiError) as bad:
                await admin.post(base, body)
            assert bad.value.status == 400 and field in bad.value.message

        # S12: + New SOC integration, Sign messages: the generated secret is shown once
        signed_soc = await receivers()
        created = await admin.post(
            base,
            {
                "url": signed_soc.url,
                "name": "SOC desk",
                "sign_messages": True,
                "events": ["stream.ended", "stream.acknowledged"],
            },
        )
        secret = created["secret"]
        assert secret.startswith("whsec_") and created["signed"] is True
        signed_soc.soc.secret = secret
        assert created["events"] == ["stream.started", "stream.acknowledged", "stream.ended"]
        # a second integration of the same organization, unsigned, with the default event only
        plain_soc = await receivers()
        plain = await admin.post(base, {"url": plain_soc.url})
        assert "secret" not in plain and plain["events"] == ["stream.started"]
        listed = (await admin.get(base))["integrations"]
        assert [i["id"] for i in listed] == [created["id"], plain["id"]]
        assert all("secret" not in i for i in listed) and listed[0]["signed"] is True

        # a camera user streams: start, an operator's acknowledgement, stop (D3, D6, D5)
        fleet = await demo_fleet({ANNA})
        cam = fleet.cameras[ANNA]
        await undock_online(fleet, ANNA)
        await cam.press("record")
        started = (await poll(lambda: signed_soc.of_type("stream.started"), "stream.started at the SOC", timeout=10))[0]
        stream_id = started.data["data"]["stream_id"]
        await operator.post(f"/api/cloud/orgs/{org}/streams/{stream_id}/acknowledge")
        await cam.press("record", "long")
        await poll(lambda: signed_soc.of_type("stream.ended"), "stream.ended at the SOC", timeout=10)
        await poll(lambda: signed_soc.of_type("stream.acknowledged"), "stream.acknowledged at the SOC")
        await poll(lambda: plain_soc.of_type("stream.started"), "stream.started at the unsigned SOC")

    # the appliance's signature verifies with the off-the-shelf package (and only with the secret)
    for event in signed_soc.soc.events:
        assert event.verified is True and "webhook-signature" in event.headers
        assert Webhook(secret).verify(event.body, event.headers) == event.data
    data = started.data["data"]
    assert data["user_name"] == "Anna Berg" and data["organization_id"] == org and data["region"] == "eu"
    assert set(data) == {
        "stream_id",
        "organization_id",
        "system_id",
        "user_id",
        "user_name",
        "region",
        "start",
        "end",
        "duration",
    }
    ended = signed_soc.of_type("stream.ended")[0].data["data"]
    assert ended["stream_id"] == stream_id and ended["end"] is not None and ended["duration"] > 0
    assert signed_soc.of_type("stream.acknowledged")[0].data["data"]["acknowledged_by"]
    # the unsigned integration gets the start only, without a signature, with the same event id
    assert [e.type for e in plain_soc.soc.events] == ["stream.started"]
    assert "webhook-signature" not in plain_soc.soc.events[0].headers
    assert plain_soc.soc.events[0].id == started.id
    assert len({e.id for e in signed_soc.soc.events}) == 3 and not any(e.duplicate for e in signed_soc.soc.events)

    async with await signed_in(appliance, ADMIN) as admin:
        log = await admin.get(f"{base}/{created['id']}/deliveries")
        assert log["outbox"] == {"pending": 0, "delivered": 3, "failed": 0}
        assert all(a["ok"] and a["status"] == 204 and a["attempt"] == 1 for a in log["attempts"])
        # rotate the secret (shown once more), then stop signing, then delete
        rotated = await admin.put(f"{base}/{created['id']}", {"rotate_secret": True})
        assert rotated["secret"].startswith("whsec_") and rotated["secret"] != secret
        assert "secret" not in await admin.get(f"{base}/{created['id']}")
        unsigned = await admin.put(f"{base}/{created['id']}", {"sign_messages": False, "name": "SOC desk 2"})
        assert unsigned["signed"] is False and unsigned["name"] == "SOC desk 2"
        await admin.delete(f"{base}/{created['id']}")
        with pytest.raises(ApiError) as gone:
            await admin.get(f"{base}/{created['id']}")
        assert gone.value.status == 404


async def _due_rows_attempted(admin, path, clock):
    """True once the worker has tried every row that is due at this lab time."""
    log = await admin.get(path)
    now = clock.now()
    return all(e["state"] != "pending" or e["next_attempt_at"] > now for e in log["events"]) and log


async def test_deliveries_survive_a_soc_outage_and_an_appliance_restart_exactly_once(tmp_path, poll):
    """The SOC is down for five minutes of lab time, the appliance restarts meanwhile; once the
    SOC is back every event arrives exactly once, signed, and the log shows the failed tries."""
    data_dir = tmp_path / "data"
    handle, stop, task = await start_appliance(data_dir)
    clock = handle.clock
    fleet = receiver = None
    try:
        scenario, _ = load_scenario(None)
        info = await apply_scenario(scenario, handle.url, handle.ca_pem, handle.lab_token)
        async with handle.lab() as lab:  # a receiver on 127.0.0.1: allowed explicitly, kept across the restart
            await lab.put("/api/lab/settings", {"soc_private_targets": True})
        soc_port = free_port()  # nothing listens here yet: the SOC is down
        async with handle.session() as admin:
            await admin.sign_in_cloud(*ADMIN)
            base = f"/api/cloud/orgs/{info.org_id}/soc-integrations"
            integration = await admin.post(
                base, {"url": f"http://127.0.0.1:{soc_port}/hook", "sign_messages": True, "events": ["stream.ended"]}
            )
            log_path = f"{base}/{integration['id']}/deliveries"

            fleet = Fleet(url=handle.url, ca_pem=handle.ca_pem, lab_token=handle.lab_token, clock=clock)
            await fleet.start(scenario, only={ANNA})
            cam = fleet.cameras[ANNA]
            await fleet.undock(ANNA)
            await cam.press("record")
            await poll(lambda: _has_events(admin, log_path, 1), "stream.started in the outbox", timeout=10)
            await cam.press("record", "long")
            log = await poll(lambda: _has_events(admin, log_path, 2), "stream.ended in the outbox", timeout=10)
            assert {e["event_type"] for e in log["events"]} == {"stream.started", "stream.ended"}
            await fleet.close()
            fleet = None

            # five minutes of lab time with the SOC down: the worker keeps trying, with backoff
            async with handle.lab() as lab:
                for _ in range(5):
                    await lab.post("/api/lab/time/travel", {"seconds": 60})
                    await poll(lambda: _due_rows_attempted(admin, log_path, clock), "the due retries")
            log = await admin.get(log_path)
            assert log["outbox"] == {"pending": 2, "delivered": 0, "failed": 0}
            failures = [a for a in log["attempts"] if not a["ok"]]
            assert len(failures) >= 8 and all(a["status"] is None and a["error"] for a in failures)
            assert max(a["attempt"] for a in failures) >= 4

        # the appliance restarts on the same data directory while the SOC is still down
        stop.set()
        await asyncio.wait_for(task, 20)
        handle, stop, task = await start_appliance(data_dir, clock=clock)
        async with handle.session() as admin:
            await admin.sign_in_cloud(*ADMIN)
            log = await admin.get(log_path)
            assert log["outbox"]["pending"] == 2  # picked up again after the restart

            # the SOC comes back; the next retry (at most an hour of backoff later) delivers
            receiver = await Receiver(integration["secret"], clock, soc_port).start()
            async with handle.lab() as lab:
                await lab.post("/api/lab/time/travel", {"seconds": 3600})
            await poll(lambda: len(receiver.soc.accepted()) >= 2, "both events at the SOC", timeout=10)
            log = await poll(lambda: _all_delivered(admin, log_path), "the outbox marked delivered")

        ids = [e.id for e in receiver.soc.accepted()]
        assert sorted(ids) == sorted({e["event_id"] for e in log["events"]}) and len(ids) == len(set(ids)) == 2
        assert all(e.verified and not e.duplicate for e in receiver.soc.events)  # signatures checked on lab time
        successes = [a for a in log["attempts"] if a["ok"]]
        assert sorted(a["event_id"] for a in successes) == sorted(ids)  # exactly one success per event id
        for event_id in ids:
            tries = sorted((a for a in log["attempts"] if a["event_id"] == event_id), key=lambda a: a["attempt"])
            assert [a["ok"] for a in tries] == [False] * (len(tries) - 1) + [True]
            assert [a["attempt"] for a in tries] == list(range(1, len(tries) + 1))
    finally:
        if fleet is not None:
            await fleet.close()
        if receiver is not None:
            await receiver.close()
        stop.set()
        await asyncio.wait_for(task, 20)


async def _has_events(admin, path, n):
    log = await admin.get(path)
    return len(log["events"]) >= n and log


async def _all_delivered(admin, path):
    log = await admin.get(path)
    return log["outbox"]["delivered"] == 2 and log["outbox"]["pending"] == 0 and log
