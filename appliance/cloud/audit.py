"""The audit trail and who is watching (issue 16 item 4; docs/audit.md).

Every operator and admin action — viewing a stream (from, to), downloading a recording,
acknowledging, a remote start, talking, importing a key, changing a setting, inviting a user — is
appended to its organization's log, a hash chain in the format of ``bwlab.wire.audit`` (each
entry carries the hash of the one before), at the time of the lab clock. Handlers add one line:
``await audit.record(request, audit.ACKNOWLEDGED, stream=meta)``, or decorate a WebSocket handler
with ``@audit.watched(action, meta_of)`` to record its from/to. The SQL of the ``audit_log`` table
is here and only here.

Routes (under /api/cloud): the log with filters and its export as JSON Lines or CSV (admins of the
organization), who is watching each live stream now (members), and the key a browser imported
(members: the key never leaves the browser, so the cloud knows of the import only what Live says).
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import math
import re
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bwlab.schema import FieldError
from bwlab.wire import audit as wire
from bwlab.wire.audit import (
    ACKNOWLEDGED,
    ACTIONS,
    KEY_IMPORTED,
    RECORDING_DOWNLOADED,
    REMOTE_STARTED,
    SETTING_CHANGED,
    STREAM_VIEWED,
    TALKED,
    USER_INVITED,
)

from ..auth import ACCOUNT_KEY, ROLE_KEY
from ..context import APPLIANCE
from ..db import Database
from ..errors import InvalidInput
from ..http import ORG_ADMIN, ORG_MEMBER, Handler, access, json_response, read_body

__all__ = [
    "ACKNOWLEDGED",
    "AUDIT",
    "KEY_IMPORTED",
    "RECORDING_DOWNLOADED",
    "REMOTE_STARTED",
    "SETTING_CHANGED",
    "STREAM_VIEWED",
    "TALKED",
    "USER_INVITED",
    "AuditTrail",
    "Watching",
    "record",
    "routes",
    "setup_audit",
    "watched",
]

routes = web.RouteTableDef()
ORG = "/orgs/{org_id}"
LIST_LIMIT = 200
MAX_LIST_LIMIT = 1000


# ---- who is watching (pure bookkeeping) -------------------------------------------------------


@dataclass(frozen=True)
class Watcher:
    org_id: str
    stream_id: str
    account_id: str
    name: str
    since: float


class Watching:
    """The live views open now, by organization and stream; one account with two views of a
    stream (two tabs) is one watcher, since the first opened."""

    def __init__(self) -> None:
        self._open: dict[int, Watcher] = {}
        self._tokens = itertools.count(1)

    def add(self, watcher: Watcher) -> int:
        token = next(self._tokens)
        self._open[token] = watcher
        return token

    def remove(self, token: int) -> None:
        self._open.pop(token, None)

    def of_org(self, org_id: str) -> dict[str, list[dict[str, Any]]]:
        first: dict[tuple[str, str], Watcher] = {}
        for w in self._open.values():
            key = (w.stream_id, w.account_id)
            if w.org_id == org_id and (key not in first or w.since < first[key].since):
                first[key] = w
        out: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for w in sorted(first.values(), key=lambda w: (w.name.lower(), w.account_id)):
            out[w.stream_id].append({"account_id": w.account_id, "name": w.name, "since": w.since})
        return dict(out)


# ---- the log ----------------------------------------------------------------------------------


class AuditTrail:
    """Appends to each organization's chain, one writer at a time per organization."""

    def __init__(self) -> None:
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.watching = Watching()

    async def append(self, db: Database, *, org_id: str, at: float, actor: Mapping[str, Any], action: str,
                     camera: Mapping[str, Any] | None = None, stream_id: str | None = None,
                     details: Mapping[str, Any] | None = None) -> dict[str, Any]:
        async with self._locks[org_id]:
            last = await db.fetchone("SELECT seq, hash FROM audit_log WHERE org_id = ? ORDER BY seq DESC LIMIT 1",
                                     (org_id,))
            entry = wire.sealed(wire.new_entry(
                org_id=org_id, seq=last["seq"] + 1 if last else 1, at=at, actor=actor, action=action, camera=camera,
                stream_id=stream_id, details=details, prev=last["hash"] if last else wire.GENESIS))
            cam = entry["camera"] or {}
            await db.execute(
                "INSERT INTO audit_log (org_id, seq, at, actor_id, actor_name, actor_email, action, camera_serial, "
                "camera_user_name, stream_id, entry, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (org_id, entry["seq"], entry["at"], entry["actor"]["id"], entry["actor"]["name"],
                 entry["actor"]["email"], action, cam.get("serial"), cam.get("user_name"), entry["stream_id"],
                 wire.canonical(entry).decode("utf-8"), entry["hash"]))
        return entry


AUDIT = web.AppKey("audit", AuditTrail)


def setup_audit(app: web.Application) -> None:
    app[AUDIT] = AuditTrail()


def _camera_of(stream: Mapping[str, Any]) -> dict[str, Any]:
    return {"serial": stream.get("serial"), "system_id": stream.get("system_id"), "user_id": stream.get("user_id"),
            "user_name": stream.get("user_name")}


async def record(request: web.Request, action: str, *, stream: Mapping[str, Any] | None = None,
                 camera: Mapping[str, Any] | None = None, details: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Append what the signed-in account did in the organization of the path, now (lab time).
    ``stream`` (its metadata) names the camera and the stream; ``camera`` a camera without one."""
    ctx = request.config_dict[APPLIANCE]
    account = request[ACCOUNT_KEY]
    actor = {"id": account.account_id, "name": account.name, "email": account.email, "role": request.get(ROLE_KEY)}
    return await request.config_dict[AUDIT].append(
        ctx.db, org_id=request.match_info["org_id"], at=ctx.clock.now(), actor=actor, action=action,
        camera=camera if camera is not None else (_camera_of(stream) if stream else None),
        stream_id=stream.get("id") if stream else None, details=details)


def watched(action: str, meta_of: Callable[[web.Request], Awaitable[dict]]) -> Callable[[Handler], Handler]:
    """Wrap a WebSocket handler that shows a stream (or talks to its camera): while it runs, a live
    view counts among who is watching; when it ends, ``action`` is recorded with ``from`` and ``to``
    (lab time). A request refused before the socket opened (a plain GET, a 4xx) records nothing."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def watching(request: web.Request) -> web.StreamResponse:
            meta = await meta_of(request)
            clock = request.config_dict[APPLIANCE].clock
            trail = request.config_dict[AUDIT]
            account = request[ACCOUNT_KEY]
            since = clock.now()
            token = trail.watching.add(Watcher(meta["org_id"], meta["id"], account.account_id, account.name, since)) \
                if action == STREAM_VIEWED else None
            try:
                response = await handler(request)
            except asyncio.CancelledError:  # the appliance stops: the view ended now
                await asyncio.shield(record(request, action, stream=meta, details={"from": since, "to": clock.now()}))
                raise
            finally:
                if token is not None:
                    trail.watching.remove(token)
            await record(request, action, stream=meta, details={"from": since, "to": clock.now()})
            return response

        return watching

    return wrap


# ---- reading the log --------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    """Live's filters: who (name, e-mail or account id; part of it), what, which camera (serial or
    camera user, part of it), and a time range in lab seconds."""

    actor: str | None = None
    action: str | None = None
    camera: str | None = None
    since: float | None = None
    until: float | None = None

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> AuditFilter:
        unknown = set(query) - {"actor", "action", "camera", "from", "to", "limit", "format"}
        if unknown:
            raise InvalidInput(f"{min(unknown)}: unknown filter; expected actor, action, camera, from, to",
                               path=min(unknown))
        action = query.get("action") or None
        if action is not None and action not in ACTIONS:
            raise InvalidInput(f"action: expected one of {', '.join(ACTIONS)}", path="action")
        return cls(actor=_words(query, "actor"), action=action, camera=_words(query, "camera"),
                   since=_seconds(query, "from"), until=_seconds(query, "to"))

    def sql(self, org_id: str) -> tuple[str, list[Any]]:
        where: list[str] = ["org_id = ?"]
        params: list[Any] = [org_id]
        if self.actor:
            like = _like(self.actor)
            where.append("(actor_name LIKE ? ESCAPE '\\' OR actor_email LIKE ? ESCAPE '\\' OR actor_id = ?)")
            params += [like, like, self.actor]
        if self.action:
            where.append("action = ?")
            params.append(self.action)
        if self.camera:
            like = _like(self.camera)
            where.append("(camera_serial LIKE ? ESCAPE '\\' OR camera_user_name LIKE ? ESCAPE '\\')")
            params += [like, like]
        if self.since is not None:
            where.append("at >= ?")
            params.append(self.since)
        if self.until is not None:
            where.append("at <= ?")
            params.append(self.until)
        return " AND ".join(where), params


def _words(query: Mapping[str, str], name: str) -> str | None:
    value = (query.get(name) or "").strip()
    if len(value) > 200:
        raise InvalidInput(f"{name}: at most 200 characters", path=name)
    return value or None


def _seconds(query: Mapping[str, str], name: str) -> float | None:
    text = (query.get(name) or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise InvalidInput(f"{name}: expected lab time in POSIX seconds, e.g. 1765000000", path=name)
    return value


def _like(text: str) -> str:
    return "%" + re.sub(r"([\\%_])", r"\\\1", text) + "%"


async def entries(db: Database, org_id: str, flt: AuditFilter, *, newest_first: bool = False,
                  limit: int | None = None) -> list[dict[str, Any]]:
    where, params = flt.sql(org_id)
    sql = f"SELECT entry, hash FROM audit_log WHERE {where} ORDER BY seq {'DESC' if newest_first else 'ASC'}"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [{**json.loads(r["entry"]), "hash": r["hash"]} for r in await db.fetchall(sql, params)]


async def _count(db: Database, org_id: str, flt: AuditFilter) -> int:
    where, params = flt.sql(org_id)
    row = await db.fetchone(f"SELECT COUNT(*) AS n FROM audit_log WHERE {where}", params)
    return row["n"] if row else 0


async def _head(db: Database, org_id: str) -> dict[str, Any] | None:
    row = await db.fetchone("SELECT seq, hash FROM audit_log WHERE org_id = ? ORDER BY seq DESC LIMIT 1", (org_id,))
    return {"seq": row["seq"], "hash": row["hash"]} if row else None


def _limit(query: Mapping[str, str]) -> int:
    text = query.get("limit")
    if text is None:
        return LIST_LIMIT
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIST_LIMIT:
        raise InvalidInput(f"limit: expected a whole number from 1 to {MAX_LIST_LIMIT}", path="limit")
    return int(text)


@routes.get(ORG + "/audit")
@access(ORG_ADMIN)
async def list_audit(request: web.Request) -> web.Response:
    """The organization's log, newest first, with Live's filters; the chain's head (seq, hash)."""
    ctx = request.config_dict[APPLIANCE]
    org_id = request.match_info["org_id"]
    flt = AuditFilter.from_query(request.query)
    limit = _limit(request.query)
    return json_response({"entries": await entries(ctx.db, org_id, flt, newest_first=True, limit=limit),
                          "matched": await _count(ctx.db, org_id, flt), "head": await _head(ctx.db, org_id),
                          "actions": list(ACTIONS)})


EXPORT_TYPES = {"jsonl": "application/jsonl", "csv": "text/csv"}


@routes.get(ORG + "/audit/export")
@access(ORG_ADMIN)
async def export_audit(request: web.Request) -> web.Response:
    """The log in chain order as JSON Lines (``format=jsonl``, the default) or CSV, as a download.
    Without filters it is the whole chain, which ``bwlab audit verify`` checks (docs/audit.md)."""
    ctx = request.config_dict[APPLIANCE]
    org_id = request.match_info["org_id"]
    fmt = request.query.get("format", "jsonl")
    if fmt not in EXPORT_TYPES:
        raise InvalidInput("format: expected jsonl or csv", path="format")
    rows = await entries(ctx.db, org_id, AuditFilter.from_query(request.query))
    text = wire.to_jsonl(rows) if fmt == "jsonl" else wire.to_csv(rows)
    head = await _head(ctx.db, org_id)
    return web.Response(text=text, content_type=EXPORT_TYPES[fmt], charset="utf-8", headers={
        "Content-Disposition": f'attachment; filename="audit-{org_id}.{fmt}"',
        "X-Audit-Head": head["hash"] if head else wire.GENESIS})


@routes.get(ORG + "/watching")
@access(ORG_MEMBER)
async def who_is_watching(request: web.Request) -> web.Response:
    """Who is watching each of the organization's live streams now (stream id → watchers)."""
    return json_response({"watching": request.config_dict[AUDIT].watching.of_org(request.match_info["org_id"])})


_FINGERPRINT = re.compile(r"[0-9A-F]{4}( [0-9A-F]{4}){15}")


@dataclass(frozen=True)
class KeyImport:
    fingerprint: str = field(metadata={"max_len": 79})
    name: str | None = field(default=None, metadata={"max_len": 120})
    kind: str = field(default="plain", metadata={"choices": ("plain", "passphrase")})

    def __post_init__(self) -> None:
        if not _FINGERPRINT.fullmatch(self.fingerprint):
            raise FieldError("fingerprint", "a key fingerprint (S6): 16 groups of 4 uppercase hex digits",
                             self.fingerprint)


@routes.post(ORG + "/audit/key-imports")
@access(ORG_MEMBER)
async def key_imported(request: web.Request) -> web.Response:
    """Live reports that this account imported a key from a link with key (S5, S6) in its browser."""
    body = await read_body(request, KeyImport)
    entry = await record(request, KEY_IMPORTED,
                         details={"fingerprint": body.fingerprint, "name": body.name, "kind": body.kind})
    return json_response({"seq": entry["seq"], "hash": entry["hash"]}, status=201)
