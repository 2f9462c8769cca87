"""Talk-back's direction of the end-to-end envelope (operator → camera, docs/e2e-envelope.md §13)
against the shared vectors, in Python and in the browser's e2e.js (Node 20).

covers: S4, S17 (issue 16 item 3: a key the camera can open and the cloud cannot)
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from bwlab.wire import envelope as env

REPO_ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((REPO_ROOT / "tests" / "vectors" / "e2e-talk-v1.json").read_text(encoding="utf-8"))
BASE = json.loads((REPO_ROOT / "tests" / "vectors" / "e2e-v1.json").read_text(encoding="utf-8"))
NODE = shutil.which("node") or "/usr/bin/node"


def _content_key() -> bytes:
    system = env.parse_link(BASE["links"][0]["url"])
    return env.unwrap_content_key(system, VECTORS["stream_id"], VECTORS["wrapped"])


@pytest.mark.parametrize("index", range(len(VECTORS["talks"])))
def test_talk_keys_and_packets_match_the_vectors(index: int) -> None:
    talk = VECTORS["talks"][index]
    content_key = _content_key()
    assert content_key.hex() == VECTORS["content_key_hex"]
    key = env.talk_key(content_key, VECTORS["stream_id"], bytes.fromhex(talk["talk_id_hex"]))
    assert key.hex() == talk["talk_key_hex"]
    for p in talk["packets"]:
        seq = int(p["seq"])
        assert env.talk_nonce(seq).hex() == p["nonce_hex"]
        assert env.talk_aad(VECTORS["stream_id"], seq).hex() == p["aad_hex"]
        assert env.seal_talk(key, VECTORS["stream_id"], seq, bytes.fromhex(p["plaintext_hex"])).hex() == p["sealed_hex"]
        assert env.open_talk(key, VECTORS["stream_id"], seq, bytes.fromhex(p["sealed_hex"])).hex() == p["plaintext_hex"]


@pytest.mark.parametrize("bad", VECTORS["invalid"], ids=[b["why"] for b in VECTORS["invalid"]])
def test_invalid_talk_packets_fail_with_their_code(bad: dict) -> None:
    key = bytes.fromhex(VECTORS["talks"][bad["talk"]]["talk_key_hex"])
    with pytest.raises(env.EnvelopeError) as caught:
        env.open_talk(
            key, bad.get("stream_id") or VECTORS["stream_id"], int(bad["seq"]), bytes.fromhex(bad["sealed_hex"])
        )
    assert caught.value.code == bad["code"]


def test_the_talk_key_is_not_the_content_key_and_differs_per_talk() -> None:
    content_key = bytes.fromhex(VECTORS["content_key_hex"])
    keys = {env.talk_key(content_key, VECTORS["stream_id"], bytes([i]) * 16) for i in range(3)}
    assert len(keys) == 3 and content_key not in keys


@pytest.mark.parametrize("talk_id", [b"", b"x" * 15, b"x" * 17, "x" * 16])
def test_a_talk_id_that_is_not_16_bytes_is_malformed(talk_id) -> None:
    with pytest.raises(env.MalformedEnvelope):
        env.talk_key(bytes(32), "s", talk_id)


def test_javascript_talk_direction_matches_the_shared_vectors() -> None:
    script = REPO_ROOT / "tests" / "js" / "talk.test.mjs"
    result = subprocess.run([NODE, str(script)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=90, check=False)
    report = f"node {script.name} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert result.returncode == 0, report
    assert " 0 failed" in result.stdout and "FAIL" not in result.stdout, report
