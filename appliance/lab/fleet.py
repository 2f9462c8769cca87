"""The fleets connected to the lab (L1, L2): which camera each one runs, the cameras' physical
state, and the messages to every fleet and Lab panel (``bwlab.wire.fleet_link``). The fleet's
WebSocket and the Lab panel's feed are in ``api/fleet.py``."""

from __future__ import annotations

import asyncio
import secrets
import weakref
from dataclasses import fields, replace

from aiohttp import web

from bwlab.wire import fleet_link

from ..errors import Conflict
from ..fanout import FeedEnded, Subscriber, TooSlow

CLOCK_TIMEOUT = 10.0  # the longest a travel waits for a fleet to take the new lab time
OUTBOX = 1024  # messages a fleet or a Lab panel may fall behind before it is cut off (it reconnects)


class FleetLink:
    """The fleets connected now, which camera each one runs, and the cameras' physical state.

    Every message to a socket goes through its own bounded outbox (``appliance.fanout``) and a
    task that writes it: a broadcast never waits for a socket, so one slow fleet or Lab panel
    stalls no other; one that falls ``OUTBOX`` messages behind is closed (4408) and reconnects."""

    def __init__(self) -> None:
        self.sockets: dict[str, web.WebSocketResponse] = {}  # serial → the fleet socket running it
        self.states: dict[str, dict] = {}
        self.pending: dict[str, asyncio.Future[fleet_link.Result]] = {}
        self.all: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()
        self.listeners: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()
        self.outboxes: weakref.WeakKeyDictionary[web.WebSocketResponse, Subscriber[fleet_link.Message]] = (
            weakref.WeakKeyDictionary()
        )
        self.dropped = 0  # messages lost to sockets that were cut off

    def attach(self, ws: web.WebSocketResponse) -> Subscriber[fleet_link.Message]:
        """Give ``ws`` its outbox (before anything is sent to it through ``send``)."""
        outbox: Subscriber[fleet_link.Message] = Subscriber(OUTBOX)
        self.outboxes[ws] = outbox
        return outbox

    def send(self, ws: web.WebSocketResponse, message: fleet_link.Message) -> bool:
        """Queue ``message`` for ``ws`` without waiting; False when it is closed or cut off."""
        outbox = self.outboxes.get(ws)
        if outbox is None or ws.closed:
            return False
        before = outbox.dropped
        queued = outbox.offer(message)
        self.dropped += outbox.dropped - before
        return queued

    @staticmethod
    async def pump(ws: web.WebSocketResponse, outbox: Subscriber[fleet_link.Message]) -> None:
        """Write the outbox to the socket, in order, until it closes (run as the socket's task)."""
        try:
            while not ws.closed:
                await ws.send_str(fleet_link.encode(await outbox.get()))
        except TooSlow:
            await ws.close(code=4408, message=b"too slow; reconnect")
        except (ConnectionError, FeedEnded):
            pass

    async def ask(self, serial: str, action: fleet_link.CameraAction, timeout: float) -> fleet_link.Result:
        """Have the fleet running ``serial`` carry out ``action`` and return its result;
        ``Conflict`` when no fleet runs the camera, it does not answer, or it refuses."""
        ws = self.sockets.get(serial)
        if ws is None or ws.closed:
            raise Conflict(
                f"no running fleet has camera {serial}; start one with `bwlab fleet`", code="camera_not_running"
            )
        action_id = secrets.token_hex(8)
        future: asyncio.Future[fleet_link.Result] = asyncio.get_running_loop().create_future()
        self.pending[action_id] = future
        self.send(
            ws,
            fleet_link.Action(
                **{f.name: getattr(action, f.name) for f in fields(fleet_link.CameraAction)},
                id=action_id,
                serial=serial,
            ),
        )
        try:
            result = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise Conflict(f"camera {serial} did not answer within {timeout:.0f} s", code="camera_timeout") from None
        finally:
            self.pending.pop(action_id, None)
        if not result.ok:
            raise Conflict(result.error or "the camera refused", code=result.code or "action_failed")
        return result

    async def travelled(self, offset: float, timeout: float = CLOCK_TIMEOUT) -> None:
        """Tell every fleet the new lab time and wait (at most ``timeout``) until each has taken
        it and renewed its docked cameras (D1): when a travel returns, the cameras live at the new
        time, so a dock, an undock or a check that follows never meets a fleet still in the past
        (whose dock would hand a camera a controller time days off its own clock)."""
        message = fleet_link.Clock(offset=offset)
        waits: dict[str, asyncio.Future[fleet_link.Result]] = {}
        for ws in list(self.all):
            if ws.closed:
                continue
            clock_id = secrets.token_hex(8)
            waits[clock_id] = self.pending[clock_id] = asyncio.get_running_loop().create_future()
            if not self.send(ws, replace(message, id=clock_id)):
                waits.pop(clock_id).cancel()
                self.pending.pop(clock_id, None)
        try:
            if waits:
                await asyncio.wait(waits.values(), timeout=timeout)
        finally:
            for clock_id in waits:
                self.pending.pop(clock_id, None)
        await self.broadcast(message, to_fleets=False)

    async def broadcast(
        self, message: fleet_link.Message, *, to_fleets: bool = True, to_listeners: bool = True
    ) -> None:
        """Queue ``message`` for every fleet and/or Lab panel; waits for none of them."""
        targets = (list(self.all) if to_fleets else []) + (list(self.listeners) if to_listeners else [])
        for ws in targets:
            self.send(ws, message)


FLEET = web.AppKey("fleet", FleetLink)
