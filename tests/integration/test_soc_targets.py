"""Issue 10, item 4: a SOC integration is no port scanner. https:// to public addresses only,
unless the lab setting ``soc_private_targets`` allows the lab network; refused URLs are a 400
naming ``url`` and change nothing; and the rule holds again at delivery, after DNS resolution,
with the delivery log saying only ``refused: private address``.

covers: S12, S14
"""

from __future__ import annotations

import pytest

from bwlab.client import ApiError
from tests.integration.test_soc_notifications import ADMIN, ANNA, Receiver, signed_in

REFUSED_URLS = [
    "http://127.0.0.1:9/hook",  # plain http
    "https://127.0.0.1:9/hook",
    "https://localhost:9/hook",  # loopback, by address and by name
    "https://10.1.2.3/hook",
    "https://192.168.0.10/hook",
    "https://172.16.0.1/hook",  # private
    "https://169.254.169.254/latest/meta-data",
    "https://[fe80::1]/hook",  # link-local
    "https://[::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",  # IPv6 loopback, IPv4-mapped
    "https://0.0.0.0/hook",
    "https://224.0.0.1/hook",
    "https://100.64.0.1/hook",  # unspecified, multicast, CGNAT
]


async def test_private_and_plain_http_targets_are_refused_unless_the_lab_allows_them(appliance, demo_lab, lab):
    base = f"/api/cloud/orgs/{demo_lab.org_id}/soc-integrations"
    assert (await lab.get("/api/lab/settings")) == {"soc_private_targets": False}
    async with await signed_in(appliance, ADMIN) as admin:
        for url in REFUSED_URLS:
            with pytest.raises(ApiError) as refused:
                await admin.post(base, {"url": url, "name": "scan"})
            assert refused.value.status == 400 and refused.value.message.startswith("url:"), url
        assert (await admin.get(base))["integrations"] == []  # nothing was created

        # the lab allows its own network: the same URLs are accepted, http:// too
        assert (await lab.put("/api/lab/settings", {"soc_private_targets": True})) == {"soc_private_targets": True}
        created = await admin.post(base, {"url": "http://127.0.0.1:9/hook"})
        # switched off again: an edit to a private URL is refused and the integration unchanged
        await lab.put("/api/lab/settings", {"soc_private_targets": False})
        with pytest.raises(ApiError) as refused:
            await admin.put(f"{base}/{created['id']}", {"url": "https://10.0.0.1/other"})
        assert refused.value.status == 400 and refused.value.message.startswith("url:")
        assert (await admin.get(f"{base}/{created['id']}"))["url"] == "http://127.0.0.1:9/hook"


async def test_delivery_checks_the_address_again_and_tells_nothing_of_what_is_there(
    appliance, demo_lab, demo_fleet, lab, undock_online, poll, travel
):
    """An integration entered while the lab allowed its network points at a host name that
    resolves to 127.0.0.1, where a receiver listens. With the setting off, the delivery resolves
    the name, refuses the address without connecting, and logs only ``refused: private address``;
    a plain http:// URL is not tried. Allowed again, the same events arrive."""
    base = f"/api/cloud/orgs/{demo_lab.org_id}/soc-integrations"
    receiver = await Receiver(None, appliance.clock).start()
    try:
        await lab.put("/api/lab/settings", {"soc_private_targets": True})
        async with await signed_in(appliance, ADMIN) as admin:
            by_name = await admin.post(base, {"url": f"https://localhost:{receiver.port}/soc/events"})
            plain = await admin.post(base, {"url": receiver.url})
            await lab.put("/api/lab/settings", {"soc_private_targets": False})

            fleet = await demo_fleet({ANNA})
            await undock_online(fleet, ANNA)
            await fleet.cameras[ANNA].press("record")

            async def first_attempt(integration):
                log = await admin.get(f"{base}/{integration['id']}/deliveries")
                return log["attempts"] and log

            for integration, error in ((by_name, "refused: private address"), (plain, "refused: https only")):
                log = await poll(
                    lambda integration=integration: first_attempt(integration),
                    f"an attempt for {integration['url']}",
                    timeout=10,
                )
                attempt = log["attempts"][0]
                assert (attempt["ok"], attempt["status"], attempt["error"]) == (False, None, error)
                assert log["outbox"]["pending"] == 1  # kept, retried with backoff
            assert receiver.soc.events == []  # nothing reached the receiver listening there

            # the trainer allows the lab network again: the next tries deliver
            await lab.put("/api/lab/settings", {"soc_private_targets": True})
            await travel(60)
            await poll(lambda: len(receiver.soc.accepted()) >= 1, "stream.started at the receiver", timeout=10)
            log = await poll(lambda: _delivered(admin, f"{base}/{plain['id']}/deliveries"), "the plain one delivered")
            assert [a["ok"] for a in sorted(log["attempts"], key=lambda a: a["attempt"])][-1] is True
            await fleet.cameras[ANNA].press("record", "long")
    finally:
        await receiver.close()


async def _delivered(admin, path):
    log = await admin.get(path)
    return log["outbox"]["delivered"] >= 1 and log
