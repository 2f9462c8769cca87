"""The device hub when a camera's connection closes while the hub answers it (issue 12: at
shutdown, a chunk's acknowledgement sent to a closing transport raised ClientConnectionResetError
out of the handler, and aiohttp printed a traceback): the session just ends.

covers: D3
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from aiohttp import ClientConnectionResetError, WSMsgType

from appliance.devices import DeviceId
from appliance.hub.api.devices import _serve
from appliance.hub.registry import DeviceSession, HubRegistry
from bwlab.clock import ManualClock


class _ClosingSocket:
    """A device socket whose transport is closing: what the camera sent arrives, answers fail."""

    def __init__(self, messages):
        self._messages = list(messages)
        self.sent = 0

    def __aiter__(self):
        return self

    async def __anext__(self):
        if not self._messages:
            raise StopAsyncIteration
        return self._messages.pop(0)

    async def send_str(self, data: str) -> None:
        self.sent += 1
        raise ClientConnectionResetError("Cannot write to closing transport")


def test_an_answer_to_a_closing_connection_ends_the_session_quietly():
    clock = ManualClock(1_800_000_000.0)
    registry = HubRegistry()
    registry.streams = SimpleNamespace()  # not reached: the message is answered with an error first
    ws = _ClosingSocket([SimpleNamespace(type=WSMsgType.TEXT, data="not a message")] * 2)
    session = DeviceSession(DeviceId("sys", "B8A44F000101"), "org", clock.now() + 3600, ws)  # type: ignore[arg-type]
    ctx = SimpleNamespace(clock=clock)
    asyncio.run(_serve(ws, ctx, session, registry))  # type: ignore[arg-type]
    assert ws.sent == 1, "the session ended at the first failed answer"
