"""The service's host names in the lab: DNS files and the "blocked host name" fault (SPEC T5, T2).

T5 lists the host names a body-worn system must reach, all on port 443 (bwlab's own names,
``bwlab.regions.SERVICE_HOSTS``). In the lab every one of them is the appliance: ``hosts_file`` and
``dnsmasq_conf`` write them for an ``/etc/hosts`` or a lab DNS (dnsmasq) pointing at the
appliance's address.

Both files carry the T5 table as the manual has it, as comments: each lab name with the manual's
name it stands for, its purpose and who uses it (browsers, cameras, system controllers).

T2 row 5, "I get an error message about AXIS Body Worn Live" → "make sure the system can reach
the host names listed" (a cause derived from the fix column, docs/manual-vs-spec.md row 17): the
lab can block any T5 name. A camera needs the names the table gives to cameras (manual-vs-spec
row 24): the body-worn APIs (``*.bodyworn.axis.com``), device-to-cloud messaging, and the video
storage host of the region its evidence goes to (the storage location chosen when its system was
connected, S3/S17) — not the common APIs (``*.axis.com``) nor the controllers' body-worn APIs
(``*.bodyworn.axis.cloud``). When one it needs is blocked the device hub refuses the camera with
``service_unreachable``, which the camera shows as its service error.

The blocked set lives in the cloud database's ``lab_state`` (key ``blocked_hosts``, read and written
by ``store.py``; the hub asks ``store.blocked_camera_host``), so it survives a restart of the
appliance like the lab clock does. Which names a camera needs: ``bwlab.regions.camera_hosts``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from bwlab.regions import SERVICE_HOSTS

from ..db import Database
from . import store as lab_store

DEVICE_TO_CLOUD = next(h.name for h in SERVICE_HOSTS if h.purpose == "device-to-cloud messaging")
KNOWN = tuple(h.name for h in SERVICE_HOSTS)


def t5_table() -> list[str]:
    """The T5 table (the manual's names, purposes and users) beside the lab's names, as comment lines."""
    width = max(len(h.name) for h in SERVICE_HOSTS)
    return [f"#   {h.name:<{width}}  = {h.manual} ({h.purpose}; {h.clients})" for h in SERVICE_HOSTS]


def check_address(address: str) -> str:
    """An IPv4 or IPv6 address, normalised (an IPv4-mapped IPv6 address as IPv4); ValueError otherwise."""
    ip = ipaddress.ip_address(address.strip())
    mapped = getattr(ip, "ipv4_mapped", None)
    return str(mapped or ip)


def hosts_file(address: str, names: Iterable[str] = KNOWN) -> str:
    """``/etc/hosts`` lines pointing every T5 name at ``address``."""
    address = check_address(address)
    lines = ["# bwlab: the service's host names (SPEC T5, port 443) all point at the lab appliance", *t5_table()]
    lines += [f"{address}\t{name}" for name in names]
    return "\n".join(lines) + "\n"


def dnsmasq_conf(address: str, names: Iterable[str] = KNOWN) -> str:
    """A dnsmasq snippet (``/etc/dnsmasq.d/bwlab.conf``) answering every T5 name with ``address``."""
    address = check_address(address)
    lines = ["# bwlab: the service's host names (SPEC T5, port 443) all point at the lab appliance", *t5_table()]
    lines += [f"address=/{name}/{address}" for name in names]
    return "\n".join(lines) + "\n"


def check_hostname(name: str) -> str:
    """A T5 host name of the lab, lower-cased; ValueError naming the known ones otherwise."""
    name = name.strip().lower().rstrip(".")
    if name not in KNOWN:
        raise ValueError(f"hostname: {name!r} is not one of the service's host names (T5): {', '.join(KNOWN)}")
    return name


async def blocked(db: Database) -> list[str]:
    return await lab_store.blocked_hosts(db)


async def set_blocked(db: Database, names: Iterable[str]) -> list[str]:
    ordered = [n for n in KNOWN if n in set(names)]
    await lab_store.save_blocked_hosts(db, ordered)
    return ordered
