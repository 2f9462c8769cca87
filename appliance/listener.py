"""The HTTPS listener, with every step of a new connection bounded in time (docs/security.md, item 10).

A connection that never completes its TLS handshake is dropped after ``handshake_timeout``
(asyncio's own default is a minute; aiohttp's ``TCPSite`` does not pass one), and one whose
request headers do not arrive within ``header_timeout`` after the handshake or the previous
answer is closed: aiohttp's keep-alive timer also runs while it waits for a request's headers,
so the runner's ``keepalive_timeout`` is that bound (aiohttp's default is an hour). The device
hub gives a camera ``handshake_timeout`` for its hello (appliance/hub/api/devices.py).

A handshake may end after the site stopped: aiohttp learns of a connection only then, after its
shutdown closed the connections it knew, so the connection stayed open past the appliance's end
(and, once the event loop was gone, its TLS transport was collected unclosed: a ResourceWarning).
The site's connections are closed as their handshake ends once the site has stopped, and those
whose handshake is still under way when it stops are cut then: the event loop may end before the
handshake would (a client in the same process cancelled mid-handshake, say), leaving the
transport open for ever.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from aiohttp import web


def runner_options(header_timeout: float) -> dict:
    """Options of the ``AppRunner`` (and of each connection's handler): a request's headers, and an
    idle keep-alive, within the bound; no access log."""
    return {"keepalive_timeout": header_timeout, "access_log": None}


class _Connection(web.RequestHandler):
    """aiohttp's handler of one connection, closed as its TLS handshake ends if its site stopped
    meanwhile (see the module docstring)."""

    def __init__(self, site: HandshakeBoundSite, manager: web.Server, **options: Any) -> None:
        super().__init__(manager, **options)
        self._site = site
        self.made = False  # the TLS handshake has ended and aiohttp knows the connection

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.made = True
        if self._site.stopped:
            self.force_close()


class HandshakeBoundSite(web.TCPSite):
    """``TCPSite`` whose TLS handshakes must finish within ``ssl_handshake_timeout`` seconds."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        *,
        ssl_context: ssl.SSLContext,
        ssl_handshake_timeout: float,
        header_timeout: float,
        reuse_address: bool = True,
    ):
        super().__init__(runner, host, port, ssl_context=ssl_context, reuse_address=reuse_address)
        self.ssl_handshake_timeout = ssl_handshake_timeout
        self.header_timeout = header_timeout
        self.stopped = False

    async def start(self) -> None:
        self._runner._reg_site(self)
        server = self._runner.server
        assert server is not None
        loop = asyncio.get_running_loop()
        options = runner_options(self.header_timeout)
        self._server = await loop.create_server(
            lambda: _Connection(self, server, loop=loop, **options),
            self._host,
            self._port,
            ssl=self._ssl_context,
            backlog=self._backlog,
            reuse_address=self._reuse_address,
            reuse_port=self._reuse_port,
            ssl_handshake_timeout=self.ssl_handshake_timeout,
        )
        self._bound_port = self._server.sockets[0].getsockname()[1] if self._server.sockets else self._port

    async def stop(self) -> None:
        self.stopped = True
        server = self._server
        await super().stop()
        if isinstance(server, asyncio.Server):
            _cut_handshakes(asyncio.get_running_loop(), server)


def _cut_handshakes(loop: asyncio.AbstractEventLoop, server: asyncio.Server) -> int:
    """Abort the connections of ``server`` whose TLS handshake has not ended. asyncio keeps no
    public list of a server's connections before their handshake ends (aiohttp knows them only
    after); the selector event loop's table of its transports has them, so it is read here, by
    attribute and defensively: with another loop nothing is cut (the handshake timeout still is)."""
    transports = getattr(loop, "_transports", None)
    if transports is None:
        return 0
    cut = 0
    for transport in list(transports.values()):
        if getattr(transport, "_server", None) is not server or transport.is_closing():
            continue
        app = getattr(getattr(transport, "_protocol", None), "_app_protocol", None)
        if isinstance(app, _Connection) and not app.made:
            transport.abort()
            cut += 1
    return cut
