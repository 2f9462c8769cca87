"""The system controller's settings, as the Manager's Settings menu has them, each field checked.

* **Settings > System > Date and time** (S1): ``time_zone`` (an IANA zone, ``Europe/Paris``) and
  ``ntp_server`` (``host`` or ``host:port``). The NTP server sets the controller's clock
  (``timesync.py``); the time zone is how the controller shows and hands out its local time.
* **Settings > Network** (S3, T2 row 1): ``ipv4`` (``dhcp`` or a static ``address/prefix``),
  ``gateway``, ``dns`` (name servers: an IPv4 address, or ``address:port`` for a lab name server
  on an unprivileged port) and ``proxy`` (``http://host:port``). They drive how the controller
  reaches the cloud (``cloud_client.py``).
* **Settings > Camera > Mobile networks** (T2 row 4c, T4 row 7): behind **Show advanced**, the
  ``apn`` the docks give every LTE camera's modem.

A bad field is refused with its path (``network.dns[1]: expected an IPv4 address …``) and nothing
is saved. ``SystemSettings`` is the whole document stored per system; the three sections are also
bodies of their own (one screen saves one section).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from yarl import URL

from bwlab import schema
from bwlab.schema import FieldError

log = logging.getLogger(__name__)

_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


def is_hostname(text: str) -> bool:
    """An IPv4 address or an RFC 1123 host name."""
    try:
        ipaddress.IPv4Address(text)
        return True
    except ValueError:
        pass
    name = text.rstrip(".")
    return (
        0 < len(name) <= 253 and not name.replace(".", "").isdigit() and all(_LABEL.match(p) for p in name.split("."))
    )


def host_port(text: str, default_port: int) -> tuple[str, int] | None:
    """``host`` or ``host:port`` with a port 1–65535; None if it is neither."""
    host, sep, port = text.strip().rpartition(":")
    if not sep:
        host, port = text.strip(), str(default_port)
    if not (port.isdigit() and 1 <= int(port) <= 65535 and is_hostname(host)):
        return None
    return host, int(port)


def _check_date_time(time_zone: str, ntp_server: str | None) -> None:
    if time_zone not in _zones():
        raise FieldError("time_zone", "an IANA time zone such as 'Europe/Paris' or 'UTC'", time_zone)
    if ntp_server is not None and host_port(ntp_server, 123) is None:
        raise FieldError("ntp_server", "a host name or IPv4 address, with an optional :port (1-65535)", ntp_server)


@dataclass(frozen=True)
class DateTime:
    """Settings > System > Date and time."""

    time_zone: str = field(default="UTC", metadata={"max_len": 64})
    ntp_server: str | None = field(default=None, metadata={"max_len": 260})

    def __post_init__(self) -> None:
        if self.ntp_server is not None and not self.ntp_server.strip():
            object.__setattr__(self, "ntp_server", None)
        _check_date_time(self.time_zone, self.ntp_server)


@dataclass(frozen=True)
class NetworkSettings:
    """Settings > Network: how the controller reaches the cloud."""

    ipv4: str = field(default="dhcp", metadata={"max_len": 18})
    gateway: str | None = field(default=None, metadata={"max_len": 15})
    dns: list[str] = field(default_factory=list, metadata={"max_items": 4})
    proxy: str | None = field(default=None, metadata={"max_len": 260})

    def __post_init__(self) -> None:
        if self.proxy is not None and not self.proxy.strip():
            object.__setattr__(self, "proxy", None)
        interface = self.interface
        if self.gateway is not None:
            if interface is None:
                raise FieldError("gateway", "no gateway with ipv4 'dhcp' (DHCP hands it out)", self.gateway)
            try:
                gateway = ipaddress.IPv4Address(self.gateway)
            except ValueError:
                raise FieldError("gateway", "an IPv4 address", self.gateway) from None
            if gateway not in interface.network or gateway == interface.ip:
                raise FieldError(
                    "gateway", f"another address in the system's network {interface.network}", self.gateway
                )
        for i, server in enumerate(self.dns):
            found = host_port(server, 53)
            try:
                ipaddress.IPv4Address(found[0] if found else "")
            except ValueError:
                raise FieldError(f"dns[{i}]", "an IPv4 address, with an optional :port", server) from None
        if self.proxy is not None:
            try:
                url = URL(self.proxy)
                ok = (
                    url.scheme in ("http", "https")
                    and url.host
                    and is_hostname(url.host)
                    and url.path in ("", "/")
                    and not url.query_string
                    and url.explicit_port != 0
                )
            except (ValueError, TypeError):
                ok = False
            if not ok:
                raise FieldError("proxy", "a proxy URL such as 'http://proxy.example:3128'", self.proxy)

    @property
    def interface(self) -> ipaddress.IPv4Interface | None:
        """The static address and its network; None on DHCP. Raises FieldError on a bad ``ipv4``."""
        if self.ipv4 == "dhcp":
            return None
        try:
            if "/" not in self.ipv4:
                raise ValueError
            interface = ipaddress.IPv4Interface(self.ipv4)
        except ValueError:
            raise FieldError(
                "ipv4", "'dhcp' or a static address with its prefix, such as '192.0.2.10/24'", self.ipv4
            ) from None
        net = interface.network
        if net.prefixlen < 31 and interface.ip in (net.network_address, net.broadcast_address):
            raise FieldError("ipv4", f"a host address of {net}, not its network or broadcast address", self.ipv4)
        return interface

    def name_servers(self) -> list[tuple[str, int]]:
        return [host_port(s, 53) for s in self.dns]  # type: ignore[misc]  # checked in __post_init__


@dataclass(frozen=True)
class MobileNetworks:
    """Settings > Camera > Mobile networks; ``apn`` is behind Show advanced (T2 row 4c, T4 row 7)."""

    apn: str | None = field(default=None, metadata={"max_len": 100})

    def __post_init__(self) -> None:
        if self.apn is not None and not self.apn.strip():
            object.__setattr__(self, "apn", None)
        if self.apn is not None and not all(_LABEL.match(p) for p in self.apn.split(".")):
            raise FieldError(
                "apn",
                "an access point name: letters, digits and hyphens in labels separated by dots "
                "(such as 'internet.operator.example')",
                self.apn,
            )


@dataclass(frozen=True)
class SystemSettings:
    """Everything Settings holds for one system (stored as one JSON document)."""

    time_zone: str = field(default="UTC", metadata={"max_len": 64})
    ntp_server: str | None = field(default=None, metadata={"max_len": 260})
    network: NetworkSettings = field(default_factory=NetworkSettings)
    mobile_networks: MobileNetworks = field(default_factory=MobileNetworks)
    country: str | None = field(default=None, metadata={"max_len": 2})  # where the system is (T2 row 7)

    def __post_init__(self) -> None:
        if self.ntp_server is not None and not self.ntp_server.strip():
            object.__setattr__(self, "ntp_server", None)
        _check_date_time(self.time_zone, self.ntp_server)
        if self.country is not None and not (
            len(self.country) == 2 and self.country.isascii() and self.country.isalpha()
        ):
            raise FieldError("country", "a two-letter ISO 3166 country code (e.g. SE)", self.country)


def settings_from_json(settings_json: str | None, system_id: str) -> SystemSettings:
    """A system's saved settings. A value no check accepts now (saved before the check existed)
    is dropped with a warning rather than failing every page or sync that reads the settings."""
    data = json.loads(settings_json or "{}")
    try:
        return schema.from_mapping(SystemSettings, data)
    except schema.SchemaError as exc:
        log.warning("system %s: a saved setting is ignored: %s", system_id, exc)
        return schema.from_mapping(SystemSettings, {k: v for k, v in data.items() if _valid_setting(k, v)})


def _valid_setting(key: str, value) -> bool:
    try:
        schema.from_mapping(SystemSettings, {key: value})
    except schema.SchemaError:
        return False
    return True


def local_time(epoch: float, time_zone: str) -> str:
    """``epoch`` as ISO 8601 local time in ``time_zone``, with its UTC offset."""
    return datetime.fromtimestamp(epoch, zoneinfo.ZoneInfo(time_zone)).isoformat(timespec="seconds")
