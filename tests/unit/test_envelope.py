"""The end-to-end envelope v1 in Python against the shared vectors, plus round trips and tampering
(SPEC S4, S5, S6, S16, S17; docs/e2e-envelope.md).

covers: S4, S5, S6, S16, S17
"""

from __future__ import annotations

import json
import re
import struct
import unicodedata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bwlab.wire import envelope as env

REPO_ROOT = Path(__file__).resolve().parents[2]
VECTORS_FILE = REPO_ROOT / "tests" / "vectors" / "e2e-v1.json"
VECTORS: dict[str, Any] = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
BASE_URL = "https://bwlab.lab:8443/live/"

ERRORS_BY_CODE: dict[str, type[env.EnvelopeError]] = {
    cls.code: cls
    for cls in (
        env.MalformedEnvelope,
        env.UnsupportedVersion,
        env.DecryptionFailed,
        env.WrongKey,
        env.PassphraseRequired,
        env.WrongPassphrase,
    )
}


def system_private_key() -> ec.EllipticCurvePrivateKey:
    return env.private_key_from_pkcs8(env.b64url_decode(VECTORS["system_key"]["private_pkcs8"]))


def other_private_key() -> ec.EllipticCurvePrivateKey:
    return env.private_key_from_pkcs8(env.b64url_decode(VECTORS["other_system_key"]["private_pkcs8"]))


def flip(data: bytes, index: int) -> bytes:
    out = bytearray(data)
    out[index] ^= 0x80
    return bytes(out)


def test_error_codes_are_distinct_and_all_errors_share_one_base() -> None:
    assert len(ERRORS_BY_CODE) == 6
    assert all(issubclass(cls, env.EnvelopeError) for cls in ERRORS_BY_CODE.values())
    assert issubclass(env.MalformedEnvelope, ValueError)


# --- system keys and fingerprints (S4, S6) --------------------------------------------------


@pytest.mark.parametrize("which", ["system_key", "other_system_key"])
def test_system_key_vector_encodings_and_fingerprint(which: str) -> None:
    rec = VECTORS[which]
    private_key = env.private_key_from_pkcs8(env.b64url_decode(rec["private_pkcs8"]))
    assert private_key.private_numbers().private_value == int(rec["private_scalar_hex"], 16)
    public_key = env.public_key_from_b64(rec["public_spki"])
    assert env.public_key_to_b64(public_key) == rec["public_spki"]
    assert env.public_key_to_spki(private_key.public_key()).hex() == rec["public_spki_hex"]
    assert env.fingerprint(bytes.fromhex(rec["public_spki_hex"])) == rec["fingerprint"]
    assert env.key_fingerprint(private_key) == env.key_fingerprint(public_key) == rec["fingerprint"]


def test_fingerprint_is_sixteen_groups_of_four_uppercase_hex() -> None:
    """S6: the Manager and the web client show the same string; its shape is fixed."""
    keypair = env.generate_system_keypair()
    assert re.fullmatch(r"(?:[0-9A-F]{4} ){15}[0-9A-F]{4}", keypair.fingerprint)
    assert keypair.fingerprint == env.key_fingerprint(keypair.private_key)


def test_generated_keypair_round_trips_through_its_encodings() -> None:
    keypair = env.generate_system_keypair()
    assert len(keypair.public_spki) == 91
    assert env.public_key_from_b64(keypair.public_b64).public_numbers() == keypair.public_key.public_numbers()
    restored = env.private_key_from_pkcs8(keypair.private_pkcs8)
    assert restored.private_numbers() == keypair.private_key.private_numbers()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "MFkw",
        VECTORS["system_key"]["public_spki"] + "A",
        VECTORS["system_key"]["public_spki"][:-2] + "==",
        # the system key with the last byte of Y changed is no longer a point on the curve
        env.b64url_encode(bytes.fromhex(VECTORS["system_key"]["public_spki_hex"])[:-1] + b"\x00"),
    ],
)
def test_bad_public_keys_are_malformed(text: str) -> None:
    with pytest.raises(env.MalformedEnvelope):
        env.public_key_from_b64(text)


def test_keys_of_another_curve_are_refused() -> None:
    p384 = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(env.MalformedEnvelope, match="P-256"):
        env.public_key_to_spki(p384.public_key())
    with pytest.raises(env.MalformedEnvelope, match="P-256"):
        env.make_link(BASE_URL, p384)


# --- links (S5, S16) ------------------------------------------------------------------------


@pytest.mark.parametrize("link", VECTORS["links"], ids=lambda link: f"{link['kind']}-{link['name']}")
def test_link_vectors_open_to_the_system_key(link: dict[str, Any]) -> None:
    assert env.link_kind(link["url"]) is env.LinkKind(link["kind"])
    opened = env.read_link(link["url"], link["passphrase"])
    assert opened.kind is env.LinkKind(link["kind"])
    assert opened.name == link["name"]
    assert opened.fingerprint == VECTORS["system_key"]["fingerprint"]
    scalar = int(VECTORS["system_key"]["private_scalar_hex"], 16)
    assert env.parse_link(link["url"], link["passphrase"]).private_numbers().private_value == scalar
    assert env.link_payload(opened.private_key).hex() == link["payload_hex"]
    # The key rides only in the fragment, which browsers never send to a server (S5).
    assert urlsplit(link["url"])._replace(fragment="").geturl() == BASE_URL
    fragment = link["url"].split("#", 1)[1]
    assert env.read_link(fragment, link["passphrase"]).fingerprint == opened.fingerprint
    assert env.read_link("#" + fragment, link["passphrase"]).fingerprint == opened.fingerprint


@pytest.mark.parametrize("link", [v for v in VECTORS["links"] if v["kind"] == "passphrase"])
def test_passphrase_link_vector_layout(link: dict[str, Any]) -> None:
    value = link["url"].split("#p1=", 1)[1].split("&", 1)[0]
    blob = env.b64url_decode(value)
    salt, (iterations,), nonce, sealed = blob[:16], struct.unpack(">I", blob[16:20]), blob[20:32], blob[32:]
    assert salt.hex() == link["salt_hex"]
    assert iterations == link["iterations"]
    assert nonce.hex() == link["nonce_hex"]
    key = env.link_passphrase_key(link["passphrase"], salt, iterations)
    assert key.hex() == link["passphrase_key_hex"]
    assert AESGCM(key).decrypt(nonce, sealed, b"bwlab-link-v1").hex() == link["payload_hex"]


@pytest.mark.parametrize("link", [v for v in VECTORS["links"] if v["kind"] == "passphrase"])
def test_passphrase_link_needs_the_right_passphrase(link: dict[str, Any]) -> None:
    """S5: each operator must type the passphrase; any other opens nothing."""
    with pytest.raises(env.PassphraseRequired):
        env.parse_link(link["url"])
    with pytest.raises(env.PassphraseRequired):
        env.parse_link(link["url"], "")
    with pytest.raises(env.WrongPassphrase):
        env.parse_link(link["url"], link["passphrase"] + "!")
    # The same passphrase typed on a keyboard that composes differently still opens it.
    nfd = unicodedata.normalize("NFD", link["passphrase"])
    assert env.read_link(link["url"], nfd).fingerprint == VECTORS["system_key"]["fingerprint"]


@pytest.mark.parametrize("bad", VECTORS["invalid"]["links"], ids=lambda bad: bad["description"])
def test_invalid_link_vectors_fail_with_their_error(bad: dict[str, Any]) -> None:
    with pytest.raises(env.EnvelopeError) as caught:
        env.read_link(bad["url"], bad["passphrase"])
    assert type(caught.value) is ERRORS_BY_CODE[bad["error"]]
    assert caught.value.code == bad["error"]


def test_plain_link_round_trip_with_name_and_extra_parameters() -> None:
    keypair = env.generate_system_keypair()
    url = env.make_link(BASE_URL, keypair.private_key, name="Nord & Sør #2 100%")
    assert url.startswith(BASE_URL + "#k1=")
    assert env.link_kind(url) is env.LinkKind.PLAIN
    # Parameters the web client adds for itself are ignored; a passphrase is ignored too.
    opened = env.read_link(url + "&view=map", "unused passphrase")
    assert opened.name == "Nord & Sør #2 100%"
    assert opened.fingerprint == keypair.fingerprint
    assert opened.private_key.private_numbers() == keypair.private_key.private_numbers()


def test_passphrase_link_round_trip() -> None:
    keypair = env.generate_system_keypair()
    url = env.make_link(BASE_URL, keypair.private_key, "lab passphrase", iterations=1000)
    assert env.link_kind(url) is env.LinkKind.PASSPHRASE
    assert env.read_link(url, "lab passphrase").fingerprint == keypair.fingerprint
    # Fresh salt and nonce each time: two links for the same key differ.
    assert url != env.make_link(BASE_URL, keypair.private_key, "lab passphrase", iterations=1000)


def test_passphrase_link_uses_600000_iterations_by_default() -> None:
    keypair = env.generate_system_keypair()
    url = env.make_link(BASE_URL, keypair.private_key, "pw")
    blob = env.b64url_decode(url.split("#p1=", 1)[1])
    assert struct.unpack(">I", blob[16:20]) == (env.DEFAULT_PBKDF2_ITERATIONS,) == (600_000,)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"base_url": BASE_URL + "#old"}, "fragment"),
        ({"passphrase": ""}, "empty"),
        ({"passphrase": "pw", "iterations": 999}, "iterations"),
        ({"name": ""}, "name"),
        ({"name": "x" * 257}, "name"),
    ],
)
def test_make_link_refuses_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"base_url": BASE_URL, "private_key": system_private_key()}
    args.update(kwargs)
    with pytest.raises(env.MalformedEnvelope, match=message):
        env.make_link(**args)


# --- wrapped content keys (S4, S17) ---------------------------------------------------------


@pytest.mark.parametrize("vec", VECTORS["wrapped_keys"], ids=lambda vec: vec["stream_id"])
def test_wrapped_key_vectors_unwrap(vec: dict[str, Any]) -> None:
    system = system_private_key()
    assert env.unwrap_content_key(system, vec["stream_id"], vec["wrapped"]).hex() == vec["content_key_hex"]
    assert env.unwrap_content_key(system, vec["stream_id"], json.dumps(vec["wrapped"])).hex() == vec["content_key_hex"]


@pytest.mark.parametrize("vec", VECTORS["wrapped_keys"], ids=lambda vec: vec["stream_id"])
def test_wrapped_key_vector_intermediate_values(vec: dict[str, Any]) -> None:
    system = system_private_key()
    wrapped = vec["wrapped"]
    assert wrapped["version"] == 1
    assert wrapped["key_fingerprint"] == VECTORS["system_key"]["fingerprint"]
    epk = env.b64url_decode(wrapped["ephemeral_public_key"])
    assert epk.hex() == vec["hkdf_salt_hex"]
    ephemeral = env.private_key_from_pkcs8(env.b64url_decode(vec["ephemeral_private_pkcs8"]))
    assert env.public_key_to_spki(ephemeral.public_key()) == epk
    shared = system.exchange(ec.ECDH(), env.public_key_from_spki(epk))
    assert shared == ephemeral.exchange(ec.ECDH(), system.public_key())
    assert shared.hex() == vec["shared_secret_hex"]
    assert vec["hkdf_info_hex"] == (b"bwlab-e2e-v1 key-wrap\x00" + vec["stream_id"].encode()).hex()
    kek = env.key_wrap_kek(shared, epk, vec["stream_id"])
    assert kek.hex() == vec["kek_hex"]
    nonce = env.b64url_decode(wrapped["nonce"])
    ciphertext = env.b64url_decode(wrapped["ciphertext"])
    assert AESGCM(kek).decrypt(nonce, ciphertext, vec["stream_id"].encode()).hex() == vec["content_key_hex"]
    # Re-wrapping with the same ephemeral key and nonce gives the same record.
    again = env.wrap_content_key(
        system.public_key(),
        vec["stream_id"],
        bytes.fromhex(vec["content_key_hex"]),
        ephemeral_key=ephemeral,
        rng=lambda size: nonce,
    )
    assert again == wrapped


@pytest.mark.parametrize("bad", VECTORS["invalid"]["wrapped_keys"], ids=lambda bad: bad["description"])
def test_invalid_wrapped_key_vectors_fail_with_their_error(bad: dict[str, Any]) -> None:
    with pytest.raises(env.EnvelopeError) as caught:
        env.unwrap_content_key(system_private_key(), bad["stream_id"], bad["wrapped"])
    assert type(caught.value) is ERRORS_BY_CODE[bad["error"]]


def test_key_wrapped_for_the_other_system_opens_with_that_system_key() -> None:
    """S5: each system's streams open with its own key; the fingerprint says which one."""
    bad = next(b for b in VECTORS["invalid"]["wrapped_keys"] if b["error"] == "envelope_wrong_key")
    assert bad["wrapped"]["key_fingerprint"] == VECTORS["other_system_key"]["fingerprint"]
    content_key = env.unwrap_content_key(other_private_key(), bad["stream_id"], bad["wrapped"])
    assert content_key.hex() == VECTORS["wrapped_keys"][0]["content_key_hex"]


def test_wrap_round_trip_with_a_fresh_content_key() -> None:
    keypair = env.generate_system_keypair()
    wrapped = env.wrap_content_key(keypair.public_key, "stream-1")
    assert json.loads(json.dumps(wrapped)) == wrapped
    assert set(wrapped) == {"version", "key_fingerprint", "ephemeral_public_key", "nonce", "ciphertext"}
    content_key = env.unwrap_content_key(keypair.private_key, "stream-1", wrapped)
    assert len(content_key) == 32
    # Every stream gets its own content key and ephemeral key.
    other = env.wrap_content_key(keypair.public_key, "stream-1")
    assert env.unwrap_content_key(keypair.private_key, "stream-1", other) != content_key
    assert other["ephemeral_public_key"] != wrapped["ephemeral_public_key"]


def test_wrap_with_a_given_content_key_and_wrong_stream() -> None:
    keypair = env.generate_system_keypair()
    wrapped = env.wrap_content_key(keypair.public_key, "stream-1", bytes(range(32)))
    assert env.unwrap_content_key(keypair.private_key, "stream-1", wrapped) == bytes(range(32))
    with pytest.raises(env.DecryptionFailed, match="stream-2"):
        env.unwrap_content_key(keypair.private_key, "stream-2", wrapped)
    with pytest.raises(env.MalformedEnvelope, match="32 bytes"):
        env.wrap_content_key(keypair.public_key, "stream-1", bytes(16))


@pytest.mark.parametrize("stream_id", ["", "x" * 256, "bad \ud800 surrogate"])
def test_stream_ids_outside_the_envelope_are_malformed(stream_id: str) -> None:
    keypair = env.generate_system_keypair()
    with pytest.raises(env.MalformedEnvelope, match="stream id"):
        env.wrap_content_key(keypair.public_key, stream_id)
    with pytest.raises(env.MalformedEnvelope, match="stream id"):
        env.seal_chunk(bytes(32), stream_id, "media", 0, b"x")


# --- chunks (S4, S17) -----------------------------------------------------------------------


@pytest.mark.parametrize("vec", VECTORS["chunks"], ids=lambda vec: f"{vec['kind']}-{vec['seq']}")
def test_chunk_vectors_open_and_reseal(vec: dict[str, Any]) -> None:
    key = bytes.fromhex(vec["content_key_hex"])
    seq = int(vec["seq"])
    assert int(env.ChunkKind.coerce(vec["kind"])) == vec["kind_code"]
    assert env.chunk_nonce(vec["kind"], seq).hex() == vec["nonce_hex"]
    assert env.chunk_aad(vec["stream_id"], vec["kind"], seq).hex() == vec["aad_hex"]
    ciphertext = bytes.fromhex(vec["ciphertext_hex"])
    assert env.open_chunk(key, vec["stream_id"], vec["kind"], seq, ciphertext).hex() == vec["plaintext_hex"]
    plaintext = bytes.fromhex(vec["plaintext_hex"])
    assert env.seal_chunk(key, vec["stream_id"], vec["kind_code"], seq, plaintext) == ciphertext
    assert len(ciphertext) == len(plaintext) + 16


@pytest.mark.parametrize("bad", VECTORS["invalid"]["chunks"], ids=lambda bad: bad["description"])
def test_invalid_chunk_vectors_fail_with_their_error(bad: dict[str, Any]) -> None:
    with pytest.raises(env.EnvelopeError) as caught:
        env.open_chunk(
            bytes.fromhex(bad["content_key_hex"]),
            bad["stream_id"],
            bad["kind"],
            int(bad["seq"]),
            bytes.fromhex(bad["ciphertext_hex"]),
        )
    assert type(caught.value) is ERRORS_BY_CODE[bad["error"]]


@pytest.mark.parametrize("kind", list(env.ChunkKind))
def test_chunk_round_trip_for_each_kind(kind: env.ChunkKind) -> None:
    keypair = env.generate_system_keypair()
    content_key = env.unwrap_content_key(keypair.private_key, "s", env.wrap_content_key(keypair.public_key, "s"))
    plaintext = b"video, audio or a position"
    sealed = env.seal_chunk(content_key, "s", kind, 41, plaintext)
    assert plaintext not in sealed
    assert env.open_chunk(content_key, "s", kind.name.lower(), 41, sealed) == plaintext
    assert env.open_chunk(content_key, "s", int(kind), 41, sealed) == plaintext


def test_every_altered_byte_of_a_sealed_chunk_is_detected() -> None:
    content_key = bytes(range(32))
    sealed = env.seal_chunk(content_key, "s", "position", 3, b'{"lat":59.9,"lon":10.7}')
    for index in range(len(sealed)):
        with pytest.raises(env.DecryptionFailed):
            env.open_chunk(content_key, "s", "position", 3, flip(sealed, index))
    with pytest.raises(env.DecryptionFailed):
        env.open_chunk(content_key, "s", "position", 3, sealed[:-1])
    with pytest.raises(env.DecryptionFailed):
        env.open_chunk(content_key, "s", "position", 3, sealed + b"\x00")


@pytest.mark.parametrize(
    ("stream_id", "kind", "seq"),
    [("t", "media", 3), ("s", "init", 3), ("s", "position", 3), ("s", "media", 4), ("s", "media", 2**32 + 3)],
)
def test_chunk_bound_to_stream_kind_and_seq(stream_id: str, kind: str, seq: int) -> None:
    """A chunk cannot be replayed in another stream, as another kind, or at another position."""
    content_key = bytes(range(32))
    sealed = env.seal_chunk(content_key, "s", "media", 3, b"frame")
    with pytest.raises(env.DecryptionFailed, match="does not open"):
        env.open_chunk(content_key, stream_id, kind, seq, sealed)


def test_nonces_differ_for_every_kind_and_seq() -> None:
    seqs = (0, 1, 255, 256, 2**63, env.MAX_SEQ)
    nonces = {env.chunk_nonce(kind, seq) for kind in env.ChunkKind for seq in seqs}
    assert len(nonces) == 3 * 6
    assert env.chunk_nonce("media", 1) == bytes.fromhex("020000000000000000000001")


@pytest.mark.parametrize(
    ("kind", "seq", "key"),
    [
        ("audio", 0, bytes(32)),
        (0, 0, bytes(32)),
        (True, 0, bytes(32)),
        ("media", -1, bytes(32)),
        ("media", 2**64, bytes(32)),
        ("media", 0, bytes(16)),
    ],
)
def test_bad_chunk_arguments_are_malformed(kind: Any, seq: int, key: bytes) -> None:
    with pytest.raises(env.MalformedEnvelope):
        env.seal_chunk(key, "s", kind, seq, b"x")
