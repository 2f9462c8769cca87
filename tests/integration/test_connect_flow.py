"""S3, step by step through the Manager API as a Manager admin, against the real cloud on
loopback: the order of the steps, cloud extensions that fail because of the system's network
settings, the licence agreement, the authorization code, and the 30-day trial licence."""

# covers: S2, S3, S13, S15, T2

from __future__ import annotations

import socket

import pytest

from bwlab.client import ApiError

DAY = 86400


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released without listening)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def expect_error(coro, status: int, code: str) -> ApiError:
    with pytest.raises(ApiError) as info:
        await coro
    assert (info.value.status, info.value.code) == (status, code), info.value
    return info.value


async def state(mgr, api) -> str:
    return (await mgr.get(api))["connection"]["state"]


async def test_s3_connection_flow_end_to_end(appliance, new_system, cloud_account, travel):
    owner = await cloud_account("owner@s3.test", "owner-pass-1")
    org = await owner.post("/api/cloud/orgs", {"name": "S3 Org"})
    system_id, mgr = await new_system("Station S3")
    api = f"/controller/{system_id}/api"
    assert await state(mgr, api) == "not_installed"

    # Every step before its turn: 409 wrong_step, and nothing moves.
    early = [
        mgr.put(api + "/addon/cloud-extensions", {"enabled": True}),
        mgr.put(api + "/addon/eula", {"accepted": True}),
        mgr.post(api + "/addon/sign-in", {"email": "owner@s3.test", "password": "owner-pass-1"}),
        mgr.get(api + "/addon/organizations"),
        mgr.post(api + "/addon/organization", {"id": org["id"]}),
        mgr.post(api + "/addon/storage", {"region": "eu"}),
        mgr.get(api + "/addon/authorization-code"),
        mgr.post(api + "/addon/finish", {"authorization_code": "0000-0000-0000-0000"}),
    ]
    for call in early:
        err = await expect_error(call, 409, "wrong_step")
        assert "not_installed" in err.message
    assert await state(mgr, api) == "not_installed"

    installed = await mgr.post(api + "/addon/install", {"hosting": "axis-hosted"})
    assert installed["state"] == "installed"
    await expect_error(mgr.put(api + "/addon/eula", {"accepted": True}), 409, "wrong_step")

    # Cloud extensions through an unreachable proxy: the message names the network settings.
    overview = await mgr.get(api)
    bad_proxy = f"http://127.0.0.1:{closed_port()}"
    await mgr.put(
        api + "/settings", {**overview["settings"], "network": {**overview["settings"]["network"], "proxy": bad_proxy}}
    )
    err = await expect_error(mgr.put(api + "/addon/cloud-extensions", {"enabled": True}), 409, "cloud_unreachable")
    assert "network settings" in err.message and "proxy" in err.message, err.message
    assert await state(mgr, api) == "installed"
    # Fix the network settings: now it works.
    await mgr.put(
        api + "/settings", {**overview["settings"], "network": {**overview["settings"]["network"], "proxy": None}}
    )
    assert (await mgr.put(api + "/addon/cloud-extensions", {"enabled": True}))["state"] == "extensions_enabled"

    # Declining the licence agreement stops the flow there.
    await expect_error(mgr.put(api + "/addon/eula", {"accepted": False}), 409, "eula_declined")
    assert await state(mgr, api) == "extensions_enabled"
    await expect_error(
        mgr.post(api + "/addon/sign-in", {"email": "owner@s3.test", "password": "owner-pass-1"}), 409, "wrong_step"
    )
    assert (await mgr.put(api + "/addon/eula", {"accepted": True}))["state"] == "eula_accepted"

    # Sign in to the cloud: a wrong password is the cloud's refusal, and the step does not move.
    err = await expect_error(
        mgr.post(api + "/addon/sign-in", {"email": "owner@s3.test", "password": "nope-nope"}), 401, "bad_credentials"
    )
    assert "cloud" in err.message
    assert await state(mgr, api) == "eula_accepted"
    signed = await mgr.post(api + "/addon/sign-in", {"email": "owner@s3.test", "password": "owner-pass-1"})
    assert signed["state"] == "signed_in" and signed["account_email"] == "owner@s3.test"
    assert [o["id"] for o in signed["organizations"]] == [org["id"]]
    assert "cloud_token" not in signed and "cloud_token" not in (await mgr.get(api))["connection"]

    # Pick the organization (exactly one of id / create), an organization the account does not admin is refused.
    await expect_error(mgr.post(api + "/addon/organization", {}), 400, "invalid_input")
    await expect_error(mgr.post(api + "/addon/organization", {"id": "org_0000000000000000"}), 409, "not_org_admin")
    await expect_error(mgr.post(api + "/addon/storage", {"region": "eu"}), 409, "wrong_step")
    chosen = await mgr.post(api + "/addon/organization", {"id": org["id"]})
    assert chosen["state"] == "organization_chosen" and chosen["org_name"] == "S3 Org"

    # Storage region, then the authorization code to copy.
    await expect_error(mgr.post(api + "/addon/storage", {"region": "atlantis"}), 400, "invalid_input")
    assert (await mgr.post(api + "/addon/storage", {"region": "germany"}))["state"] == "storage_chosen"
    code = (await mgr.get(api + "/addon/authorization-code"))["authorization_code"]
    assert code and "authorization_code" not in (await mgr.get(api))["connection"]

    # A wrong authorization code: 409, still not connected, the cloud has no system.
    await expect_error(
        mgr.post(api + "/addon/finish", {"authorization_code": "WRONG-CODE"}), 409, "bad_authorization_code"
    )
    assert await state(mgr, api) == "storage_chosen"
    assert (await owner.get(f"/api/cloud/orgs/{org['id']}/systems"))["systems"] == []
    no_licence = await owner.get(f"/api/cloud/orgs/{org['id']}/licence")
    assert (no_licence["valid"], no_licence["licences"], no_licence["needed"]) == (False, [], 0)

    # Finish (the code as pasted: lower case and spaces are forgiven).
    done = await mgr.post(api + "/addon/finish", {"authorization_code": f"  {code.lower()} "})
    assert done["state"] == "connected" and done["region"] == "germany" and done["cloud_system_id"]
    assert not {"system_token", "cloud_token", "authorization_code"} & set(done)
    overview = await mgr.get(api)
    assert overview["connection"]["state"] == "connected"
    for call in (
        mgr.post(api + "/addon/install", {}),
        mgr.put(api + "/addon/eula", {"accepted": True}),
        mgr.post(api + "/addon/finish", {"authorization_code": code}),
    ):
        await expect_error(call, 409, "already_connected")

    # The cloud lists the system for the organization, with the system's device CA.
    systems = (await owner.get(f"/api/cloud/orgs/{org['id']}/systems"))["systems"]
    assert [(s["id"], s["name"], s["region"]) for s in systems] == [(done["cloud_system_id"], "Station S3", "germany")]
    assert systems[0]["device_ca_fingerprint"] == overview["device_ca_fingerprint"]
    assert (await owner.get(f"/api/cloud/orgs/{org['id']}"))["storage_region"] == "germany"
    async with appliance.lab() as lab:
        status = await lab.get("/api/lab/status")
    mine = next(s for s in status["systems"] if s["id"] == system_id)
    assert mine["connected"] and mine["organization"] == "S3 Org"

    # The 30-day trial licence started with the connection.
    licence = await owner.get(f"/api/cloud/orgs/{org['id']}/licence")
    assert licence["valid"] is True
    (trial,) = licence["licences"]
    assert trial["kind"] == "trial"
    assert trial["ends_at"] - trial["starts_at"] == 30 * DAY
    assert abs(trial["starts_at"] - done["connected_at"]) < 5

    await travel(29 * DAY)
    await owner.sign_in_cloud("owner@s3.test", "owner-pass-1")  # the old session died unused (D2)
    assert (await owner.get(f"/api/cloud/orgs/{org['id']}/licence"))["valid"] is True
    await travel(2 * DAY)  # 31 days after connecting
    expired = await owner.get(f"/api/cloud/orgs/{org['id']}/licence")
    assert expired["valid"] is False and expired["licences"] == [trial]


async def test_creating_the_organization_in_the_manager_makes_the_account_owner_and_admin(
    appliance, new_system, cloud_account
):
    """S2, S3 step 7: the organization can be created from the Manager; a second system of
    the same organization does not start a second trial."""
    owner = await cloud_account("founder@s3.test", "founder-pass")
    orgs = []
    for name in ("First station", "Second station"):
        system_id, mgr = await new_system(name)
        api = f"/controller/{system_id}/api"
        await mgr.post(api + "/addon/install", {"hosting": "axis-hosted"})
        await mgr.put(api + "/addon/cloud-extensions", {"enabled": True})
        await mgr.put(api + "/addon/eula", {"accepted": True})
        await mgr.post(api + "/addon/sign-in", {"email": "founder@s3.test", "password": "founder-pass"})
        if not orgs:
            chosen = await mgr.post(api + "/addon/organization", {"create": "Made in the Manager"})
            orgs.append(chosen["org_id"])
        else:
            listed = (await mgr.get(api + "/addon/organizations"))["organizations"]
            assert [o["id"] for o in listed] == orgs
            await mgr.post(api + "/addon/organization", {"id": orgs[0]})
        await mgr.post(api + "/addon/storage", {"region": "eu"})
        code = (await mgr.get(api + "/addon/authorization-code"))["authorization_code"]
        await mgr.post(api + "/addon/finish", {"authorization_code": code})
    me = await owner.get("/api/cloud/me")
    assert [(o["id"], o["role"], o["owner"]) for o in me["organizations"]] == [(orgs[0], "admin", True)]
    systems = (await owner.get(f"/api/cloud/orgs/{orgs[0]}/systems"))["systems"]
    assert sorted(s["name"] for s in systems) == ["First station", "Second station"]
    assert len((await owner.get(f"/api/cloud/orgs/{orgs[0]}/licence"))["licences"]) == 1
