"""The lab destination's HTTP(S) side: the Swift subset a body-worn system uses, and read-only
browse pages (issue 13).

Swift's behaviour, as python-swiftclient and the controller see it:

==============================================  ==========================================
``GET /auth/v1.0`` (``X-Auth-User``/``-Key``)    200 ``X-Auth-Token``, ``X-Storage-Url``; 401
``HEAD|GET /v1/{account}``                       204 / 200 listing (``?format=json``)
``PUT /v1/{account}/{container}``                201 created, 202 existed (metadata merged)
``POST /v1/{account}/{container}``               204; 404 without the container
``HEAD|GET /v1/{account}/{container}``           204 counts and metadata / listing
``PUT /v1/{account}/{container}/{object}``       201 with ``Etag`` (md5); 404 without the container;
                                                 422 when a sent ``Etag`` does not match; 507 when full
``POST /v1/{account}/{container}/{object}``      202, the object's metadata replaced as a whole
``HEAD|GET /v1/{account}/{container}/{object}``  200 with ``Etag``, metadata
==============================================  ==========================================

A missing, unknown or expired token gets 401; another account than the token's gets 403. Bad
names and metadata get 400 with ``{"error": {"code", "message"}}``. ``System/Capabilities.json``
and ``System/Categories.json`` are ordinary objects the destination writes when it starts, so
their ``Etag`` is the md5 of their bytes, as the API asks.

``/`` and ``/browse/…`` are the trainer's pages (HTTP Basic with the destination's user and key):
the recordings with their metadata and status, the Users, Devices and System objects, downloads,
and — when the destination holds the content key — encrypted clips and trails decrypted on the fly.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate
from urllib.parse import quote, unquote

from aiohttp import BasicAuth, web
from cryptography.hazmat.primitives.asymmetric import rsa

from bwlab.wire import content_destination as cd

from .auth import TokenAuthority
from .faults import Faults
from .store import BadRequest, ContainerInfo, LengthRequired, ObjectInfo, Store, StoreError

log = logging.getLogger(__name__)

STORE = web.AppKey("store", Store)
AUTHORITY = web.AppKey("authority", TokenAuthority)
PRIVATE_KEY: web.AppKey[rsa.RSAPrivateKey | None] = web.AppKey("private_key")
SITE_NAME = web.AppKey("site_name", str)
FAULTS = web.AppKey("faults", Faults)
QUOTA: web.AppKey[int | None] = web.AppKey("quota")  # the configured quota, restored when faults clear

SYSTEM_CONTAINERS = (cd.SYSTEM_CONTAINER, cd.USERS_CONTAINER, cd.DEVICES_CONTAINER)


@dataclass(frozen=True)
class DestinationApp:
    """What ``create_app`` needs: the store, the token authority, and optionally the content
    private key (for the browse pages' decryption)."""

    store: Store
    authority: TokenAuthority
    private_key: rsa.RSAPrivateKey | None = None
    site_name: str = "bwlab lab destination"
    capabilities: cd.Capabilities = field(
        default_factory=lambda: cd.Capabilities(store_and_read=frozenset(cd.KNOWN_CAPABILITIES))
    )
    categories: tuple[cd.Category, ...] = cd.DEFAULT_CATEGORIES
    faults: Faults = field(default_factory=Faults)


# ---- errors ------------------------------------------------------------------------------------


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status, headers=headers)


@web.middleware
async def error_middleware(request: web.Request, handler):
    try:
        return await handler(request)
    except StoreError as exc:
        return _error(exc.status, exc.code, exc.message)
    except cd.ContentDestinationError as exc:
        return _error(400, "bad_request", str(exc))


@web.middleware
async def fault_middleware(request: web.Request, handler):
    """Faults on the API paths (faults.py): a delay, then a status on the next N requests."""
    if request.path.startswith(("/v1/", "/auth/")):
        faults = request.app[FAULTS]
        if faults.delay:
            await asyncio.sleep(faults.delay)
        status = faults.next_status()
        if status is not None:
            return _error(status, "lab_fault", f"the lab answers {status} (an injected fault)")
    return await handler(request)


@web.middleware
async def log_middleware(request: web.Request, handler):
    """One line per API request with its status (what a trainer watches during an offload)."""
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        if request.path.startswith(("/v1", "/auth")):
            log.info("%s %s %s", request.method, request.path, status)


# ---- auth --------------------------------------------------------------------------------------


async def get_auth(request: web.Request) -> web.Response:
    h = request.headers
    grant = request.app[AUTHORITY].login(
        h.get("X-Auth-User") or h.get("X-Storage-User"), h.get("X-Auth-Key") or h.get("X-Storage-Pass")
    )
    if grant is None:
        return _error(401, "unauthorized", "wrong X-Auth-User or X-Auth-Key")
    expires_in = max(0, int(grant.expires - request.app[AUTHORITY].clock.now()))
    storage_url = f"{request.scheme}://{request.host}/v1/{grant.account}"
    return web.Response(
        status=200,
        text="",
        headers={
            "X-Auth-Token": grant.token,
            "X-Storage-Token": grant.token,
            "X-Storage-Url": storage_url,
            "X-Auth-Token-Expires": str(expires_in),
        },
    )


def _authorize(request: web.Request, account: str) -> None:
    grant = request.app[AUTHORITY].check(request.headers.get("X-Auth-Token") or request.headers.get("X-Storage-Token"))
    if grant is None:
        raise web.HTTPUnauthorized(
            text=json.dumps({"error": {"code": "unauthorized", "message": "a valid X-Auth-Token is required"}}),
            content_type="application/json",
        )
    if grant.account != account:
        raise web.HTTPForbidden(
            text=json.dumps({"error": {"code": "forbidden", "message": "the token is not for this account"}}),
            content_type="application/json",
        )


# ---- metadata ----------------------------------------------------------------------------------


def _metadata_from(request: web.Request, kind: str) -> dict[str, str]:
    """``X-<Kind>-Meta-*`` request headers as ``{Title-Cased-Key: value}``; ``X-Remove-…`` as ""."""
    prefix, remove = f"x-{kind}-meta-", f"x-remove-{kind}-meta-"
    out: dict[str, str] = {}
    for name, value in request.headers.items():
        low = name.lower()
        if low.startswith(prefix) and len(low) > len(prefix):
            key, val = name[len(prefix) :].title(), value.strip()
        elif low.startswith(remove) and len(low) > len(remove):
            key, val = name[len(remove) :].title(), ""
        else:
            continue
        try:
            val.encode("utf-8")
        except UnicodeEncodeError:
            raise BadRequest(f"the value of X-{kind.title()}-Meta-{key} is not UTF-8") from None
        out[key] = val
    return out


def _meta_headers(kind: str, metadata: dict[str, str]) -> dict[str, str]:
    return {f"X-{kind}-Meta-{key}": value for key, value in metadata.items()}


def _http_date(ts: float) -> str:
    return formatdate(ts, usegmt=True)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


# ---- the Swift API -----------------------------------------------------------------------------


def _split(request: web.Request) -> tuple[str, str | None, str | None]:
    """``/v1/{account}[/{container}[/{object}]]`` from the decoded path."""
    rest = request.path[len("/v1/") :]
    account, _, rest = rest.partition("/")
    if not rest:
        return account, None, None
    container, _, obj = rest.partition("/")
    return account, container, (obj or None)


async def storage(request: web.Request) -> web.StreamResponse:
    account, container, obj = _split(request)
    _authorize(request, account)
    if container is not None and obj is not None:
        on_object = {"GET": get_object, "HEAD": get_object, "PUT": put_object, "POST": post_object}.get(request.method)
        if on_object is not None:
            return await on_object(request, account, container, obj)
    elif container is not None:
        on_container = {"GET": get_container, "HEAD": get_container, "PUT": put_container, "POST": post_container}.get(
            request.method
        )
        if on_container is not None:
            return await on_container(request, account, container)
    elif request.method in ("GET", "HEAD"):
        return await get_account(request, account)
    return _error(405, "method_not_allowed", f"{request.method} is not part of the content destination API")


async def get_account(request: web.Request, account: str) -> web.Response:
    containers = await request.app[STORE].containers(account)
    headers = {
        "X-Account-Container-Count": str(len(containers)),
        "X-Account-Object-Count": str(sum(c.object_count for c in containers)),
        "X-Account-Bytes-Used": str(sum(c.bytes_used for c in containers)),
    }
    if request.method == "HEAD":
        return web.Response(status=204, headers=headers)
    if request.query.get("format") == "json":
        return web.json_response(
            [
                {"name": c.name, "count": c.object_count, "bytes": c.bytes_used, "last_modified": _iso(c.created)}
                for c in containers
            ],
            headers=headers,
        )
    if not containers:
        return web.Response(status=204, headers=headers)
    return web.Response(text="".join(c.name + "\n" for c in containers), headers=headers)


async def put_container(request: web.Request, account: str, container: str) -> web.Response:
    created = await request.app[STORE].put_container(account, container, _metadata_from(request, "container"))
    return web.Response(status=201 if created else 202)


async def post_container(request: web.Request, account: str, container: str) -> web.Response:
    await request.app[STORE].post_container(account, container, _metadata_from(request, "container"))
    return web.Response(status=204)


async def get_container(request: web.Request, account: str, container: str) -> web.Response:
    store = request.app[STORE]
    info = await store.container(account, container)
    headers = {
        "X-Container-Object-Count": str(info.object_count),
        "X-Container-Bytes-Used": str(info.bytes_used),
        "X-Timestamp": f"{info.created:.5f}",
        **_meta_headers("Container", info.metadata),
    }
    if request.method == "HEAD":
        return web.Response(status=204, headers=headers)
    try:
        limit = min(10000, max(0, int(request.query.get("limit", "10000"))))
    except ValueError:
        raise BadRequest("limit is a number") from None
    objects = await store.objects(
        account, container, request.query.get("prefix", ""), request.query.get("marker", ""), limit
    )
    if request.query.get("format") == "json":
        return web.json_response(
            [
                {
                    "name": o.name,
                    "hash": o.etag,
                    "bytes": o.bytes,
                    "content_type": o.content_type,
                    "last_modified": _iso(o.timestamp),
                }
                for o in objects
            ],
            headers=headers,
        )
    if not objects:
        return web.Response(status=204, headers=headers)
    return web.Response(text="".join(o.name + "\n" for o in objects), headers=headers)


def _object_headers(info: ObjectInfo) -> dict[str, str]:
    return {
        "Etag": info.etag,
        "Content-Type": info.content_type,
        "Last-Modified": _http_date(info.timestamp),
        "X-Timestamp": f"{info.timestamp:.5f}",
        "Accept-Ranges": "none",
        **_meta_headers("Object", info.metadata),
    }


async def _body(request: web.Request) -> AsyncIterator[bytes]:
    async for chunk in request.content.iter_chunked(64 * 1024):
        yield chunk


async def put_object(request: web.Request, account: str, container: str, obj: str) -> web.Response:
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    if request.content_length is None and not chunked:
        raise LengthRequired("Content-Length or chunked Transfer-Encoding is required")
    info = await request.app[STORE].put_object(
        account,
        container,
        obj,
        _body(request),
        content_length=request.content_length,
        content_type=request.headers.get("Content-Type"),
        metadata=_metadata_from(request, "object"),
        expected_etag=request.headers.get("Etag"),
    )
    return web.Response(status=201, headers={"Etag": info.etag, "Last-Modified": _http_date(info.timestamp)})


async def post_object(request: web.Request, account: str, container: str, obj: str) -> web.Response:
    await request.app[STORE].post_object(
        account, container, obj, _metadata_from(request, "object"), request.headers.get("Content-Type")
    )
    return web.Response(status=202)


async def get_object(request: web.Request, account: str, container: str, obj: str) -> web.StreamResponse:
    store = request.app[STORE]
    info = await store.object(account, container, obj)
    headers = _object_headers(info)
    if (container, obj) == (cd.SYSTEM_CONTAINER, cd.CAPABILITIES_OBJECT) and request.app[
        FAULTS
    ].corrupt_capabilities_etag:
        headers["Etag"] = "0" * 32
    response = web.StreamResponse(status=200, headers=headers)
    response.content_length = info.bytes
    await response.prepare(request)
    if request.method == "GET":
        async for chunk in store.read(info):
            await response.write(chunk)
    await response.write_eof()
    return response


async def healthcheck(request: web.Request) -> web.Response:
    return web.Response(text="OK")


# ---- browse pages ------------------------------------------------------------------------------


def _browse_auth(request: web.Request) -> None:
    authority = request.app[AUTHORITY]
    try:
        creds = BasicAuth.decode(request.headers.get("Authorization", ""))
    except ValueError:
        creds = None
    if creds is None or authority.login(creds.login, creds.password) is None:
        raise web.HTTPUnauthorized(
            text="sign in with the destination's user and key (BlobAPIUserName, BlobAPIKey)",
            headers={"WWW-Authenticate": 'Basic realm="bwlab content destination"'},
        )


def _decoded(metadata: dict[str, str]) -> dict[str, str]:
    return {k: unquote(v) for k, v in metadata.items()}


_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2733}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #cfd6de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef2f6}.complete{color:#17723a;font-weight:600}.transferring{color:#a55d00;font-weight:600}
.meta{font-size:12px;color:#44505c}code{font-size:12px}a{color:#0b5cad}
"""


def _page(title: str, body: str) -> web.Response:
    return web.Response(
        text=f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body>{body}</body></html>",
        content_type="text/html",
    )


def _meta_cell(metadata: dict[str, str]) -> str:
    if not metadata:
        return ""
    return "<br>".join(f"<b>{html.escape(k)}</b>: {html.escape(v)}" for k, v in sorted(_decoded(metadata).items()))


def _status(info: ContainerInfo) -> str:
    value = _decoded(info.metadata).get("Status", "")
    css = value.lower() if value.lower() in ("complete", "transferring") else ""
    return f"<span class='{css}'>{html.escape(value or '—')}</span>"


async def browse_index(request: web.Request) -> web.Response:
    _browse_auth(request)
    store, account = request.app[STORE], request.app[AUTHORITY].account
    containers = await store.containers(account)
    recordings = [c for c in containers if c.name not in SYSTEM_CONTAINERS]
    names = {}  # "Name (UserID)" as the README recommends, from the Users/ and Devices/ objects
    for listing in (cd.USERS_CONTAINER, cd.DEVICES_CONTAINER):
        if any(c.name == listing for c in containers):
            for o in await store.objects(account, listing):
                nice = _decoded(o.metadata).get("Name")
                names[o.name] = f"{nice} ({o.name})" if nice else o.name
    rows = []
    for c in recordings:
        m = _decoded(c.metadata)
        user, camera = m.get("Userid", ""), m.get("Bwcserialnumber", "")
        rows.append(
            f"<tr><td><a href='/browse/{quote(c.name, safe='')}'>{html.escape(c.name)}</a></td>"
            f"<td>{html.escape(names.get(user, user))}</td><td>{html.escape(names.get(camera, camera))}</td>"
            f"<td>{html.escape(m.get('Triggerontimeiso', ''))}</td>"
            f"<td>{html.escape(m.get('Triggeron', ''))} / {html.escape(m.get('Triggeroff', ''))}</td>"
            f"<td>{_status(c)}</td><td>{c.object_count}</td><td>{c.bytes_used}</td></tr>"
        )
    body = [
        f"<h1>{html.escape(request.app[SITE_NAME])}: recordings</h1>",
        f"<p class='meta'>account {html.escape(account)} · {len(recordings)} recording(s) · content key "
        f"{'held here (encrypted content can be opened decrypted)' if request.app[PRIVATE_KEY] else 'not held'}</p>",
        "<table><tr><th>Recording container</th><th>User</th><th>Camera</th><th>Trigger on</th>"
        "<th>Trigger on / off</th><th>Status</th><th>Objects</th><th>Bytes</th></tr>",
        *rows,
        "</table>",
    ]
    for name in SYSTEM_CONTAINERS:
        if not any(c.name == name for c in containers):
            continue
        objects = await store.objects(account, name)
        body.append(f"<h2>{html.escape(name)}</h2><table><tr><th>Object</th><th>Metadata</th><th>Bytes</th></tr>")
        body += [
            f"<tr><td><a href='/browse/{quote(name)}/{quote(o.name)}'>{html.escape(o.name)}</a></td>"
            f"<td class='meta'>{_meta_cell(o.metadata)}</td><td>{o.bytes}</td></tr>"
            for o in objects
        ]
        body.append("</table>")
    return _page("Recordings", "".join(body))


def _kind(name: str) -> str:
    if name.startswith("bookmark_"):
        return "bookmark"
    if name.endswith("_gpstrail.json"):
        return "GNSS trail"
    if name.endswith(".key"):
        return "key"
    if name.endswith((".mkv", ".mp4")):
        return "clip"
    return ""


async def browse_container(request: web.Request) -> web.Response:
    _browse_auth(request)
    store, account = request.app[STORE], request.app[AUTHORITY].account
    name = request.match_info["container"]
    info = await store.container(account, name)
    objects = await store.objects(account, name)
    names = {o.name for o in objects}
    rows = []
    for o in objects:
        link = f"/browse/{quote(name, safe='')}/{quote(o.name)}"
        extra = ""
        if cd.key_object_name(o.name) in names and o.name != cd.key_object_name(o.name):
            extra = (
                f" · <a href='{link}?decrypt=1'>decrypted</a>"
                if request.app[PRIVATE_KEY]
                else " · encrypted (no content key here)"
            )
        rows.append(
            f"<tr><td><a href='{link}'>{html.escape(o.name)}</a>{extra}</td><td>{_kind(o.name)}</td>"
            f"<td>{o.bytes}</td><td><code>{o.etag}</code></td><td class='meta'>{_meta_cell(o.metadata)}</td></tr>"
        )
    body = (
        f"<p><a href='/'>← recordings</a></p><h1>{html.escape(name)}</h1><p>Status: {_status(info)}</p>"
        f"<h2>Container metadata</h2><p class='meta'>{_meta_cell(info.metadata)}</p>"
        "<h2>Objects</h2><table><tr><th>Object</th><th>Kind</th><th>Bytes</th><th>Etag (md5)</th><th>Metadata</th></tr>"
        + "".join(rows)
        + "</table>"
    )
    return _page(name, body)


async def browse_object(request: web.Request) -> web.StreamResponse:
    _browse_auth(request)
    store, account = request.app[STORE], request.app[AUTHORITY].account
    container, name = request.match_info["container"], request.match_info["object"]
    info = await store.object(account, container, name)
    decryptor = None
    if request.query.get("decrypt"):
        private = request.app[PRIVATE_KEY]
        if private is None:
            return _error(409, "no_content_key", "this destination does not hold the content private key")
        key_info = await store.object(account, container, cd.key_object_name(name))
        key_bytes = b"".join([chunk async for chunk in store.read(key_info)])
        decryptor = cd.KeyObject.parse(key_bytes).decryptor(private)
    response = web.StreamResponse(
        headers={
            "Content-Type": info.content_type,
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(name.split('/')[-1])}",
        }
    )
    if decryptor is None:
        response.content_length = info.bytes
    await response.prepare(request)
    async for chunk in store.read(info):
        await response.write(decryptor.update(chunk) if decryptor else chunk)
    if decryptor is not None:
        try:
            await response.write(decryptor.finalize())
        except cd.ContentDestinationError as exc:
            log.warning("%s/%s: %s", container, name, exc)
    await response.write_eof()
    return response


# ---- lab faults --------------------------------------------------------------------------------


async def lab_faults(request: web.Request) -> web.Response:
    """``GET`` the faults armed, ``PUT`` a JSON object to arm some (faults.py), ``DELETE`` to
    clear them; Basic auth as the browse pages."""
    _browse_auth(request)
    faults = request.app[FAULTS]
    if request.method == "PUT":
        try:
            doc = await request.json()
        except ValueError:
            raise BadRequest("a JSON object is expected") from None
        revoke, full = faults.update(doc)
        if revoke:
            request.app[AUTHORITY].revoke_all()
        if full:
            store = request.app[STORE]
            store.quota_bytes = sum(c.bytes_used for c in await store.containers(request.app[AUTHORITY].account))
    elif request.method == "DELETE":
        faults.clear()
        request.app[STORE].quota_bytes = request.app[QUOTA]
    elif request.method != "GET":
        return _error(405, "method_not_allowed", "GET, PUT or DELETE")
    return web.json_response({**faults.as_json(), "quota_bytes": request.app[STORE].quota_bytes})


# ---- the application ---------------------------------------------------------------------------


async def publish_system_objects(dest: DestinationApp) -> None:
    """``System/Capabilities.json`` and ``System/Categories.json``, as ordinary objects."""
    store, account = dest.store, dest.authority.account
    await store.put_container(account, cd.SYSTEM_CONTAINER, {})

    async def one(name: str, body: bytes) -> None:
        try:
            current = await store.object(account, cd.SYSTEM_CONTAINER, name)
            if current.etag == cd.etag(body):
                return
        except StoreError:
            pass

        async def chunks():
            yield body

        await store.put_object(
            account,
            cd.SYSTEM_CONTAINER,
            name,
            chunks(),
            content_length=len(body),
            content_type="application/json",
            metadata={},
        )

    await one(cd.CAPABILITIES_OBJECT, dest.capabilities.to_json())
    await one(cd.CATEGORIES_OBJECT, cd.categories_json(dest.categories))


def create_app(dest: DestinationApp) -> web.Application:
    app = web.Application(middlewares=[log_middleware, error_middleware, fault_middleware], client_max_size=1024**2)
    app[STORE] = dest.store
    app[AUTHORITY] = dest.authority
    app[PRIVATE_KEY] = dest.private_key
    app[SITE_NAME] = dest.site_name
    app[FAULTS] = dest.faults
    app[QUOTA] = dest.store.quota_bytes
    app.router.add_get("/auth/v1.0", get_auth)
    app.router.add_get("/auth/v1.0/", get_auth)
    app.router.add_get("/healthcheck", healthcheck)
    app.router.add_route("*", r"/v1/{path:.+}", storage)
    app.router.add_route("*", "/lab/faults", lab_faults)
    app.router.add_get("/", browse_index)
    app.router.add_get("/browse/{container}", browse_container)
    app.router.add_get("/browse/{container}/{object:.+}", browse_object)
    return app
