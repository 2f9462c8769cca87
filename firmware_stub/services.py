"""The service's host names as a camera on a real lab network reaches them (SPEC T5, T2; issue 15).

A camera needs two T5 names (manual-vs-spec row 24): device-to-cloud messaging, which carries its
hub link, and the video storage host of its system's region, where its evidence goes. On the
real lab network (``bwlab up --network real``) the camera resolves both through the lab DNS and
opens TLS to them on port 443 naming them in SNI. bwlab carries the evidence itself over the hub
link, so the camera checks its storage host the way an upload would reach it — a fresh DNS
lookup, TCP connection and TLS handshake to ``https://<storage name>/healthz`` — before it goes
online and every ``STORAGE_EVERY`` seconds while online; when the storage host cannot be
reached, the camera drops its hub link with ``service_unreachable`` (its service error, T2 row 5).

``Reachability`` is what the camera observed per host name (ok, or the failure: ``dns``,
``timeout``, ``refused``, ``unreachable``, ``tls``); it is reported in the camera's radio state,
and the lab's diagnosis names the host names from it — never from a rule list.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import ssl
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bwlab.regions import REGIONS, SERVICE_HOSTS

DEVICE_TO_CLOUD = next(h.name for h in SERVICE_HOSTS if h.purpose == "device-to-cloud messaging")
STORAGE_EVERY = 5.0
PROBE_TIMEOUT = 8.0  # generous: a loaded lab machine must not look like a firewall


@dataclass(frozen=True)
class ServiceRoute:
    """Where a camera on the real lab network reaches the service."""

    messaging: str = DEVICE_TO_CLOUD
    port: int = 443

    @property
    def hub_url(self) -> str:
        port = "" if self.port == 443 else f":{self.port}"
        return f"wss://{self.messaging}{port}/hub/v1/devices"

    def storage(self, region: str | None) -> str | None:
        return REGIONS[region].hostname if region in REGIONS else None

    def storage_url(self, host: str) -> str:
        port = "" if self.port == 443 else f":{self.port}"
        return f"https://{host}{port}/healthz"


@dataclass
class Reachability:
    """What the camera saw of each host name: the last outcome and when."""

    hosts: dict[str, dict] = field(default_factory=dict)

    def ok(self, host: str, now: float) -> bool:
        """Record a success; whether this changed what is reported."""
        return self._set(host, {"ok": True, "error": None, "at": now})

    def failed(self, host: str, error: str, now: float) -> bool:
        return self._set(host, {"ok": False, "error": error, "at": now})

    def _set(self, host: str, entry: dict) -> bool:
        before = self.hosts.get(host)
        self.hosts[host] = entry
        return before is None or (before["ok"], before["error"]) != (entry["ok"], entry["error"])

    def unreachable(self) -> tuple[str, ...]:
        return tuple(h for h, e in self.hosts.items() if not e["ok"])

    def as_dict(self) -> dict:
        return {h: dict(e) for h, e in self.hosts.items()}


def failure(exc: BaseException) -> str:
    """A network failure as the camera names it."""
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "dns"
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return "timeout"
    if isinstance(exc, (aiohttp.ClientConnectorCertificateError, ssl.SSLError)):
        return "tls"
    os_error = getattr(exc, "os_error", None) or (exc if isinstance(exc, OSError) else None)
    if isinstance(os_error, OSError) and os_error.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return "unreachable"
    return "refused"


def storage_session() -> aiohttp.ClientSession:
    """No DNS cache and no kept connection: every check resolves, connects and shakes hands anew."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(use_dns_cache=False, force_close=True),
        timeout=aiohttp.ClientTimeout(total=PROBE_TIMEOUT),
    )


async def check_storage(
    session: aiohttp.ClientSession, route: ServiceRoute, host: str, ssl_context: ssl.SSLContext
) -> str | None:
    """None when the storage host answered over TLS; else the failure."""
    try:
        async with session.get(route.storage_url(host), ssl=ssl_context) as r:
            await r.read()
            return None if r.status < 500 else "refused"
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        return failure(exc)


def lan_facts(toward: str) -> dict | None:
    """The camera's own place on the lab network: the address it would use toward ``toward`` (no
    packet is sent), that interface's MAC, and its namespace (``BWLAB_NETNS``, set by the lab)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect((toward, 9))
            ip = s.getsockname()[0]
    except OSError:
        return None
    names = [name for _, name in socket.if_nameindex() if name != "lo"]  # in its namespace: eth0
    try:
        mac = Path(f"/sys/class/net/{names[0]}/address").read_text().strip() if len(names) == 1 else None
    except OSError:
        mac = None
    return {"ip": ip, "mac": mac, "netns": os.environ.get("BWLAB_NETNS")}
