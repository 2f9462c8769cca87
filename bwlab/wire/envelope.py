"""The end-to-end encryption envelope, version 1 (SPEC S4, S5, S6, S16, S17; DESIGN "Trust and
encryption").

The normative byte layouts are in ``docs/e2e-envelope.md``; this module and ``webui/js/e2e.js``
both implement that page and are tested against the same vectors
(``tests/vectors/e2e-v1.json``). In short:

* **System key** (S4): an ECDH P-256 key pair made by the Manager. The public key travels to
  cameras as SubjectPublicKeyInfo DER in base64url; the private key lives only in the operators'
  browsers, carried there by the link with key.
* **Fingerprint** (S6): SHA-256 of the public key's SPKI DER, uppercase hex in groups of four.
* **Content key**: per stream the camera draws a random AES-256 key and wraps it for the system
  key (ephemeral ECDH, HKDF-SHA256, AES-256-GCM). The wrapped-key record travels in clear with the
  stream's metadata (S17).
* **Chunks**: every init segment, media fragment and position is sealed with AES-256-GCM under the
  content key, with a nonce derived from (kind, seq) and associated data binding the version,
  the kind, the sequence number and the stream id.
* **Link with key** (S5, S16): ``https://HOST/live/#k1=…`` (plain) or ``#p1=…`` (passphrase,
  PBKDF2-HMAC-SHA256 + AES-256-GCM); the key only ever sits in the URL fragment, which browsers
  never send to a server.

Everything here is pure: no I/O, no clock. Randomness comes from ``os.urandom`` unless a test
passes its own ``rng``.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import json
import os
import re
import struct
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from bwlab.errors import WireError

__all__ = [
    "VERSION",
    "CONTENT_KEY_SIZE",
    "DEFAULT_PBKDF2_ITERATIONS",
    "MIN_PBKDF2_ITERATIONS",
    "MAX_PBKDF2_ITERATIONS",
    "MAX_SEQ",
    "EnvelopeError",
    "MalformedEnvelope",
    "UnsupportedVersion",
    "DecryptionFailed",
    "WrongKey",
    "PassphraseRequired",
    "WrongPassphrase",
    "ChunkKind",
    "LinkKind",
    "SystemKeyPair",
    "LinkKey",
    "b64url_encode",
    "b64url_decode",
    "generate_system_keypair",
    "public_key_to_spki",
    "public_key_from_spki",
    "public_key_to_b64",
    "public_key_from_b64",
    "private_key_to_pkcs8",
    "private_key_from_pkcs8",
    "fingerprint",
    "key_fingerprint",
    "key_wrap_kek",
    "wrap_content_key",
    "unwrap_content_key",
    "chunk_nonce",
    "chunk_aad",
    "seal_chunk",
    "open_chunk",
    "TALK_ID_SIZE",
    "talk_key",
    "talk_nonce",
    "talk_aad",
    "seal_talk",
    "open_talk",
    "link_payload",
    "link_passphrase_key",
    "make_link",
    "link_kind",
    "read_link",
    "parse_link",
]

#: Envelope version; part of every chunk's associated data and of every wrapped-key record.
VERSION = 1
#: AES-256 content key size in bytes.
CONTENT_KEY_SIZE = 32
#: PBKDF2 iteration count written into passphrase links by default (OWASP 2023 for SHA-256).
DEFAULT_PBKDF2_ITERATIONS = 600_000
#: Readers refuse passphrase links outside these bounds (too weak / a denial of service).
MIN_PBKDF2_ITERATIONS = 1_000
MAX_PBKDF2_ITERATIONS = 10_000_000
#: Highest chunk sequence number (unsigned 64-bit).
MAX_SEQ = 2**64 - 1
#: Longest stream id, in UTF-8 bytes.
MAX_STREAM_ID_BYTES = 255
#: Longest display name carried by a link, in UTF-8 bytes.
MAX_LINK_NAME_BYTES = 256

_GCM_NONCE_SIZE = 12
_GCM_TAG_SIZE = 16
_LINK_SALT_SIZE = 16
_LINK_AAD = b"bwlab-link-v1"
_WRAP_INFO_LABEL = b"bwlab-e2e-v1 key-wrap"
_TALK_INFO_LABEL = b"bwlab-e2e-v1 talk"
#: Talk-back (operator → camera): the talker's random talk id, and the code in nonce and AAD.
TALK_ID_SIZE = 16
TALK_CODE = 4
_MAX_PKCS8_SIZE = 512
# Every P-256 public key in this envelope is an SPKI DER of exactly 91 bytes: this 27-byte
# header (SEQUENCE, AlgorithmIdentifier id-ecPublicKey + prime256v1, BIT STRING, 0x04
# "uncompressed point") followed by X and Y, 32 bytes each.
_P256_SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d03010703420004")
_P256_SPKI_SIZE = 91
_B64URL_RE = re.compile(r"[A-Za-z0-9_-]*")
_PERCENT_RE = re.compile(r"(?:[^%]|%[0-9A-Fa-f]{2})*")
_KEY_PARAM_RE = re.compile(r"[kp][0-9]+")


# --------------------------------------------------------------------------------------------
# Errors (CONVENTIONS 11: one tree, a stable code and a human message)


class EnvelopeError(WireError):
    """Base of every envelope failure; ``code`` is stable and safe to show or to log."""

    code = "envelope_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MalformedEnvelope(EnvelopeError, ValueError):
    """Input that does not follow the byte layout: bad base64url, lengths, fields or keys."""

    code = "envelope_malformed"


class UnsupportedVersion(EnvelopeError):
    """A record or link of an envelope version this implementation does not know."""

    code = "envelope_unsupported_version"


class DecryptionFailed(EnvelopeError):
    """An AES-GCM tag did not verify: tampered bytes, or wrong key, stream id, kind or seq."""

    code = "envelope_decryption_failed"


class WrongKey(EnvelopeError):
    """A wrapped content key was made for another system key (fingerprints differ, S6)."""

    code = "envelope_wrong_key"


class PassphraseRequired(EnvelopeError):
    """A passphrase link was opened without a passphrase (S5)."""

    code = "link_passphrase_required"


class WrongPassphrase(EnvelopeError):
    """A passphrase link did not open with the passphrase given (or its bytes were altered)."""

    code = "link_wrong_passphrase"


# --------------------------------------------------------------------------------------------
# Names and small records


class ChunkKind(enum.IntEnum):
    """What a sealed chunk holds; the value is the one-byte code in its nonce and AAD."""

    INIT = 1
    MEDIA = 2
    POSITION = 3

    @classmethod
    def coerce(cls, kind: ChunkKind | str | int) -> ChunkKind:
        """Accept a member, its name (``"media"``) or its code (``2``)."""
        if isinstance(kind, cls):
            return kind
        if isinstance(kind, str):
            try:
                return cls[kind.upper()]
            except KeyError:
                raise MalformedEnvelope(f"unknown chunk kind {kind!r}") from None
        if isinstance(kind, int) and not isinstance(kind, bool):
            try:
                return cls(kind)
            except ValueError:
                raise MalformedEnvelope(f"unknown chunk kind code {kind}") from None
        raise MalformedEnvelope(f"chunk kind must be a name or a code, not {type(kind).__name__}")


class LinkKind(enum.StrEnum):
    """The two kinds of link with key (S5)."""

    PLAIN = "plain"
    PASSPHRASE = "passphrase"

    @property
    def param(self) -> str:
        """The fragment parameter that carries the key: ``k1`` or ``p1``."""
        return _LINK_PARAMS[self]


_LINK_PARAMS = {LinkKind.PLAIN: "k1", LinkKind.PASSPHRASE: "p1"}
_LINK_KINDS_BY_PARAM = {param: kind for kind, param in _LINK_PARAMS.items()}

RandomSource = Callable[[int], bytes]


@dataclass(frozen=True)
class SystemKeyPair:
    """A system's end-to-end key pair (S4), made by the Manager."""

    private_key: ec.EllipticCurvePrivateKey
    public_key: ec.EllipticCurvePublicKey

    @property
    def public_spki(self) -> bytes:
        return public_key_to_spki(self.public_key)

    @property
    def public_b64(self) -> str:
        """The public key as distributed to cameras at docking."""
        return public_key_to_b64(self.public_key)

    @property
    def private_pkcs8(self) -> bytes:
        return private_key_to_pkcs8(self.private_key)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_spki)


@dataclass(frozen=True)
class LinkKey:
    """What a link with key carries (S5): the key pair, its fingerprint and a display name."""

    kind: LinkKind
    private_key: ec.EllipticCurvePrivateKey
    public_key: ec.EllipticCurvePublicKey
    fingerprint: str
    name: str | None


# --------------------------------------------------------------------------------------------
# base64url (RFC 4648 §5, no padding)


def b64url_encode(data: bytes) -> str:
    """base64url without ``=`` padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str, *, what: str = "value") -> bytes:
    """Strict base64url without padding: any other character or length is malformed."""
    if not isinstance(text, str) or not _B64URL_RE.fullmatch(text) or len(text) % 4 == 1:
        raise MalformedEnvelope(f"{what} is not unpadded base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise MalformedEnvelope(f"{what} is not unpadded base64url") from None


# --------------------------------------------------------------------------------------------
# Keys and fingerprints (S4, S6)


def _private_key_from_rng(rng: RandomSource) -> ec.EllipticCurvePrivateKey:
    """A P-256 private key whose scalar is drawn from ``rng`` by rejection sampling."""
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    while True:
        scalar = int.from_bytes(rng(32), "big")
        if 1 <= scalar < order:
            return ec.derive_private_key(scalar, ec.SECP256R1())


def _new_private_key(rng: RandomSource | None) -> ec.EllipticCurvePrivateKey:
    if rng is None:
        return ec.generate_private_key(ec.SECP256R1())
    return _private_key_from_rng(rng)


def generate_system_keypair(*, rng: RandomSource | None = None) -> SystemKeyPair:
    """Make a system key pair (S4 "Generate key"): ECDH over P-256.

    ``rng`` is for tests only; by default the key comes from the operating system's CSPRNG.
    """
    private_key = _new_private_key(rng)
    return SystemKeyPair(private_key, private_key.public_key())


def _check_p256(key: object, what: str) -> None:
    if not isinstance(key, (ec.EllipticCurvePublicKey, ec.EllipticCurvePrivateKey)) or not isinstance(
        key.curve, ec.SECP256R1
    ):
        raise MalformedEnvelope(f"{what} is not a P-256 key")


def public_key_to_spki(public_key: ec.EllipticCurvePublicKey) -> bytes:
    """SubjectPublicKeyInfo DER (91 bytes, uncompressed point)."""
    _check_p256(public_key, "public key")
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _check_spki(spki: bytes, what: str) -> None:
    if len(spki) != _P256_SPKI_SIZE or not spki.startswith(_P256_SPKI_PREFIX):
        raise MalformedEnvelope(f"{what} is not a P-256 SubjectPublicKeyInfo with an uncompressed point")


def public_key_from_spki(spki: bytes, *, what: str = "public key") -> ec.EllipticCurvePublicKey:
    """Load a P-256 public key from its 91-byte SPKI DER; anything else is malformed."""
    _check_spki(spki, what)
    try:
        key = serialization.load_der_public_key(spki)
    except ValueError:
        raise MalformedEnvelope(f"{what} is not a point on P-256") from None
    _check_p256(key, what)
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key


def public_key_to_b64(public_key: ec.EllipticCurvePublicKey) -> str:
    """The public key as cameras receive it at docking (S4): base64url of the SPKI DER."""
    return b64url_encode(public_key_to_spki(public_key))


def public_key_from_b64(text: str) -> ec.EllipticCurvePublicKey:
    return public_key_from_spki(b64url_decode(text, what="public key"))


def private_key_to_pkcs8(private_key: ec.EllipticCurvePrivateKey) -> bytes:
    """PKCS#8 DER, unencrypted (the link adds its own passphrase protection, S5)."""
    _check_p256(private_key, "private key")
    return private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def private_key_from_pkcs8(pkcs8: bytes) -> ec.EllipticCurvePrivateKey:
    if len(pkcs8) > _MAX_PKCS8_SIZE:
        raise MalformedEnvelope("private key is too long for a P-256 PKCS#8")
    try:
        key = serialization.load_der_private_key(pkcs8, password=None)
    except (ValueError, TypeError):
        raise MalformedEnvelope("private key is not a PKCS#8 DER key") from None
    _check_p256(key, "private key")
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def fingerprint(spki_der: bytes) -> str:
    """Key fingerprint (S6): SHA-256 of the SPKI DER, uppercase hex, groups of 4, one space.

    Shown identically in the Manager's key list and in the web client's settings.
    """
    digest = hashlib.sha256(spki_der).hexdigest().upper()
    return " ".join(digest[i : i + 4] for i in range(0, len(digest), 4))


def key_fingerprint(key: ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey) -> str:
    """Fingerprint of a public key, or of the public half of a private key (S6)."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        key = key.public_key()
    return fingerprint(public_key_to_spki(key))


# --------------------------------------------------------------------------------------------
# Content key wrapping


def _utf8(text: str, what: str) -> bytes:
    if not isinstance(text, str):
        raise MalformedEnvelope(f"{what} must be text")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedEnvelope(f"{what} is not valid Unicode text") from None


def _stream_id_bytes(stream_id: str) -> bytes:
    raw = _utf8(stream_id, "stream id")
    if not 1 <= len(raw) <= MAX_STREAM_ID_BYTES:
        raise MalformedEnvelope(f"stream id must be 1 to {MAX_STREAM_ID_BYTES} UTF-8 bytes")
    return raw


def key_wrap_kek(shared_secret: bytes, ephemeral_spki: bytes, stream_id: str) -> bytes:
    """The key-encryption key: HKDF-SHA256(IKM = ECDH x-coordinate, salt = ephemeral SPKI DER,
    info = "bwlab-e2e-v1 key-wrap" || 0x00 || stream id UTF-8, L = 32)."""
    info = _WRAP_INFO_LABEL + b"\x00" + _stream_id_bytes(stream_id)
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral_spki, info=info).derive(shared_secret)


def wrap_content_key(
    system_public_key: ec.EllipticCurvePublicKey,
    stream_id: str,
    content_key: bytes | None = None,
    *,
    ephemeral_key: ec.EllipticCurvePrivateKey | None = None,
    rng: RandomSource | None = None,
) -> dict[str, Any]:
    """Wrap a stream's content key for the system key (S4, S17); the camera's half.

    Draws a fresh 32-byte content key unless one is given. Returns the JSON-serialisable
    wrapped-key record ``{"version", "key_fingerprint", "ephemeral_public_key", "nonce",
    "ciphertext"}``, which travels in clear with the stream. ``ephemeral_key`` and ``rng`` exist
    so that test vectors are reproducible; leave them out otherwise. The content key itself is
    returned by :func:`unwrap_content_key`, or kept by the caller who passed it in.
    """
    rand: RandomSource = rng if rng is not None else os.urandom
    if content_key is None:
        content_key = rand(CONTENT_KEY_SIZE)
    if len(content_key) != CONTENT_KEY_SIZE:
        raise MalformedEnvelope(f"content key must be {CONTENT_KEY_SIZE} bytes")
    aad = _stream_id_bytes(stream_id)
    system_spki = public_key_to_spki(system_public_key)
    if ephemeral_key is None:
        ephemeral_key = _new_private_key(rng)
    ephemeral_spki = public_key_to_spki(ephemeral_key.public_key())
    shared_secret = ephemeral_key.exchange(ec.ECDH(), system_public_key)
    kek = key_wrap_kek(shared_secret, ephemeral_spki, stream_id)
    nonce = rand(_GCM_NONCE_SIZE)
    if len(nonce) != _GCM_NONCE_SIZE:
        raise MalformedEnvelope("rng returned a nonce of the wrong size")
    ciphertext = AESGCM(kek).encrypt(nonce, bytes(content_key), aad)
    return {
        "version": VERSION,
        "key_fingerprint": fingerprint(system_spki),
        "ephemeral_public_key": b64url_encode(ephemeral_spki),
        "nonce": b64url_encode(nonce),
        "ciphertext": b64url_encode(ciphertext),
    }


_WRAPPED_FIELDS = frozenset({"version", "key_fingerprint", "ephemeral_public_key", "nonce", "ciphertext"})


def _parse_wrapped(wrapped: Mapping[str, Any] | str) -> tuple[str, bytes, bytes, bytes]:
    if isinstance(wrapped, str):
        try:
            wrapped = json.loads(wrapped)
        except ValueError:
            raise MalformedEnvelope("wrapped key is not JSON") from None
    if not isinstance(wrapped, Mapping):
        raise MalformedEnvelope("wrapped key must be an object")
    version = wrapped.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise MalformedEnvelope("wrapped key: 'version' must be an integer")
    if version != VERSION:
        raise UnsupportedVersion(f"wrapped key version {version} is not supported (only {VERSION})")
    unknown = sorted(set(wrapped) - _WRAPPED_FIELDS)
    if unknown:
        raise MalformedEnvelope(f"wrapped key: unknown field {unknown[0]!r}")
    missing = sorted(_WRAPPED_FIELDS - set(wrapped))
    if missing:
        raise MalformedEnvelope(f"wrapped key: missing field {missing[0]!r}")
    key_fp = wrapped["key_fingerprint"]
    if not isinstance(key_fp, str):
        raise MalformedEnvelope("wrapped key: 'key_fingerprint' must be text")
    epk = b64url_decode(wrapped["ephemeral_public_key"], what="wrapped key: 'ephemeral_public_key'")
    nonce = b64url_decode(wrapped["nonce"], what="wrapped key: 'nonce'")
    ciphertext = b64url_decode(wrapped["ciphertext"], what="wrapped key: 'ciphertext'")
    _check_spki(epk, "wrapped key: 'ephemeral_public_key'")
    if len(nonce) != _GCM_NONCE_SIZE:
        raise MalformedEnvelope(f"wrapped key: 'nonce' must be {_GCM_NONCE_SIZE} bytes")
    if len(ciphertext) != CONTENT_KEY_SIZE + _GCM_TAG_SIZE:
        raise MalformedEnvelope(f"wrapped key: 'ciphertext' must be {CONTENT_KEY_SIZE + _GCM_TAG_SIZE} bytes")
    return key_fp, epk, nonce, ciphertext


def unwrap_content_key(
    system_private_key: ec.EllipticCurvePrivateKey,
    stream_id: str,
    wrapped: Mapping[str, Any] | str,
) -> bytes:
    """Recover a stream's 32-byte content key with the system private key (S4).

    ``wrapped`` is the record from :func:`wrap_content_key` (a mapping or its JSON text).
    Raises :class:`WrongKey` if it was made for another system key, :class:`DecryptionFailed`
    if the stream id is not the one it was made for or its bytes were altered,
    :class:`MalformedEnvelope` / :class:`UnsupportedVersion` for records that do not parse.
    """
    _check_p256(system_private_key, "system private key")
    key_fp, epk, nonce, ciphertext = _parse_wrapped(wrapped)
    own_fp = key_fingerprint(system_private_key)
    if key_fp != own_fp:
        raise WrongKey(f"stream key was wrapped for key {key_fp}, not for this key {own_fp}")
    aad = _stream_id_bytes(stream_id)
    ephemeral_public_key = public_key_from_spki(epk, what="wrapped key: 'ephemeral_public_key'")
    shared_secret = system_private_key.exchange(ec.ECDH(), ephemeral_public_key)
    kek = key_wrap_kek(shared_secret, epk, stream_id)
    try:
        return AESGCM(kek).decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        raise DecryptionFailed(
            f"stream key does not open for stream {stream_id!r}: wrong stream or altered record"
        ) from None


# --------------------------------------------------------------------------------------------
# Chunks


def _check_seq(seq: int) -> int:
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= MAX_SEQ:
        raise MalformedEnvelope("sequence number must be an integer from 0 to 2**64-1")
    return seq


def chunk_nonce(kind: ChunkKind | str | int, seq: int) -> bytes:
    """The 12-byte AES-GCM nonce of a chunk: kind code (1) || 00 00 00 || seq (8, big endian).

    Unique per (kind, seq); the content key is fresh per stream, so a nonce never repeats under
    one key as long as a sequence number is sealed only once per kind.
    """
    return struct.pack(">B3xQ", ChunkKind.coerce(kind), _check_seq(seq))


def chunk_aad(stream_id: str, kind: ChunkKind | str | int, seq: int) -> bytes:
    """The associated data of a chunk: version (1) || kind code (1) || seq (8, big endian) ||
    stream id UTF-8 (1..255 bytes)."""
    return struct.pack(">BBQ", VERSION, ChunkKind.coerce(kind), _check_seq(seq)) + _stream_id_bytes(stream_id)


def _content_cipher(content_key: bytes) -> AESGCM:
    if not isinstance(content_key, (bytes, bytearray)) or len(content_key) != CONTENT_KEY_SIZE:
        raise MalformedEnvelope(f"content key must be {CONTENT_KEY_SIZE} bytes")
    return AESGCM(bytes(content_key))


def seal_chunk(content_key: bytes, stream_id: str, kind: ChunkKind | str | int, seq: int, plaintext: bytes) -> bytes:
    """Seal an init segment, media fragment or position (S4, S17): AES-256-GCM output,
    ciphertext || 16-byte tag, exactly ``len(plaintext) + 16`` bytes."""
    kind = ChunkKind.coerce(kind)
    return _content_cipher(content_key).encrypt(
        chunk_nonce(kind, seq), bytes(plaintext), chunk_aad(stream_id, kind, seq)
    )


def open_chunk(content_key: bytes, stream_id: str, kind: ChunkKind | str | int, seq: int, ciphertext: bytes) -> bytes:
    """Open a sealed chunk; :class:`DecryptionFailed` if the key, stream id, kind or seq differ
    from sealing, or if a byte was altered."""
    kind = ChunkKind.coerce(kind)
    cipher = _content_cipher(content_key)
    nonce = chunk_nonce(kind, seq)
    aad = chunk_aad(stream_id, kind, seq)
    if len(ciphertext) < _GCM_TAG_SIZE:
        raise MalformedEnvelope("sealed chunk is shorter than its 16-byte tag")
    try:
        return cipher.decrypt(nonce, bytes(ciphertext), aad)
    except InvalidTag:
        raise DecryptionFailed(
            f"{kind.name.lower()} chunk {seq} of stream {stream_id!r} does not open: "
            "wrong key, stream, kind or sequence number, or altered bytes"
        ) from None


# --------------------------------------------------------------------------------------------
# Talk-back: the operator-to-camera direction (issue 16 item 3; docs/e2e-envelope.md §13)


def _check_talk_id(talk_id: bytes) -> bytes:
    if not isinstance(talk_id, (bytes, bytearray)) or len(talk_id) != TALK_ID_SIZE:
        raise MalformedEnvelope(f"talk id must be {TALK_ID_SIZE} bytes")
    return bytes(talk_id)


def talk_key(content_key: bytes, stream_id: str, talk_id: bytes) -> bytes:
    """The key of one talk: HKDF-SHA256(IKM = the stream's content key, salt = talk id (16 random
    bytes drawn by the talker), info = "bwlab-e2e-v1 talk" || 0x00 || stream id UTF-8, L = 32).

    Only holders of the content key (the camera, and operators holding the system private key)
    can derive it; a fresh talk id per talk makes a fresh key, so sequence numbers restart at 0."""
    if not isinstance(content_key, (bytes, bytearray)) or len(content_key) != CONTENT_KEY_SIZE:
        raise MalformedEnvelope(f"content key must be {CONTENT_KEY_SIZE} bytes")
    info = _TALK_INFO_LABEL + b"\x00" + _stream_id_bytes(stream_id)
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_check_talk_id(talk_id), info=info).derive(
        bytes(content_key)
    )


def talk_nonce(seq: int) -> bytes:
    """The 12-byte nonce of a talk packet: 0x04 || 00 00 00 || seq (8, big endian)."""
    return struct.pack(">B3xQ", TALK_CODE, _check_seq(seq))


def talk_aad(stream_id: str, seq: int) -> bytes:
    """The associated data of a talk packet: version (1) || 0x04 || seq (8) || stream id UTF-8."""
    return struct.pack(">BBQ", VERSION, TALK_CODE, _check_seq(seq)) + _stream_id_bytes(stream_id)


def seal_talk(key: bytes, stream_id: str, seq: int, packet: bytes) -> bytes:
    """Seal one Opus packet of a talk with its talk key: ciphertext || 16-byte tag."""
    return _content_cipher(key).encrypt(talk_nonce(seq), bytes(packet), talk_aad(stream_id, seq))


def open_talk(key: bytes, stream_id: str, seq: int, sealed: bytes) -> bytes:
    """Open a talk packet; :class:`DecryptionFailed` if the key, stream id or seq differ, or a byte
    was altered."""
    cipher = _content_cipher(key)
    if not isinstance(sealed, (bytes, bytearray)) or len(sealed) < _GCM_TAG_SIZE:
        raise MalformedEnvelope("sealed talk packet is shorter than its 16-byte tag")
    try:
        return cipher.decrypt(talk_nonce(seq), bytes(sealed), talk_aad(stream_id, seq))
    except InvalidTag:
        raise DecryptionFailed(
            f"talk packet {seq} of stream {stream_id!r} does not open: wrong key, talk, stream or "
            "sequence number, or altered bytes"
        ) from None


# --------------------------------------------------------------------------------------------
# Link with key (S5, S16)


def link_payload(private_key: ec.EllipticCurvePrivateKey) -> bytes:
    """The key payload inside both link kinds: len(PKCS#8) (2, big endian) || PKCS#8 DER ||
    len(SPKI) (2, big endian) || SPKI DER. The SPKI lets a browser, whose private key is
    non-extractable, show the fingerprint (S6, S16)."""
    pkcs8 = private_key_to_pkcs8(private_key)
    spki = public_key_to_spki(private_key.public_key())
    return struct.pack(">H", len(pkcs8)) + pkcs8 + struct.pack(">H", len(spki)) + spki


def _parse_payload(payload: bytes) -> tuple[ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey]:
    if len(payload) < 2:
        raise MalformedEnvelope("link key payload is truncated")
    (pkcs8_len,) = struct.unpack_from(">H", payload, 0)
    end_pkcs8 = 2 + pkcs8_len
    if len(payload) < end_pkcs8 + 2:
        raise MalformedEnvelope("link key payload is truncated")
    (spki_len,) = struct.unpack_from(">H", payload, end_pkcs8)
    if len(payload) != end_pkcs8 + 2 + spki_len:
        raise MalformedEnvelope("link key payload has the wrong length")
    private_key = private_key_from_pkcs8(payload[2:end_pkcs8])
    spki = payload[end_pkcs8 + 2 :]
    public_key = public_key_from_spki(spki, what="link public key")
    if public_key_to_spki(private_key.public_key()) != spki:
        raise MalformedEnvelope("link public key does not belong to its private key")
    return private_key, public_key


def _normalise_passphrase(passphrase: str) -> bytes:
    if not isinstance(passphrase, str):
        raise MalformedEnvelope("passphrase must be text")
    return _utf8(unicodedata.normalize("NFC", passphrase), "passphrase")


def link_passphrase_key(passphrase: str, salt: bytes, iterations: int) -> bytes:
    """PBKDF2-HMAC-SHA256(NFC(passphrase) as UTF-8, salt, iterations) → 32-byte AES key."""
    return PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=iterations).derive(
        _normalise_passphrase(passphrase)
    )


def make_link(
    base_url: str,
    private_key: ec.EllipticCurvePrivateKey,
    passphrase: str | None = None,
    *,
    iterations: int = DEFAULT_PBKDF2_ITERATIONS,
    name: str | None = None,
    rng: RandomSource | None = None,
) -> str:
    """The link with key (S5): ``base_url#k1=<payload>`` or, with a passphrase,
    ``base_url#p1=<salt || iterations || nonce || AES-GCM(payload)>``, each optionally followed
    by ``&name=<percent-encoded UTF-8>``. ``rng`` (salt, nonce) is for test vectors only.
    """
    if "#" in base_url:
        raise MalformedEnvelope("base URL of a link must not have a fragment")
    if not MIN_PBKDF2_ITERATIONS <= iterations <= MAX_PBKDF2_ITERATIONS:
        raise MalformedEnvelope(f"iterations must be from {MIN_PBKDF2_ITERATIONS} to {MAX_PBKDF2_ITERATIONS}")
    payload = link_payload(private_key)
    if passphrase is None:
        fragment = f"{LinkKind.PLAIN.param}={b64url_encode(payload)}"
    else:
        if passphrase == "":
            raise MalformedEnvelope("passphrase must not be empty")
        rand: RandomSource = rng if rng is not None else os.urandom
        salt = rand(_LINK_SALT_SIZE)
        nonce = rand(_GCM_NONCE_SIZE)
        if len(salt) != _LINK_SALT_SIZE or len(nonce) != _GCM_NONCE_SIZE:
            raise MalformedEnvelope("rng returned bytes of the wrong size")
        key = link_passphrase_key(passphrase, salt, iterations)
        sealed = AESGCM(key).encrypt(nonce, payload, _LINK_AAD)
        blob = salt + struct.pack(">I", iterations) + nonce + sealed
        fragment = f"{LinkKind.PASSPHRASE.param}={b64url_encode(blob)}"
    if name is not None:
        if not 1 <= len(_utf8(name, "link name")) <= MAX_LINK_NAME_BYTES:
            raise MalformedEnvelope(f"link name must be 1 to {MAX_LINK_NAME_BYTES} UTF-8 bytes")
        fragment += "&name=" + quote(name, safe="")
    return f"{base_url}#{fragment}"


def _fragment_params(url: str) -> tuple[LinkKind, str, str | None]:
    """Split a link (or its fragment, with or without ``#``) into kind, key value and name."""
    if not isinstance(url, str):
        raise MalformedEnvelope("link must be text")
    fragment = url.split("#", 1)[1] if "#" in url else url
    key: tuple[LinkKind, str] | None = None
    name: str | None = None
    seen: set[str] = set()
    for part in fragment.split("&"):
        if not part:
            continue
        param, sep, value = part.partition("=")
        if not sep:
            raise MalformedEnvelope(f"link parameter {param!r} has no value")
        if param in seen:
            raise MalformedEnvelope(f"link parameter {param!r} appears twice")
        seen.add(param)
        if param in _LINK_KINDS_BY_PARAM:
            if key is not None:
                raise MalformedEnvelope("link carries more than one key")
            key = (_LINK_KINDS_BY_PARAM[param], value)
        elif _KEY_PARAM_RE.fullmatch(param):
            raise UnsupportedVersion(f"link key format {param!r} is not supported (only k1, p1)")
        elif param == "name":
            if not _PERCENT_RE.fullmatch(value):
                raise MalformedEnvelope("link name is not percent-encoded")
            try:
                name = unquote(value, errors="strict")
            except UnicodeDecodeError:
                raise MalformedEnvelope("link name is not UTF-8") from None
            if not 1 <= len(name.encode("utf-8")) <= MAX_LINK_NAME_BYTES:
                raise MalformedEnvelope(f"link name must be 1 to {MAX_LINK_NAME_BYTES} UTF-8 bytes")
        # Other parameters are ignored: they belong to the web client, not to the key.
    if key is None:
        raise MalformedEnvelope("link carries no key (no k1= or p1= in its fragment)")
    return key[0], key[1], name


def link_kind(url: str) -> LinkKind:
    """Whether a link is plain or needs a passphrase, without opening it (S5)."""
    return _fragment_params(url)[0]


def read_link(url: str, passphrase: str | None = None) -> LinkKey:
    """Open a link with key (S5): the key pair, its fingerprint and the optional name.

    A passphrase given for a plain link is ignored. Raises :class:`PassphraseRequired` for a
    passphrase link opened without one, :class:`WrongPassphrase` if it does not open,
    :class:`MalformedEnvelope` / :class:`UnsupportedVersion` for links that do not parse.
    """
    kind, value, name = _fragment_params(url)
    blob = b64url_decode(value, what=f"link {kind.param} value")
    if kind is LinkKind.PLAIN:
        payload = blob
    else:
        header = _LINK_SALT_SIZE + 4 + _GCM_NONCE_SIZE
        if len(blob) < header + _GCM_TAG_SIZE:
            raise MalformedEnvelope("passphrase link is truncated")
        salt = blob[:_LINK_SALT_SIZE]
        (iterations,) = struct.unpack_from(">I", blob, _LINK_SALT_SIZE)
        nonce = blob[_LINK_SALT_SIZE + 4 : header]
        if not MIN_PBKDF2_ITERATIONS <= iterations <= MAX_PBKDF2_ITERATIONS:
            raise MalformedEnvelope(
                f"passphrase link asks for {iterations} iterations, outside "
                f"{MIN_PBKDF2_ITERATIONS}..{MAX_PBKDF2_ITERATIONS}"
            )
        if not passphrase:
            raise PassphraseRequired("this link with key is protected by a passphrase")
        key = link_passphrase_key(passphrase, salt, iterations)
        try:
            payload = AESGCM(key).decrypt(nonce, blob[header:], _LINK_AAD)
        except InvalidTag:
            raise WrongPassphrase("the passphrase does not open this link with key") from None
    private_key, public_key = _parse_payload(payload)
    return LinkKey(
        kind=kind,
        private_key=private_key,
        public_key=public_key,
        fingerprint=fingerprint(public_key_to_spki(public_key)),
        name=name,
    )


def parse_link(url: str, passphrase: str | None = None) -> ec.EllipticCurvePrivateKey:
    """The system private key carried by a link with key (S5); see :func:`read_link`."""
    return read_link(url, passphrase).private_key
