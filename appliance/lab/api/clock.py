"""Lab time (L2): ``GET /api/lab/time`` and ``POST /api/lab/time/travel``; ``travel_lab_time`` is the
one way lab time moves (kept across restarts, told to every fleet)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ...context import APPLIANCE
from ...http import LAB, access, json_response, read_body
from .. import store as lab_store
from ..fleet import FLEET
from ..network import LAB_NETWORK

routes = web.RouteTableDef()

MAX_TRAVEL = 400 * 86400


@dataclass(frozen=True)
class Travel:
    seconds: float = field(metadata={"min": 0, "max": MAX_TRAVEL})


@routes.get("/time")
@access(LAB)
async def get_time(request: web.Request) -> web.Response:
    """Lab time, the travel offset, and the lab's NTP server (S1: fleets sync their cameras to it)."""
    clock = request.config_dict[APPLIANCE].clock
    return json_response(
        {"lab_time": clock.now(), "offset": clock.offset, "ntp": request.config_dict[LAB_NETWORK].ntp_info()}
    )


async def travel_lab_time(app: Any, seconds: float) -> float:
    """Move lab time forward, keep the offset across restarts, and tell every fleet (L2)."""
    ctx = app[APPLIANCE]
    if seconds < 0:
        raise ValueError("lab time only travels forward")
    # kept first, moved after: a travel that cannot be kept (a full disk) changes nothing
    await lab_store.save_clock_offset(ctx.db, ctx.clock.offset + seconds)
    offset = ctx.clock.travel(seconds)
    await app[FLEET].travelled(offset)
    return offset


@routes.post("/time/travel")
@access(LAB)
async def travel(request: web.Request) -> web.Response:
    """L2: move lab time forward; every rule that reads the clock sees it at once."""
    body = await read_body(request, Travel)
    offset = await travel_lab_time(request.config_dict, body.seconds)
    return json_response({"lab_time": request.config_dict[APPLIANCE].clock.now(), "offset": offset})
