"""The button gesture recogniser: raw edges → press / double press / long press (D3, D5, T1)."""

from __future__ import annotations

import pytest

from bwlab.clock import ManualClock
from firmware_stub.buttons import DEFAULT_TIMINGS, GestureRecogniser, GestureTiming
from firmware_stub.events import ButtonEdge, ButtonGesture


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def rec() -> GestureRecogniser:
    return GestureRecogniser()


def down(rec: GestureRecogniser, clock: ManualClock, button: str) -> list[ButtonGesture]:
    return rec.edge(ButtonEdge(clock.now(), button, True))  # type: ignore[arg-type]


def up(rec: GestureRecogniser, clock: ManualClock, button: str) -> list[ButtonGesture]:
    return rec.edge(ButtonEdge(clock.now(), button, False))  # type: ignore[arg-type]


def test_record_short_press_is_reported_on_release_at_once(rec, clock):
    # covers: D3 — the record button has no double press, so a press needs no waiting
    assert down(rec, clock, "record") == []
    clock.advance(0.2)
    assert up(rec, clock, "record") == [ButtonGesture(clock.now(), "record", "press")]
    assert rec.get_timer() is None


def test_record_held_two_seconds_is_a_long_press_while_still_held(rec, clock):
    # covers: D5 — the long press that stops stream and recording fires at 2 s, not on release
    t0 = clock.now()
    down(rec, clock, "record")
    assert rec.get_timer() == t0 + 2.0
    clock.advance(1.99)
    assert rec.handle_timer(clock.now()) == []
    clock.advance(0.01)
    assert rec.handle_timer(clock.now()) == [ButtonGesture(t0 + 2.0, "record", "long")]
    assert rec.is_held("record")
    clock.advance(3)
    assert up(rec, clock, "record") == []  # letting go after a long press is not another gesture
    assert rec.get_timer() is None


def test_record_held_just_under_two_seconds_is_a_press(rec, clock):
    # covers: D5 — shorter holds never stop anything
    down(rec, clock, "record")
    clock.advance(1.9)
    assert up(rec, clock, "record") == [ButtonGesture(clock.now(), "record", "press")]


def test_long_press_is_reported_when_the_release_comes_late(rec, clock):
    # a driver that missed the timer still gets the long press, stamped with its true time
    t0 = clock.now()
    down(rec, clock, "record")
    clock.advance(2.5)
    assert up(rec, clock, "record") == [ButtonGesture(t0 + 2.0, "record", "long")]


def test_function_double_press_within_half_a_second(rec, clock):
    # covers: D3 — two presses less than 0.5 s apart start a stream
    down(rec, clock, "function")
    clock.advance(0.1)
    assert up(rec, clock, "function") == []  # could still become a double press
    clock.advance(0.2)
    assert down(rec, clock, "function") == [ButtonGesture(clock.now(), "function", "double")]
    clock.advance(0.1)
    assert up(rec, clock, "function") == []
    assert rec.get_timer() is None
    clock.advance(5)
    assert rec.handle_timer(clock.now()) == []  # no stray single press afterwards


def test_function_single_press_is_reported_when_the_window_closes(rec, clock):
    t0 = clock.now()
    down(rec, clock, "function")
    clock.advance(0.1)
    assert up(rec, clock, "function") == []
    assert rec.get_timer() == t0 + 0.5
    assert rec.handle_timer(t0 + 0.49) == []
    assert rec.handle_timer(t0 + 0.5) == [ButtonGesture(t0 + 0.5, "function", "press")]
    assert rec.get_timer() is None


def test_two_presses_further_apart_than_the_window_are_two_presses(rec, clock):
    t0 = clock.now()
    down(rec, clock, "function")
    clock.advance(0.1)
    up(rec, clock, "function")
    clock.advance(0.6)  # the first press's window closed without a timer call
    assert down(rec, clock, "function") == [ButtonGesture(t0 + 0.5, "function", "press")]
    t1 = clock.now()
    clock.advance(0.1)
    assert up(rec, clock, "function") == []
    assert rec.handle_timer(clock.now() + 1) == [ButtonGesture(t1 + 0.5, "function", "press")]


def test_press_held_past_the_window_is_reported_on_release(rec, clock):
    down(rec, clock, "function")
    clock.advance(0.8)
    assert up(rec, clock, "function") == [ButtonGesture(clock.now(), "function", "press")]


def test_top_button_held_five_seconds_is_a_long_press(rec, clock):
    # covers: T1 — holding the top button 5 s leaves troubleshooting mode
    t0 = clock.now()
    down(rec, clock, "top")
    assert rec.get_timer() == t0 + 5.0
    assert rec.handle_timer(t0 + 4.9) == []
    assert rec.handle_timer(t0 + 5.0) == [ButtonGesture(t0 + 5.0, "top", "long")]


def test_top_button_held_under_five_seconds_is_a_press(rec, clock):
    # covers: T1 — a 2 s hold on the top button is still "show the next page"
    down(rec, clock, "top")
    clock.advance(2.5)
    assert rec.handle_timer(clock.now()) == []
    assert up(rec, clock, "top") == [ButtonGesture(clock.now(), "top", "press")]


def test_second_press_of_a_double_yields_no_long_press(rec, clock):
    down(rec, clock, "top")
    clock.advance(0.1)
    up(rec, clock, "top")
    clock.advance(0.1)
    assert down(rec, clock, "top") == [ButtonGesture(clock.now(), "top", "double")]
    assert rec.get_timer() is None
    clock.advance(6)
    assert up(rec, clock, "top") == []


def test_buttons_are_independent(rec, clock):
    t0 = clock.now()
    down(rec, clock, "record")
    clock.advance(0.1)
    down(rec, clock, "function")
    clock.advance(0.1)
    assert up(rec, clock, "function") == []
    assert rec.handle_timer(t0 + 2.0) == [
        ButtonGesture(t0 + 0.6, "function", "press"),
        ButtonGesture(t0 + 2.0, "record", "long"),
    ]


def test_bounces_are_ignored(rec, clock):
    assert up(rec, clock, "record") == []  # release without press
    down(rec, clock, "record")
    clock.advance(0.05)
    assert down(rec, clock, "record") == []  # repeated down edge
    clock.advance(0.05)
    assert up(rec, clock, "record") == [ButtonGesture(clock.now(), "record", "press")]


def test_custom_timings_must_cover_every_button():
    with pytest.raises(ValueError, match="function, top"):
        GestureRecogniser({"record": DEFAULT_TIMINGS["record"]})
    fast = dict(DEFAULT_TIMINGS, record=GestureTiming(long_after=1.0, double_window=None))
    rec = GestureRecogniser(fast)
    rec.edge(ButtonEdge(0.0, "record", True))
    assert rec.handle_timer(1.0) == [ButtonGesture(1.0, "record", "long")]


def test_bad_button_names_are_rejected_at_the_edge():
    with pytest.raises(ValueError, match="ButtonEdge.button"):
        ButtonEdge(0.0, "side", True)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ButtonGesture.gesture"):
        ButtonGesture(0.0, "record", "triple")  # type: ignore[arg-type]
