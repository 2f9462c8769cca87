"""The fleet control link's messages (bwlab/wire/fleet_link.py): both ends encode and decode the
same frozen dataclasses, and a frame that is not one of them is refused with a stable code."""

# covers: L2, D1, L4

from __future__ import annotations

import json

import pytest

from bwlab.wire import fleet_link as fl
from bwlab.wire.messages import ProtocolError


@pytest.mark.parametrize(
    "message",
    [
        fl.Clock(offset=86400.0),
        fl.Clock(offset=0.0, id="c1"),
        fl.Faults(faults=[{"id": "f1", "kind": "ap_down", "target": "AP1", "set": {}}]),
        fl.Action(action="press", button="record", gesture="long", id="a1", serial="B8A44F000001"),
        fl.Action(action="move", position=[3.0, 4.0], seconds=2.0, id="a2", serial="B8A44F000001"),
        fl.Register(serials=["B8A44F000001"], world=None),
        fl.State(serial="B8A44F000001", state={"leds": {"power": "green"}}),
        fl.Result(id="a1", state={"recording": True}, press={"button": "record"}),
        fl.Result(id="a2", ok=False, error="camera B1 is not docked", code="action_failed"),
    ],
)
def test_every_message_round_trips(message):
    assert fl.decode(fl.encode(message)) == message


def test_the_shapes_on_the_wire_are_the_ones_both_ends_used_before():
    assert json.loads(fl.encode(fl.Clock(offset=5.0))) == {"type": "clock", "offset": 5.0}
    assert json.loads(fl.encode(fl.Result(id="c1"))) == {"type": "result", "id": "c1", "ok": True}
    assert json.loads(fl.encode(fl.State(serial="B1", state={}))) == {"type": "state", "serial": "B1", "state": {}}


@pytest.mark.parametrize(
    "frame, code",
    [
        ("not json", "invalid_json"),
        ('{"type": "clock"}', "invalid_message"),  # no offset
        ('{"type": "clock", "offset": -1}', "invalid_message"),  # lab time only travels forward
        ('{"type": "action", "action": "press", "id": "a", "serial": "B1"}', "invalid_message"),  # which button?
        ('{"type": "action", "action": "launch", "id": "a", "serial": "B1"}', "invalid_message"),
        ('{"type": "state", "serial": "B1", "state": [1]}', "invalid_message"),
        ('{"type": "result", "id": "a", "ok": true, "surprise": 1}', "invalid_message"),
        ('{"type": "hello"}', "unexpected_message"),
    ],
)
def test_a_bad_frame_is_refused_with_a_stable_code(frame, code):
    with pytest.raises(ProtocolError) as exc:
        fl.decode(frame)
    assert exc.value.code == code or (code == "invalid_json" and exc.value.code != "invalid_message")


def test_each_end_accepts_only_what_the_other_end_sends():
    with pytest.raises(ProtocolError):
        fl.decode(fl.encode(fl.Register(serials=[])), fl.TO_FLEET)
    with pytest.raises(ProtocolError):
        fl.decode(fl.encode(fl.Clock(offset=1.0)), fl.FROM_FLEET)
