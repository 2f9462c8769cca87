"""Button gesture recogniser: raw press/release edges → press, double press, long press (D3, D5, T1).

Sans-I/O like the firmware: feed ``ButtonEdge`` events with their time, read out
``ButtonGesture`` events, ask ``get_timer()`` for the next deadline and call ``handle_timer(now)``
when it comes. A long press is recognised *while the button is still held*, at the moment the
hold time is reached, as a camera does (the user feels the reaction without letting go).

Timings (lab assumptions where the manual defers to the camera's own manual, see
docs/manual-vs-spec.md rows 26–27):

- double press: two presses whose *down* edges are less than 0.5 s apart. The double press is
  reported on the second down edge; that second press then yields nothing else (not even a
  long press if it is held).
- record button (D3, D5): no double press, so a short press is reported on release at once;
  held for 2 s it is a long press (stop stream and recording).
- function button (D3): a short press is reported once the 0.5 s double-press window has passed.
- top button (T1): like the function button, but a long press needs a 5 s hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from firmware_stub.events import BUTTONS, ButtonEdge, ButtonGesture

DOUBLE_PRESS_WINDOW = 0.5
RECORD_LONG_PRESS = 2.0
TOP_LONG_PRESS = 5.0


@dataclass(frozen=True)
class GestureTiming:
    """How one button's gestures are told apart; ``double_window=None``: no double press."""

    long_after: float
    double_window: float | None


DEFAULT_TIMINGS: dict[str, GestureTiming] = {
    "record": GestureTiming(long_after=RECORD_LONG_PRESS, double_window=None),
    "function": GestureTiming(long_after=RECORD_LONG_PRESS, double_window=DOUBLE_PRESS_WINDOW),
    "top": GestureTiming(long_after=TOP_LONG_PRESS, double_window=DOUBLE_PRESS_WINDOW),
}


@dataclass
class _Track:
    """What one button is doing."""

    down_at: float | None = None  # the current hold started here
    long_done: bool = False  # the current hold already produced a long press
    consumed: bool = False  # the current hold is the second press of a double press
    single_pending_since: float | None = None  # a released short press waiting for the window

    def deadlines(self, timing: GestureTiming) -> list[float]:
        out: list[float] = []
        if self.down_at is not None and not self.long_done and not self.consumed:
            out.append(self.down_at + timing.long_after)
        if self.single_pending_since is not None and timing.double_window is not None:
            out.append(self.single_pending_since + timing.double_window)
        return out


@dataclass
class GestureRecogniser:
    """Turns raw edges of the three camera buttons into gestures."""

    timings: dict[str, GestureTiming] = field(default_factory=lambda: dict(DEFAULT_TIMINGS))
    _tracks: dict[str, _Track] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        missing = [b for b in BUTTONS if b not in self.timings]
        if missing:
            raise ValueError(f"GestureRecogniser.timings: no timing for button(s) {', '.join(missing)}")
        self._tracks = {b: _Track() for b in BUTTONS}

    def is_held(self, button: str) -> bool:
        return self._tracks[button].down_at is not None

    def get_timer(self) -> float | None:
        """The next moment a gesture may be recognised without a new edge, or ``None``."""
        deadlines = [d for b, t in self._tracks.items() for d in t.deadlines(self.timings[b])]
        return min(deadlines) if deadlines else None

    def handle_timer(self, now: float) -> list[ButtonGesture]:
        """Gestures whose deadline is at or before ``now``, in time order, each stamped with
        its own deadline (not with ``now``, which may be late)."""
        due: list[tuple[float, str, str]] = []
        for button, track in self._tracks.items():
            timing = self.timings[button]
            if track.down_at is not None and not track.long_done and not track.consumed:
                at = track.down_at + timing.long_after
                if at <= now:
                    track.long_done = True
                    due.append((at, button, "long"))
            if track.single_pending_since is not None and timing.double_window is not None:
                at = track.single_pending_since + timing.double_window
                if at <= now:
                    track.single_pending_since = None
                    due.append((at, button, "press"))
        due.sort()
        return [ButtonGesture(at, button, gesture) for at, button, gesture in due]  # type: ignore[arg-type]

    def edge(self, event: ButtonEdge) -> list[ButtonGesture]:
        """Feed one raw edge; returns the gestures it completes (after any that fell due)."""
        out = self.handle_timer(event.now)
        track = self._tracks[event.button]
        timing = self.timings[event.button]
        if event.down:
            if track.down_at is not None:
                return out  # a repeated down edge (bounce): the button is already held
            if (
                track.single_pending_since is not None
                and timing.double_window is not None
                and event.now - track.single_pending_since < timing.double_window
            ):
                track.single_pending_since = None
                track.down_at, track.long_done, track.consumed = event.now, False, True
                out.append(ButtonGesture(event.now, event.button, "double"))
                return out
            track.down_at, track.long_done, track.consumed = event.now, False, False
            return out
        # release
        if track.down_at is None:
            return out  # a release without a press (bounce, or a press before we started)
        down_at, long_done, consumed = track.down_at, track.long_done, track.consumed
        track.down_at, track.long_done, track.consumed = None, False, False
        if long_done or consumed:
            return out
        if timing.double_window is None or event.now >= down_at + timing.double_window:
            out.append(ButtonGesture(event.now, event.button, "press"))
        else:
            track.single_pending_since = down_at
        return out
