"""Faults (L2): ``GET/POST/DELETE /api/lab/faults``, ``DELETE /api/lab/faults/{id}`` (the book and
how a fault is applied: ``lab/network.py``)."""

from __future__ import annotations

from aiohttp import web

from labnet.faults import FAULT_KINDS

from ...context import APPLIANCE
from ...errors import NotFound
from ...http import LAB, access, json_response, read_json
from .. import store as lab_store
from ..network import LAB_NETWORK, LabNetwork, add_fault

routes = web.RouteTableDef()


def _net(request: web.Request) -> LabNetwork:
    return request.config_dict[LAB_NETWORK]


@routes.get("/faults")
@access(LAB)
async def list_faults(request: web.Request) -> web.Response:
    """L2: the faults injected now, the kinds there are, and the world they change."""
    net = _net(request)
    world = net.world()
    blocked = await lab_store.blocked_hosts(request.config_dict[APPLIANCE].db)  # /api/lab/faults/blocked-hosts
    return json_response(
        {
            "faults": net.book.as_list(),
            "kinds": FAULT_KINDS,
            "ntp": net.ntp_info(),
            "blocked_hosts": blocked,
            "world": world.as_dict(),
        }
    )


@routes.post("/faults")
@access(LAB)
async def post_fault(request: web.Request) -> web.Response:
    """L2: inject a fault: ``{"kind", "target", "set": {...}, "id"?}`` (kinds in faults.py)."""
    fault = await add_fault(request.config_dict, await read_json(request))
    return json_response(fault.as_dict(), status=201)


@routes.delete("/faults")
@access(LAB)
async def clear_faults(request: web.Request) -> web.Response:
    """L2: clear every fault (time travel stays: lab time never goes back)."""
    net = _net(request)
    gone = net.book.clear()
    net.apply_ntp()
    await net.fleet.broadcast(net.faults_message())
    return json_response({"cleared": [f.id for f in gone]})


@routes.delete("/faults/{fault_id}")
@access(LAB)
async def clear_fault(request: web.Request) -> web.Response:
    net = _net(request)
    fault = net.book.remove(request.match_info["fault_id"])
    if fault is None:
        raise NotFound(f"no fault {request.match_info['fault_id']!r}; GET /api/lab/faults lists them")
    net.apply_ntp()
    await net.fleet.broadcast(net.faults_message())
    return json_response({"cleared": [fault.id], "fault": fault.as_dict()})
