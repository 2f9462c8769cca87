"""The system controller's pure cores: the S3 connection state machine and the docking rules (D1, S8)."""

# covers: S3, D1, S8

from __future__ import annotations

import json

import pytest

from appliance.controller.connection import STEPS, Connection
from appliance.controller.docking import CameraAssignment, bay_number, check_bay_free, docking_user
from appliance.errors import Conflict, InvalidInput


def connected_flow() -> list[Connection]:
    c0 = Connection()
    c1 = c0.install("axis-hosted")
    c2 = c1.enable_extensions()
    c3 = c2.accept_eula(True, now=10.0)
    c4 = c3.sign_in("tok", "ada@example.org")
    c5 = c4.choose_organization("org_1", "Police")
    c6 = c5.with_authorization_code("ABCD-EFGH", 900.0).choose_storage("eu")
    c7 = c6.finish("sys_1", "systok", "wss://hub", now=20.0)
    return [c0, c1, c2, c3, c4, c5, c6, c7]


def test_the_flow_walks_the_steps_in_the_manuals_order():
    assert [c.state for c in connected_flow()] == list(STEPS)


def test_finish_forgets_the_session_and_the_code_and_the_manager_never_shows_tokens():
    done = connected_flow()[-1]
    assert done.connected and done.cloud_token is None and done.authorization_code is None
    assert done.as_dict() == {
        "state": "connected",
        "hosting": "axis-hosted",
        "eula_accepted_at": 10.0,
        "account_email": "ada@example.org",
        "org_id": "org_1",
        "org_name": "Police",
        "region": "eu",
        "cloud_system_id": "sys_1",
        "system_token": "systok",
        "hub_url": "wss://hub",
        "connected_at": 20.0,
    }
    assert "system_token" not in done.public()
    storage = connected_flow()[-2]
    assert {"cloud_token", "authorization_code", "authorization_code_expires_at"} & set(storage.public()) == set()


def test_a_step_out_of_order_is_refused_with_its_code():
    with pytest.raises(Conflict) as exc:
        Connection().install("axis-hosted").sign_in("tok", "a@b.c")
    assert exc.value.code == "wrong_step"
    with pytest.raises(Conflict) as exc:
        connected_flow()[-1].install("axis-hosted")
    assert exc.value.code == "already_connected"
    with pytest.raises(Conflict) as exc:
        connected_flow()[2].accept_eula(False, now=1.0)
    assert exc.value.code == "eula_declined"


def test_a_new_sign_in_forgets_the_organization_and_region_chosen_before():
    again = connected_flow()[-2].sign_in("tok2", "bob@example.org")
    assert (again.state, again.org_id, again.org_name, again.region) == ("signed_in", None, None, None)
    assert again.authorization_code == "ABCD-EFGH"  # kept, as before the split


def test_disabling_extensions_goes_back_to_installed():
    assert connected_flow()[3].disable_extensions().as_dict() == {"state": "installed", "hosting": "axis-hosted"}


def test_the_stored_json_round_trips_and_the_old_shape_still_reads():
    for c in connected_flow():
        assert Connection.from_json(c.to_json()) == c
    assert Connection.from_json(None) == Connection.from_json("{}") == Connection()
    assert json.loads(Connection().to_json()) == {"state": "not_installed"}  # what a new system stores
    with pytest.raises(ValueError):
        Connection.from_json('{"state": "half_done"}')
    with pytest.raises(ValueError):
        Connection.from_json('{"state": "connected", "connected_at": "yesterday"}')


def test_the_authorization_code_expires_at_its_time():
    c = connected_flow()[-2]
    assert not c.code_expired(899.0) and c.code_expired(900.0)


def cam(self_assign=False, user=None, last=None) -> CameraAssignment:
    return CameraAssignment("B0000001", self_assign, user, last)


def test_a_fixed_camera_goes_to_its_user_and_refuses_another():
    assert docking_user(cam(user="usr_a"), None) == "usr_a"
    assert docking_user(cam(user="usr_a"), "usr_a") == "usr_a"
    with pytest.raises(Conflict) as exc:
        docking_user(cam(user="usr_a"), "usr_b")
    assert exc.value.code == "assigned_elsewhere"


def test_a_self_assigned_camera_goes_to_who_takes_it_or_who_took_it_last():
    assert docking_user(cam(self_assign=True, last="usr_a"), "usr_b") == "usr_b"
    assert docking_user(cam(self_assign=True, last="usr_a"), None) == "usr_a"
    with pytest.raises(InvalidInput):
        docking_user(cam(self_assign=True), None)


def test_bays_are_numbered_and_hold_one_camera():
    assert bay_number("3", 8) == 3
    for bad in ("0", "9", "x"):
        with pytest.raises(InvalidInput):
            bay_number(bad, 8)
    check_bay_free(None, "B1", 1, "Dock")
    check_bay_free("B1", "B1", 1, "Dock")
    with pytest.raises(Conflict) as exc:
        check_bay_free("B2", "B1", 1, "Dock")
    assert exc.value.code == "bay_occupied"
