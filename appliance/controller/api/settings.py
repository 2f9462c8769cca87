"""Settings: date and time (S1), network (S3, T2 row 1), mobile networks (T2 row 4c, T4 row 7),
and "Allow troubleshooting mode" (T1)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from aiohttp import web

from bwlab import schema

from ...errors import ClientError
from ...http import MANAGER, access, json_response, read_body
from .. import store
from ..cloud_client import CloudClient
from ..settings import DateTime, MobileNetworks, NetworkSettings, SystemSettings
from ..timesync import CONTROLLER_CLOCKS, server_of
from .request import API, appliance, db, settings, system, system_id
from .systems import clock_json

routes = web.RouteTableDef()


@dataclass(frozen=True)
class Troubleshooting:
    allow: bool


async def _save_settings(request: web.Request, value: SystemSettings, extra: dict | None = None) -> web.Response:
    sid = system_id(request)
    await store.save_settings(db(request), sid, schema.as_json(value))
    clocks = request.config_dict[CONTROLLER_CLOCKS]  # S1: a new NTP server is used at once
    await clocks.sync(sid, await server_of(request.config_dict, db(request), sid))
    return json_response({**schema.as_json(value), **clock_json(request, sid, value), **(extra or {})})


@routes.put(API + "/settings")
@access(MANAGER)
async def put_settings(request: web.Request) -> web.Response:
    """All of Settings at once: date and time (S1), network (S3), mobile networks (T2 row 4c)."""
    body = await read_body(request, SystemSettings)
    await system(request)
    return await _save_settings(request, body)


@routes.put(API + "/settings/date-time")
@access(MANAGER)
async def put_date_time(request: web.Request) -> web.Response:
    """Settings > System > Date and time: time zone and NTP server (S1); the clock syncs at once."""
    body = await read_body(request, DateTime)
    value = replace(await settings(request), time_zone=body.time_zone, ntp_server=body.ntp_server)
    return await _save_settings(request, value)


@routes.put(API + "/settings/network")
@access(MANAGER)
async def put_network(request: web.Request) -> web.Response:
    """Settings > Network: IP address, gateway, DNS servers, proxy (S3, T2 row 1). Saved, then
    tried: the answer says whether the cloud can be reached through them."""
    body = await read_body(request, NetworkSettings)
    value = replace(await settings(request), network=body)
    ctx = appliance(request)
    cloud: dict[str, object]
    try:
        await CloudClient(ctx.config.url, ctx.tls.ca_pem, network=body, timeout=3.0).request("GET", "/ping")
        cloud = {"reachable": True, "error": None}
    except ClientError as exc:
        cloud = {"reachable": False, "error": exc.message}
    return await _save_settings(request, value, {"cloud": cloud})


@routes.put(API + "/settings/mobile-networks")
@access(MANAGER)
async def put_mobile_networks(request: web.Request) -> web.Response:
    """Settings > Camera > Mobile networks (Show advanced: APN; T2 row 4c, T4 row 7): every LTE
    camera of the system receives it when docked."""
    body = await read_body(request, MobileNetworks)
    return await _save_settings(request, replace(await settings(request), mobile_networks=body))


@routes.put(API + "/troubleshooting")
@access(MANAGER)
async def put_troubleshooting(request: web.Request) -> web.Response:
    """T1: "Allow troubleshooting mode"; cameras learn it when docked."""
    body = await read_body(request, Troubleshooting)
    await store.set_troubleshooting(db(request), system_id(request), body.allow)
    return json_response({"allow_troubleshooting": body.allow})
