"""The map's site plan (D9, L4): ``PUT``/``GET /api/lab/site`` (the plan and its coverage: ``lab/site.py``)."""

from __future__ import annotations

from aiohttp import web

from ...context import APPLIANCE
from ...http import LAB, access, json_response, read_body
from .. import store as lab_store
from ..site import SitePlan, plan_json

routes = web.RouteTableDef()


@routes.put("/site")
@access(LAB)
async def put_site(request: web.Request) -> web.Response:
    """Set the site plan (streets, buildings, access points, optional tile server) the map draws."""
    ctx = request.config_dict[APPLIANCE]
    plan = await read_body(request, SitePlan)
    data = plan_json(plan)
    await lab_store.save_site_plan(ctx.db, data)
    return json_response(data)


@routes.get("/site")
@access(LAB)
async def get_site(request: web.Request) -> web.Response:
    return json_response(
        await lab_store.site_plan(request.config_dict[APPLIANCE].db) or {"site": None, "access_points": []}
    )
