"""The Manager's admin actions in the organization's audit trail (issue 16 item 4; docs/audit.md
"The Manager").

The controller and the cloud meet only on the wire. After each admin action the Manager's API
carries out for a system connected to the cloud (``ROUTES``: a setting changed, a camera user
created or changed, a key generated, imported or exported as a link, a recording downloaded…),
the middleware below keeps an event (``bwlab.wire.audit.ManagerEvent``) in the controller's own
store (``ctl_audit_outbox``), and ``AuditForwarder`` sends the system's events to the cloud over
its authenticated link (the system token of S3, the system's own network settings), oldest first,
in batches, deleting them once the cloud has them. When the cloud cannot be reached they wait and
go later, in order, with the camera users' retry rules (``cloud_sync.SystemPusher``); the cloud
skips an event it already appended (its ``seq`` is the outbox's id), so a lost answer duplicates
nothing. The cloud names the actor (the system's Manager administrator) and the source (the
system) itself.

Not recorded: what is done before the system is connected (there is no organization's trail yet;
the connection itself is the cloud's ``system_connected``), refused requests, reads, the lab's
physical actions (docking), and the sign-in. Events made for a cloud system the controller is no
longer connected to are dropped: that organization is not this system's any more.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web

from bwlab.wire.audit import (
    KEY_IMPORTED,
    MANAGER_BATCH,
    RECORDING_DOWNLOADED,
    SETTING_CHANGED,
    USER_INVITED,
)

from ..context import APPLIANCE
from ..errors import ClientError
from . import store
from .cloud_client import system_client
from .cloud_sync import SystemPusher
from .connection import Connection

log = logging.getLogger(__name__)

API_PREFIX = "/{system_id}/api"

# (method, route under /controller/{system_id}/api) → (audit action, setting). Every route of the
# Manager that changes something, or hands out evidence, is here or in NOT_RECORDED
# (tests/unit/test_manager_audit_events.py checks it).
ROUTES: dict[tuple[str, str], tuple[str, str | None]] = {
    ("PUT", "/settings"): (SETTING_CHANGED, "system_settings"),
    ("PUT", "/settings/date-time"): (SETTING_CHANGED, "date_time"),
    ("PUT", "/settings/network"): (SETTING_CHANGED, "network"),
    ("PUT", "/settings/mobile-networks"): (SETTING_CHANGED, "mobile_networks"),
    ("PUT", "/troubleshooting"): (SETTING_CHANGED, "troubleshooting_mode"),
    ("PUT", "/addon/cloud-extensions"): (SETTING_CHANGED, "cloud_extensions"),
    ("POST", "/addon/install"): (SETTING_CHANGED, "addon_installed"),
    ("PUT", "/addon/eula"): (SETTING_CHANGED, "addon_eula"),
    ("POST", "/addon/organization"): (SETTING_CHANGED, "addon_organization"),
    ("POST", "/addon/storage"): (SETTING_CHANGED, "addon_storage"),
    ("POST", "/addon/finish"): (SETTING_CHANGED, "addon_finished"),
    ("POST", "/keys"): (SETTING_CHANGED, "key_generated"),
    ("POST", "/keys/{key_id}/link"): (SETTING_CHANGED, "link_with_key_made"),
    ("POST", "/keys/import"): (KEY_IMPORTED, None),
    ("POST", "/wifi-networks"): (SETTING_CHANGED, "wifi_network_added"),
    ("DELETE", "/wifi-networks/{network_id}"): (SETTING_CHANGED, "wifi_network_removed"),
    ("POST", "/profiles"): (SETTING_CHANGED, "camera_profile_added"),
    ("PUT", "/profiles/{profile}"): (SETTING_CHANGED, "camera_profile_changed"),
    ("DELETE", "/profiles/{profile}"): (SETTING_CHANGED, "camera_profile_removed"),
    ("POST", "/camera-users"): (USER_INVITED, None),
    ("PUT", "/camera-users/{user}"): (SETTING_CHANGED, "camera_user_changed"),
    ("POST", "/cameras"): (SETTING_CHANGED, "camera_added"),
    ("PUT", "/cameras/{serial}"): (SETTING_CHANGED, "camera_changed"),
    ("DELETE", "/cameras/{serial}"): (SETTING_CHANGED, "camera_removed"),
    ("POST", "/docks"): (SETTING_CHANGED, "dock_added"),
    ("POST", "/content-destination"): (SETTING_CHANGED, "content_destination_imported"),
    ("PUT", "/recording-settings"): (SETTING_CHANGED, "recording_settings"),
    ("GET", "/recordings/{recording}/files/{name}"): (RECORDING_DOWNLOADED, None),
}
# Changes through the Manager's API that are not an administrator's action in an organization:
# the sign-in (it changes nothing), and the S3 step that signs in to the cloud (its credentials
# are the cloud account's; that account's organization choice is recorded as addon_organization).
NOT_RECORDED = frozenset({("POST", "/login"), ("POST", "/addon/sign-in")})

_TARGETS = {"key_id": "key_id", "network_id": "network_id", "profile": "profile", "recording": "recording"}
_TARGETS |= {"user": "camera_user", "serial": "serial", "name": "file"}
_ANSWER_KEYS = ("id", "name", "fingerprint", "model", "protected")  # never a link, a password or a key


def event_of(
    route: tuple[str, str], match: dict[str, str], answer: dict[str, Any], now: float
) -> dict[str, Any] | None:
    """The audit event (without its seq) of a Manager request that succeeded: its action, setting,
    the camera or camera user it concerns, and what it changed (references and the ids and names
    the answer gave; no value that could be a secret). None for a route that is not recorded."""
    found = ROUTES.get(route)
    if found is None:
        return None
    action, setting = found
    details: dict[str, Any] = {label: match[key] for key, label in _TARGETS.items() if match.get(key)}
    for key in _ANSWER_KEYS:
        value = answer.get(key)
        if isinstance(value, (int, bool)) or (isinstance(value, str) and 0 < len(value) <= 200):
            details.setdefault(key, value)
    camera = None
    if route[1].startswith("/camera-users"):
        camera = {"user_id": answer.get("id"), "user_name": answer.get("name")}
    elif route[1].startswith("/cameras"):
        camera = {"serial": (match.get("serial") or answer.get("serial") or "").upper() or None}
    if camera is not None:
        camera = {k: v for k, v in camera.items() if isinstance(v, str) and v} or None
    event: dict[str, Any] = {"at": now, "action": action, "details": details}
    if setting is not None:
        event["setting"] = setting
    if camera is not None:
        event["camera"] = camera
    return event


def _answer(response: web.StreamResponse) -> dict[str, Any]:
    """The JSON object a handler answered, or {} (a file, an empty body)."""
    body = getattr(response, "body", None)
    if not isinstance(body, bytes) or not response.content_type.endswith("json"):
        return {}
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


@web.middleware
async def manager_audit_middleware(request: web.Request, handler):
    """After an admin action of a system connected to the cloud succeeded, keep its audit event and
    wake the forwarder."""
    response = await handler(request)
    info = request.match_info
    resource = info.route.resource
    canonical = resource.canonical if resource is not None else ""
    route = (request.method, canonical.split(API_PREFIX, 1)[1] if API_PREFIX in canonical else "")
    system_id = info.get("system_id")
    if response.status >= 400 or not system_id or route not in ROUTES:
        return response
    ctx = request.config_dict[APPLIANCE]
    row = await store.system(ctx.controller_db, system_id)
    connection = Connection.from_json(row["connection"]) if row is not None else Connection()
    if not connection.connected or connection.cloud_system_id is None:
        return response  # no organization's trail yet (docs/audit.md)
    event = event_of(route, dict(info), _answer(response), ctx.clock.now())
    if event is not None:
        await store.queue_audit_event(
            ctx.controller_db, system_id, connection.cloud_system_id, json.dumps(event), ctx.clock.now()
        )
        request.config_dict[AUDIT_FORWARDER].changed(system_id)
    return response


class AuditForwarder(SystemPusher):
    """Sends each system's queued Manager events to the cloud, in order."""

    what = "Manager audit events"

    async def _push(self, system_id: str, timeout: float) -> bool:
        ctx = self.app[APPLIANCE]
        db = ctx.controller_db
        row = await store.system(db, system_id)
        connection = Connection.from_json(row["connection"]) if row is not None else Connection()
        if row is None or not connection.connected or connection.cloud_system_id is None:
            return True  # they wait for the connection; a new one drops them (below)
        client = system_client(ctx, row["settings"], token=connection.system_token, timeout=timeout)
        while True:
            queued = await store.audit_outbox(db, system_id, MANAGER_BATCH)
            if not queued:
                return True
            stale = [r["id"] for r in queued if r["cloud_system_id"] != connection.cloud_system_id]
            if stale:  # made while connected to another cloud system: not this organization's
                log.warning("system %s: %d Manager audit events of a former connection dropped", system_id, len(stale))
                await store.forget_audit_events(db, system_id, max(stale))
                continue
            events = [{**json.loads(r["event"]), "seq": r["id"]} for r in queued]
            try:
                await client.request("POST", f"/systems/{connection.cloud_system_id}/audit-events", {"events": events})
            except ClientError as exc:  # unreachable, or refused: kept, tried again later (nothing is lost)
                log.info("system %s: Manager audit events not sent to the cloud: %s", system_id, exc.message)
                return False
            await store.forget_audit_events(db, system_id, queued[-1]["id"])


def setup_manager_audit(app: web.Application) -> None:
    """The forwarder (on the appliance, whose controller sub-app's middleware fills its outbox)."""

    async def ctx(app: web.Application):
        forwarder = app[AUDIT_FORWARDER] = AuditForwarder(app)
        forwarder.start()
        for system_id in await store.audit_outbox_systems(app[APPLIANCE].controller_db):
            forwarder.changed(system_id)  # what waited while the appliance was stopped
        yield
        await forwarder.stop()

    app.cleanup_ctx.append(ctx)


AUDIT_FORWARDER = web.AppKey("audit_forwarder", AuditForwarder)
