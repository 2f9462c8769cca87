"""The Body Worn Content Destination API on the wire (issue 13; Axis's public README of the
"Body worn integration API", repository AxisCommunications/body-worn-integration-api).

The body-worn system (the controller) is the *client* of a content destination (an evidence
management system, a VMS, or a plain OpenStack Swift object store), which is the *server*. Both
ends of the lab meet here: the controller's offload client and ``bwlab content-destination``.

* **Connection file** (:class:`ConnectionFile`): the JSON an admin imports in the Manager. At most
  64 kB, ``ConnectionFileVersion`` ``"1.0"``, the field lengths of the README's template. Like
  Axis's example server, ``HTTPSCertificate`` entries and ``PublicKey`` are base64 of the PEM text
  (base64 of DER is accepted too). ``WantEncryption`` and ``FullStoreAndReadSupport`` may only
  change from false to true and ``ContainerType`` never changes (:func:`check_replacement`).
* **Capabilities** (:class:`Capabilities`): ``System/Capabilities.json``, three sections ``Read``,
  ``Store``, ``StoreAndRead`` of ``name: bool``; the response's ``Etag`` is the md5 of the body,
  and a mismatch is "object corrupt" (the client then treats every capability as unsupported).
  The README spells the object once ``Capability.json`` and once ``Capabilities.json``; Axis's
  example server serves ``Capabilities.json``, and so does the lab.
* **Categories**: ``System/Categories.json``, a JSON list of ``{"Id", "Name"}`` (as Axis's example
  server writes it; read when the ``ReadCategories`` capability or ``FullStoreAndReadSupport`` is on).
* **Metadata headers**: ``X-Container-Meta-<Key>`` / ``X-Object-Meta-<Key>``, the key lowercase
  except its first letter and every letter after a hyphen (``BWCSerialNumber`` goes on the wire as
  ``X-Container-Meta-Bwcserialnumber``), values URL-encoded UTF-8.
* **Names**: recording container ``<UserID>_<BWCSerialNumber>_<TriggerOnTime>``, clip
  ``<StartTime>_<RecordingID>.<ContainerType>``, key ``<StartTime>_<RecordingID>.key``, GNSS trail
  ``<date>_<time>_<RecordingID>_<bwcid>_gpstrail.json``, bookmark ``bookmark_<Timestamp>_<ID>``.
  The README's tree writes the times in names as ``<date>_<time>`` without saying more; the lab
  writes them ``YYYYMMDD_HHMMSS`` (UTC).
* **Key objects** (:class:`KeyObject`): with ``WantEncryption`` each content object (clip, GNSS
  trail) is AES-256-CBC encrypted (PKCS#7 padding, as ``openssl enc`` expects) with a fresh
  32-byte content key and 16-byte IV; its key object is JSON with ``PublicKeyId``,
  ``EncryptedKey`` (base64 of the content key wrapped with the destination's RSA public key,
  OAEP with SHA-1, what ``openssl rsautl -decrypt -oaep`` unwraps) and ``ContentEncryptionIV``
  (base64), one attribute per line so that the README's ``grep … | cut -d'"' -f 4`` recipe works.
  The key object of ``X.mkv``/``X.json`` is ``X.key``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote, unquote, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import MGF1, OAEP
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bwlab.errors import WireError

# ---- errors ------------------------------------------------------------------------------------


class ContentDestinationError(WireError, ValueError):
    """Something on the content-destination wire that does not follow the API; ``field`` names
    the attribute (a connection-file field, a metadata key, an object name…)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# ---- the connection file -----------------------------------------------------------------------

CONNECTION_FILE_VERSION = "1.0"
MAX_CONNECTION_FILE = 64 * 1024
MAX_URIS = 10
MAX_URI = 512
MAX_CERTIFICATES = 10
MAX_CERTIFICATE = 16 * 1024
MAX_PUBLIC_KEY = 2048
CONTAINER_TYPES = ("mkv", "mp4")
AUTH_PATH = "/auth/v1.0"

_STRING_LIMITS = {
    "SiteName": 64,
    "ApplicationName": 256,
    "ApplicationVersion": 64,
    "BlobAPIKey": 64,
    "BlobAPIUserName": 64,
    "PublicKeyId": 128,
    "BlobAPI": 64,
}
_FIELDS = (
    "ConnectionFileVersion",
    "SiteName",
    "ApplicationName",
    "ApplicationVersion",
    "ContentDestinationAsNTPServer",
    "AuthenticationTokenURI",
    "HTTPSCertificate",
    "BlobAPIKey",
    "BlobAPIUserName",
    "ContainerType",
    "FullStoreAndReadSupport",
    "WantEncryption",
    "PublicKey",
    "PublicKeyId",
    "BlobAPI",
)
"""The README's template, plus ``BlobAPI`` ("Swift 1.0"), which Axis's example server writes."""


@dataclass(frozen=True)
class ConnectionFile:
    """A validated connection file. Build one with :meth:`parse` (untrusted bytes) or directly and
    call :meth:`validate` (done by :meth:`to_json`)."""

    site_name: str
    application_name: str
    application_version: str
    authentication_token_uri: tuple[str, ...]
    blob_api_key: str = field(repr=False)
    blob_api_user_name: str
    https_certificate: tuple[str, ...] = ()
    """Base64 of each PEM certificate, as in the file."""
    content_destination_as_ntp_server: bool = False
    container_type: Literal["mkv", "mp4"] = "mkv"
    full_store_and_read_support: bool = False
    want_encryption: bool = False
    public_key: str = ""
    """Base64 of the PEM RSA public key, as in the file ("" without encryption)."""
    public_key_id: str = ""
    connection_file_version: str = CONNECTION_FILE_VERSION
    blob_api: str = ""

    # -- reading -------------------------------------------------------------------------------

    @classmethod
    def parse(cls, data: bytes | str) -> ConnectionFile:
        """Parse and validate a connection file's bytes; :class:`ContentDestinationError` names
        the field and what was expected."""
        raw = data.encode() if isinstance(data, str) else bytes(data)
        if len(raw) > MAX_CONNECTION_FILE:
            raise ContentDestinationError(
                "file", f"a connection file is at most {MAX_CONNECTION_FILE} bytes (64 kB), this one is {len(raw)}"
            )
        try:
            doc = json.loads(raw.decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise ContentDestinationError("file", "not UTF-8 text") from None
        except json.JSONDecodeError as exc:
            raise ContentDestinationError("file", f"not JSON ({exc.msg}, line {exc.lineno})") from None
        return cls.from_mapping(doc)

    @classmethod
    def from_mapping(cls, doc: Any) -> ConnectionFile:
        if not isinstance(doc, dict):
            raise ContentDestinationError("file", "a JSON object is expected")
        unknown = sorted(set(doc) - set(_FIELDS))
        if unknown:
            raise ContentDestinationError(
                unknown[0], f"not a connection-file attribute (known: {', '.join(_FIELDS[:-1])})"
            )

        def string(name: str, required: bool = True) -> str:
            value = doc.get(name)
            if value is None:
                if required:
                    raise ContentDestinationError(name, "missing (a string is required)")
                return ""
            if not isinstance(value, str):
                raise ContentDestinationError(name, f"a string is expected, not {_json_type(value)}")
            return value

        def boolean(name: str) -> bool:
            value = doc.get(name, False)
            if not isinstance(value, bool):
                raise ContentDestinationError(name, f"true or false is expected, not {_json_type(value)}")
            return value

        def strings(name: str, required: bool) -> tuple[str, ...]:
            value = doc.get(name)
            if value is None:
                if required:
                    raise ContentDestinationError(name, "missing (a list of strings is required)")
                return ()
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ContentDestinationError(name, "a list of strings is expected")
            return tuple(value)

        if "ConnectionFileVersion" not in doc:
            raise ContentDestinationError("ConnectionFileVersion", f'missing (expected "{CONNECTION_FILE_VERSION}")')
        container_type = doc.get("ContainerType", "mkv")
        if container_type not in CONTAINER_TYPES:
            raise ContentDestinationError(
                "ContainerType", f'"mkv" or "mp4" is expected, not {json.dumps(container_type)}'
            )
        conn = cls(
            connection_file_version=string("ConnectionFileVersion"),
            site_name=string("SiteName"),
            application_name=string("ApplicationName"),
            application_version=string("ApplicationVersion"),
            content_destination_as_ntp_server=boolean("ContentDestinationAsNTPServer"),
            authentication_token_uri=strings("AuthenticationTokenURI", True),
            https_certificate=strings("HTTPSCertificate", False),
            blob_api_key=string("BlobAPIKey"),
            blob_api_user_name=string("BlobAPIUserName"),
            container_type=container_type,
            full_store_and_read_support=boolean("FullStoreAndReadSupport"),
            want_encryption=boolean("WantEncryption"),
            public_key=string("PublicKey", required=False),
            public_key_id=string("PublicKeyId", required=False),
            blob_api=string("BlobAPI", required=False),
        )
        conn.validate()
        return conn

    def validate(self) -> None:
        """Check every rule of the README; raise :class:`ContentDestinationError` on the first."""
        if self.connection_file_version != CONNECTION_FILE_VERSION:
            raise ContentDestinationError(
                "ConnectionFileVersion",
                f'"{CONNECTION_FILE_VERSION}" is expected, not {json.dumps(self.connection_file_version)}',
            )
        values = {
            "SiteName": self.site_name,
            "ApplicationName": self.application_name,
            "ApplicationVersion": self.application_version,
            "BlobAPIKey": self.blob_api_key,
            "BlobAPIUserName": self.blob_api_user_name,
            "PublicKeyId": self.public_key_id,
            "BlobAPI": self.blob_api,
        }
        for name, value in values.items():
            _check_text(name, value, _STRING_LIMITS[name])
        for name in ("SiteName", "ApplicationName", "ApplicationVersion", "BlobAPIKey", "BlobAPIUserName"):
            if not values[name]:
                raise ContentDestinationError(name, "must not be empty")
        if self.container_type not in CONTAINER_TYPES:
            raise ContentDestinationError("ContainerType", '"mkv" or "mp4" is expected')
        uris = self.authentication_token_uri
        if not 1 <= len(uris) <= MAX_URIS:
            raise ContentDestinationError(
                "AuthenticationTokenURI", f"1 to {MAX_URIS} URIs are expected, not {len(uris)}"
            )
        scheme = "https" if self.https_certificate else "http"
        for i, uri in enumerate(uris):
            where = f"AuthenticationTokenURI[{i}]"
            if len(uri) > MAX_URI:
                raise ContentDestinationError(where, f"at most {MAX_URI} characters, not {len(uri)}")
            try:
                parts = urlsplit(uri)
                parts.port  # noqa: B018 - raises on a bad port
            except ValueError as exc:
                raise ContentDestinationError(where, f"not a URI ({exc})") from None
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ContentDestinationError(where, f"an http(s) URI with a host is expected, not {uri!r}")
            if parts.scheme != scheme:
                raise ContentDestinationError(
                    where,
                    "an https URI needs the server's certificate in HTTPSCertificate"
                    if parts.scheme == "https"
                    else "with HTTPSCertificate set the connection is HTTPS: an https URI is expected",
                )
        if len(self.https_certificate) > MAX_CERTIFICATES:
            raise ContentDestinationError(
                "HTTPSCertificate", f"at most {MAX_CERTIFICATES} certificates, not {len(self.https_certificate)}"
            )
        for i, text in enumerate(self.https_certificate):
            where = f"HTTPSCertificate[{i}]"
            if len(text) > MAX_CERTIFICATE:
                raise ContentDestinationError(where, f"at most {MAX_CERTIFICATE} characters (16k), not {len(text)}")
            load_certificate(text, where)
        if self.want_encryption:
            if not self.public_key:
                raise ContentDestinationError("PublicKey", "required when WantEncryption is true")
            if not self.public_key_id:
                raise ContentDestinationError("PublicKeyId", "required when WantEncryption is true")
        else:
            for name, value in (("PublicKey", self.public_key), ("PublicKeyId", self.public_key_id)):
                if value:
                    raise ContentDestinationError(name, "no value is allowed when WantEncryption is false")
        if self.public_key:
            if len(self.public_key) > MAX_PUBLIC_KEY:
                raise ContentDestinationError(
                    "PublicKey", f"at most {MAX_PUBLIC_KEY} characters, not {len(self.public_key)}"
                )
            load_public_key(self.public_key)

    # -- writing -------------------------------------------------------------------------------

    def as_mapping(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "ConnectionFileVersion": self.connection_file_version,
            "SiteName": self.site_name,
            "ApplicationName": self.application_name,
            "ApplicationVersion": self.application_version,
            "ContentDestinationAsNTPServer": self.content_destination_as_ntp_server,
            "AuthenticationTokenURI": list(self.authentication_token_uri),
            "HTTPSCertificate": list(self.https_certificate),
            "BlobAPIKey": self.blob_api_key,
            "BlobAPIUserName": self.blob_api_user_name,
            "ContainerType": self.container_type,
            "FullStoreAndReadSupport": self.full_store_and_read_support,
            "WantEncryption": self.want_encryption,
        }
        if self.want_encryption:
            doc["PublicKey"] = self.public_key
            doc["PublicKeyId"] = self.public_key_id
        if self.blob_api:
            doc["BlobAPI"] = self.blob_api
        return doc

    def to_json(self) -> bytes:
        self.validate()
        return (json.dumps(self.as_mapping(), indent=2) + "\n").encode()

    # -- use -----------------------------------------------------------------------------------

    def certificates(self) -> list[x509.Certificate]:
        """The pinned server certificates (empty: plain HTTP)."""
        return [load_certificate(text, f"HTTPSCertificate[{i}]") for i, text in enumerate(self.https_certificate)]

    def certificates_pem(self) -> str:
        """The pinned certificates as one PEM bundle (for ``ssl`` ``cadata``)."""
        return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in self.certificates())

    def rsa_public_key(self) -> rsa.RSAPublicKey | None:
        return load_public_key(self.public_key) if self.want_encryption else None

    def summary(self) -> dict[str, Any]:
        """What a UI shows: everything but the key."""
        doc = self.as_mapping()
        doc["BlobAPIKey"] = "••••"
        doc["HTTPSCertificate"] = [c.subject.rfc4514_string() for c in self.certificates()]
        return doc


def check_replacement(previous: ConnectionFile | None, new: ConnectionFile) -> None:
    """The README's "Change" rules when a connection file replaces another: ``WantEncryption``
    and ``FullStoreAndReadSupport`` only go from false to true, ``ContainerType`` never changes."""
    if previous is None:
        return
    if previous.want_encryption and not new.want_encryption:
        raise ContentDestinationError(
            "WantEncryption",
            "encryption was turned on for this system and cannot be "
            "turned off: a connection file must keep WantEncryption true",
        )
    if previous.full_store_and_read_support and not new.full_store_and_read_support:
        raise ContentDestinationError("FullStoreAndReadSupport", "can only change from false to true")
    if previous.container_type != new.container_type:
        raise ContentDestinationError("ContainerType", f"cannot change once set (it is {previous.container_type!r})")


def encode_pem(pem: bytes | str) -> str:
    """A PEM text as the connection file carries it: base64 of the PEM bytes."""
    return base64.b64encode(pem.encode() if isinstance(pem, str) else pem).decode()


def _b64(text: str, where: str) -> bytes:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ContentDestinationError(where, "not base64") from None


def load_certificate(text: str, where: str = "HTTPSCertificate") -> x509.Certificate:
    """A certificate from its connection-file text (base64 of PEM, or of DER)."""
    raw = _b64(text, where)
    try:
        if raw.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(raw)
        return x509.load_der_x509_certificate(raw)
    except ValueError as exc:
        raise ContentDestinationError(where, f"not a base64 encoded X.509 certificate ({exc})") from None


def load_public_key(text: str, where: str = "PublicKey") -> rsa.RSAPublicKey:
    """The RSA public key from its connection-file text (base64 of a PEM public key)."""
    raw = _b64(text, where)
    try:
        key = serialization.load_pem_public_key(raw)
    except (ValueError, TypeError) as exc:
        raise ContentDestinationError(where, f"not a base64 encoded PEM public key ({exc})") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ContentDestinationError(where, "an RSA public key is expected")
    if key.key_size < 2048:
        raise ContentDestinationError(where, f"an RSA key of at least 2048 bits is expected, not {key.key_size}")
    return key


def _check_text(name: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise ContentDestinationError(name, f"at most {limit} characters, not {len(value)}")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ContentDestinationError(name, "control characters are not allowed")


def _json_type(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
        type(None): "null",
    }.get(type(value), type(value).__name__)


# ---- capabilities and categories ---------------------------------------------------------------

SYSTEM_CONTAINER = "System"
USERS_CONTAINER = "Users"
DEVICES_CONTAINER = "Devices"
CAPABILITIES_OBJECT = "Capabilities.json"
CATEGORIES_OBJECT = "Categories.json"

STORE_READ_SYSTEM_ID = "StoreReadSystemID"
STORE_USER_ID_KEY = "StoreUserIDKey"
STORE_BOOKMARKS = "StoreBookmarks"
STORE_SIGNED_VIDEO = "StoreSignedVideo"
STORE_GNSS_TRACK_RECORDING = "StoreGNSSTrackRecording"
READ_CATEGORIES = "ReadCategories"
KNOWN_CAPABILITIES = (
    STORE_READ_SYSTEM_ID,
    STORE_USER_ID_KEY,
    STORE_BOOKMARKS,
    STORE_SIGNED_VIDEO,
    STORE_GNSS_TRACK_RECORDING,
    READ_CATEGORIES,
)
_SECTIONS = ("Read", "Store", "StoreAndRead")


def etag(body: bytes) -> str:
    """The ``Etag`` a content destination sends with an object: the md5 of its bytes, hex."""
    return hashlib.md5(body, usedforsecurity=False).hexdigest()


def etag_matches(body: bytes, header: str | None) -> bool:
    """Whether a response's ``Etag`` header (quoted or not) is the md5 of ``body``."""
    return header is not None and header.strip().strip('"').lower() == etag(body)


@dataclass(frozen=True)
class Capabilities:
    """What a destination says it supports. ``full`` stands for ``FullStoreAndReadSupport``:
    every capability is on."""

    read: frozenset[str] = frozenset()
    store: frozenset[str] = frozenset()
    store_and_read: frozenset[str] = frozenset()
    full: bool = False

    def supports(self, name: str) -> bool:
        return self.full or name in self.read or name in self.store or name in self.store_and_read

    def names(self) -> list[str]:
        if self.full:
            return list(KNOWN_CAPABILITIES)
        return sorted(self.read | self.store | self.store_and_read)

    def to_json(self) -> bytes:
        doc = {
            "Read": {n: True for n in sorted(self.read)},
            "Store": {n: True for n in sorted(self.store)},
            "StoreAndRead": {n: True for n in sorted(self.store_and_read)},
        }
        return (json.dumps(doc, indent=2) + "\n").encode()

    @classmethod
    def parse(cls, body: bytes, etag_header: str | None) -> Capabilities:
        """The capabilities in a ``GET System/Capabilities.json`` response. A wrong or missing
        Etag raises "object corrupt"; a wrongly formatted object raises too (the client then
        treats every capability as unsupported, as the README says)."""
        if not etag_matches(body, etag_header):
            raise ContentDestinationError(
                "Etag",
                f"object corrupt: the Etag {etag_header!r} is not the md5 of {CAPABILITIES_OBJECT} ({etag(body)})",
            )
        try:
            doc = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ContentDestinationError(CAPABILITIES_OBJECT, "not JSON") from None
        if not isinstance(doc, dict):
            raise ContentDestinationError(CAPABILITIES_OBJECT, "a JSON object is expected")
        sections: dict[str, frozenset[str]] = {}
        for section in _SECTIONS:
            value = doc.get(section, {})
            if not isinstance(value, dict) or not all(isinstance(v, bool) for v in value.values()):
                raise ContentDestinationError(
                    f"{CAPABILITIES_OBJECT} {section}", "an object of name: true|false is expected"
                )
            sections[section] = frozenset(k for k, v in value.items() if v)
        return cls(read=sections["Read"], store=sections["Store"], store_and_read=sections["StoreAndRead"])


@dataclass(frozen=True)
class Category:
    id: str
    name: str


def categories_json(categories: Iterable[Category]) -> bytes:
    return json.dumps([{"Id": c.id, "Name": c.name} for c in categories], indent=2).encode()


def parse_categories(body: bytes) -> tuple[Category, ...]:
    """``System/Categories.json``: a JSON list of ``{"Id", "Name"}``."""
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ContentDestinationError(CATEGORIES_OBJECT, "not JSON") from None
    if not isinstance(doc, list):
        raise ContentDestinationError(CATEGORIES_OBJECT, "a JSON list is expected")
    out = []
    for i, item in enumerate(doc):
        if not (isinstance(item, dict) and isinstance(item.get("Id"), str) and isinstance(item.get("Name"), str)):
            raise ContentDestinationError(
                f"{CATEGORIES_OBJECT}[{i}]", 'an object {"Id": string, "Name": string} is expected'
            )
        _check_text(f"{CATEGORIES_OBJECT}[{i}].Name", item["Name"], 100)
        out.append(Category(item["Id"], item["Name"]))
    return tuple(out)


DEFAULT_CATEGORIES = tuple(
    Category(str(i), name)
    for i, name in enumerate(("Testimony", "Disorderly conduct", "Assault", "Traffic", "Theft", "Other"), start=1)
)
"""The lab destination's categories (the names are the lab's)."""


# ---- metadata headers --------------------------------------------------------------------------

Kind = Literal["Container", "Object"]

# Recording container (README "Recording container metadata")
RECORDING_META = (
    "BWCSerialNumber",
    "SCUSerialNumber",
    "FirmwareVersion",
    "UserID",
    "TriggerOn",
    "TriggerOff",
    "TriggerOnTime",
    "TriggerOnTimeISO",
    "TriggerOnLocation",
    "TriggerOffTime",
    "TriggerOffTimeISO",
    "TriggerOffLocation",
    "BWCModel",
    "Status",
)
STATUS_TRANSFERRING = "Transferring"
STATUS_COMPLETE = "Complete"
CLIP_META = ("StartTime", "StartTimeISO", "StopTime", "StopTimeISO", "ContainerType")
BOOKMARK_META = ("CategoryID", "CategoryName", "Tags", "StartTime", "EndTime")
GNSS_TRAIL_META = ("FileType",)
SYSTEM_META = ("ConnectionId", "SystemName")
USER_META = ("Active", "Name", "UserID")
DEVICE_META = ("Active", "Name", "Model")
META_LIMITS = {
    "TriggerOnLocation": 64,
    "TriggerOffLocation": 64,
    "ConnectionId": 100,
    "SystemName": 100,
    "Name": 100,
    "UserID": 100,
}
"""Byte limits the README gives explicitly (String[64], String[100])."""
SWIFT_MAX_META_VALUE = 256
"""Swift refuses (400) a metadata value over 256 bytes as sent, i.e. after URL-encoding: a name of
100 bytes that is all non-ASCII travels as 300 characters."""


def meta_key(key: str) -> str:
    """A metadata key as it travels: lowercase but for the first letter and each letter after a
    hyphen (``TriggerOnTimeISO`` → ``Triggerontimeiso``)."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in key.split("-"))


def meta_header(kind: Kind, key: str) -> str:
    """``X-Container-Meta-<Key>`` or ``X-Object-Meta-<Key>`` for a README key."""
    if kind not in ("Container", "Object"):
        raise ValueError(f"kind is 'Container' or 'Object', not {kind!r}")
    if not key or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]*", key):
        raise ContentDestinationError(key or "metadata key", "a metadata key is letters, digits and hyphens")
    return f"X-{kind}-Meta-{meta_key(key)}"


def encode_meta_value(value: str) -> str:
    """A metadata value as it travels: URL-encoded UTF-8 (everything outside the unreserved
    ASCII set is ``%XX``)."""
    return quote(value, safe="")


def meta_headers(kind: Kind, values: Mapping[str, str]) -> dict[str, str]:
    """The request headers carrying ``values`` (README keys → strings)."""
    out = {}
    for key, value in values.items():
        if not isinstance(value, str):
            raise ContentDestinationError(key, f"metadata values are strings, not {_json_type(value)}")
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ContentDestinationError(key, "control characters are not allowed")
        limit = META_LIMITS.get(key)
        if limit is not None and len(value.encode()) > limit:
            raise ContentDestinationError(key, f"at most {limit} bytes, not {len(value.encode())}")
        encoded = encode_meta_value(value)
        if len(encoded) > SWIFT_MAX_META_VALUE:
            raise ContentDestinationError(
                key, f"at most {SWIFT_MAX_META_VALUE} characters once URL-encoded (Swift's limit), not {len(encoded)}"
            )
        out[meta_header(kind, key)] = encoded
    return out


def read_meta(kind: Kind, headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """The metadata in response (or request) headers: ``{meta_key(key): decoded value}``. Header
    names are matched case-insensitively, as HTTP says."""
    prefix = f"x-{kind.lower()}-meta-"
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {
        meta_key(name[len(prefix) :]): unquote(value)
        for name, value in items
        if name.lower().startswith(prefix) and len(name) > len(prefix)
    }


# ---- names and times ---------------------------------------------------------------------------

MAX_CONTAINER_NAME = 256
MAX_OBJECT_NAME = 1024
_NAME_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9.:-]*")


def epoch(ts: float) -> str:
    """A time as the metadata's "epoch UTC" strings: whole seconds."""
    return str(int(ts))


def rfc3339(ts: float) -> str:
    """A time as the metadata's RFC 3339 (UTC) strings: ``2022-08-23T11:48:10Z``."""
    return datetime.fromtimestamp(int(ts), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def name_time(ts: float) -> str:
    """A time as it appears in object and container names: ``<date>_<time>``, UTC,
    ``YYYYMMDD_HHMMSS``."""
    return datetime.fromtimestamp(int(ts), tz=UTC).strftime("%Y%m%d_%H%M%S")


def _part(name: str, value: str) -> str:
    if not isinstance(value, str) or not _NAME_PART.fullmatch(value):
        raise ContentDestinationError(
            name, f"letters, digits, '.', ':' and '-' are expected in a name part, not {value!r}"
        )
    return value


def recording_container_name(user_id: str, bwc_serial: str, trigger_on_time: float) -> str:
    """``<UserID>_<BWCSerialNumber>_<TriggerOnTime>``."""
    return f"{_part('UserID', user_id)}_{_part('BWCSerialNumber', bwc_serial)}_{name_time(trigger_on_time)}"


def new_recording_id() -> str:
    """A short random number for a recording (the README: not to be relied upon)."""
    return str(int.from_bytes(os.urandom(3), "big") % 900000 + 100000)


def clip_object_name(start_time: float, recording_id: str, container_type: str) -> str:
    """``<StartTime>_<RecordingID>.<ContainerType>``."""
    if container_type not in CONTAINER_TYPES:
        raise ContentDestinationError("ContainerType", '"mkv" or "mp4" is expected')
    return f"{name_time(start_time)}_{_part('RecordingID', recording_id)}.{container_type}"


def key_object_name(content_object: str) -> str:
    """The key object of a content object: its name with ``.key`` for its extension
    (``<StartTime>_<RecordingID>.key`` for a clip)."""
    stem, dot, _ext = content_object.rpartition(".")
    return f"{stem if dot else content_object}.key"


def gnss_trail_object_name(start_time: float, recording_id: str, bwc_serial: str) -> str:
    """``<date>_<time>_<RecordingID>_<bwcid>_gpstrail.json``."""
    return f"{name_time(start_time)}_{_part('RecordingID', recording_id)}_{_part('BWCSerialNumber', bwc_serial)}_gpstrail.json"


def bookmark_object_name(timestamp: float, bookmark_id: str) -> str:
    """``bookmark_<Timestamp>_<ID>``."""
    return f"bookmark_{name_time(timestamp)}_{_part('ID', bookmark_id)}"


def check_container_name(name: str) -> str:
    """Swift's rules for a container name (no '/', at most 256 bytes, not '.' or '..')."""
    if not name or "/" in name or name in (".", "..") or len(name.encode()) > MAX_CONTAINER_NAME:
        raise ContentDestinationError("container", f"a container name is 1 to {MAX_CONTAINER_NAME} bytes without '/'")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise ContentDestinationError("container", "control characters are not allowed in a name")
    return name


def check_object_name(name: str) -> str:
    """Swift's rules for an object name (at most 1024 bytes), plus the lab's: no '.'/'..' path
    segment, no empty segment, no control character."""
    if not name or len(name.encode()) > MAX_OBJECT_NAME:
        raise ContentDestinationError("object", f"an object name is 1 to {MAX_OBJECT_NAME} bytes")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise ContentDestinationError("object", "control characters are not allowed in a name")
    if any(seg in ("", ".", "..") for seg in name.split("/")):
        raise ContentDestinationError("object", "an object name has no empty, '.' or '..' path segment")
    return name


# ---- GNSS trail --------------------------------------------------------------------------------


@dataclass(frozen=True)
class GnssEntry:
    lon: float
    lat: float
    seconds_from_start: float
    timestamp: float


def gnss_trail_json(entries: Iterable[GnssEntry]) -> bytes:
    """The location object: ``{"CoordinateEntries": [{"LocationWKT": "POINT(lon lat)",
    "SecondsFromStart", "Timestamp"}]}``."""
    doc = {
        "CoordinateEntries": [
            {
                "LocationWKT": f"POINT({e.lon:.6f} {e.lat:.6f})",
                "SecondsFromStart": float(e.seconds_from_start),
                "Timestamp": rfc3339(e.timestamp),
            }
            for e in entries
        ]
    }
    return (json.dumps(doc, indent=2) + "\n").encode()


_WKT = re.compile(r"POINT\(\s*(-?\d+(?:\.\d+)?)\s+(-?\d+(?:\.\d+)?)\s*\)", re.IGNORECASE)


def parse_gnss_trail(body: bytes) -> tuple[GnssEntry, ...]:
    try:
        doc = json.loads(body)
        entries = doc["CoordinateEntries"]
        out = []
        for e in entries:
            m = _WKT.fullmatch(e["LocationWKT"])
            if not m:
                raise ValueError(e["LocationWKT"])
            ts = datetime.strptime(e["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
            out.append(GnssEntry(float(m.group(1)), float(m.group(2)), float(e["SecondsFromStart"]), ts))
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ContentDestinationError("gpstrail", f"not a GNSS trail object ({exc})") from None
    return tuple(out)


# ---- encryption: key objects -------------------------------------------------------------------

CONTENT_KEY_BYTES = 32
IV_BYTES = 16
_OAEP = OAEP(mgf=MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
"""``openssl rsautl -decrypt -oaep`` (the README's recipe): OAEP with SHA-1 and MGF1-SHA-1."""


@dataclass(frozen=True)
class KeyObject:
    """The key object stored beside an encrypted content object."""

    public_key_id: str
    encrypted_key: bytes = field(repr=False)
    iv: bytes

    def to_json(self) -> bytes:
        doc = {
            "PublicKeyId": self.public_key_id,
            "EncryptedKey": base64.b64encode(self.encrypted_key).decode(),
            "ContentEncryptionIV": base64.b64encode(self.iv).decode(),
        }
        return (json.dumps(doc, indent=2) + "\n").encode()

    @classmethod
    def parse(cls, body: bytes) -> KeyObject:
        try:
            doc = json.loads(body)
            if not isinstance(doc, dict):
                raise TypeError("a JSON object is expected")
            obj = cls(
                public_key_id=str(doc.get("PublicKeyId", "")),
                encrypted_key=base64.b64decode(doc["EncryptedKey"], validate=True),
                iv=base64.b64decode(doc["ContentEncryptionIV"], validate=True),
            )
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, binascii.Error, ValueError) as exc:
            raise ContentDestinationError("key object", f"not a key object ({exc})") from None
        if len(obj.iv) != IV_BYTES:
            raise ContentDestinationError("ContentEncryptionIV", f"{IV_BYTES} bytes are expected, not {len(obj.iv)}")
        return obj

    def unwrap(self, private_key: rsa.RSAPrivateKey) -> bytes:
        """The content key, unwrapped with the destination's private key."""
        try:
            key = private_key.decrypt(self.encrypted_key, _OAEP)
        except ValueError:
            raise ContentDestinationError("EncryptedKey", "cannot be unwrapped with this private key") from None
        if len(key) != CONTENT_KEY_BYTES:
            raise ContentDestinationError("EncryptedKey", f"a {CONTENT_KEY_BYTES}-byte key is expected")
        return key

    def decryptor(self, private_key: rsa.RSAPrivateKey) -> ContentDecryptor:
        return ContentDecryptor(self.unwrap(private_key), self.iv)


class ContentEncryptor:
    """Encrypts one content object as a stream (AES-256-CBC, PKCS#7): ``update`` chunk by chunk,
    then ``finalize``; ``key_object`` is what goes beside it. Memory stays flat."""

    def __init__(
        self, public_key: rsa.RSAPublicKey, public_key_id: str, key: bytes | None = None, iv: bytes | None = None
    ):
        self._key = key or os.urandom(CONTENT_KEY_BYTES)
        iv = iv or os.urandom(IV_BYTES)
        if len(self._key) != CONTENT_KEY_BYTES or len(iv) != IV_BYTES:
            raise ValueError("a 32-byte key and a 16-byte IV are expected")
        self.key_object = KeyObject(public_key_id, public_key.encrypt(self._key, _OAEP), iv)
        self._cipher = Cipher(algorithms.AES(self._key), modes.CBC(iv)).encryptor()
        self._pad = padding.PKCS7(128).padder()

    def update(self, data: bytes) -> bytes:
        return self._cipher.update(self._pad.update(data))

    def finalize(self) -> bytes:
        return self._cipher.update(self._pad.finalize()) + self._cipher.finalize()

    @staticmethod
    def encrypted_size(plain_size: int) -> int:
        """The ciphertext's size for a plaintext of ``plain_size`` bytes (for Content-Length)."""
        return (plain_size // 16 + 1) * 16


class ContentDecryptor:
    def __init__(self, key: bytes, iv: bytes):
        self._cipher = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
        self._unpad = padding.PKCS7(128).unpadder()

    def update(self, data: bytes) -> bytes:
        return self._unpad.update(self._cipher.update(data))

    def finalize(self) -> bytes:
        try:
            return self._unpad.update(self._cipher.finalize()) + self._unpad.finalize()
        except ValueError:
            raise ContentDestinationError("content", "does not decrypt with this key (bad padding)") from None


def encrypt_content(data: bytes, public_key: rsa.RSAPublicKey, public_key_id: str) -> tuple[bytes, KeyObject]:
    """Encrypt a whole (small) content object; returns the ciphertext and its key object."""
    enc = ContentEncryptor(public_key, public_key_id)
    return enc.update(data) + enc.finalize(), enc.key_object


def decrypt_content(ciphertext: bytes, key_object: KeyObject, private_key: rsa.RSAPrivateKey) -> bytes:
    dec = key_object.decryptor(private_key)
    return dec.update(ciphertext) + dec.finalize()


def new_key_pair(bits: int = 2048) -> tuple[rsa.RSAPrivateKey, str]:
    """A destination's content key pair: the private key, and the public key as the connection
    file's ``PublicKey`` (base64 of the PEM)."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    pem = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, encode_pem(pem)


def private_key_pem(private: rsa.RSAPrivateKey) -> bytes:
    return private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )


def load_private_key(pem: bytes) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ContentDestinationError("private key", f"not a PEM private key without a passphrase ({exc})") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ContentDestinationError("private key", "an RSA private key is expected")
    return key
