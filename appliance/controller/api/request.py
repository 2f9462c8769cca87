"""What every Manager handler reads from its request: the appliance, the system controller named
in the URL (``/controller/{system_id}/api``), its settings and connection, and rows by reference
(id or name) with a 404 naming what was not found."""

from __future__ import annotations

from aiohttp import web
from aiosqlite import Row

from ...context import APPLIANCE, Appliance
from ...errors import NotFound
from .. import store
from ..cloud_client import CloudClient, system_client
from ..connection import Connection
from ..settings import SystemSettings, settings_from_json

API = "/{system_id}/api"


def appliance(request: web.Request) -> Appliance:
    return request.config_dict[APPLIANCE]


def db(request: web.Request):
    return request.config_dict[APPLIANCE].controller_db


def system_id(request: web.Request) -> str:
    return request.match_info["system_id"]


async def system(request: web.Request) -> Row:
    row = await store.system(db(request), system_id(request))
    if row is None:
        raise NotFound(f"no system controller {system_id(request)!r}")
    return row


def stored_settings(system_row: Row) -> SystemSettings:
    return settings_from_json(system_row["settings"], system_row["id"])


async def settings(request: web.Request) -> SystemSettings:
    return stored_settings(await system(request))


async def connection(request: web.Request) -> Connection:
    return Connection.from_json((await system(request))["connection"])


async def save_connection(request: web.Request, value: Connection) -> None:
    await store.save_connection(db(request), system_id(request), value)


async def cloud(request: web.Request, token: str | None = None) -> CloudClient:
    """The cloud as this controller reaches it (through its Settings > Network)."""
    return system_client(appliance(request), (await system(request))["settings"], token=token)


async def profile_row(request: web.Request, ref: str) -> Row:
    row = await store.profile_by_ref(db(request), system_id(request), ref)
    if row is None:
        raise NotFound(f"no camera profile {ref!r}")
    return row


async def user_row(request: web.Request, ref: str) -> Row:
    row = await store.user_by_ref(db(request), system_id(request), ref)
    if row is None:
        raise NotFound(f"no camera user {ref!r}")
    return row


async def camera_row(request: web.Request, serial: str) -> Row:
    row = await store.camera(db(request), system_id(request), serial.upper())
    if row is None:
        raise NotFound(f"no camera {serial!r} in this system")
    return row


async def dock_row(request: web.Request) -> Row:
    ref = request.match_info["dock"]
    row = await store.dock_by_ref(db(request), system_id(request), ref)
    if row is None:
        raise NotFound(f"no dock {ref!r}")
    return row
