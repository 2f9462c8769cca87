"""The fleet control link (``/api/lab/fleet``): the messages a fleet and the appliance exchange.

A fleet process (``bwlab fleet``, ``firmware_stub/fleet.py``) connects to the lab, registers the
cameras it runs and the world of its scenario, reports each camera's physical state, and carries
out the actions the Lab panel and the CLI ask for; the appliance pushes the lab clock's offset
(after a time travel, with an ``id`` the fleet answers once its docked cameras live at the new
time, D1) and the lab's fault list (L2). The Lab panel's feed (``/api/lab/events``) carries the
same ``state``, ``clock`` and ``faults`` messages.

Text frames are JSON objects ``{"type": ..., ...}``; each type is a frozen dataclass here.
``decode`` checks a frame against its type (unknown types and keys are refused with a
``ProtocolError``); ``encode`` writes one. Both ends use them.

appliance → fleet: ``Clock``, ``Faults``, ``Action``.  fleet → appliance: ``Register``, ``State``,
``Result``.  appliance → Lab panel: ``State``, ``Clock``, ``Faults``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from bwlab.schema import as_json

from .messages import decode_from

MAX_FRAME = 64 * 1024 * 1024  # a camera's 802.11 frame log, for a pcap (L4)
MAX_SERIALS = 1000  # cameras one fleet registers (more are ignored)

ACTIONS = (
    "press",
    "dock",
    "undock",
    "network",
    "skew",
    "stats",
    "gps",
    "move",
    "bookmark",
    "category",
    "frames",
    "speaker",
)
"""What a fleet can do to a camera: press a button, dock or undock it, bring its lab network up or
down, skew its clock, read its upload counters, give or take its GPS fix, walk it somewhere, add a
bookmark or a category (issue 13), read its 802.11 frame log (L4), or read what its speaker heard
of talk-back (issue 16 item 3)."""


@dataclass(frozen=True)
class CameraAction:
    """A physical action on a camera: its buttons, its dock, its radio, its clock, its GPS."""

    action: str = field(metadata={"choices": ACTIONS})
    button: str | None = field(default=None, metadata={"choices": ("record", "function", "top")})
    gesture: str = field(default="press", metadata={"choices": ("press", "double", "long")})
    dock: str | None = field(default=None, metadata={"max_len": 80})
    bay: int | None = field(default=None, metadata={"min": 1, "max": 8})
    camera_user: str | None = field(default=None, metadata={"max_len": 80})
    up: bool | None = None
    mode: str | None = field(default=None, metadata={"choices": ("WLAN", "LTE")})
    seconds: float | None = field(default=None, metadata={"min": -10 * 86400, "max": 10 * 86400})
    fix: bool | None = None  # action "gps": the GPS gets (true) or loses (false) its fix (D9)
    position: list[float] | None = field(default=None, metadata={"max_items": 2})  # action "move": [x, y] m
    text: str | None = field(default=None, metadata={"max_len": 1024})  # action "bookmark" (issue 13)
    tags: str | None = field(default=None, metadata={"max_len": 256})
    category_id: str | None = field(default=None, metadata={"max_len": 64})  # action "category"
    category_name: str | None = field(default=None, metadata={"max_len": 64})
    wav: bool | None = None  # action "speaker": also return what the camera heard as a WAV (issue 16 item 3)

    def __post_init__(self) -> None:
        if self.action == "move" and (self.position is None or len(self.position) != 2):
            raise ValueError("position: required for a move ([x, y] in metres on the site; seconds: walk time)")
        if self.action == "skew" and self.seconds is None:
            raise ValueError("seconds: required for a clock skew (the camera clock's offset from lab time)")
        if self.action == "gps" and self.fix is None:
            raise ValueError("fix: required for gps (true: the GPS has a fix, false: it lost it)")
        if self.action == "category" and (not self.category_id or not self.category_name):
            raise ValueError("category_id and category_name: required for a category (issue 13)")
        if self.action == "press" and self.button is None:
            raise ValueError("button: required for a press (record, function or top)")


# ---- appliance → fleet (and the Lab panel)


@dataclass(frozen=True)
class Clock:
    """The lab clock's offset from real time; with ``id``, the fleet answers a ``Result`` once
    its docked cameras have renewed their certificates at the new time (D1)."""

    offset: float = field(metadata={"min": 0})
    id: str | None = field(default=None, metadata={"max_len": 64})
    type: Literal["clock"] = "clock"


@dataclass(frozen=True)
class Faults:
    """The whole fault list of the lab (L2), as ``labnet``'s fault dictionaries."""

    faults: list[dict[str, Any]]
    type: Literal["faults"] = "faults"


@dataclass(frozen=True)
class Action(CameraAction):
    """Carry out ``action`` on camera ``serial`` and answer a ``Result`` with the same ``id``."""

    id: str = field(default="", metadata={"max_len": 64, "nonempty": True})
    serial: str = field(default="", metadata={"max_len": 32, "nonempty": True})
    type: Literal["action"] = "action"


# ---- fleet → appliance


@dataclass(frozen=True)
class Register:
    """The cameras this fleet runs, and the world of its scenario (APs, cells, SIM cards) that
    faults may change; ``None`` when the scenario declares no lab network."""

    serials: list[str]
    world: dict[str, Any] | None = None
    type: Literal["register"] = "register"


@dataclass(frozen=True)
class State:
    """A camera's physical state (LEDs, screen, vibration, radio, ...) as it changes."""

    serial: str = field(metadata={"max_len": 32})
    state: dict[str, Any]
    type: Literal["state"] = "state"


@dataclass(frozen=True)
class Result:
    """The answer to an ``Action`` or a ``Clock`` with an id: done (``ok``), or why not."""

    id: str | None = field(default=None, metadata={"max_len": 64})
    ok: bool = True
    error: str | None = None
    code: str | None = field(default=None, metadata={"max_len": 64})
    state: dict[str, Any] | None = None  # the camera's state after the action
    stats: dict[str, Any] | None = None  # action "stats": the upload counters
    press: dict[str, Any] | None = None  # action "press": the gesture and, if it did nothing, why
    frames: list[dict[str, Any]] | None = None  # action "frames": the 802.11 frame log (L4)
    speaker: dict[str, Any] | None = None  # action "speaker": what the camera heard of talk-back (issue 16 item 3)
    type: Literal["result"] = "result"


Message = Clock | Faults | Action | Register | State | Result
MESSAGES: dict[str, type] = {
    str(cls.__dataclass_fields__["type"].default): cls for cls in (Clock, Faults, Action, Register, State, Result)
}
TO_FLEET = (Clock, Faults, Action)
FROM_FLEET = (Register, State, Result)


def as_dict(message: Any) -> dict[str, Any]:
    """The message as the JSON object sent: the type and every field that is set (a field left
    at None is left out; ``decode`` reads it back as None)."""
    return {k: v for k, v in as_json(message).items() if v is not None}


def encode(message: Any) -> str:
    return json.dumps(as_dict(message), separators=(",", ":"))


def decode(text: str | bytes, allowed: tuple[type, ...] | None = None) -> Any:
    """The message in a text frame; ``ProtocolError`` (with a stable code) for anything else."""
    return decode_from(MESSAGES, text, allowed, MAX_FRAME)
