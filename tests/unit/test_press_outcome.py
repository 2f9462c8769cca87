"""A press that does nothing says why (issue 12): the firmware keeps the last gesture and, when it
did nothing, the reason in its state, which the CLI, the Lab panel and `bwlab doctor` show.

covers: D1, D3, D5, S7, T1
"""

from __future__ import annotations

from bwlab.clock import ManualClock
from firmware_stub.events import ButtonGesture, Docked, ProfileSettings, Undocked
from firmware_stub.firmware import Firmware
from tests.unit.test_firmware import SERIAL, provisioning


def _press(fw: Firmware, clock: ManualClock, button: str, gesture: str = "press") -> dict:
    clock.advance(1.0)
    fw.handle_event(ButtonGesture(clock.now(), button=button, gesture=gesture))
    return fw.state()["last_press"]


def _provisioned(clock: ManualClock, profile: ProfileSettings, *, out: bool) -> Firmware:
    fw = Firmware(SERIAL, "W100")
    fw.handle_event(Docked(clock.now(), "dock-1/bay-3"))
    fw.handle_event(provisioning(clock, profile=profile, allow_troubleshooting=False))
    if out:
        fw.handle_event(Undocked(clock.now()))
    return fw


def test_a_docked_camera_ignores_its_buttons_and_says_why():
    clock = ManualClock(1_800_000_000.0)
    fw = _provisioned(clock, ProfileSettings(streaming=True, live_stream_on_record=True), out=False)
    press = _press(fw, clock, "record")
    assert press["button"] == "record" and press["gesture"] == "press"
    assert press["ignored"]["code"] == "docked" and "in its dock" in press["ignored"]["message"]
    assert not fw.state()["recording"]


def test_presses_that_act_are_not_ignored_and_those_that_do_nothing_name_their_reason():
    clock = ManualClock(1_800_000_000.0)
    fw = _provisioned(clock, ProfileSettings(streaming=True, live_stream_on_record=True), out=True)
    assert _press(fw, clock, "record")["ignored"] is None and fw.state()["recording"]
    assert _press(fw, clock, "record")["ignored"]["code"] == "already_recording"
    assert _press(fw, clock, "function")["ignored"]["code"] == "no_action"
    assert _press(fw, clock, "top", "double")["ignored"]["code"] == "troubleshooting_unavailable"
    assert _press(fw, clock, "record", "long")["ignored"] is None and not fw.state()["recording"]
    assert _press(fw, clock, "record", "long")["ignored"]["code"] == "nothing_to_stop"


def test_a_stream_press_with_streaming_off_in_the_profile_says_so():
    clock = ManualClock(1_800_000_000.0)
    fw = _provisioned(clock, ProfileSettings(streaming=False), out=True)
    press = _press(fw, clock, "function", "double")
    assert press["ignored"]["code"] == "streaming_disabled" and "(S7)" in press["ignored"]["message"]


def test_a_camera_never_provisioned_says_so():
    clock = ManualClock(1_800_000_000.0)
    fw = Firmware(SERIAL, "W100")
    assert _press(fw, clock, "record")["ignored"]["code"] == "not_provisioned"
