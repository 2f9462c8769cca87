"""Camera users (S8 option 2a; 2b comes from the Assistant app) and the Wi-Fi networks their
cameras receive, in priority order (S8)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from aiohttp import web
from aiosqlite import Row

from bwlab import schema

from ...db import Database
from ...errors import Conflict
from ...http import LAB, MANAGER, access, json_response, read_body
from ...ids import new_id
from .. import store
from ..provisioning import WifiCredential, effective_networks
from .request import API, db, profile_row, system_id, user_row

routes = web.RouteTableDef()


@dataclass(frozen=True)
class NewCameraUser:
    name: str = field(metadata={"max_len": 80, "nonempty": True})
    profile: str | None = None
    network: WifiCredential | None = None


@dataclass(frozen=True)
class CameraUserUpdate:
    name: str | None = field(default=None, metadata={"max_len": 80, "nonempty": True})  # a rename (issue 13: Users/)
    profile: str | None = None
    network: WifiCredential | None = None
    clear_network: bool = False


@dataclass(frozen=True)
class AssistantNetwork:
    network: WifiCredential | None


_STREAMING_REQUIRED = (
    "a Wi-Fi network can be assigned to a camera user only when streaming is on in the "
    "camera user's profile (S8 option 2a)"
)


def _user_json(row: Row, profile_name: str | None) -> dict:
    return {
        "id": row["id"],
        "name": row["name"],
        "profile_id": row["profile_id"],
        "profile": profile_name,
        "network": json.loads(row["manager_network"]) if row["manager_network"] else None,
        "assistant_network": json.loads(row["assistant_network"]) if row["assistant_network"] else None,
    }


async def user_networks(db: Database, user: Row) -> list[dict]:
    """S8: the networks the camera user's camera receives: the profile's, the Manager's, the
    Assistant's, in priority order (``provisioning.effective_networks``)."""
    profile_nets: list[WifiCredential] = []
    if user["profile_id"]:
        ssids = (await store.profile_settings(db, user["profile_id"]) or {}).get("wifi_networks", [])
        by_ssid = await store.wifi_passwords(db, user["system_id"])
        profile_nets = [WifiCredential(s, by_ssid[s]) for s in ssids if s in by_ssid]
    manager = (
        schema.from_mapping(WifiCredential, json.loads(user["manager_network"])) if user["manager_network"] else None
    )
    assistant = (
        schema.from_mapping(WifiCredential, json.loads(user["assistant_network"]))
        if user["assistant_network"]
        else None
    )
    return effective_networks(profile_nets, manager, assistant)


async def _profile_streaming(request: web.Request, profile_id: str | None) -> bool:
    if profile_id is None:
        return False
    settings = await store.profile_settings(db(request), profile_id)
    return bool(settings and settings.get("streaming"))


@routes.get(API + "/camera-users")
@access(MANAGER)
async def list_camera_users(request: web.Request) -> web.Response:
    rows = await store.users_with_profile_names(db(request), system_id(request))
    return json_response({"camera_users": [_user_json(r, r["profile_name"]) for r in rows]})


@routes.post(API + "/camera-users")
@access(MANAGER)
async def create_camera_user(request: web.Request) -> web.Response:
    body = await read_body(request, NewCameraUser)
    sid = system_id(request)
    profile = await profile_row(request, body.profile) if body.profile else None
    if body.network is not None and not (profile and json.loads(profile["settings"]).get("streaming")):
        raise Conflict(_STREAMING_REQUIRED, code="streaming_required")
    if await store.user_name_taken(db(request), sid, body.name):
        raise Conflict(f"a camera user named {body.name!r} exists already", code="exists")
    user_id = new_id("usr")
    await store.add_user(
        db(request),
        user_id,
        sid,
        body.name,
        profile["id"] if profile else None,
        json.dumps(schema.as_json(body.network)) if body.network else None,
    )
    row = await user_row(request, user_id)
    return json_response(_user_json(row, profile["name"] if profile else None), status=201)


@routes.put(API + "/camera-users/{user}")
@access(MANAGER)
async def update_camera_user(request: web.Request) -> web.Response:
    row = await user_row(request, request.match_info["user"])
    body = await read_body(request, CameraUserUpdate)
    profile_id = row["profile_id"]
    if body.profile is not None:
        profile_id = (await profile_row(request, body.profile))["id"]
    network = row["manager_network"]
    if body.clear_network:
        network = None
    if body.network is not None:
        network = json.dumps(schema.as_json(body.network))
    if network is not None and not await _profile_streaming(request, profile_id):
        raise Conflict(_STREAMING_REQUIRED, code="streaming_required")
    if (
        body.name is not None
        and body.name != row["name"]
        and await store.user_name_taken(db(request), row["system_id"], body.name)
    ):
        raise Conflict(f"a camera user named {body.name!r} exists already", code="exists")
    await store.update_user(db(request), row["id"], body.name, profile_id, network)
    row = await user_row(request, row["id"])
    name = await store.profile_name(db(request), profile_id) if profile_id else None
    return json_response(_user_json(row, name))


@routes.put(API + "/assistant/camera-users/{user}/network")
@access(LAB)
async def assistant_network(request: web.Request) -> web.Response:
    """S8 option 2b: the camera user adds a network in the Assistant app; it replaces every other."""
    row = await user_row(request, request.match_info["user"])
    body = await read_body(request, AssistantNetwork)
    await store.set_assistant_network(
        db(request), row["id"], json.dumps(schema.as_json(body.network)) if body.network else None
    )
    return json_response({"camera_user": row["id"], "assistant_network": schema.as_json(body.network)})


@routes.get(API + "/camera-users/{user}/networks")
@access(MANAGER)
async def camera_user_networks(request: web.Request) -> web.Response:
    """S8: the networks the camera user's camera receives, in priority order (passwords hidden)."""
    row = await user_row(request, request.match_info["user"])
    networks = await user_networks(db(request), row)
    return json_response({"networks": [{k: v for k, v in n.items() if k != "password"} for n in networks]})
