"""Finding the appliance on the LAN with zeroconf (DESIGN "Lab network": discovery).

The appliance advertises ``_bwlab._tcp.local.`` with its URL in the TXT record; the fleet and
the CLI browse for it when no URL is given.
"""

from __future__ import annotations

import socket

from zeroconf import InterfaceChoice, IPVersion, ServiceBrowser, ServiceInfo, ServiceListener, Zeroconf
from zeroconf.asyncio import AsyncZeroconf

SERVICE_TYPE = "_bwlab._tcp.local."


def service_info(name: str, port: int, url: str, addresses: list[str]) -> ServiceInfo:
    return ServiceInfo(
        SERVICE_TYPE,
        f"{name}.{SERVICE_TYPE}",
        port=port,
        properties={"url": url, "path": "/", "version": "1"},
        addresses=[socket.inet_aton(a) for a in addresses if ":" not in a],
        server=f"{socket.gethostname()}.local.",
    )


async def advertise(name: str, port: int, url: str, interfaces: list[str] | None = None) -> AsyncZeroconf:
    """Register the appliance; returns the AsyncZeroconf to close on shutdown."""
    addresses = interfaces or _local_addresses()
    azc = AsyncZeroconf(interfaces=interfaces or InterfaceChoice.All, ip_version=IPVersion.V4Only)
    await azc.async_register_service(service_info(name, port, url, addresses))
    return azc


def _local_addresses() -> list[str]:
    try:
        from ifaddr import get_adapters
    except ImportError:
        return ["127.0.0.1"]
    found = []
    for adapter in get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str) and not ip.ip.startswith("169.254."):
                found.append(ip.ip)
    return found or ["127.0.0.1"]


class _Listener(ServiceListener):
    def __init__(self) -> None:
        self.urls: list[str] = []

    def add_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        info = zc.get_service_info(type_, name, timeout=1500)
        url = info.properties.get(b"url") if info else None
        if url:
            self.urls.append(url.decode())

    def update_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        pass

    def remove_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        pass


def discover_url(timeout: float = 2.0, interfaces: list[str] | None = None) -> str | None:
    """The URL of the first appliance that answers within ``timeout`` seconds, or None."""
    import threading

    zc = Zeroconf(interfaces=interfaces or InterfaceChoice.All, ip_version=IPVersion.V4Only)
    listener = _Listener()
    try:
        browser = ServiceBrowser(zc, SERVICE_TYPE, listener)
        threading.Event().wait(timeout)
        browser.cancel()
    finally:
        zc.close()
    return listener.urls[0] if listener.urls else None
