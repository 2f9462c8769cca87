"""The HTTP boundary: error envelope, body parsing, access declarations (CONVENTIONS 6, 11).

Every handler declares who may call it with ``@access(...)``; a test walks the route table
and calls each route as each role, so a route without a declaration cannot ship. Bodies are
parsed into frozen dataclasses with ``read_body`` (unknown keys rejected, the bad key's path in
the message), and every ``ClientError`` leaves as ``{"error": {"code", "message"}}`` with its 4xx.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web

from bwlab.schema import SchemaError, from_mapping
from bwlab.wire import jsontext

from .errors import ClientError, InvalidInput, PayloadTooLarge, ServiceUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

MAX_JSON_BODY = 64 * 1024

# Access levels a route may declare (see appliance/auth.py for how each is checked).
PUBLIC = "public"  # anyone, e.g. health, CA certificate, sign-in
ACCOUNT = "account"  # any signed-in cloud account
ORG_MEMBER = "org:user"  # member of the organization in the path, any role (S14)
ORG_ADMIN = "org:admin"  # admin of the organization in the path (S14)
MANAGER = "manager"  # administrator of the system controller in the path
LAB = "lab"  # the lab's trainer token (the physical world: docks, buttons, faults)
DEVICE = "device"  # a camera proving its certificate (device hub)
SYSTEM = "system"  # a connected system controller, by the token the cloud gave it (S3)
LEVELS = (PUBLIC, ACCOUNT, ORG_MEMBER, ORG_ADMIN, MANAGER, LAB, DEVICE, SYSTEM)


def access(*levels: str) -> Callable[[Handler], Handler]:
    """Declare who may call a handler; several levels mean any of them."""
    for level in levels:
        if level not in LEVELS:
            raise ValueError(f"unknown access level {level!r}")

    def mark(handler: Handler) -> Handler:
        handler.access = levels  # type: ignore[attr-defined]
        return handler

    return mark


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda o: json.dumps(o, separators=(",", ":")))


async def read_body_bytes(request: web.Request, max_size: int = MAX_JSON_BODY) -> bytes:
    """The whole request body, however it is framed (Content-Length or chunked, in one write or
    many), refused with 413 as soon as it is known to be larger than ``max_size``."""
    if request.content_length is not None and request.content_length > max_size:
        raise PayloadTooLarge(f"request body is {request.content_length} bytes; at most {max_size} are accepted")
    parts: list[bytes] = []
    size = 0
    while True:
        part = await request.content.read(max_size + 1 - size)
        if not part:
            return b"".join(parts)
        size += len(part)
        if size > max_size:
            raise PayloadTooLarge(f"request body is larger than {max_size} bytes")
        parts.append(part)


async def read_json(request: web.Request, max_size: int = MAX_JSON_BODY) -> Any:
    """The request's JSON body, with size and syntax checked (``bwlab.wire.jsontext``)."""
    raw = await read_body_bytes(request, max_size)
    if not raw.strip():
        return {}
    try:
        return jsontext.loads(raw)
    except jsontext.JSONTextError as exc:
        raise InvalidInput(f"request body is not valid JSON: {exc}", code=exc.code) from None


async def read_body(request: web.Request, cls: type[T]) -> T:
    """The request's JSON body as dataclass ``cls``."""
    data = await read_json(request)
    try:
        return from_mapping(cls, data)
    except SchemaError as exc:
        raise InvalidInput(str(exc), path=exc.path) from None


def parse(cls: type[T], data: Any, path: str = "") -> T:
    try:
        return from_mapping(cls, data, path)
    except SchemaError as exc:
        raise InvalidInput(str(exc), path=exc.path) from None


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "too_many_requests",
}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    """The error envelope ``{"error": {"code", "message"}}`` for a failure that is no ``ClientError``."""
    response = json_response({"error": {"code": code, "message": message}}, status=status)
    response.headers.update(headers or {})
    return response


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure leaves as the error envelope: a ``ClientError`` with its 4xx/5xx, an aiohttp
    HTTP error with its status, and anything unexpected as a 500 that names no internals (the
    traceback goes to the log only). Client input never gets this far: it is refused as a
    ``ClientError`` before anything is changed."""
    try:
        return await handler(request)
    except ClientError as exc:
        response = json_response(exc.as_dict(), status=exc.status)
        response.headers.update(exc.headers)
        return response
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        retry = {k: v for k, v in exc.headers.items() if k in ("Allow", "Retry-After")}
        return error_response(exc.status, _HTTP_CODES.get(exc.status, "http_error"), exc.reason, retry)
    except ConnectionResetError:  # the client went away: nobody to answer
        raise
    except Exception as exc:
        if isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc)):
            busy = ServiceUnavailable("the database is busy; try again in a moment")
            return error_response(busy.status, busy.code, busy.message, {"Retry-After": "1"})
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "the appliance failed on this request; the lab log says why")


def content_security_policy(frame_ancestors: str) -> str:
    """The web client's policy: everything from this origin (no page has an inline script), media
    and workers from blob: URLs (MSE), map tiles from an https tile server (S11), inline styles
    (Leaflet positions its panes with them); ``frame_ancestors`` says who may frame the page."""
    return (
        "default-src 'self'; "
        "script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob: https:; "
        "media-src 'self' blob:; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; "
        f"base-uri 'self'; form-action 'self'; frame-ancestors {frame_ancestors}"
    )


API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
"""Responses that are not pages (JSON, certificates, metrics) load nothing and are framed by nobody."""

SERVER_NAME = "bwlab"
HSTS = "max-age=31536000"


async def _security_headers(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """Headers on every response, whatever produced it (handlers, static files, errors, the
    WebSocket handshake): set when the response is prepared. A page may set its own
    Content-Security-Policy (``webui_file`` does, to let a web VMS frame Live, S9)."""
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Cache-Control", "no-store")
    headers.setdefault("Content-Security-Policy", API_CSP)
    if request.secure:
        headers.setdefault("Strict-Transport-Security", HSTS)
    headers["Server"] = SERVER_NAME  # not aiohttp's name and version


def setup_security_headers(app: web.Application) -> None:
    """Headers for a web client that must also work inside VMS embedded browsers and frames (S9):
    nothing here forbids framing Live by a VMS on another site (see ``auth.py`` for the cookie
    and the cross-site guard that make framing safe)."""
    app.on_response_prepare.append(_security_headers)
