"""The camera's help request: the position it has now, sealed for the system key (issue 16 item 2).

The firmware decides (``SendHelpRequest``); this builds the ``help_request`` message the driver
sends: the GPS reading of this moment as a position record (bwlab/wire/positions.py), sealed like
a position chunk (kind 3, seq 0) under a fresh content key wrapped for the system key and bound
to the help id — so the cloud relays it without being able to read it. No GPS, no fix yet, or no
system key: the request goes without a position.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from bwlab.wire import envelope
from bwlab.wire import positions as wire_positions
from bwlab.wire.help import HelpRequest, encode_sealed

from .gps import GpsReceiver

log = logging.getLogger(__name__)


def current_position(receiver: GpsReceiver | None, now: float) -> dict[str, Any] | None:
    """The position record the GPS gives at ``now``, or None (no GPS, never had a fix)."""
    if receiver is None or not receiver.has_gps:
        return None
    reading = receiver.read(now)
    return None if reading is None else reading.as_record()


def help_request(
    provisioning: dict[str, Any], help_id: str, gesture: str, record: dict[str, Any] | None, now: float
) -> HelpRequest:
    """The ``help_request`` of ``help_id`` made at camera time ``now`` with ``record`` sealed."""
    user = provisioning.get("camera_user") or {}
    public_b64 = (provisioning.get("e2e") or {}).get("public_key")
    wrapped = sealed = None
    if record is not None and public_b64:
        content_key = os.urandom(envelope.CONTENT_KEY_SIZE)
        wrapped = envelope.wrap_content_key(envelope.public_key_from_b64(public_b64), help_id, content_key)
        sealed = encode_sealed(
            envelope.seal_chunk(
                content_key, help_id, envelope.ChunkKind.POSITION, 0, wire_positions.encode_record(record)
            )
        )
    elif record is not None:
        log.warning("help request %s: no system key, the position cannot be sealed and is left out", help_id)
    return HelpRequest(
        help_id=help_id,
        requested_at=now,
        user_id=user.get("id", ""),
        user_name=user.get("name", ""),
        wrapped_key=wrapped,
        position=sealed,
        gesture=gesture,
    )
