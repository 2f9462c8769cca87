"""The lab destination's durable object store: Swift's containers and objects as files (issue 13).

Layout under the store directory (one directory per account, ``AUTH_<user>``)::

    <account>/<container>/container.json             name, creation time, metadata
    <account>/<container>/objects/<object>.json      name, etag, size, type, time, metadata, data file
    <account>/<container>/objects/<object>.<id>.data the bytes

Names on disk are the percent-encoded names (``/`` and ``~`` encoded too), or ``~`` + the SHA-256
of the name when that would be longer than 200 bytes; every path is resolved and checked to stay
under the store directory. An object's sidecar is its commit point: the bytes are written to a
fresh data file and fsynced, then the sidecar is replaced atomically (``os.replace``), then the
old data file is removed — a crash leaves either the old object or the new one, never a mix.
Blocking file work runs in the default executor, never on the event loop.

Metadata follows Swift: keys are stored title-cased (``X-Object-Meta-Starttime``) with their
values verbatim; a container's metadata is merged (an empty value removes a key), an object's is
replaced as a whole by ``POST``. Swift's limits apply (name ≤ 128 bytes, value ≤ 256 bytes, at
most 90 items and 4096 bytes in all) and so does its maximum object size (5 GiB).
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import json
import mimetypes
import os
import secrets
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from bwlab.clock import Clock
from bwlab.errors import Refused
from bwlab.wire.content_destination import ContentDestinationError, check_container_name, check_object_name

MAX_META_NAME = 128
MAX_META_VALUE = 256
MAX_META_COUNT = 90
MAX_META_OVERALL = 4096
MAX_OBJECT_SIZE = 5 * 1024**3 + 2
MAX_DISK_NAME = 200
CHUNK = 64 * 1024

T = TypeVar("T")


class StoreError(Refused):
    """An error a client caused or must hear about; ``status`` is the Swift status code."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BadRequest(StoreError):
    pass


class NotFound(StoreError):
    status = 404
    code = "not_found"


class LengthRequired(StoreError):
    status = 411
    code = "length_required"


class TooLarge(StoreError):
    status = 413
    code = "too_large"


class EtagMismatch(StoreError):
    status = 422
    code = "unprocessable_entity"


class InsufficientStorage(StoreError):
    status = 507
    code = "insufficient_storage"


@dataclass(frozen=True)
class ContainerInfo:
    name: str
    created: float
    metadata: dict[str, str]
    object_count: int = 0
    bytes_used: int = 0


@dataclass(frozen=True)
class ObjectInfo:
    name: str
    etag: str
    bytes: int
    content_type: str
    timestamp: float
    metadata: dict[str, str]
    data_file: Path = field(repr=False)


def title(key: str) -> str:
    """A header name as Swift returns it (``str.title``)."""
    return key.title()


def check_metadata(metadata: Mapping[str, str]) -> None:
    """Swift's metadata constraints (``swift.common.constraints.check_metadata``)."""
    total = 0
    for key, value in metadata.items():
        if not key:
            raise BadRequest("metadata name cannot be empty")
        if len(key.encode()) > MAX_META_NAME:
            raise BadRequest(f"metadata name too long; max {MAX_META_NAME}: {key[:40]}…")
        if len(value.encode()) > MAX_META_VALUE:
            raise BadRequest(f"metadata value longer than {MAX_META_VALUE}: {key}")
        total += len(key.encode()) + len(value.encode())
    if len(metadata) > MAX_META_COUNT:
        raise BadRequest(f"too many metadata items; max {MAX_META_COUNT}")
    if total > MAX_META_OVERALL:
        raise BadRequest(f"total metadata too large; max {MAX_META_OVERALL}")


def disk_name(name: str) -> str:
    encoded = quote(name, safe="").replace("~", "%7E")
    if len(encoded) > MAX_DISK_NAME:
        return "~" + hashlib.sha256(name.encode()).hexdigest()
    return encoded


def _write_json_atomic(path: Path, doc: dict) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_json(path: Path) -> dict | None:
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _storage_error(exc: OSError) -> StoreError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return InsufficientStorage("the content destination is out of disk space")
    raise exc


class Store:
    """The object store under ``root``. ``quota_bytes`` (optional) makes it answer 507 once an
    upload would take the account past it (a full destination)."""

    def __init__(self, root: Path, clock: Clock, quota_bytes: int | None = None):
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.clock = clock
        self.quota_bytes = quota_bytes
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    # -- paths ---------------------------------------------------------------------------------

    def _under(self, path: Path) -> Path:
        resolved = path.resolve()
        if resolved != self.root and self.root not in resolved.parents:
            raise BadRequest("the name leads outside the store")
        return resolved

    def account_dir(self, account: str) -> Path:
        if not account or "/" in account or account in (".", "..") or len(account) > 256:
            raise BadRequest("bad account name")
        return self._under(self.root / disk_name(account))

    def container_dir(self, account: str, container: str) -> Path:
        try:
            check_container_name(container)
        except ContentDestinationError as exc:
            raise BadRequest(exc.message) from None
        return self._under(self.account_dir(account) / disk_name(container))

    def _object_paths(self, account: str, container: str, name: str) -> tuple[Path, Path]:
        try:
            check_object_name(name)
        except ContentDestinationError as exc:
            raise BadRequest(exc.message) from None
        objects = self.container_dir(account, container) / "objects"
        return objects, self._under(objects / (disk_name(name) + ".json"))

    def _lock(self, account: str, container: str) -> asyncio.Lock:
        return self._locks.setdefault((account, container), asyncio.Lock())

    @staticmethod
    async def _run(fn: Callable[..., T], *args) -> T:
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    # -- containers ----------------------------------------------------------------------------

    async def put_container(self, account: str, container: str, updates: Mapping[str, str]) -> bool:
        """Create a container (True) or update an existing one's metadata (False)."""
        directory = self.container_dir(account, container)
        async with self._lock(account, container):
            return await self._run(self._put_container, directory, container, dict(updates))

    def _put_container(self, directory: Path, name: str, updates: dict[str, str]) -> bool:
        doc = _read_json(directory / "container.json")
        created = doc is None
        if doc is None:
            doc = {"name": name, "created": self.clock.now(), "metadata": {}}
        metadata = _merge(doc["metadata"], updates)
        check_metadata(metadata)
        doc["metadata"] = metadata
        try:
            (directory / "objects").mkdir(parents=True, exist_ok=True)
            _write_json_atomic(directory / "container.json", doc)
        except OSError as exc:
            raise _storage_error(exc) from None
        return created

    async def post_container(self, account: str, container: str, updates: Mapping[str, str]) -> None:
        directory = self.container_dir(account, container)
        async with self._lock(account, container):
            await self._run(self._post_container, directory, dict(updates))

    def _post_container(self, directory: Path, updates: dict[str, str]) -> None:
        doc = _read_json(directory / "container.json")
        if doc is None:
            raise NotFound("no such container")
        doc["metadata"] = _merge(doc["metadata"], updates)
        check_metadata(doc["metadata"])
        try:
            _write_json_atomic(directory / "container.json", doc)
        except OSError as exc:
            raise _storage_error(exc) from None

    async def container(self, account: str, container: str) -> ContainerInfo:
        directory = self.container_dir(account, container)
        return await self._run(self._container, directory)

    def _container(self, directory: Path) -> ContainerInfo:
        doc = _read_json(directory / "container.json")
        if doc is None:
            raise NotFound("no such container")
        objects = self._objects(directory)
        return ContainerInfo(
            name=doc["name"],
            created=doc["created"],
            metadata=dict(doc["metadata"]),
            object_count=len(objects),
            bytes_used=sum(o.bytes for o in objects),
        )

    async def containers(self, account: str) -> list[ContainerInfo]:
        directory = self.account_dir(account)
        return await self._run(self._containers, directory)

    def _containers(self, directory: Path) -> list[ContainerInfo]:
        if not directory.is_dir():
            return []
        out = []
        for child in directory.iterdir():
            try:
                out.append(self._container(child))
            except NotFound:
                continue
        return sorted(out, key=lambda c: c.name)

    # -- objects -------------------------------------------------------------------------------

    async def objects(
        self, account: str, container: str, prefix: str = "", marker: str = "", limit: int = 10000
    ) -> list[ObjectInfo]:
        directory = self.container_dir(account, container)
        listing = await self._run(self._listing, directory)
        return [o for o in listing if o.name.startswith(prefix) and o.name > marker][:limit]

    def _listing(self, directory: Path) -> list[ObjectInfo]:
        if _read_json(directory / "container.json") is None:
            raise NotFound("no such container")
        return self._objects(directory)

    def _objects(self, directory: Path) -> list[ObjectInfo]:
        objects = directory / "objects"
        if not objects.is_dir():
            return []
        out = []
        for sidecar in objects.glob("*.json"):
            info = self._object_from(objects, _read_json(sidecar))
            if info is not None:
                out.append(info)
        return sorted(out, key=lambda o: o.name)

    def _object_from(self, objects: Path, doc: dict | None) -> ObjectInfo | None:
        if doc is None:
            return None
        data = self._under(objects / doc["data"])
        return ObjectInfo(
            name=doc["name"],
            etag=doc["etag"],
            bytes=doc["bytes"],
            content_type=doc["content_type"],
            timestamp=doc["timestamp"],
            metadata=dict(doc["metadata"]),
            data_file=data,
        )

    async def object(self, account: str, container: str, name: str) -> ObjectInfo:
        objects, sidecar = self._object_paths(account, container, name)
        return await self._run(self._object, objects, sidecar)

    def _object(self, objects: Path, sidecar: Path) -> ObjectInfo:
        if _read_json(objects.parent / "container.json") is None:
            raise NotFound("no such container")
        info = self._object_from(objects, _read_json(sidecar))
        if info is None:
            raise NotFound("no such object")
        return info

    async def put_object(
        self,
        account: str,
        container: str,
        name: str,
        body: AsyncIterator[bytes],
        *,
        content_length: int | None,
        content_type: str | None,
        metadata: Mapping[str, str],
        expected_etag: str | None = None,
    ) -> ObjectInfo:
        """Store an object streamed from ``body`` (memory stays flat); 404 without its
        container, 422 when ``expected_etag`` is not the md5 of what arrived, 507 when full."""
        objects, sidecar = self._object_paths(account, container, name)
        metadata = dict(metadata)
        check_metadata(metadata)
        if content_length is not None and content_length > MAX_OBJECT_SIZE:
            raise TooLarge(f"an object is at most {MAX_OBJECT_SIZE} bytes")
        if _read_json(objects.parent / "container.json") is None:
            raise NotFound("no such container")
        used = None
        if self.quota_bytes is not None:
            used = sum(c.bytes_used for c in await self.containers(account))
            if used + (content_length if content_length is not None else 1) > self.quota_bytes:
                raise InsufficientStorage("the content destination is full (its quota is used up)")
        data = self._under(objects / f"{disk_name(name)}.{secrets.token_hex(6)}.data")
        digest = hashlib.md5(usedforsecurity=False)
        size = 0
        loop = asyncio.get_running_loop()
        try:
            f = await loop.run_in_executor(None, open, data, "wb")
        except OSError as exc:
            raise _storage_error(exc) from None
        try:
            try:
                async for chunk in body:
                    size += len(chunk)
                    if size > MAX_OBJECT_SIZE:
                        raise TooLarge(f"an object is at most {MAX_OBJECT_SIZE} bytes")
                    if used is not None and self.quota_bytes is not None and used + size > self.quota_bytes:
                        raise InsufficientStorage("the content destination is full (its quota is used up)")
                    digest.update(chunk)
                    await loop.run_in_executor(None, f.write, chunk)
                await loop.run_in_executor(None, _flush_sync, f)
            finally:
                await loop.run_in_executor(None, f.close)
            if content_length is not None and size != content_length:
                raise BadRequest(f"the body has {size} bytes, Content-Length said {content_length}")
            etag = digest.hexdigest()
            if expected_etag is not None and expected_etag.strip('"').lower() != etag:
                raise EtagMismatch("the Etag sent is not the md5 of the body")
            doc: dict[str, Any] = {
                "name": name,
                "etag": etag,
                "bytes": size,
                "content_type": content_type or _guess_type(name),
                "timestamp": self.clock.now(),
                "metadata": metadata,
                "data": data.name,
            }
            async with self._lock(account, container):
                old = await self._run(_read_json, sidecar)
                await self._run(self._commit, sidecar, doc)
            if old and old.get("data") and old["data"] != data.name:
                await self._run(_unlink, self._under(objects / old["data"]))
        except BaseException as exc:
            await self._run(_unlink, data)
            if isinstance(exc, OSError):
                raise _storage_error(exc) from None
            raise
        return ObjectInfo(
            name=name,
            etag=etag,
            bytes=size,
            content_type=doc["content_type"],
            timestamp=doc["timestamp"],
            metadata=metadata,
            data_file=data,
        )

    def _commit(self, sidecar: Path, doc: dict) -> None:
        if _read_json(sidecar.parent.parent / "container.json") is None:
            raise NotFound("no such container")
        _write_json_atomic(sidecar, doc)

    async def post_object(
        self, account: str, container: str, name: str, metadata: Mapping[str, str], content_type: str | None = None
    ) -> ObjectInfo:
        """Replace an object's metadata as a whole (Swift's object ``POST``)."""
        objects, sidecar = self._object_paths(account, container, name)
        metadata = dict(metadata)
        check_metadata(metadata)
        async with self._lock(account, container):
            return await self._run(self._post_object, objects, sidecar, metadata, content_type)

    def _post_object(
        self, objects: Path, sidecar: Path, metadata: dict[str, str], content_type: str | None
    ) -> ObjectInfo:
        self._object(objects, sidecar)
        doc = _read_json(sidecar)
        assert doc is not None
        doc["metadata"] = metadata
        doc["timestamp"] = self.clock.now()
        if content_type:
            doc["content_type"] = content_type
        try:
            _write_json_atomic(sidecar, doc)
        except OSError as exc:
            raise _storage_error(exc) from None
        info = self._object_from(objects, doc)
        assert info is not None
        return info

    async def read(self, info: ObjectInfo) -> AsyncIterator[bytes]:
        """An object's bytes, chunk by chunk."""
        loop = asyncio.get_running_loop()
        f = await loop.run_in_executor(None, open, info.data_file, "rb")
        try:
            while True:
                chunk = await loop.run_in_executor(None, f.read, CHUNK)
                if not chunk:
                    return
                yield chunk
        finally:
            await loop.run_in_executor(None, f.close)


def _merge(current: Mapping[str, str], updates: Mapping[str, str]) -> dict[str, str]:
    merged = dict(current)
    for key, value in updates.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _flush_sync(f) -> None:
    f.flush()
    os.fsync(f.fileno())


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def _guess_type(name: str) -> str:
    if name.endswith(".mkv"):
        return "video/x-matroska"
    return mimetypes.guess_type(name)[0] or "application/octet-stream"
