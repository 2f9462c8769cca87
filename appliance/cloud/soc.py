"""SOC integrations (SPEC S12): notify security operations centres of new live streams.

Manual: Settings → **+ New SOC integration** → the SOC's URL → optionally **Sign messages** →
**Add**; sent "when a new live stream starts". Settings is the admin's (S14), so every route
here is ``ORG_ADMIN``. An organization may have several integrations (at most
``MAX_INTEGRATIONS``). Each receives ``stream.started`` and ``help.requested`` (a camera user's
help request, issue 16: appliance/hub/help.py); ``stream.acknowledged`` and ``stream.ended`` are
opt-in lab extras.

Targets: ``https://`` to public addresses only, unless the lab setting ``soc_private_targets``
allows the lab network and this machine (appliance/cloud/soc_targets.py; checked when the URL
is entered and at every delivery).

Signing (bwlab/wire/webhooks.py) follows Standard Webhooks. The manual has the admin *enter* a
"payload signature"; bwlab accepts one (``secret``, in the ``whsec_<base64>`` form the standard
libraries read) or, with ``sign_messages`` and no secret, generates one. A generated secret is
returned once, in the answer that created it, and never shown again.

Events reach the outbox through ``StreamHub.observers``: right after the hub commits a stream's
start, acknowledgement or end, ``SocNotifier.on_stream_event`` writes one ``soc_outbox`` row per
interested integration (the event id is derived from the stream and the event, so a second
enqueue of the same event is ignored) and wakes the delivery worker (appliance/cloud/delivery.py).
At start-up, events of the last 24 hours that never reached the outbox (the appliance stopped
between the two commits) are enqueued then.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web
from yarl import URL

from bwlab.wire import webhooks

from ..auth import ACCOUNT_KEY
from ..context import APPLIANCE, SOC_PRIVATE_TARGETS
from ..db import Database
from ..devices import DEVICE_HUB
from ..errors import Conflict, InvalidInput, NotFound
from ..http import ORG_ADMIN, access, json_response, read_body
from ..hub import store as hub_store
from ..ids import new_id
from . import audit, store
from .delivery import DeliveryWorker, client_ssl_context
from .soc_targets import check_url

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

MAX_INTEGRATIONS = 20
RECONCILE_WINDOW = 24 * 3600.0
EventName = Literal["stream.started", "stream.acknowledged", "stream.ended"]


def _check_url(url: str) -> None:
    try:
        parsed = URL(url)
    except (ValueError, TypeError):
        raise ValueError("url: not a URL") from None
    if parsed.scheme not in ("https", "http") or not parsed.host:
        raise ValueError("url: expected an absolute https:// (or http://) URL with a host name")
    if parsed.fragment:
        raise ValueError("url: a webhook URL has no #fragment")


def _check_secret(secret: str | None) -> None:
    if secret is not None:
        try:
            webhooks.secret_key(secret)
        except ValueError as exc:
            raise ValueError(f"secret: {exc}") from None


@dataclass(frozen=True)
class NewIntegration:
    """+ New SOC integration: the URL, a name, Sign messages, and the opt-in extra events."""

    url: str = field(metadata={"max_len": 2048, "nonempty": True})
    name: str = field(default="", metadata={"max_len": 120})
    sign_messages: bool = False
    secret: str | None = field(default=None, metadata={"max_len": 200})
    events: list[EventName] = field(default_factory=list, metadata={"max_items": 3})
    enabled: bool = True

    def __post_init__(self):
        _check_url(self.url)
        _check_secret(self.secret)


@dataclass(frozen=True)
class IntegrationChange:
    """Change any of: URL, name, events, enabled; signing off (``sign_messages: false``), on with
    a new generated secret (``rotate_secret``) or with an entered ``secret``."""

    url: str | None = field(default=None, metadata={"max_len": 2048})
    name: str | None = field(default=None, metadata={"max_len": 120})
    sign_messages: bool | None = None
    rotate_secret: bool = False
    secret: str | None = field(default=None, metadata={"max_len": 200})
    events: list[EventName] | None = field(default=None, metadata={"max_items": 3})
    enabled: bool | None = None

    def __post_init__(self):
        if self.url is not None:
            _check_url(self.url)
        _check_secret(self.secret)
        if self.sign_messages is False and (self.secret is not None or self.rotate_secret):
            raise ValueError("sign_messages: false removes the secret; do not also give secret or rotate_secret")
        if self.secret is not None and self.rotate_secret:
            raise ValueError("rotate_secret: give either a secret or rotate_secret, not both")


def _events(extra: list[str]) -> list[str]:
    """stream.started always, then the opted-in extras in a fixed order."""
    return [e for e in webhooks.EVENT_TYPES if e == webhooks.STREAM_STARTED or e in extra]


# ---------------------------------------------------------------- the outbox side


class SocNotifier:
    """Turns stream events into outbox rows (a ``StreamHub`` observer)."""

    def __init__(self, db: Database, clock, metadata: Callable[[str], Awaitable[dict]], wake: Callable[[], None]):
        self.db = db
        self.clock = clock
        self.metadata = metadata
        self.wake = wake

    async def on_stream_event(self, event_type: str, meta: dict[str, Any]) -> None:
        if event_type not in webhooks.EVENT_TYPES or not meta.get("id"):
            return
        added = await self.enqueue(event_type, meta, self.clock.now())
        if added:
            self.wake()

    async def enqueue_missed_help(self, created_since: Callable[[str, float], Awaitable[list[dict]]]) -> int:
        """Help requests of the last 24 hours that no outbox row holds yet (the appliance stopped
        between storing the request and enqueueing it), as ``enqueue_missed`` does for streams."""
        now = self.clock.now()
        added = 0
        for integration in await store.enabled_soc_integrations(self.db):
            since = max(integration["created_at"], now - RECONCILE_WINDOW)
            for meta in await created_since(integration["org_id"], since):
                added += await self.enqueue(webhooks.HELP_REQUESTED, meta, meta["created_at"], [integration])
        return added

    async def on_help_event(self, event_type: str, meta: dict[str, Any]) -> None:
        """Issue 16: a camera user's help request, to every enabled integration (``help.requested``)."""
        if (
            event_type == webhooks.HELP_REQUESTED
            and meta.get("id")
            and await self.enqueue(event_type, meta, self.clock.now())
        ):
            self.wake()

    async def enqueue(self, event_type: str, meta: dict[str, Any], at: float, integrations: list | None = None) -> int:
        """One outbox row per enabled integration of the stream's organization that wants the
        event; returns how many were new."""
        if integrations is None:
            integrations = await store.enabled_soc_integrations(self.db, meta["org_id"])
        wanted = [
            i["id"] for i in integrations if event_type in webhooks.ALWAYS_SENT or event_type in json.loads(i["events"])
        ]
        if not wanted:
            return 0
        discriminator = repr(meta.get("acknowledged_at")) if event_type == webhooks.STREAM_ACKNOWLEDGED else ""
        eid = webhooks.event_id(event_type, meta["id"], discriminator)
        body = webhooks.payload(event_type, meta, at).decode()
        now = self.clock.now()
        return await store.enqueue_soc_event(self.db, wanted, eid, event_type, body, now)

    async def enqueue_missed(self) -> int:
        """Events of the last 24 hours that no outbox row holds yet (the appliance stopped right
        after committing the stream event); ``INSERT OR IGNORE`` keeps this idempotent."""
        now = self.clock.now()
        added = 0
        integrations = await store.enabled_soc_integrations(self.db)
        for integration in integrations:
            since = max(integration["created_at"], now - RECONCILE_WINDOW)
            rows = await hub_store.stream_events_since(self.db, integration["org_id"], since)
            for r in rows:
                meta = await self.metadata(r["id"])
                for event_type, at in (
                    (webhooks.STREAM_STARTED, r["created_lab_at"]),
                    (webhooks.STREAM_ACKNOWLEDGED, r["acknowledged_at"]),
                    (webhooks.STREAM_ENDED, r["ended_at"]),
                ):
                    if at is not None and at >= since:
                        try:
                            added += await self.enqueue(event_type, meta, at, [integration])
                        except (ValueError, OverflowError) as exc:  # a stored value no payload can carry
                            log.warning("SOC outbox: %s of stream %s not enqueued: %s", event_type, r["id"], exc)
        return added


@dataclass
class SocService:
    """What the routes need at run time (filled in by the cleanup context)."""

    notifier: SocNotifier | None = None
    worker: DeliveryWorker | None = None

    def wake(self) -> None:
        if self.worker is not None:
            self.worker.wake()


SOC = web.AppKey("soc", SocService)


def setup_soc(app: web.Application) -> None:
    """The outbox observer on the stream hub and the delivery worker (after ``setup_hub``)."""
    app[SOC] = SocService()
    app.cleanup_ctx.append(_soc_ctx)


async def _soc_ctx(app: web.Application):
    ctx = app[APPLIANCE]
    hub = app[DEVICE_HUB].live_streams
    assert hub is not None, "setup_soc must come after setup_hub"
    service = app[SOC]
    service.worker = DeliveryWorker(
        ctx.db, ctx.clock, client_ssl_context(ctx.tls.ca_pem), allow_private=app[SOC_PRIVATE_TARGETS]
    )
    service.notifier = SocNotifier(ctx.db, ctx.clock, hub.metadata, service.worker.wake)
    missed = await service.notifier.enqueue_missed()
    if missed:
        log.info("SOC outbox: enqueued %d stream events that had not reached it", missed)
    hub.observers.append(service.notifier.on_stream_event)
    help_desk = app[DEVICE_HUB].help_desk
    help_desk.observers.append(service.notifier.on_help_event)  # issue 16: help.requested
    missed = await service.notifier.enqueue_missed_help(help_desk.created_since)
    if missed:
        log.info("SOC outbox: enqueued %d help requests that had not reached it", missed)
    service.worker.start()
    yield
    hub.observers.remove(service.notifier.on_stream_event)
    help_desk.observers.remove(service.notifier.on_help_event)
    await service.worker.stop()


# ---------------------------------------------------------------- routes (admin only, S12/S14)


async def _check_target(request: web.Request, url: str) -> None:
    """https:// and public addresses only, unless the lab allows its own network (soc_targets.py)."""
    problem = await check_url(url, request.config_dict[SOC_PRIVATE_TARGETS]())
    if problem is not None:
        raise InvalidInput(problem, path="url")


def _integration_json(row, stats: dict | None = None) -> dict[str, Any]:
    out = {
        "id": row["id"],
        "org_id": row["org_id"],
        "name": row["name"],
        "url": row["url"],
        "events": json.loads(row["events"]),
        "signed": row["secret"] is not None,
        "enabled": bool(row["enabled"]),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }
    if stats is not None:
        out["outbox"] = stats
    return out


async def _stats(db: Database, integration_id: str) -> dict[str, int]:
    counts = {"pending": 0, "delivered": 0, "failed": 0}
    counts.update(await store.soc_outbox_counts(db, integration_id))
    return counts


async def _integration(request: web.Request):
    ctx = request.config_dict[APPLIANCE]
    row = await store.soc_integration(ctx.db, request.match_info["integration_id"], request.match_info["org_id"])
    if row is None:
        raise NotFound(f"no SOC integration {request.match_info['integration_id']!r} in this organization")
    return row


@routes.get("/orgs/{org_id}/soc-integrations")
@access(ORG_ADMIN)
async def list_integrations(request: web.Request) -> web.Response:
    ctx = request.config_dict[APPLIANCE]
    rows = await store.soc_integrations(ctx.db, request.match_info["org_id"])
    return json_response({"integrations": [_integration_json(r, await _stats(ctx.db, r["id"])) for r in rows]})


@routes.post("/orgs/{org_id}/soc-integrations")
@access(ORG_ADMIN)
async def create_integration(request: web.Request) -> web.Response:
    """S12: + New SOC integration. A generated signing secret is in this answer only."""
    ctx = request.config_dict[APPLIANCE]
    body = await read_body(request, NewIntegration)
    await _check_target(request, body.url)
    org_id = request.match_info["org_id"]
    if await store.soc_integration_count(ctx.db, org_id) >= MAX_INTEGRATIONS:
        raise Conflict(f"an organization has at most {MAX_INTEGRATIONS} SOC integrations", code="too_many_integrations")
    generated = webhooks.new_secret() if body.sign_messages and body.secret is None else None
    secret = body.secret or generated
    now = ctx.clock.now()
    integration_id = new_id("soc")
    await store.add_soc_integration(
        ctx.db,
        integration_id,
        org_id,
        body.name,
        body.url,
        secret,
        _events(list(body.events)),
        body.enabled,
        request[ACCOUNT_KEY].account_id,
        now,
    )
    row = await store.soc_integration(ctx.db, integration_id)
    await audit.record(
        request, audit.SETTING_CHANGED, details={"setting": "soc_integration_added", "id": integration_id}
    )
    out = _integration_json(row, await _stats(ctx.db, integration_id))
    if generated is not None:
        out["secret"] = generated
    return json_response(out, status=201)


@routes.get("/orgs/{org_id}/soc-integrations/{integration_id}")
@access(ORG_ADMIN)
async def get_integration(request: web.Request) -> web.Response:
    ctx = request.config_dict[APPLIANCE]
    row = await _integration(request)
    return json_response(_integration_json(row, await _stats(ctx.db, row["id"])))


@routes.put("/orgs/{org_id}/soc-integrations/{integration_id}")
@access(ORG_ADMIN)
async def update_integration(request: web.Request) -> web.Response:
    ctx = request.config_dict[APPLIANCE]
    row = await _integration(request)
    body = await read_body(request, IntegrationChange)
    if body.url is not None:
        await _check_target(request, body.url)
    secret = row["secret"]
    generated = None
    if body.sign_messages is False:
        secret = None
    elif body.secret is not None:
        secret = body.secret
    elif body.rotate_secret or (body.sign_messages and secret is None):
        generated = secret = webhooks.new_secret()
    now = ctx.clock.now()
    url = body.url if body.url is not None else row["url"]
    enabled = row["enabled"] if body.enabled is None else int(body.enabled)
    # the admin fixed the address or switched it back on: try what waits now, not after the backoff
    await store.update_soc_integration(
        ctx.db,
        row["id"],
        row["name"] if body.name is None else body.name,
        url,
        secret,
        _events(list(body.events)) if body.events is not None else json.loads(row["events"]),
        enabled,
        now,
        retry_now=url != row["url"] or bool(enabled and not row["enabled"]),
    )
    request.config_dict[SOC].wake()
    await audit.record(request, audit.SETTING_CHANGED, details={"setting": "soc_integration_changed", "id": row["id"]})
    saved = await store.soc_integration(ctx.db, row["id"])
    if saved is None:  # removed by another request in between
        raise NotFound("no such SOC integration in this organization", code="soc_integration_not_found")
    out = _integration_json(saved, await _stats(ctx.db, saved["id"]))
    if generated is not None:
        out["secret"] = generated
    return json_response(out)


@routes.delete("/orgs/{org_id}/soc-integrations/{integration_id}")
@access(ORG_ADMIN)
async def delete_integration(request: web.Request) -> web.Response:
    ctx = request.config_dict[APPLIANCE]
    row = await _integration(request)
    await store.delete_soc_integration(ctx.db, row["id"])
    await audit.record(request, audit.SETTING_CHANGED, details={"setting": "soc_integration_removed", "id": row["id"]})
    return json_response({"deleted": row["id"]})


def _limit(request: web.Request, default: int = 100, most: int = 500) -> int:
    text = request.query.get("limit")
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise InvalidInput(f"limit: expected an integer from 1 to {most}, got {text[:20]!r}", path="limit") from None
    if not 1 <= value <= most:
        raise InvalidInput(f"limit: expected an integer from 1 to {most}, got {value}", path="limit")
    return value


@routes.get("/orgs/{org_id}/soc-integrations/{integration_id}/deliveries")
@access(ORG_ADMIN)
async def delivery_log(request: web.Request) -> web.Response:
    """The delivery log: every attempt (newest first) and each event's state in the outbox."""
    ctx = request.config_dict[APPLIANCE]
    row = await _integration(request)
    limit = _limit(request)
    attempts = await store.soc_deliveries(ctx.db, row["id"], limit)
    events = await store.soc_events(ctx.db, row["id"], limit)
    return json_response(
        {
            "integration_id": row["id"],
            "outbox": await _stats(ctx.db, row["id"]),
            "events": [
                {**dict(e), "next_attempt_at": e["next_attempt_at"] if e["state"] == "pending" else None}
                for e in events
            ],
            "attempts": [{**dict(a), "ok": bool(a["ok"])} for a in attempts],
        }
    )
