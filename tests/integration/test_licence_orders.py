"""S15: licence orders and renewals by organization admins — over the API, the Manager's overview
and ``bwlab licence`` — with the manual's counting rule unchanged. (That a purchase lets a camera
that did not react stream again, T2 row 2b, is in test_stream_rules.py.)"""

# covers: S15, S3, S14, T2

from __future__ import annotations

import json

import pytest

from bwlab.client import ApiError
from tests.conftest import poll_until, run_bwlab

DAY = 86400


async def _bwlab(appliance, *args: str, password: str) -> tuple[int, str, str]:
    """As a user signs in (no lab token): the password in the environment."""
    return await run_bwlab(
        *args, "--data-dir", str(appliance.data_dir), "--url", appliance.url, env={"BWLAB_PASSWORD": password}
    )


@pytest.fixture
async def admin(appliance, demo_lab):
    async with appliance.session() as s:
        await s.sign_in_cloud("admin@demo.bwlab.test", "demo-admin-pass")
        yield s


async def test_admins_order_and_renew_licences_after_the_trial(appliance, demo_lab, admin, travel):
    org = f"/api/cloud/orgs/{demo_lab.org_id}"
    system = demo_lab.systems[0]
    licence = await admin.get(org + "/licence")
    assert (licence["state"], licence["valid"], licence["quantity"]) == ("trial", True, 0)
    async with appliance.session() as manager:
        await manager.sign_in_manager(system.id, system.admin_password)
        seen = await manager.get(f"/controller/{system.id}/api/addon/licence")
        assert seen["state"] == "trial" and seen["trial"]["ends_at"] == licence["covered_until"]

        async def sent() -> bool:  # cameras count from the moment the controller's list reaches the cloud
            sync = (await manager.get(f"/controller/{system.id}/api"))["cloud_sync"]
            return sync["synced_at"] is not None and not sync["pending"]

        await poll_until(sent, "the controller sends its camera users to the cloud", timeout=15)

        await travel(31 * DAY)  # sessions end after 7 idle days (D2): sign in again
        await admin.sign_in_cloud("admin@demo.bwlab.test", "demo-admin-pass")
        await manager.sign_in_manager(system.id, system.admin_password)
        expired = await admin.get(org + "/licence")
        assert (expired["state"], expired["valid"], expired["covered_until"]) == ("expired", False, None)
        assert expired["ended_at"] == licence["covered_until"]
        assert (await manager.get(f"/controller/{system.id}/api/addon/licence"))["state"] == "expired"

        # An operator may read the licence but not buy; bad orders change nothing.
        async with appliance.session() as operator:
            await operator.sign_in_cloud("operator@demo.bwlab.test", "demo-operator-pass")
            with pytest.raises(ApiError) as refused:
                await operator.post(org + "/licences", {"quantity": 2, "term_months": 12})
            assert refused.value.status == 403
        for bad, where in (
            ({"quantity": 0, "term_months": 12}, "quantity"),
            ({"quantity": 2, "term_months": 5}, "term_months"),
            ({"quantity": "2"}, "quantity"),
            ({"quantity": 2, "term": 12}, "term"),
        ):
            with pytest.raises(ApiError) as err:
                await admin.post(org + "/licences", bad)
            assert err.value.status == 400 and where in err.value.message, bad
        assert len((await admin.get(org + "/licence"))["licences"]) == 1

        now = (await admin.get("/api/cloud/ping"))["time"]
        needed = expired["needed"]
        assert needed == 5  # the demo's five cameras of streaming camera users, every day of the week
        order = await admin.post(org + "/licences", {"quantity": 4, "term_months": 12})
        assert (order["state"], order["valid"], order["quantity"]) == ("purchased", True, 4)
        bought = order["licence"]
        assert bought["starts_at"] == pytest.approx(now, abs=5) and bought["ends_at"] > now + 364 * DAY
        assert (await manager.get(f"/controller/{system.id}/api/addon/licence"))["state"] == "purchased"

        # A renewal continues the subscription from its end, with its quantity unless told.
        renewal = await admin.post(f"{org}/licences/{bought['id']}/renewal", {"term_months": 24, "quantity": 6})
        assert renewal["licence"]["starts_at"] == bought["ends_at"] and renewal["licence"]["renews"] == bought["id"]
        assert renewal["quantity"] == 4 and renewal["covered_until"] == renewal["licence"]["ends_at"]
        with pytest.raises(ApiError) as trial:
            await admin.post(f"{org}/licences/{licence['licences'][0]['id']}/renewal", {"term_months": 12})
        assert trial.value.status == 409 and trial.value.code == "trial_not_renewable"

        # The counting rule is the manual's, whatever was bought; holding fewer has no effect.
        after = await admin.get(org + "/licence")
        assert after["needed"] == needed and after["window_days"] == 7
        assert after["valid"] and after["quantity"] == 4 < after["needed"]
        await travel(366 * DAY)
        await admin.sign_in_cloud("admin@demo.bwlab.test", "demo-admin-pass")
        later = await admin.get(org + "/licence")
        assert (later["state"], later["quantity"]) == ("purchased", 6)


async def test_bwlab_licence_shows_orders_and_renews(appliance, demo_lab, travel):
    await travel(31 * DAY)
    rc, out, err = await _bwlab(
        appliance, "licence", "show", "--email", "admin@demo.bwlab.test", password="demo-admin-pass"
    )
    assert rc == 0, err
    assert "EXPIRED" in out and "0 licences held" in out
    rc, out, err = await _bwlab(
        appliance,
        "licence",
        "order",
        "3",
        "--term",
        "1",
        "--email",
        "admin@demo.bwlab.test",
        password="demo-admin-pass",
    )
    assert rc == 0, err
    assert "purchased until" in out and "3 licences held" in out and "3 × 1 months" in out
    rc, out, err = await _bwlab(
        appliance,
        "licence",
        "renew",
        "--term",
        "12",
        "--json",
        "--email",
        "admin@demo.bwlab.test",
        password="demo-admin-pass",
    )
    assert rc == 0, err
    result = json.loads(out)
    subs = [lic for lic in result["licences"] if lic["kind"] == "subscription"]
    assert len(subs) == 2 and subs[1]["starts_at"] == subs[0]["ends_at"] and subs[1]["quantity"] == 3
    rc, out, err = await _bwlab(
        appliance, "licence", "order", "3", "--email", "operator@demo.bwlab.test", password="demo-operator-pass"
    )
    assert rc == 2 and "admin" in err
    rc, _, err = await _bwlab(
        appliance, "licence", "order", "many", "--email", "admin@demo.bwlab.test", password="demo-admin-pass"
    )
    assert rc == 2 and "QUANTITY" in err
