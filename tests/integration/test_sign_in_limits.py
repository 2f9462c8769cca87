"""Issue 10, item 5: sign-in throttling per account and per address with 429 + Retry-After on the
lab clock (cloud, Manager, lab), the same Argon2 work for unknown and known accounts, a sign-up
that does not tell whether an e-mail address has an account, and the password policy.

covers: S2, D2, S14
"""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from appliance import auth
from appliance.throttle import ThrottlePolicy
from bwlab.client import ApiError

POLICY = ThrottlePolicy()


async def _post(session, path, body):
    """(status, headers, JSON body) of a POST, without raising on errors."""
    async with session.http.post(session.base_url + path, json=body, ssl=session.ssl, headers=session.headers()) as r:
        return r.status, r.headers, await r.json(content_type=None)


async def test_an_account_is_locked_after_five_failures_until_the_lab_clock_moves_on(appliance, cloud_account, travel):
    await cloud_account("victim@limits.test", "victim-pass-1")
    async with appliance.session() as s:
        for _ in range(POLICY.per_account):
            status, _, body = await _post(
                s, "/api/cloud/sessions", {"email": "victim@limits.test", "password": "guess-guess-1"}
            )
            assert status == 401 and body["error"]["code"] == "bad_credentials"
        # locked: even the right password is not looked at, and the answer says when to come back
        status, headers, body = await _post(
            s, "/api/cloud/sessions", {"email": "Victim@limits.test", "password": "victim-pass-1"}
        )
        assert status == 429 and body["error"]["code"] == "too_many_attempts"
        retry = int(headers["Retry-After"])
        assert 0 < retry <= POLICY.window and body["error"]["details"]["retry_after"] == retry
        # other accounts from this address are not locked by one account's failures
        await cloud_account("bystander@limits.test", "bystander-pass-1")
        # the lock is on the lab clock: once the window has passed, the right password works again
        await travel(retry + 1)
        status, _, body = await _post(
            s, "/api/cloud/sessions", {"email": "victim@limits.test", "password": "victim-pass-1"}
        )
        assert status == 201 and body["token"].startswith("bws_")


async def test_an_address_spraying_many_accounts_is_locked_for_every_account(appliance, cloud_account):
    await cloud_account("real@limits.test", "real-pass-1234")
    async with appliance.session() as s:
        for i in range(POLICY.per_address):  # never five on one account: only the address adds up
            status, _, _ = await _post(
                s, "/api/cloud/sessions", {"email": f"nobody{i}@limits.test", "password": "spray-pass-1"}
            )
            assert status == 401
        status, headers, body = await _post(
            s, "/api/cloud/sessions", {"email": "real@limits.test", "password": "real-pass-1234"}
        )
        assert status == 429 and int(headers["Retry-After"]) > 0
        # the address's failures also count for the Manager's and the lab's sign-ins
        status, _, _ = await _post(s, "/api/lab/login", {"token": appliance.lab_token})
        assert status == 429


async def test_the_manager_and_the_lab_sign_ins_are_throttled_too(appliance, new_system):
    system_id, _ = await new_system("Throttled station", "throttled-manager-pass")
    async with appliance.session() as s:
        for _ in range(POLICY.per_account):
            status, _, _ = await _post(s, f"/controller/{system_id}/api/login", {"password": "guess-guess-1"})
            assert status == 401
        status, headers, _ = await _post(
            s, f"/controller/{system_id}/api/login", {"password": "throttled-manager-pass"}
        )
        assert status == 429 and int(headers["Retry-After"]) > 0
        # the lab's sign-in is per address: the wrong tokens add up to the address's limit
        for _ in range(POLICY.per_address - POLICY.per_account):
            status, _, _ = await _post(s, "/api/lab/login", {"token": "bwlab_wrong"})
            assert status == 401
        status, headers, _ = await _post(s, "/api/lab/login", {"token": appliance.lab_token})
        assert status == 429 and int(headers["Retry-After"]) > 0


class CountingHasher(PasswordHasher):
    def __init__(self):
        super().__init__(time_cost=2, memory_cost=19 * 1024, parallelism=1)
        self.verified = 0
        self.hashed = 0

    def verify(self, hash, password):
        self.verified += 1
        return super().verify(hash, password)

    def hash(self, password, *, salt=None):
        self.hashed += 1
        return super().hash(password, salt=salt)


async def test_unknown_and_known_accounts_cost_the_same_argon2_work(appliance, cloud_account, monkeypatch):
    await cloud_account("known@limits.test", "known-pass-1234")
    hasher = CountingHasher()
    monkeypatch.setattr(auth, "_hasher", hasher)
    async with appliance.session() as s:
        status, _, known = await _post(
            s, "/api/cloud/sessions", {"email": "known@limits.test", "password": "wrong-pass-1234"}
        )
        assert (status, hasher.verified) == (401, 1)
        status, _, unknown = await _post(
            s, "/api/cloud/sessions", {"email": "unknown@limits.test", "password": "wrong-pass-1234"}
        )
        assert (status, hasher.verified) == (401, 2)  # one Argon2 verification each, against a dummy hash
        assert known == unknown


async def test_sign_up_does_not_tell_whether_an_address_has_an_account(appliance, monkeypatch):
    hasher = CountingHasher()
    monkeypatch.setattr(auth, "_hasher", hasher)
    async with appliance.session() as s:
        first = await _post(
            s, "/api/cloud/accounts", {"email": "taken@limits.test", "name": "First", "password": "first-owner-pass"}
        )
        again = await _post(
            s, "/api/cloud/accounts", {"email": "Taken@limits.test", "name": "Intruder", "password": "intruder-pass-1"}
        )
        assert first[0] == again[0] == 202 and first[2] == again[2]  # same status, same body
        assert hasher.hashed == 2  # the same Argon2 work for a taken address
        # the existing account is untouched: its owner's password works, the second one does not
        await s.sign_in_cloud("taken@limits.test", "first-owner-pass")
        assert (await s.get("/api/cloud/me"))["name"] == "First"
        with pytest.raises(ApiError) as refused:
            await s.sign_in_cloud("taken@limits.test", "intruder-pass-1")
        assert refused.value.status == 401


@pytest.mark.parametrize(
    ("password", "refused_by"),
    [
        ("12345678", {"account", "manager"}),
        (" " * 8, {"account", "manager"}),
        ("password1", {"account", "manager"}),
        ("qwertyuiop", {"account", "manager"}),
        ("short", {"account", "manager"}),
        ("policy@limits.test", {"account"}),  # the account's own e-mail address
        ("Policy station", {"manager"}),  # the system's own name
    ],
)
async def test_common_and_short_passwords_are_refused(appliance, lab, password, refused_by):
    async with appliance.session() as s:
        account = _post(
            s, "/api/cloud/accounts", {"email": "policy@limits.test", "name": "Policy", "password": password}
        )
        status, _, body = await account
        assert (status == 400 and body["error"]["message"].startswith("password:")) == ("account" in refused_by)
        status, _, body = await _post(
            lab, "/controller/systems", {"name": "Policy station", "admin_password": password}
        )
        assert (status == 400 and body["error"]["message"].startswith("admin_password:")) == ("manager" in refused_by)
        if refused_by == {"account", "manager"}:  # nothing was created
            with pytest.raises(ApiError):
                await s.sign_in_cloud("policy@limits.test", password)
            assert "Policy station" not in {x["name"] for x in (await s.get("/controller/systems"))["systems"]}
