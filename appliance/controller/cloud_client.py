"""The system controller's HTTPS client to the cloud (S3), through the system's Settings > Network.

The controller reaches the cloud over the network like a real Manager: with the lab CA as its
trust anchor and with every field of its network settings (``settings.NetworkSettings``):

* **IP address.** A static ``address/prefix`` is the source address of every connection (the
  socket is bound to it, so an address this box does not have fails as it would on a wrong
  interface), and a destination outside that network needs a **gateway** ("no route" otherwise).
  DHCP leaves both to the host.
* **DNS.** With name servers set, the cloud's (or the proxy's) host name is looked up on them
  (dnspython), and a server that does not answer or knows no address fails the connection;
  without, the host's resolver is used. An IP address in the URL needs no look-up.
* **Proxy.** Connections go through the HTTP proxy (CONNECT for HTTPS).

When the cloud cannot be reached, the error names the network settings and the cause, so
cloud extensions cannot be enabled (S3, T2 row 1) and the camera-user sync says why.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import ssl
from typing import Any

import aiohttp
import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.resolver
from aiohttp.abc import AbstractResolver, ResolveResult

from ..errors import ClientError, Conflict
from .settings import NetworkSettings, settings_from_json

DNS_LIFETIME = 2.0


class CloudUnreachable(Conflict):
    code = "cloud_unreachable"


class NetworkPath(AbstractResolver):
    """Name resolution and routing by the controller's network settings (see the module doc)."""

    def __init__(self, network: NetworkSettings):
        self.network = network
        self.interface = network.interface
        self._default = aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [str(literal)]
        elif self.network.dns:
            addresses = await self._lookup(host)
        else:
            return self._routed(await self._default.resolve(host, port, family))
        return self._routed(
            [
                ResolveResult(
                    hostname=host, host=a, port=port, family=socket.AF_INET, proto=0, flags=socket.AI_NUMERICHOST
                )
                for a in addresses
            ]
        )

    async def _lookup(self, host: str) -> list[str]:
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [dns.nameserver.Do53Nameserver(a, p) for a, p in self.network.name_servers()]
        resolver.lifetime = DNS_LIFETIME
        try:
            answer = await resolver.resolve(host, "A")
        except dns.resolver.NXDOMAIN:
            raise OSError(
                errno.EHOSTUNREACH, f"the DNS servers {', '.join(self.network.dns)} know no host {host!r}"
            ) from None
        except (dns.exception.DNSException, OSError) as exc:
            raise OSError(
                errno.EHOSTUNREACH,
                f"no answer from the DNS servers {', '.join(self.network.dns)} for {host!r} ({type(exc).__name__})",
            ) from None
        return [r.address for r in answer]

    def _routed(self, results: list[ResolveResult]) -> list[ResolveResult]:
        if self.interface is None or self.network.gateway is not None:
            return results
        near = [r for r in results if ipaddress.ip_address(r["host"]) in self.interface.network]
        if not near:
            raise OSError(
                errno.ENETUNREACH,
                f"no route to {results[0]['host'] if results else 'the host'}: it is outside the system's "
                f"network {self.interface.network} and no gateway is set",
            )
        return near

    async def close(self) -> None:
        await self._default.close()


class CloudClient:
    def __init__(
        self,
        base_url: str,
        ca_pem: str,
        *,
        network: NetworkSettings | None = None,
        token: str | None = None,
        timeout: float = 5.0,
    ):
        self.base_url = base_url.rstrip("/") + "/api/cloud"
        self._ssl = ssl.create_default_context(cadata=ca_pem)
        self.network = network or NetworkSettings()
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def request(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        interface = self.network.interface
        try:
            connector = aiohttp.TCPConnector(
                resolver=NetworkPath(self.network), local_addr=(str(interface.ip), 0) if interface else None
            )
            async with aiohttp.ClientSession(timeout=self.timeout, connector=connector) as session:
                async with session.request(
                    method, self.base_url + path, json=body, headers=headers, ssl=self._ssl, proxy=self.network.proxy
                ) as response:
                    data = await response.json(content_type=None)
                    if response.status >= 400:
                        err = (data or {}).get("error", {}) if isinstance(data, dict) else {}
                        raise ClientError(
                            f"the cloud refused: {err.get('message', response.reason)}",
                            code=err.get("code", "cloud_error"),
                            status=response.status if response.status < 500 else 502,
                            headers={"Retry-After": response.headers["Retry-After"]}
                            if "Retry-After" in response.headers
                            else None,
                        )
                    return data
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            raise CloudUnreachable(
                f"the cloud at {self.base_url} cannot be reached ({type(exc).__name__}: {exc}); "
                "check the system's network settings (Settings > Network): IP address, DNS, proxy and firewall (S3, T2)"
            ) from None


async def cloud_probe(ctx, settings_json: str | None) -> str | None:
    """Can a system controller with these stored settings reach the cloud? None when it can, else
    the error it would show (the lab's T2 row 1 diagnosis asks it through ``context.CLOUD_PROBE``)."""
    try:
        await system_client(ctx, settings_json, timeout=3.0).request("GET", "/ping")
    except ClientError as exc:
        return exc.message
    return None


def system_client(ctx, settings_json: str | None, *, token: str | None = None, timeout: float = 5.0) -> CloudClient:
    """The cloud client of one system controller: ``settings_json`` is its stored settings
    (``ctl_systems.settings``), whose Settings > Network decide the way to the cloud."""
    settings = settings_from_json(settings_json, "?")
    return CloudClient(ctx.config.url, ctx.tls.ca_pem, network=settings.network, token=token, timeout=timeout)
