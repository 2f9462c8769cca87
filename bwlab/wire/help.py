"""Help requests on the wire: the camera user's call for help, sealed end to end (issue 16 item 2).

A camera profile may give a *help gesture* (``HELP_GESTURES``: which button and which gesture).
Made on the camera, it sends ``help_request`` to the device hub: metadata in clear (who, when)
and the position the camera had at that moment, **sealed like every position** (a position record
of ``bwlab.wire.positions``, sealed as chunk kind 3, seq 0, under a fresh content key wrapped for
the system key, the help id standing where a stream id stands: docs/e2e-envelope.md §5). The
cloud stores and relays the ciphertext only; operators' browsers open it with the system key. A
camera without GPS (or without a fix yet) sends no position.

The hub answers nothing on success; an operator's acknowledgement comes back as
``help_acknowledged`` and the camera vibrates with its own pattern (``help_acknowledged``), unlike
the two short pulses of a stream's acknowledgement (D6).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any, Literal

from .identifiers import ID, TIMESTAMP
from .messages import register
from .positions import MAX_RECORD

HELP_PREFIX = "help-"

HELP_GESTURES: dict[str, tuple[str, str]] = {
    "function_long": ("function", "long"),
}
"""Profile value → (button, gesture): the gestures a profile may make the help request. A long
press of the function button does nothing else on every model (D3 uses its double press)."""

HELP_GESTURE_LABELS: dict[str, str] = {
    "function_long": "Long press of the function button",
}

SEALED_OVERHEAD = 16  # the AES-GCM tag
MAX_SEALED_POSITION = MAX_RECORD + SEALED_OVERHEAD


def gesture_of(help_gesture: str | None) -> tuple[str, str] | None:
    """The (button, gesture) of a profile's help gesture, or None when help requests are off."""
    if help_gesture is None:
        return None
    try:
        return HELP_GESTURES[help_gesture]
    except KeyError:
        raise ValueError(
            f"help_gesture: expected one of {', '.join(HELP_GESTURES)} or null, got {help_gesture!r}"
        ) from None


def encode_sealed(sealed: bytes) -> str:
    return base64.urlsafe_b64encode(sealed).decode().rstrip("=")


def decode_sealed(text: str) -> bytes:
    """The sealed position of a ``help_request``; ValueError when it cannot be one."""
    try:
        sealed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("position: expected base64url") from None
    if not SEALED_OVERHEAD < len(sealed) <= MAX_SEALED_POSITION:
        raise ValueError(
            f"position: a sealed position record is {SEALED_OVERHEAD + 1} to {MAX_SEALED_POSITION} "
            f"bytes, not {len(sealed)}"
        )
    return sealed


@register
@dataclass(frozen=True)
class HelpRequest:
    """camera → hub: the camera user asked for help. ``position`` is the sealed position record
    (base64url), or null without one; ``wrapped_key`` wraps its content key for the system key,
    bound to ``help_id``."""

    help_id: str = field(metadata=ID)
    requested_at: float = field(metadata=TIMESTAMP)  # camera clock
    user_id: str = field(metadata={"max_len": 64})
    user_name: str = field(metadata={"max_len": 120})
    wrapped_key: dict[str, Any] | None = None
    position: str | None = field(default=None, metadata={"max_len": 4 * MAX_SEALED_POSITION // 3 + 4})
    gesture: str = field(default="function_long", metadata={"choices": tuple(HELP_GESTURES)})
    type: Literal["help_request"] = "help_request"

    def __post_init__(self) -> None:
        if self.position is not None:
            decode_sealed(self.position)
            if self.wrapped_key is None:
                raise ValueError("wrapped_key: required with a sealed position")


@register
@dataclass(frozen=True)
class HelpAcknowledged:
    """hub → camera: an operator acknowledged the help request: vibrate with the help pattern."""

    help_id: str
    operator: str
    type: Literal["help_acknowledged"] = "help_acknowledged"
