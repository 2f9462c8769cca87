"""The lab destination's pure cores: tempauth-like tokens on an injected clock, and the fault
holder (issue 13)."""

# covers: issue-13 (access token expiry, destination faults), L2

from __future__ import annotations

import pytest

from bwlab.clock import ManualClock
from bwlab.content_destination.auth import TokenAuthority
from bwlab.content_destination.faults import Faults
from bwlab.content_destination.store import BadRequest, check_metadata, disk_name


def test_tokens_are_good_for_their_lifetime_only():
    clock = ManualClock()
    auth = TokenAuthority("bwc", "secret", clock, lifetime=60)
    assert auth.account == "AUTH_bwc"
    assert auth.login("bwc", "wrong") is None and auth.login("other", "secret") is None
    assert auth.login(None, "secret") is None
    grant = auth.login("bwc", "secret")
    assert grant.expires == clock.t + 60 and auth.check(grant.token) == grant
    other = auth.login("bwc", "secret")
    assert other.token != grant.token
    clock.advance(59.9)
    assert auth.check(grant.token) == grant
    clock.advance(0.1)
    assert auth.check(grant.token) is None and auth.check(other.token) is None
    assert auth.check(None) is None and auth.check("AUTH_tk-unknown") is None
    fresh = auth.login("bwc", "secret")
    auth.revoke_all()
    assert auth.check(fresh.token) is None


def test_a_status_fault_counts_down_and_bad_faults_change_nothing():
    faults = Faults()
    assert faults.next_status() is None
    assert faults.update({"status": 503, "count": 2}) == (False, False)
    assert [faults.next_status() for _ in range(3)] == [503, 503, None]
    faults.update({"status": 507})  # count defaults to one request
    assert [faults.next_status() for _ in range(2)] == [507, None]
    faults.update({"delay": 0.5, "corrupt_capabilities_etag": True})
    for bad in ({"status": 200}, {"status": True}, {"count": -1}, {"delay": 61}, {"full": "yes"}, {"x": 1}, []):
        with pytest.raises(BadRequest):
            faults.update(bad)
    assert faults.as_json() == {"status": None, "count": 0, "delay": 0.5, "corrupt_capabilities_etag": True}
    assert faults.update({"revoke_tokens": True, "full": True}) == (True, True)
    faults.clear()
    assert faults.as_json() == {"status": None, "count": 0, "delay": 0.0, "corrupt_capabilities_etag": False}


def test_swift_metadata_limits_and_disk_names():
    check_metadata({"K" * 128: "v" * 256})
    for bad in (
        {"K" * 129: "v"},
        {"K": "v" * 257},
        {f"K{i}": "v" for i in range(91)},
        {f"K{i:02d}": "v" * 200 for i in range(21)},
    ):
        with pytest.raises(BadRequest):
            check_metadata(bad)
    assert disk_name("a/b c~.mkv") == "a%2Fb%20c%7E.mkv"
    assert disk_name("..") == ".." and "/" not in disk_name("../x")
    long = disk_name("x" * 300)
    assert long.startswith("~") and len(long) == 65
