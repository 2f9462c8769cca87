"""Where SOC notifications may be sent (SPEC S12; docs/security.md, issue 10 item 4).

An organization admin enters any URL, and the appliance then POSTs to it from inside the lab:
without a rule, an integration is a port scanner of the lab network and of the appliance's own
loopback services. So, unless the lab setting ``soc_private_targets`` is on
(appliance/lab/settings.py):

* the URL must be ``https://``;
* every address the host has must be a public one: loopback, private, link-local, multicast,
  unspecified, shared (CGNAT), reserved and documentation ranges are refused, also when they hide
  in an IPv6 address (IPv4-mapped, 6to4, Teredo).

The rule is applied twice. When the URL is entered (``check_url``): an address literal, or every
address the name resolves to now, gives ``400`` naming ``url``. At every delivery
(``guarded_socket_factory``): the check runs on the very address the HTTP client is about to
connect to, after its own DNS resolution — so a name that resolved to a public address when it
was entered and to 127.0.0.1 later (DNS rebinding) is refused, and the delivery log then says
``refused: private address`` and nothing about what is there.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable

from yarl import URL

from bwlab.errors import Refused

RESOLVE_TIMEOUT = 3.0
REFUSED_PRIVATE = "refused: private address"
REFUSED_HTTP = "refused: https only"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedTarget(Refused, OSError):
    """Raised by the socket factory instead of connecting to a refused address."""


def address_refused(address: IPAddress) -> bool:
    """Whether ``address`` is not a public unicast address (nor hides one that is not)."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or (address.sixtofour) or (address.teredo[1] if address.teredo else None)
        if inner is not None and address_refused(inner):
            return True
    return not address.is_global or address.is_multicast or address.is_unspecified


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


async def check_url(url: str, allow_private: bool) -> str | None:
    """Why ``url`` may not be an integration's URL now (a message naming ``url``), or None."""
    if allow_private:
        return None
    parsed = URL(url)
    if parsed.scheme != "https":
        return "url: must be https:// (plain http:// only to the lab network, with the lab setting soc_private_targets)"
    host = parsed.host or ""
    literal = _literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = await asyncio.wait_for(
                asyncio.get_running_loop().getaddrinfo(host, parsed.port or 443, type=socket.SOCK_STREAM),
                RESOLVE_TIMEOUT,
            )
        except (TimeoutError, OSError, UnicodeError):
            return None  # not resolvable now: every delivery checks the address it connects to
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if any(address_refused(a) for a in addresses):
        return (
            "url: the host is a loopback, private, link-local or other non-public address; the lab setting "
            "soc_private_targets allows those"
        )
    return None


def guarded_socket_factory(allow_private: Callable[[], bool]):
    """An aiohttp ``socket_factory`` that refuses to connect to a refused address (unless the lab
    setting allows it at that moment)."""

    def make(addr_info) -> socket.socket:
        family, type_, proto, _, sockaddr = addr_info
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if not allow_private() and address_refused(address):
            raise RefusedTarget(REFUSED_PRIVATE)
        return socket.socket(family=family, type=type_, proto=proto)

    return make


def refused_by_guard(exc: BaseException) -> bool:
    """Whether a client error came from ``guarded_socket_factory``."""
    seen = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, RefusedTarget):
            return True
        cause = getattr(cause, "os_error", None) or cause.__cause__ or cause.__context__
    return False
