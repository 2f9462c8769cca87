"""Help requests (issue 16 item 2): the profile's help gesture on the camera (pure firmware), the
sealed position of the ``help_request`` message, its validation, and the SOC payload.

covers: S7, S11, S12, S17, D6
"""

from __future__ import annotations

import json

import pytest

from bwlab.clock import ManualClock
from bwlab.wire import envelope, messages, webhooks
from bwlab.wire import positions as wire_positions
from bwlab.wire.help import HelpRequest, decode_sealed, gesture_of
from firmware_stub.events import (
    VIBRATION_PATTERNS,
    ButtonGesture,
    Docked,
    HelpAcknowledged,
    HubConnected,
    NetworkChanged,
    OpenHubConnection,
    ProfileSettings,
    RequestStreamStart,
    SendHelpRequest,
    Undocked,
    Vibrate,
)
from firmware_stub.firmware import Firmware
from firmware_stub.help import help_request
from tests.unit.test_firmware import SERIAL, provisioning

HELP = ProfileSettings(streaming=True, help_gesture="function_long")


def _camera(clock: ManualClock, profile: ProfileSettings) -> Firmware:
    fw = Firmware(SERIAL, "W102", help_ids=iter(["help-1", "help-2"]).__next__)
    fw.handle_event(Docked(clock.now(), "dock-1/bay-1"))
    fw.handle_event(provisioning(clock, model="W102", profile=profile))
    fw.handle_event(Undocked(clock.now()))
    fw.handle_event(NetworkChanged(clock.now(), up=True, mode="WLAN"))
    fw.handle_event(HubConnected(clock.now()))
    return fw


def _long_function(fw: Firmware, clock: ManualClock) -> list:
    clock.advance(1.0)
    return fw.handle_event(ButtonGesture(clock.now(), button="function", gesture="long"))


def test_the_help_gesture_sends_a_help_request_and_starts_a_stream_with_reason_help():
    clock = ManualClock(1_800_000_000.0)
    fw = _camera(clock, HELP)
    commands = _long_function(fw, clock)
    assert SendHelpRequest("help-1", "function_long") in commands
    assert RequestStreamStart(None, "help", None) in commands
    state = fw.state()
    assert state["help"] == {
        "id": "help-1",
        "requested_at": clock.now(),
        "acknowledged_by": None,
        "acknowledged_at": None,
    }
    assert state["streaming"] == "connecting" and state["stream_reason"] == "help" and state["recording"]
    assert state["last_press"]["ignored"] is None


def test_help_without_a_stream_when_the_profile_does_not_allow_one():
    clock = ManualClock(1_800_000_000.0)
    for profile in (
        ProfileSettings(streaming=True, help_gesture="function_long", help_stream=False),
        ProfileSettings(streaming=False, help_gesture="function_long"),
    ):
        fw = _camera(clock, profile)
        commands = _long_function(fw, clock)
        assert any(isinstance(c, SendHelpRequest) for c in commands)
        assert not any(isinstance(c, RequestStreamStart) for c in commands)
        assert fw.state()["streaming"] is None and not fw.state()["recording"]


def test_without_a_help_gesture_in_the_profile_the_gesture_does_nothing():
    clock = ManualClock(1_800_000_000.0)
    fw = _camera(clock, ProfileSettings(streaming=True))
    commands = _long_function(fw, clock)
    assert not any(isinstance(c, SendHelpRequest) for c in commands)
    assert fw.state()["last_press"]["ignored"]["code"] == "no_action" and fw.state()["help"] is None


def test_a_docked_camera_sends_no_help():
    clock = ManualClock(1_800_000_000.0)
    fw = _camera(clock, HELP)
    fw.handle_event(Docked(clock.now(), "dock-1/bay-1"))
    assert not any(isinstance(c, SendHelpRequest) for c in _long_function(fw, clock))
    assert fw.state()["last_press"]["ignored"]["code"] == "docked"


def test_acknowledging_the_help_request_vibrates_with_its_own_pattern():
    clock = ManualClock(1_800_000_000.0)
    fw = _camera(clock, HELP)
    _long_function(fw, clock)
    clock.advance(2.0)
    assert not any(isinstance(c, Vibrate) for c in fw.handle_event(HelpAcknowledged(clock.now(), "help-0", "Olga")))
    commands = fw.handle_event(HelpAcknowledged(clock.now(), "help-1", "Olga"))
    help_pattern = VIBRATION_PATTERNS["help_acknowledged"]
    assert Vibrate("help_acknowledged", clock.now() + sum(help_pattern)) in commands
    assert help_pattern != VIBRATION_PATTERNS["acknowledged"]
    state = fw.state()
    assert state["vibration"] == "help_acknowledged" and state["help"]["acknowledged_by"] == "Olga"
    clock.advance(sum(help_pattern) + 0.1)
    fw.handle_timer(clock.now())
    assert fw.state()["vibration"] is None and fw.state()["vibrating_until"] is None


def test_a_camera_whose_profile_only_asks_for_help_holds_its_hub_link():
    clock = ManualClock(1_800_000_000.0)
    fw = Firmware(SERIAL, "W100")
    fw.handle_event(Docked(clock.now(), "dock-1/bay-1"))
    fw.handle_event(provisioning(clock, profile=ProfileSettings(streaming=False, help_gesture="function_long")))
    fw.handle_event(Undocked(clock.now()))
    assert fw.state()["hub"] == "down"  # no network yet; with one it connects
    assert OpenHubConnection() in fw.handle_event(NetworkChanged(clock.now(), up=True, mode="WLAN"))


def test_the_position_is_sealed_for_the_system_key_and_only_it_opens_it():
    keys = envelope.generate_system_keypair()
    record = {"lat": 55.6, "lon": 13.0, "accuracy": 4.0, "t": 1_800_000_000.0, "fix": True}
    prov = {"camera_user": {"id": "cu-1", "name": "Alice"}, "e2e": {"public_key": keys.public_b64}}
    msg = help_request(prov, "help-abc", "function_long", record, 1_800_000_001.0)
    text = messages.encode(msg)
    assert "55.6" not in text and '"lat"' not in text
    decoded = messages.decode(text, (HelpRequest,))
    content_key = envelope.unwrap_content_key(keys.private_key, "help-abc", decoded.wrapped_key)
    plain = envelope.open_chunk(
        content_key, "help-abc", envelope.ChunkKind.POSITION, 0, decode_sealed(decoded.position)
    )
    assert wire_positions.decode_record(plain) == record
    with pytest.raises(envelope.EnvelopeError):  # bound to its help id
        envelope.unwrap_content_key(keys.private_key, "help-other", decoded.wrapped_key)
    no_gps = help_request(prov, "help-abd", "function_long", None, 1_800_000_001.0)
    assert no_gps.position is None and no_gps.wrapped_key is None


@pytest.mark.parametrize(
    "change, field",
    [
        ({"help_id": "../etc"}, "help_id"),
        ({"position": "not base64!"}, "position"),
        ({"position": "AAAA"}, "position"),
        ({"requested_at": 1e308}, "requested_at"),
        ({"gesture": "shake"}, "gesture"),
        ({"wrapped_key": None}, "wrapped_key"),
        ({"extra": 1}, "extra"),
    ],
)
def test_a_bad_help_request_is_refused_naming_the_field(change, field):
    good = {
        "type": "help_request",
        "help_id": "help-1",
        "requested_at": 1_800_000_000.0,
        "user_id": "cu-1",
        "user_name": "A",
        "wrapped_key": {"version": 1},
        "position": "A" * 40,
        "gesture": "function_long",
    }
    messages.decode(json.dumps(good))
    with pytest.raises(messages.ProtocolError) as err:
        messages.decode(json.dumps({**good, **change}))
    assert field in str(err.value)


def test_gesture_of_names_the_allowed_gestures():
    assert gesture_of("function_long") == ("function", "long") and gesture_of(None) is None
    with pytest.raises(ValueError, match="function_long"):
        gesture_of("shake")


def test_the_soc_help_payload_carries_no_position_and_no_key():
    meta = {
        "id": "help-1",
        "org_id": "org-1",
        "system_id": "sys-1",
        "user_id": "cu-1",
        "user_name": "Alice",
        "region": "eu",
        "requested_at": 1_800_000_000.0,
        "position": "SEALED",
        "wrapped_key": {"k": 1},
    }
    body = webhooks.payload(webhooks.HELP_REQUESTED, meta, 1_800_000_001.0).decode()
    assert '"type":"help.requested"' in body and '"help_id":"help-1"' in body and '"has_position":true' in body
    assert "SEALED" not in body and "wrapped" not in body
