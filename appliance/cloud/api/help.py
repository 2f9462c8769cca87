"""The web client's help requests (issue 16 item 2): /api/cloud/orgs/{org_id}/help-requests.

Every role of the organization sees its help requests and may acknowledge one, as with a
stream's acknowledgement (D6, S14). What leaves here is metadata in clear and the sealed
position with its wrapped key: the browser opens it with the system key. An acknowledgement is
stored whether or not the camera is connected; the camera vibrates with the help pattern now if it
is connected (``camera_notified``), else when it comes back (appliance/hub/acknowledgements.py).
"""

from __future__ import annotations

from aiohttp import web

from ...auth import ACCOUNT_KEY
from ...context import APPLIANCE
from ...devices import DEVICE_HUB, DeviceId, HelpRequests
from ...errors import Conflict, InvalidInput, NotFound
from ...http import ORG_MEMBER, access, json_response

routes = web.RouteTableDef()

ORG = "/orgs/{org_id}"


def _desk(request: web.Request) -> HelpRequests:
    return request.config_dict[DEVICE_HUB].help_desk


@routes.get(ORG + "/help-requests")
@access(ORG_MEMBER)
async def list_help_requests(request: web.Request) -> web.Response:
    """``?state=open`` (not acknowledged yet, the default) or ``all`` (the last 24 hours)."""
    which = request.query.get("state", "open")
    if which not in ("open", "all"):
        raise InvalidInput("state: expected open or all", path="state")
    ctx = request.config_dict[APPLIANCE]
    found = await _desk(request).of_org(request.match_info["org_id"], open_only=which == "open")
    return json_response({"help_requests": found, "server_time": ctx.clock.now()})


@routes.post(ORG + "/help-requests/{help_id}/acknowledge")
@access(ORG_MEMBER)
async def acknowledge_help(request: web.Request) -> web.Response:
    """The operator has seen the help request: the camera vibrates with the help pattern."""
    desk = _desk(request)
    meta = await desk.metadata(request.match_info["help_id"])
    if not meta or meta["org_id"] != request.match_info["org_id"]:
        raise NotFound("no such help request in this organization")
    if meta["acknowledged_at"] is not None:
        raise Conflict(f"{meta['acknowledged_by']} acknowledged this help request already", code="already_acknowledged")
    ctx = request.config_dict[APPLIANCE]
    account = request[ACCOUNT_KEY]
    now = ctx.clock.now()
    meta = await desk.acknowledge(meta["id"], account.name, now)
    notified = await request.config_dict[DEVICE_HUB].camera_acks.send(
        DeviceId(meta["system_id"], meta["serial"]), "help", meta["id"], account.name, now
    )
    return json_response({"acknowledged": meta["id"], "by": account.name, "camera_notified": notified})
