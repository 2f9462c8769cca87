"""What the trainer allows (docs/security.md item 4): ``GET``/``PUT /api/lab/settings`` (the
settings and their store: ``lab/settings.py``)."""

from __future__ import annotations

from dataclasses import replace

from aiohttp import web

from bwlab import schema

from ...context import APPLIANCE
from ...http import LAB, access, json_response, read_body
from ..settings import LAB_SETTINGS, SettingsChange

routes = web.RouteTableDef()


@routes.get("/settings")
@access(LAB)
async def get_settings(request: web.Request) -> web.Response:
    return json_response(schema.as_json(request.config_dict[LAB_SETTINGS].current))


@routes.put("/settings")
@access(LAB)
async def put_settings(request: web.Request) -> web.Response:
    """Change the keys given; the others keep their values."""
    change = await read_body(request, SettingsChange)
    store = request.config_dict[LAB_SETTINGS]
    changed = {k: v for k, v in schema.as_json(change).items() if v is not None}
    settings = await store.save(request.config_dict[APPLIANCE].db, replace(store.current, **changed))
    return json_response(schema.as_json(settings))
