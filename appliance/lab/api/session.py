"""The Lab panel signs in with the lab token (``POST /api/lab/login``) and gets a cookie."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from aiohttp import web

from ...auth import LAB_COOKIE, set_cookie
from ...context import APPLIANCE
from ...errors import Unauthenticated
from ...http import PUBLIC, access, json_response, read_body
from ...throttle import throttled

routes = web.RouteTableDef()


@dataclass(frozen=True)
class LabLogin:
    token: str = field(metadata={"max_len": 200})


@routes.post("/login")
@access(PUBLIC)
async def login(request: web.Request) -> web.Response:
    """The Lab panel signs in with the lab token and gets a cookie."""
    ctx = request.config_dict[APPLIANCE]
    body = await read_body(request, LabLogin)

    async def check():
        return True if secrets.compare_digest(body.token.encode(), ctx.lab_token.encode()) else None

    await throttled(request, None, check, Unauthenticated("wrong lab token", code="bad_credentials"))
    response = json_response({"lab": True})
    set_cookie(response, LAB_COOKIE, ctx.lab_token)
    return response
