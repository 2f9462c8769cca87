"""The lab's NTP server on UDP: the asyncio adapter around ``labnet.ntp.NtpResponder`` (SPEC S1, L2).

Reads lab time when a datagram arrives, asks the responder for the answer and sends it back;
``start_ntp_server`` binds it. The packet rules (offsets, outages, kiss-o'-death) are the
responder's.
"""

from __future__ import annotations

import asyncio
import logging

from bwlab.clock import Clock
from labnet.ntp import NtpResponder

logger = logging.getLogger(__name__)


class NtpServerProtocol(asyncio.DatagramProtocol):
    """asyncio adapter: reads lab time on arrival, asks the responder, sends the answer back."""

    def __init__(self, responder: NtpResponder):
        self.responder = responder
        self.transport: asyncio.DatagramTransport | None = None
        self._warned = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a datagram endpoint's transport

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        reply = self.responder.handle_datagram(data, self.responder.clock.now())
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)

    def error_received(self, exc: Exception) -> None:
        if not self._warned:  # log once: a client that went away makes this repeat
            self._warned = True
            logger.warning("NTP server socket error: %s", exc)


async def start_ntp_server(
    clock: Clock, host: str = "127.0.0.1", port: int = 123, **responder_options
) -> tuple[asyncio.DatagramTransport, NtpResponder]:
    """Serve lab time on UDP ``host:port`` (port 0 picks a free one; read it from the transport's
    ``get_extra_info("sockname")``). Close the transport to stop."""
    responder = NtpResponder(clock, **responder_options)
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: NtpServerProtocol(responder), local_addr=(host, port))
    return transport, responder
