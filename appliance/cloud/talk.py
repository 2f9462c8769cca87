"""The floor of talk-back (issue 16 item 3): one talker at a time per camera.

A camera is (system, serial) — ``DeviceId``. Operators' talk sockets watch the floor of the
stream's camera; one of them may hold it, for one talk (a talk id the talker drew). The cloud's
talk route (``api/talk.py``) grants the floor here and relays the talk's sealed packets to the
camera through the device hub (``devices.DEVICE_HUB``); it never holds a talk key
(docs/e2e-envelope.md §13). This module is the pure part: who holds what, who watches.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from ..devices import DeviceId


@dataclass(frozen=True)
class Talk:
    """The floor of one camera, held by ``owner`` (a talk socket) for one talk."""

    device: DeviceId
    stream_id: str
    talk_id: str
    talker: str  # the operator's display name, shown to the other viewers
    owner: object


@dataclass
class TalkFloors:
    """Who holds each camera's floor, and the talk sockets that watch it."""

    held: dict[DeviceId, Talk] = field(default_factory=dict)
    watchers: dict[DeviceId, set] = field(default_factory=dict)

    def holder(self, device: DeviceId) -> Talk | None:
        return self.held.get(device)

    def take(self, device: DeviceId, owner: object, talker: str, stream_id: str, talk_id: str) -> Talk | None:
        """Grant the floor to ``owner`` (also for a new talk of the owner that holds it); None when
        another talker holds it."""
        current = self.held.get(device)
        if current is not None and current.owner is not owner:
            return None
        talk = Talk(device, stream_id, talk_id, talker, owner)
        self.held[device] = talk
        return talk

    def release(self, device: DeviceId, owner: object) -> Talk | None:
        """``owner`` lets go; the talk it held, or None if it held none."""
        current = self.held.get(device)
        if current is None or current.owner is not owner:
            return None
        del self.held[device]
        return current

    def watch(self, device: DeviceId, socket: object) -> None:
        self.watchers.setdefault(device, set()).add(socket)

    def unwatch(self, device: DeviceId, socket: object) -> None:
        sockets = self.watchers.get(device)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self.watchers[device]


TALK = web.AppKey("talk", TalkFloors)


def setup_talk(app: web.Application) -> None:
    app[TALK] = TalkFloors()
