"""The HTTPS listener, with every step of a new connection bounded in time (docs/security.md, item 10).

A connection that never completes its TLS handshake is dropped after ``handshake_timeout``
(asyncio's own default is a minute; aiohttp's ``TCPSite`` does not pass one), and one whose
request headers do not arrive within ``header_timeout`` after the handshake or the previous
answer is closed: aiohttp's keep-alive timer also runs while it waits for a request's headers,
so the runner's ``keepalive_timeout`` is that bound (aiohttp's default is an hour). The device
hub gives a camera ``handshake_timeout`` for its hello (appliance/hub/api/devices.py).
"""

from __future__ import annotations

import asyncio
import ssl

from aiohttp import web


def runner_options(header_timeout: float) -> dict:
    """Options of the ``AppRunner``: a request's headers, and an idle keep-alive, within the bound."""
    return {"keepalive_timeout": header_timeout}


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
        reuse_address: bool = True,
    ):
        super().__init__(runner, host, port, ssl_context=ssl_context, reuse_address=reuse_address)
        self.ssl_handshake_timeout = ssl_handshake_timeout

    async def start(self) -> None:
        self._runner._reg_site(self)
        server = self._runner.server
        assert server is not None
        self._server = await asyncio.get_running_loop().create_server(
            server,
            self._host,
            self._port,
            ssl=self._ssl_context,
            backlog=self._backlog,
            reuse_address=self._reuse_address,
            reuse_port=self._reuse_port,
            ssl_handshake_timeout=self.ssl_handshake_timeout,
        )
        self._bound_port = self._server.sockets[0].getsockname()[1] if self._server.sockets else self._port
