"""S4–S6: the end-to-end encryption keys: generate, copy as a link, import, list with fingerprints."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web
from aiosqlite import Row

from bwlab.wire import envelope

from ...errors import InvalidInput, NotFound
from ...http import MANAGER, access, json_response, read_body
from ...ids import new_id
from .. import store
from .request import API, appliance, db, system_id

routes = web.RouteTableDef()


@dataclass(frozen=True)
class NewKey:
    name: str = field(default="Key", metadata={"max_len": 80, "nonempty": True})


@dataclass(frozen=True)
class LinkRequest:
    passphrase: str | None = field(default=None, metadata={"max_len": 256})


@dataclass(frozen=True)
class ImportLink:
    name: str = field(metadata={"max_len": 80, "nonempty": True})
    link: str = field(metadata={"max_len": 4096})
    passphrase: str | None = field(default=None, metadata={"max_len": 256})


def _key_json(row: Row) -> dict:
    return {
        "id": row["id"],
        "name": row["name"],
        "fingerprint": row["fingerprint"],
        "origin": row["origin"],
        "active": bool(row["active"]),
        "created_at": row["created_at"],
        "public_key": row["public_key"],
    }


async def _store_key(request: web.Request, name: str, private_key, origin: str) -> dict:
    public = private_key.public_key()
    row = await store.add_active_key(
        db(request),
        new_id("key"),
        system_id(request),
        name,
        envelope.public_key_to_b64(public),
        envelope.b64url_encode(envelope.private_key_to_pkcs8(private_key)),
        envelope.key_fingerprint(public),
        origin,
        appliance(request).clock.now(),
    )
    return _key_json(row)


@routes.get(API + "/keys")
@access(MANAGER)
async def list_keys(request: web.Request) -> web.Response:
    """S6: the key list with each key's fingerprint."""
    rows = await store.keys(db(request), system_id(request))
    return json_response({"keys": [_key_json(r) for r in rows]})


@routes.post(API + "/keys")
@access(MANAGER)
async def generate_key(request: web.Request) -> web.Response:
    """S4: Generate key. The new key becomes the one cameras receive at their next docking."""
    body = await read_body(request, NewKey)
    pair = envelope.generate_system_keypair()
    return json_response(await _store_key(request, body.name, pair.private_key, "generated"), status=201)


@routes.post(API + "/keys/{key_id}/link")
@access(MANAGER)
async def copy_link(request: web.Request) -> web.Response:
    """S5: Copy link with key (plain) or Copy password-protected link with key."""
    body = await read_body(request, LinkRequest)
    row = await store.key(db(request), system_id(request), request.match_info["key_id"])
    if row is None:
        raise NotFound("no such key")
    private_key = envelope.private_key_from_pkcs8(envelope.b64url_decode(row["private_key"]))
    try:
        link = envelope.make_link(
            appliance(request).config.url + "/live/", private_key, body.passphrase, name=row["name"]
        )
    except envelope.EnvelopeError as exc:
        raise InvalidInput(str(exc)) from None
    return json_response({"link": link, "fingerprint": row["fingerprint"], "protected": body.passphrase is not None})


@routes.post(API + "/keys/import")
@access(MANAGER)
async def import_link(request: web.Request) -> web.Response:
    """S5: Import link with key — a second system reuses the first system's key."""
    body = await read_body(request, ImportLink)
    try:
        link = envelope.read_link(body.link, body.passphrase)
    except envelope.PassphraseRequired as exc:
        raise InvalidInput(str(exc), code="passphrase_required") from None
    except envelope.WrongPassphrase as exc:
        raise InvalidInput(str(exc), code="wrong_passphrase") from None
    except envelope.EnvelopeError as exc:
        raise InvalidInput(f"link: {exc}", code="bad_link") from None
    return json_response(await _store_key(request, body.name, link.private_key, "imported"), status=201)
