"""The Manager's admin actions as audit events (issue 16 item 4; appliance/controller/manager_audit.py,
bwlab/wire/audit.py): every route that changes something is recorded or named as not recorded, an
event names what changed but no value that could be a secret, and the cloud builds the entry's actor
and source itself.

covers: O4, S14, S5
"""

from __future__ import annotations

import pytest

from appliance.controller.api import routes as manager_routes
from appliance.controller.manager_audit import API_PREFIX, NOT_RECORDED, ROUTES, event_of
from appliance.controller.offload.routes import routes as offload_routes
from appliance.http import MANAGER
from bwlab.schema import SchemaError, from_mapping
from bwlab.wire import audit as wire

T0 = 1_800_000_000.0


def test_every_manager_route_that_changes_something_is_recorded_or_named_as_not() -> None:
    changing = {
        (r.method, r.path.removeprefix(API_PREFIX))
        for r in [*manager_routes, *offload_routes]
        if MANAGER in getattr(r.handler, "access", ()) and r.method not in ("GET", "HEAD")
    }
    assert changing - set(ROUTES) - NOT_RECORDED == set()
    assert ("GET", "/recordings/{recording}/files/{name}") in ROUTES  # a download hands out evidence
    every = {(r.method, r.path.removeprefix(API_PREFIX)) for r in [*manager_routes, *offload_routes]}
    assert set(ROUTES) | NOT_RECORDED <= every, "no entry for a route that does not exist"


def test_an_event_names_what_changed_and_never_a_secret() -> None:
    link = event_of(
        ("POST", "/keys/{key_id}/link"),
        {"system_id": "ctl_1", "key_id": "key_1"},
        {"link": "https://x/live/#k=SECRET", "fingerprint": "ABCD " * 16, "protected": True},
        T0,
    )
    assert link is not None and "SECRET" not in repr(link)
    assert link["details"] == {"key_id": "key_1", "fingerprint": "ABCD " * 16, "protected": True}
    assert link["setting"] == "link_with_key_made" and link["at"] == T0
    network = event_of(("PUT", "/settings/network"), {"system_id": "ctl_1"}, {"proxy": "http://user:pw@proxy"}, T0)
    assert network == {"at": T0, "action": "setting_changed", "setting": "network", "details": {}}
    user = event_of(("POST", "/camera-users"), {"system_id": "ctl_1"}, {"id": "usr_1", "name": "Zoe"}, T0)
    assert user is not None and user["action"] == "user_invited" and "setting" not in user
    assert user["camera"] == {"user_id": "usr_1", "user_name": "Zoe"}
    camera = event_of(("DELETE", "/cameras/{serial}"), {"system_id": "ctl_1", "serial": "b8a44f000101"}, {}, T0)
    assert camera is not None and camera["camera"] == {"serial": "B8A44F000101"}
    assert event_of(("POST", "/login"), {"system_id": "ctl_1"}, {}, T0) is None
    # what the middleware keeps is what the cloud accepts
    for event in (link, network, user, camera):
        from_mapping(wire.ManagerEvents, {"events": [{**event, "seq": 1}]})


def test_the_cloud_names_the_actor_and_the_source_from_the_system_not_from_the_event() -> None:
    event = from_mapping(
        wire.ManagerEvent,
        {"seq": 3, "at": T0, "action": "user_invited", "camera": {"user_id": "usr_1", "user_name": "Zoe"}},
    )
    fields = event.entry_fields("sys_1", "Main station")
    assert fields["actor"] == {"id": "manager:sys_1", "name": "Manager administrator (Main station)", "role": "manager"}
    assert fields["details"] == {"source": "manager", "system_id": "sys_1", "system_name": "Main station"}
    assert fields["camera"] == {"serial": None, "system_id": "sys_1", "user_id": "usr_1", "user_name": "Zoe"}
    entry = wire.sealed(wire.new_entry(org_id="org_1", seq=1, prev=wire.GENESIS, **fields))
    assert wire.verify([(1, entry)]).ok


@pytest.mark.parametrize(
    ("event", "path"),
    [
        ({"action": "acknowledged"}, "events[0].action"),
        ({"action": "setting_changed"}, "events[0].setting"),
        ({"details": {"source": "live"}}, "events[0].details.source"),
        ({"details": {"Bad Key": 1}}, "events[0].details.Bad Key"),
        ({"details": {f"k{i}": i for i in range(13)}}, "events[0].details"),
        ({"actor": {"name": "Alex Admin"}}, "events[0].actor"),
        ({"seq": 0}, "events[0].seq"),
    ],
)
def test_an_event_the_cloud_refuses(event: dict, path: str) -> None:
    good = {"seq": 1, "at": T0, "action": "user_invited"}
    with pytest.raises(SchemaError) as refused:
        from_mapping(wire.ManagerEvents, {"events": [{**good, **event}]})
    assert refused.value.path == path


def test_a_batch_must_be_in_order() -> None:
    one = {"seq": 2, "at": T0, "action": "user_invited"}
    with pytest.raises(SchemaError) as refused:
        from_mapping(wire.ManagerEvents, {"events": [one, {**one, "seq": 1}]})
    assert refused.value.path == "events"
