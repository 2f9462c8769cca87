"""Generate the talk-back (operator → camera) test vectors of the end-to-end envelope v1
(issue 16 item 3; docs/e2e-envelope.md §13).

    python tests/vectors/make_talk_vectors.py          # rewrite tests/vectors/e2e-talk-v1.json
    python tests/vectors/make_talk_vectors.py --check  # exit 1 if the file is not up to date

The talk key derives from a stream's content key; the vectors reuse the system key and the first
wrapped key of ``e2e-v1.json``, so a reader proves the whole path: open the link, unwrap the
content key, derive the talk key, seal and open the packets. Fixed bytes are SHA-256 of readable
labels. ``tests/unit/test_talk_envelope.py`` (Python) and ``tests/js/talk.test.mjs``
(``webui/js/e2e.js``) check their implementation against the file.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from vectors_file import write_or_check  # the sibling module: first, it puts bwlab on sys.path

from bwlab.wire import envelope as env

VECTORS_PATH = Path(__file__).with_name("e2e-talk-v1.json")
BASE_PATH = Path(__file__).with_name("e2e-v1.json")


def fixed(label: str, size: int = 32) -> bytes:
    """``size`` bytes from SHA-256 of a label (size ≤ 32)."""
    return hashlib.sha256(f"bwlab-e2e-v1 talk vectors: {label}".encode()).digest()[:size]


def _packet(key: bytes, stream_id: str, seq: int, plaintext: bytes) -> dict[str, Any]:
    return {
        "seq": str(seq),
        "plaintext_hex": plaintext.hex(),
        "nonce_hex": env.talk_nonce(seq).hex(),
        "aad_hex": env.talk_aad(stream_id, seq).hex(),
        "sealed_hex": env.seal_talk(key, stream_id, seq, plaintext).hex(),
    }


def build() -> dict[str, Any]:
    base = json.loads(BASE_PATH.read_text(encoding="utf-8"))
    wrapped = base["wrapped_keys"][0]
    stream_id = wrapped["stream_id"]
    content_key = bytes.fromhex(wrapped["content_key_hex"])
    talks = []
    for label in ("first talk", "second talk"):
        talk_id = fixed(label, env.TALK_ID_SIZE)
        key = env.talk_key(content_key, stream_id, talk_id)
        packets = [
            _packet(key, stream_id, 0, fixed(f"{label} opus packet 0")[:20]),
            _packet(key, stream_id, 1, fixed(f"{label} opus packet 1") * 3),
            _packet(key, stream_id, 2, b""),
            _packet(key, stream_id, env.MAX_SEQ, b"\x78"),
        ]
        talks.append(
            {
                "talk_id_hex": talk_id.hex(),
                "hkdf_salt_hex": talk_id.hex(),
                "hkdf_info_hex": (b"bwlab-e2e-v1 talk\x00" + stream_id.encode()).hex(),
                "talk_key_hex": key.hex(),
                "packets": packets,
            }
        )
    first = talks[0]
    sealed = bytes.fromhex(first["packets"][1]["sealed_hex"])
    altered = bytes([sealed[0] ^ 1]) + sealed[1:]
    invalid = [
        {
            "why": "another sequence number",
            "talk": 0,
            "seq": "2",
            "sealed_hex": sealed.hex(),
            "code": env.DecryptionFailed.code,
        },
        {
            "why": "one altered byte",
            "talk": 0,
            "seq": "1",
            "sealed_hex": altered.hex(),
            "code": env.DecryptionFailed.code,
        },
        {
            "why": "the packet of another talk",
            "talk": 1,
            "seq": "1",
            "sealed_hex": sealed.hex(),
            "code": env.DecryptionFailed.code,
        },
        {
            "why": "another stream",
            "talk": 0,
            "seq": "1",
            "sealed_hex": sealed.hex(),
            "stream_id": "another-stream",
            "code": env.DecryptionFailed.code,
        },
        {
            "why": "shorter than the tag",
            "talk": 0,
            "seq": "1",
            "sealed_hex": sealed[:15].hex(),
            "code": env.MalformedEnvelope.code,
        },
        {
            "why": "sealed with the content key itself (the viewer direction)",
            "talk": 0,
            "seq": "1",
            "sealed_hex": env.seal_chunk(
                content_key, stream_id, "media", 1, bytes.fromhex(first["packets"][1]["plaintext_hex"])
            ).hex(),
            "code": env.DecryptionFailed.code,
        },
    ]
    return {
        "envelope": "bwlab-e2e",
        "version": env.VERSION,
        "direction": "talk (operator to camera)",
        "spec": "docs/e2e-envelope.md §13",
        "generator": "tests/vectors/make_talk_vectors.py",
        "notes": [
            "The system key, link and wrapped key are those of e2e-v1.json (system_key, links[0], wrapped_keys[0]).",
            "Sequence numbers are decimal strings; talk_key_hex is for checking only (readers derive it).",
        ],
        "stream_id": stream_id,
        "wrapped": wrapped["wrapped"],
        "content_key_hex": content_key.hex(),
        "talks": talks,
        "invalid": invalid,
    }


def render() -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    return write_or_check(VECTORS_PATH, render(), argv, __doc__, __file__)


if __name__ == "__main__":
    sys.exit(main())
