"""The HTTP boundary: error envelope, body parsing, access declarations (CONVENTIONS 6, 11).

Every handler declares who may call it with ``@access(...)``; a test walks the route table
and calls each route as each role, so a route without a declaration cannot ship. Bodies are
parsed into frozen dataclasses with ``read_body`` (unknown keys rejected, the bad key's path in
the message), and every ``BwlabError`` leaves as ``{"error": {"code", "message"}}`` with its 4xx.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Awaitable, Callable, TypeVar

from aiohttp import web

from bwlab.schema import SchemaError, from_mapping

from .errors import BwlabError, InvalidInput, PayloadTooLarge

log = logging.getLogger(__name__)

T = TypeVar("T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

MAX_JSON_BODY = 64 * 1024

# Access levels a route may declare (see appliance/auth.py for how each is checked).
PUBLIC = "public"        # anyone, e.g. health, CA certificate, sign-in
ACCOUNT = "account"      # any signed-in cloud account
ORG_MEMBER = "org:user"  # member of the organization in the path, any role (S14)
ORG_ADMIN = "org:admin"  # admin of the organization in the path (S14)
MANAGER = "manager"      # administrator of the system controller in the path
LAB = "lab"              # the lab's trainer token (the physical world: docks, buttons, faults)
DEVICE = "device"        # a camera proving its certificate (device hub)
SYSTEM = "system"        # a connected system controller, by the token the cloud gave it (S3)
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


async def read_json(request: web.Request, max_size: int = MAX_JSON_BODY) -> Any:
    """The request's JSON body, with size and syntax checked."""
    if request.content_length is not None and request.content_length > max_size:
        raise PayloadTooLarge(f"request body is {request.content_length} bytes; at most {max_size} are accepted")
    raw = await request.content.read(max_size + 1)
    if len(raw) > max_size:
        raise PayloadTooLarge(f"request body is larger than {max_size} bytes")
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"request body is not valid JSON: {exc}", code="malformed_json") from None


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


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except BwlabError as exc:
        response = json_response(exc.as_dict(), status=exc.status)
        response.headers.update(exc.headers)
        return response
    except web.HTTPException as exc:
        if exc.status >= 400 and exc.content_type != "application/json":
            code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
                exc.status, "http_error"
            )
            return json_response({"error": {"code": code, "message": exc.reason}}, status=exc.status)
        raise


@web.middleware
async def security_headers_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Headers for a web client that must also work inside VMS embedded browsers and frames (S9):
    nothing here forbids framing by the VMS (see ``auth.py`` for the cookie and the cross-site
    guard that make framing safe)."""
    response = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Cache-Control", "no-store")
    return response
