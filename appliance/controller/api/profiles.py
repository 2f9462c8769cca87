"""Camera profiles (S7, S8, S11) and the camera models they apply to."""

from __future__ import annotations

import json

from aiohttp import web
from aiosqlite import Row

from bwlab import schema
from bwlab.models import MODELS

from ...errors import Conflict, InvalidInput
from ...http import MANAGER, access, json_response, read_body
from ...ids import new_id
from .. import store
from ..provisioning import ProfileSettings
from .request import API, db, profile_row, system_id

routes = web.RouteTableDef()


def _profile_json(row: Row) -> dict:
    return {"id": row["id"], **json.loads(row["settings"])}


async def _check_profile_networks(request: web.Request, settings: ProfileSettings) -> None:
    known = set(await store.wifi_passwords(db(request), system_id(request)))
    for i, ssid in enumerate(settings.wifi_networks):
        if ssid not in known:
            raise InvalidInput(
                f"wifi_networks[{i}]: no Wi-Fi network {ssid!r} in Settings > Camera", path=f"wifi_networks[{i}]"
            )


@routes.get(API + "/models")
@access(MANAGER)
async def list_models(request: web.Request) -> web.Response:
    """The camera models and what they can do (S8 bands, S11 GPS, T1, T4): the Manager offers
    Location per model only for the models with GPS."""
    return json_response({"models": [m.as_dict() for m in MODELS.values()]})


@routes.get(API + "/profiles")
@access(MANAGER)
async def list_profiles(request: web.Request) -> web.Response:
    rows = await store.profiles(db(request), system_id(request))
    return json_response({"profiles": [_profile_json(r) for r in rows]})


@routes.post(API + "/profiles")
@access(MANAGER)
async def create_profile(request: web.Request) -> web.Response:
    body = await read_body(request, ProfileSettings)
    await _check_profile_networks(request, body)
    sid = system_id(request)
    if await store.profile_name_taken(db(request), sid, body.name):
        raise Conflict(f"a profile named {body.name!r} exists already", code="exists")
    profile_id = new_id("prf")
    await store.add_profile(db(request), profile_id, sid, body.name, schema.as_json(body))
    return json_response({"id": profile_id, **schema.as_json(body)}, status=201)


@routes.put(API + "/profiles/{profile}")
@access(MANAGER)
async def update_profile(request: web.Request) -> web.Response:
    row = await profile_row(request, request.match_info["profile"])
    body = await read_body(request, ProfileSettings)
    await _check_profile_networks(request, body)
    if await store.profile_name_taken(db(request), row["system_id"], body.name, other_than=row["id"]):
        raise Conflict(f"a profile named {body.name!r} exists already", code="exists")
    await store.update_profile(db(request), row["id"], body.name, schema.as_json(body))
    return json_response({"id": row["id"], **schema.as_json(body)})


@routes.delete(API + "/profiles/{profile}")
@access(MANAGER)
async def delete_profile(request: web.Request) -> web.Response:
    row = await profile_row(request, request.match_info["profile"])
    if await store.profile_in_use(db(request), row["id"]):
        raise Conflict("camera users use this profile; give them another first", code="in_use")
    await store.delete_profile(db(request), row["id"])
    return json_response({"deleted": row["id"]})
