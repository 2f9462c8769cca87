"""Acknowledgements owed to cameras (D6; issue 16 item 2): an operator's acknowledgement of a
stream, or of a camera user's help request, vibrates the camera even when the camera is not
connected at that moment.

The hub keeps each acknowledgement in its table (``device_pending_acks``, SQL in ``store.py``)
before it tries to send it, so one made while the camera is out of coverage, or while the
appliance restarts, reaches the camera on its next connection: right after the ``welcome``, the
hub delivers what it owes that camera, oldest first, and forgets each one once it is sent. A
second acknowledgement of the same subject replaces the first: the camera vibrates once per
subject.

What has become meaningless is dropped, not delivered (``why_dropped``; docs/decisions.md
"Acknowledgements owed to an offline camera"), and the drop is in the hub's event log:

- a stream's acknowledgement once the stream has ended (the camera vibrates for the stream it is
  running only, D6), or when it is older than ``MAX_AGE["stream"]``;
- a help acknowledgement once the help request is gone (kept 24 hours), or when it is older than
  ``MAX_AGE["help"]``.

What is owed to a camera that never comes back goes with the hub's housekeeping (``purge``).
Time is lab time, passed in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bwlab.wire import messages as m
from bwlab.wire.help import HelpAcknowledged

from ..db import Database
from ..devices import AckKind, DeviceId
from . import store

# How long an acknowledgement stays worth a vibration (lab seconds). A stream's: a coverage gap of
# a few minutes (a basement, a lift, a hand-over between access points), not a shift; the stream
# ending drops it anyway. A help acknowledgement tells a camera user in trouble that help is on
# the way, so it waits longer for them to come back; after an hour the situation has been settled
# by other means and a buzz would be taken for a new acknowledgement.
MAX_AGE: dict[AckKind, float] = {"stream": 10 * 60.0, "help": 60 * 60.0}


@dataclass(frozen=True)
class OwedAck:
    """One acknowledgement the hub owes a camera."""

    id: int
    device: DeviceId
    kind: AckKind
    ref: str  # the stream id or the help id
    operator: str
    created_at: float  # lab time of the acknowledgement

    @classmethod
    def from_row(cls, row: Any) -> OwedAck:
        return cls(
            row["id"],
            DeviceId(row["cloud_system_id"], row["serial"]),
            row["kind"],
            row["ref"],
            row["operator"],
            row["created_lab_at"],
        )

    def message(self) -> m.Acknowledge | HelpAcknowledged:
        """What the camera receives: D6's ``acknowledge`` or the help pattern's ``help_acknowledged``."""
        if self.kind == "stream":
            return m.Acknowledge(stream_id=self.ref, operator=self.operator)
        return HelpAcknowledged(help_id=self.ref, operator=self.operator)


def why_dropped(ack: OwedAck, now: float, *, subject_current: bool) -> str | None:
    """None when ``ack`` is still worth a vibration at lab time ``now``; otherwise why it is not.
    ``subject_current``: the stream is still live, or the help request still kept, for this camera."""
    if ack.kind not in MAX_AGE:
        return "unknown_kind"
    if not subject_current:
        return "stream_ended" if ack.kind == "stream" else "help_request_gone"
    if now - ack.created_at > MAX_AGE[ack.kind]:
        return "too_old"
    return None


class AckOutbox:
    """What the hub owes each camera, kept until delivered (SQL: store.py).

    ``socket_of(device)`` is the camera's socket once it has been welcomed, or None: nothing is
    sent before the ``welcome`` (the camera reads that first)."""

    def __init__(self, db: Database, socket_of: Callable[[DeviceId], web.WebSocketResponse | None]):
        self.db = db
        self.socket_of = socket_of
        self._locks: dict[DeviceId, asyncio.Lock] = {}  # one delivery at a time per camera

    async def send(self, device: DeviceId, kind: AckKind, ref: str, operator: str, now: float) -> bool:
        """Owe the camera this acknowledgement and deliver it if the camera is connected; True
        when it went out now, False when it waits for the camera's next connection."""
        row = await store.owe_ack(self.db, device.system_id, device.serial, kind, ref, operator, now)
        return row is not None and row["id"] in await self.deliver(device, now)

    async def deliver(self, device: DeviceId, now: float) -> set[int]:
        """Send the camera, if it is connected, what is owed to it (dropping what has become
        meaningless); returns the ids sent. Called on every welcome and every acknowledgement."""
        async with self._locks.setdefault(device, asyncio.Lock()):
            ws = self.socket_of(device)
            if ws is None:
                return set()
            sent: set[int] = set()
            for row in await store.pending_acks(self.db, device.system_id, device.serial):
                ack = OwedAck.from_row(row)
                why = why_dropped(ack, now, subject_current=await self._current(ack))
                if why is not None:
                    await store.forget_ack(self.db, ack.id)
                    await store.record_event(
                        self.db,
                        device.serial,
                        now,
                        "acknowledgement_dropped",
                        f"{ack.operator}'s acknowledgement of {ack.kind} {ack.ref} not delivered: {why}",
                        device.system_id,
                    )
                    continue
                try:
                    await ws.send_str(m.encode(ack.message()))
                except ConnectionError:
                    break  # still owed: the camera's next connection gets it
                await store.forget_ack(self.db, ack.id)
                sent.add(ack.id)
            return sent

    async def _current(self, ack: OwedAck) -> bool:
        """The stream is live, or the help request kept, and it is this camera's."""
        owner = (ack.device.system_id, ack.device.serial)
        if ack.kind == "stream":
            row = await store.stream(self.db, ack.ref)
            return row is not None and row["ended_at"] is None and (row["cloud_system_id"], row["serial"]) == owner
        return await store.help_owner(self.db, ack.ref) == owner

    async def purge(self, now: float) -> int:
        """Forget what is owed to cameras that did not come back within the longest bound."""
        return await store.purge_pending_acks(self.db, now - max(MAX_AGE.values()))
