"""The lab's DNS files and the blocked-host-name fault over HTTP (SPEC T5, T2, L2).

    GET    /api/lab/dns/hosts[?address=A]           /etc/hosts lines for every T5 name
    GET    /api/lab/dns/dnsmasq.conf[?address=A]    the same as a dnsmasq snippet
    GET    /api/lab/faults/blocked-hosts            the names the lab blocks now
    POST   /api/lab/faults/blocked-hosts            {"hostname": …} block one more
    DELETE /api/lab/faults/blocked-hosts            {"hostname": …} unblock one; no body: all

The address defaults to the appliance address the request arrived at. Blocking a name a
connected camera needs drops that camera's hub connection; it comes back, is refused with
``service_unreachable`` and shows its service error (T2 row 5) until the name is unblocked.
All routes need the lab token.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from aiohttp import web

from bwlab.regions import camera_hosts

from ...cloud import store as cloud_store
from ...context import APPLIANCE
from ...devices import CLOSE_REFUSED, DEVICE_HUB
from ...errors import InvalidInput
from ...http import LAB, access, json_response, parse, read_body, read_json
from .. import hostnames

log = logging.getLogger(__name__)

routes = web.RouteTableDef()


@dataclass(frozen=True)
class HostName:
    hostname: str = field(metadata={"max_len": 253, "nonempty": True})

    def __post_init__(self):
        hostnames.check_hostname(self.hostname)


def setup_dns(app: web.Application) -> None:
    app.router.add_routes(routes)


def _address(request: web.Request) -> str:
    """``?address=``, else the appliance address this request reached."""
    given = request.query.get("address")
    if given is not None:
        try:
            return hostnames.check_address(given)
        except ValueError:
            raise InvalidInput(
                f"address: expected an IPv4 or IPv6 address, got {given[:60]!r}", path="address"
            ) from None
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    try:
        return hostnames.check_address(sockname[0])  # type: ignore[index]  # None raises TypeError: caught
    except (TypeError, IndexError, ValueError):
        return "127.0.0.1"


@routes.get("/api/lab/dns/hosts")
@access(LAB)
async def dns_hosts(request: web.Request) -> web.Response:
    """T5: the service's host names as /etc/hosts lines pointing at the appliance."""
    return web.Response(text=hostnames.hosts_file(_address(request)), content_type="text/plain")


@routes.get("/api/lab/dns/dnsmasq.conf")
@access(LAB)
async def dns_dnsmasq(request: web.Request) -> web.Response:
    """T5: the service's host names as a dnsmasq snippet pointing at the appliance."""
    return web.Response(text=hostnames.dnsmasq_conf(_address(request)), content_type="text/plain")


async def _answer(request: web.Request, names: list[str]) -> web.Response:
    return json_response({"blocked": names, "known": list(hostnames.KNOWN)})


@routes.get("/api/lab/faults/blocked-hosts")
@access(LAB)
async def list_blocked(request: web.Request) -> web.Response:
    return await _answer(request, await hostnames.blocked(request.config_dict[APPLIANCE].db))


@routes.post("/api/lab/faults/blocked-hosts")
@access(LAB)
async def block_host(request: web.Request) -> web.Response:
    """T2 row 5 (derived): the lab network stops answering for a T5 host name."""
    ctx = request.config_dict[APPLIANCE]
    body = await read_body(request, HostName)
    name = hostnames.check_hostname(body.hostname)
    names = await hostnames.set_blocked(ctx.db, [*await hostnames.blocked(ctx.db), name])
    await _drop_cameras_that_need(request, set(names))
    log.info("lab fault: host name %s blocked", name)
    return await _answer(request, names)


@routes.delete("/api/lab/faults/blocked-hosts")
@access(LAB)
async def unblock_host(request: web.Request) -> web.Response:
    ctx = request.config_dict[APPLIANCE]
    data = await read_json(request)
    if data == {}:
        names = await hostnames.set_blocked(ctx.db, [])
    else:
        name = hostnames.check_hostname(parse(HostName, data).hostname)
        names = await hostnames.set_blocked(ctx.db, [n for n in await hostnames.blocked(ctx.db) if n != name])
    return await _answer(request, names)


async def _drop_cameras_that_need(request: web.Request, names: set[str]) -> None:
    """Close the hub connection of every camera that needs a blocked name; it reconnects and is
    refused, as a real camera would fail to reach the service."""
    ctx = request.config_dict[APPLIANCE]
    registry = request.config_dict[DEVICE_HUB]
    regions = {i: s["region"] for i, s in (await cloud_store.cloud_systems(ctx.db)).items()}
    for session in list(registry.sessions.values()):
        needed = camera_hosts(regions.get(session.cloud_system_id, ""))
        if names.intersection(needed):
            await session.ws.close(code=CLOSE_REFUSED, message=b"service_unreachable")
