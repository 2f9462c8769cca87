"""Generate tests/js/chunk-vectors.json: chunk frames and fragmented MP4 made by the Python side,
for the web client's parsers (webui/js/chunk.js, webui/js/fmp4.js) to read back.

    python tests/js/make_chunk_vectors.py

The frames are encoded by ``bwlab.wire.chunk`` and sealed by ``bwlab.wire.envelope`` exactly as a
camera sends them; the media is a real stream from ``firmware_stub.media.LiveEncoder``, with what
``parse_init``/``parse_fragment`` read from it as the expected values. x264 output can change
between library versions, so the file is generated once and committed rather than checked for
staleness; ``tests/unit/test_chunk_js.py`` runs the Node test against it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bwlab.wire import chunk as wire_chunk  # noqa: E402
from bwlab.wire import envelope  # noqa: E402
from bwlab.wire.fmp4 import iter_boxes, parse_fragment, parse_init  # noqa: E402
from firmware_stub.media.live import LiveEncoder  # noqa: E402

OUT = Path(__file__).with_name("chunk-vectors.json")
STREAM_ID = "3f2a9c1e-7b4d-4e8a-9c61-5d0e2b7f8a14"
START = 1_800_000_000.25


def fixed(label: str) -> bytes:
    return hashlib.sha256(f"bwlab chunk vectors: {label}".encode()).digest()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def frame_vector(
    content_key: bytes,
    upload_key: bytes,
    *,
    kind: int,
    seq: int,
    capture: float,
    duration: float,
    keyframe: bool,
    plaintext: bytes,
    stream_id: str = STREAM_ID,
) -> dict:
    sealed = envelope.seal_chunk(content_key, stream_id, kind, seq, plaintext)
    frame = wire_chunk.Chunk(stream_id, kind, seq, capture, duration, keyframe, sealed).encode(upload_key)
    c = wire_chunk.decode(frame)
    return {
        "frame": b64(frame),
        "stream_id": c.stream_id,
        "kind": c.kind_name,
        "seq": str(c.seq),
        "capture_time_us": str(round(c.capture_time * 1_000_000)),
        "duration_us": round(c.duration * 1_000_000),
        "keyframe": c.keyframe,
        "sealed_length": len(c.payload),
        "plaintext_sha256": hashlib.sha256(plaintext).hexdigest(),
    }


def media_vectors(content_key: bytes, upload_key: bytes) -> dict:
    encoder = LiveEncoder("Vector Camera")
    chunks = []
    t = START
    while len([c for c in chunks if c.kind == "media"]) < 7:
        t += 0.05
        chunks.extend(encoder.feed(t))
    encoder.close(t)
    init = chunks[0].data
    tracks = parse_init(init)
    frames = []
    for seq, mc in enumerate(chunks[:7]):
        kind = wire_chunk.KIND_INIT if mc.kind == "init" else wire_chunk.KIND_MEDIA
        vector = frame_vector(
            content_key,
            upload_key,
            kind=kind,
            seq=seq,
            capture=mc.capture_time,
            duration=mc.duration,
            keyframe=mc.keyframe,
            plaintext=mc.data,
        )
        if mc.kind == "media":
            mdat = [b for b in iter_boxes(mc.data) if b.type == b"mdat"]
            vector["mdat_payload_size"] = sum(b.end - b.payload for b in mdat)
            vector["runs"] = [
                {
                    "track_id": r.track_id,
                    "base_decode_time": r.base_decode_time,
                    "sample_count": r.sample_count,
                    "duration": r.duration,
                    "starts_with_sync_sample": r.starts_with_sync_sample,
                }
                for r in parse_fragment(mc.data, tracks)
            ]
            vector["video_frames"] = mc.video_frames
        frames.append(vector)
    return {
        "mime": encoder.mime,
        "tracks": [
            {"track_id": t.track_id, "handler": t.handler, "timescale": t.timescale, "codec": t.codec}
            for t in tracks.values()
        ],
        "width": encoder.width,
        "height": encoder.height,
        "fps": encoder.fps,
        "frames": frames,
    }


def main() -> int:
    content_key = fixed("content key")
    upload_key = fixed("upload key")
    small = [
        frame_vector(
            content_key,
            upload_key,
            kind=3,
            seq=2**64 - 1,
            capture=START,
            duration=0,
            keyframe=False,
            plaintext=b'{"lat":59.3293,"lon":18.0686}',
        ),
        frame_vector(
            content_key,
            upload_key,
            kind=2,
            seq=42,
            capture=-1.5,
            duration=0.2,
            keyframe=True,
            plaintext=b"",
            stream_id="s",
        ),
        frame_vector(
            content_key,
            upload_key,
            kind=2,
            seq=7,
            capture=START,
            duration=4294.967295,
            keyframe=False,
            plaintext=b"x" * 100,
            stream_id="S" * 64,
        ),
    ]
    good = base64.b64decode(small[0]["frame"])
    invalid = [
        {"frame": b64(b"BWC2" + good[4:]), "code": "bad_magic"},
        {"frame": b64(good[:4] + b"\x09" + good[5:]), "code": "bad_kind"},
        {"frame": b64(good[:20]), "code": "truncated_chunk"},
        {"frame": b64(good[:6] + b"\x00\x00" + good[8:]), "code": "bad_chunk"},
        {"frame": b64(good[:6] + b"\x00\x41" + good[8:]), "code": "bad_chunk"},
        {"frame": b64(good[: 28 + len(STREAM_ID) + 31]), "code": "truncated_chunk"},
    ]
    doc = {
        "description": "Chunk frames (bwlab/wire/chunk.py) and fMP4 media (firmware_stub/media/, read by bwlab/wire/fmp4.py) made by Python, "
        "for webui/js/chunk.js and webui/js/fmp4.js. Generated by tests/js/make_chunk_vectors.py.",
        "content_key": content_key.hex(),
        "upload_key": upload_key.hex(),
        "frames": small,
        "invalid": invalid,
        "media": media_vectors(content_key, upload_key),
    }
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
