"""Generate the end-to-end envelope v1 test vectors (SPEC S4, S5, S6, S17; docs/e2e-envelope.md).

Every key, nonce and salt is fixed, so the output is the same on every run:

    python tests/vectors/make_e2e_vectors.py          # rewrite tests/vectors/e2e-v1.json
    python tests/vectors/make_e2e_vectors.py --check  # exit 1 if the file is not up to date

The fixed private scalars and random-looking bytes are SHA-256 of readable labels, so anyone can
recompute them. ``tests/unit/test_envelope.py`` (Python) and ``tests/js/envelope.test.mjs``
(``webui/js/e2e.js``) both check their implementation against the file.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from vectors_file import write_or_check  # the sibling module: first, it puts bwlab on sys.path

from bwlab.wire import envelope as env

VECTORS_PATH = Path(__file__).with_name("e2e-v1.json")
BASE_URL = "https://bwlab.lab:8443/live/"


def fixed(label: str, size: int = 32) -> bytes:
    """``size`` bytes from SHA-256 of a label (size ≤ 32)."""
    return hashlib.sha256(f"bwlab-e2e-v1 vectors: {label}".encode()).digest()[:size]


def fixed_key(label: str) -> tuple[ec.EllipticCurvePrivateKey, str]:
    scalar = fixed(label)
    return ec.derive_private_key(int.from_bytes(scalar, "big"), ec.SECP256R1()), scalar.hex()


class FixedBytes:
    """An ``rng`` that hands out given byte strings in order, checking each requested size."""

    def __init__(self, *chunks: bytes) -> None:
        self._chunks = list(chunks)

    def __call__(self, size: int) -> bytes:
        chunk = self._chunks.pop(0)
        if len(chunk) != size:
            raise AssertionError(f"vector generator expected a request for {len(chunk)} bytes, got {size}")
        return chunk

    def done(self) -> None:
        if self._chunks:
            raise AssertionError("vector generator: unused fixed bytes")


def key_record(label: str) -> tuple[ec.EllipticCurvePrivateKey, dict[str, Any]]:
    key, scalar_hex = fixed_key(label)
    spki = env.public_key_to_spki(key.public_key())
    return key, {
        "private_scalar_hex": scalar_hex,
        "private_pkcs8": env.b64url_encode(env.private_key_to_pkcs8(key)),
        "public_spki": env.b64url_encode(spki),
        "public_spki_hex": spki.hex(),
        "fingerprint": env.fingerprint(spki),
    }


def plain_link(key: ec.EllipticCurvePrivateKey, name: str | None) -> dict[str, Any]:
    return {
        "kind": "plain",
        "url": env.make_link(BASE_URL, key, name=name),
        "name": name,
        "passphrase": None,
        "payload_hex": env.link_payload(key).hex(),
    }


def passphrase_link(
    key: ec.EllipticCurvePrivateKey, passphrase: str, iterations: int, name: str | None, label: str
) -> dict[str, Any]:
    salt, nonce = fixed(f"{label} salt", 16), fixed(f"{label} nonce", 12)
    rng = FixedBytes(salt, nonce)
    url = env.make_link(BASE_URL, key, passphrase, iterations=iterations, name=name, rng=rng)
    rng.done()
    return {
        "kind": "passphrase",
        "url": url,
        "name": name,
        "passphrase": passphrase,
        "iterations": iterations,
        "salt_hex": salt.hex(),
        "nonce_hex": nonce.hex(),
        "passphrase_key_hex": env.link_passphrase_key(passphrase, salt, iterations).hex(),
        "payload_hex": env.link_payload(key).hex(),
    }


def wrapped_key(system: ec.EllipticCurvePrivateKey, stream_id: str, label: str) -> dict[str, Any]:
    content_key = fixed(f"{label} content key")
    ephemeral, ephemeral_hex = fixed_key(f"{label} ephemeral key")
    nonce = fixed(f"{label} wrap nonce", 12)
    rng = FixedBytes(nonce)
    wrapped = env.wrap_content_key(system.public_key(), stream_id, content_key, ephemeral_key=ephemeral, rng=rng)
    rng.done()
    epk = env.public_key_to_spki(ephemeral.public_key())
    shared = ephemeral.exchange(ec.ECDH(), system.public_key())
    return {
        "stream_id": stream_id,
        "content_key_hex": content_key.hex(),
        "ephemeral_private_scalar_hex": ephemeral_hex,
        "ephemeral_private_pkcs8": env.b64url_encode(env.private_key_to_pkcs8(ephemeral)),
        "shared_secret_hex": shared.hex(),
        "hkdf_salt_hex": epk.hex(),
        "hkdf_info_hex": (b"bwlab-e2e-v1 key-wrap\x00" + stream_id.encode()).hex(),
        "kek_hex": env.key_wrap_kek(shared, epk, stream_id).hex(),
        "wrapped": wrapped,
    }


def chunk(content_key: bytes, stream_id: str, kind: str, seq: int, plaintext: bytes) -> dict[str, Any]:
    return {
        "stream_id": stream_id,
        "content_key_hex": content_key.hex(),
        "kind": kind,
        "kind_code": int(env.ChunkKind.coerce(kind)),
        "seq": str(seq),
        "nonce_hex": env.chunk_nonce(kind, seq).hex(),
        "aad_hex": env.chunk_aad(stream_id, kind, seq).hex(),
        "plaintext_hex": plaintext.hex(),
        "ciphertext_hex": env.seal_chunk(content_key, stream_id, kind, seq, plaintext).hex(),
    }


def flip(data: bytes, index: int) -> bytes:
    out = bytearray(data)
    out[index] ^= 0x01
    return bytes(out)


def build_vectors() -> dict[str, Any]:
    system, system_rec = key_record("system key")
    other, other_rec = key_record("other system key")

    links = [
        plain_link(system, None),
        plain_link(system, "Station Nord"),
        passphrase_link(system, "correct horse battery staple", 1000, "Østfold – Lab 2", "link 1"),
        passphrase_link(system, "Blåbærsyltetøy 42", 1000, None, "link 2"),
    ]
    other_link = plain_link(other, "Other system")

    stream_a = "3f2a9c1e-7b4d-4e8a-9c61-5d0e2b7f8a14"
    stream_b = "stream/0002"
    wraps = [wrapped_key(system, stream_a, "stream A"), wrapped_key(system, stream_b, "stream B")]
    key_a = bytes.fromhex(wraps[0]["content_key_hex"])
    key_b = bytes.fromhex(wraps[1]["content_key_hex"])

    position = json.dumps(
        {"t": 1717236000.25, "lat": 59.913868, "lon": 10.752245, "acc": 4.5}, separators=(",", ":")
    ).encode()
    chunks = [
        chunk(key_a, stream_a, "init", 0, b"\x00\x00\x00\x18ftypiso6\x00\x00\x00\x00iso6mp41"),
        chunk(key_a, stream_a, "media", 0, b"\x00\x00\x00\x10moof" + bytes(range(8)) + b"mdat-frame-0"),
        chunk(key_a, stream_a, "media", 1, b"\x00\x00\x00\x10moof" + bytes(range(8, 16)) + b"mdat-frame-1"),
        chunk(key_a, stream_a, "media", 2, b""),
        chunk(key_a, stream_a, "position", 0, position),
        chunk(key_a, stream_a, "position", env.MAX_SEQ, position),
        chunk(key_b, stream_b, "media", 7, bytes(range(256)) * 3),
    ]

    base = chunks[1]
    ct = bytes.fromhex(base["ciphertext_hex"])
    bad_chunk = {"content_key_hex": base["content_key_hex"]}
    invalid_chunks = [
        dict(
            bad_chunk,
            description="first ciphertext byte flipped",
            stream_id=stream_a,
            kind="media",
            seq="0",
            ciphertext_hex=flip(ct, 0).hex(),
            error="envelope_decryption_failed",
        ),
        dict(
            bad_chunk,
            description="last tag byte flipped",
            stream_id=stream_a,
            kind="media",
            seq="0",
            ciphertext_hex=flip(ct, len(ct) - 1).hex(),
            error="envelope_decryption_failed",
        ),
        dict(
            bad_chunk,
            description="opened as the next sequence number",
            stream_id=stream_a,
            kind="media",
            seq="1",
            ciphertext_hex=ct.hex(),
            error="envelope_decryption_failed",
        ),
        dict(
            bad_chunk,
            description="opened as a position",
            stream_id=stream_a,
            kind="position",
            seq="0",
            ciphertext_hex=ct.hex(),
            error="envelope_decryption_failed",
        ),
        dict(
            bad_chunk,
            description="opened for another stream",
            stream_id=stream_b,
            kind="media",
            seq="0",
            ciphertext_hex=ct.hex(),
            error="envelope_decryption_failed",
        ),
        dict(
            bad_chunk,
            description="opened with another content key",
            stream_id=stream_a,
            kind="media",
            seq="0",
            ciphertext_hex=ct.hex(),
            error="envelope_decryption_failed",
            content_key_hex=key_b.hex(),
        ),
        dict(
            bad_chunk,
            description="shorter than a tag",
            stream_id=stream_a,
            kind="media",
            seq="0",
            ciphertext_hex=ct[:15].hex(),
            error="envelope_malformed",
        ),
        dict(
            bad_chunk,
            description="unknown kind",
            stream_id=stream_a,
            kind="audio",
            seq="0",
            ciphertext_hex=ct.hex(),
            error="envelope_malformed",
        ),
        dict(
            bad_chunk,
            description="sequence number above 2**64-1",
            stream_id=stream_a,
            kind="media",
            seq=str(2**64),
            ciphertext_hex=ct.hex(),
            error="envelope_malformed",
        ),
    ]

    wrap_a = wraps[0]["wrapped"]
    rng = FixedBytes(fixed("other wrap nonce", 12))
    other_ephemeral, _ = fixed_key("other wrap ephemeral key")
    for_other = env.wrap_content_key(other.public_key(), stream_a, key_a, ephemeral_key=other_ephemeral, rng=rng)
    rng.done()
    ct_wrap = env.b64url_decode(wrap_a["ciphertext"])
    invalid_wraps = [
        {
            "description": "unwrapped for another stream",
            "stream_id": stream_b,
            "wrapped": wrap_a,
            "error": "envelope_decryption_failed",
        },
        {
            "description": "ciphertext byte flipped",
            "stream_id": stream_a,
            "wrapped": dict(wrap_a, ciphertext=env.b64url_encode(flip(ct_wrap, 3))),
            "error": "envelope_decryption_failed",
        },
        {
            "description": "ephemeral key replaced by the other system's public key",
            "stream_id": stream_a,
            "wrapped": dict(wrap_a, ephemeral_public_key=other_rec["public_spki"]),
            "error": "envelope_decryption_failed",
        },
        {
            "description": "made for the other system key",
            "stream_id": stream_a,
            "wrapped": for_other,
            "error": "envelope_wrong_key",
        },
        {
            "description": "version 2",
            "stream_id": stream_a,
            "wrapped": dict(wrap_a, version=2),
            "error": "envelope_unsupported_version",
        },
        {
            "description": "unknown field",
            "stream_id": stream_a,
            "wrapped": dict(wrap_a, alg="A128GCM"),
            "error": "envelope_malformed",
        },
        {
            "description": "nonce of 8 bytes",
            "stream_id": stream_a,
            "wrapped": dict(wrap_a, nonce=env.b64url_encode(bytes(8))),
            "error": "envelope_malformed",
        },
        {
            "description": "padded base64",
            "stream_id": stream_a,
            "wrapped": dict(wrap_a, nonce=wrap_a["nonce"] + "=="),
            "error": "envelope_malformed",
        },
    ]

    p1 = links[2]
    p1_value = p1["url"].split("#p1=", 1)[1].split("&", 1)[0]
    p1_blob = env.b64url_decode(p1_value)
    weak = p1_blob[:16] + (500).to_bytes(4, "big") + p1_blob[20:]
    mismatched = (
        len(env.private_key_to_pkcs8(system)).to_bytes(2, "big")
        + env.private_key_to_pkcs8(system)
        + (91).to_bytes(2, "big")
        + env.public_key_to_spki(other.public_key())
    )
    invalid_links = [
        {
            "description": "passphrase link without a passphrase",
            "url": p1["url"],
            "passphrase": None,
            "error": "link_passphrase_required",
        },
        {
            "description": "passphrase link with a wrong passphrase",
            "url": p1["url"],
            "passphrase": "correct horse battery stapler",
            "error": "link_wrong_passphrase",
        },
        {
            "description": "passphrase link with an altered byte",
            "url": BASE_URL + "#p1=" + env.b64url_encode(flip(p1_blob, len(p1_blob) - 20)),
            "passphrase": p1["passphrase"],
            "error": "link_wrong_passphrase",
        },
        {
            "description": "passphrase link asking for 500 iterations",
            "url": BASE_URL + "#p1=" + env.b64url_encode(weak),
            "passphrase": p1["passphrase"],
            "error": "envelope_malformed",
        },
        {
            "description": "link format k2",
            "url": BASE_URL + "#k2=AAAA",
            "passphrase": None,
            "error": "envelope_unsupported_version",
        },
        {
            "description": "no key in the fragment",
            "url": BASE_URL + "#name=Nord",
            "passphrase": None,
            "error": "envelope_malformed",
        },
        {
            "description": "two keys in the fragment",
            "url": links[0]["url"] + "&" + p1["url"].split("#")[1],
            "passphrase": None,
            "error": "envelope_malformed",
        },
        {
            "description": "key value is not base64url",
            "url": BASE_URL + "#k1=AA.A",
            "passphrase": None,
            "error": "envelope_malformed",
        },
        {
            "description": "public key of another key pair",
            "url": BASE_URL + "#k1=" + env.b64url_encode(mismatched),
            "passphrase": None,
            "error": "envelope_malformed",
        },
        {
            "description": "truncated payload",
            "url": links[0]["url"][:-10],
            "passphrase": None,
            "error": "envelope_malformed",
        },
        {
            "description": "name is not UTF-8",
            "url": links[0]["url"] + "&name=%FF",
            "passphrase": None,
            "error": "envelope_malformed",
        },
    ]

    return {
        "envelope": "bwlab-e2e",
        "version": env.VERSION,
        "spec": "docs/e2e-envelope.md",
        "generator": "tests/vectors/make_e2e_vectors.py",
        "notes": [
            "Binary values are lowercase hex (*_hex) or unpadded base64url (keys, wrapped records).",
            "Sequence numbers are decimal strings, because JSON numbers above 2**53 lose precision.",
            "content_key_hex is given for checking only; a viewer learns it by unwrapping.",
        ],
        "system_key": system_rec,
        "other_system_key": other_rec,
        "links": links,
        "other_system_link": other_link,
        "wrapped_keys": wraps,
        "chunks": chunks,
        "invalid": {"chunks": invalid_chunks, "wrapped_keys": invalid_wraps, "links": invalid_links},
    }


def render() -> str:
    return json.dumps(build_vectors(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    return write_or_check(VECTORS_PATH, render(), argv, __doc__, __file__)


if __name__ == "__main__":
    sys.exit(main())
