"""The server stores and forwards ciphertext only (DESIGN "Trust and encryption"; S4, S17).

After a demo stream, the recording is decrypted with the reference viewer (the operator's key)
to learn exactly what the camera filmed, then every byte on the cloud's side of the appliance —
the cloud's database (with its WAL and shared-memory files) and every file of the evidence store —
is searched for it: 24-byte windows from inside the video NAL units and the AAC frames of every
fragment, the init segment's codec configuration, and the system private key in every encoding a
careless implementation might have written. The Manager, on the other hand, does keep the key
pair (the manual's S4 decision, docs/manual-vs-spec.md row 8): that is on-prem, not the cloud.

Positions: the camera used has GPS and Location "Always", so its recording holds sealed position
chunks; their decrypted records are searched for like media (tests/integration/test_positions.py
also searches for every coordinate as text and as IEEE doubles). The camera user also asks for
help (issue 16): the help request's position, opened with the operator's key, is searched for
the same way, and its coordinates as text.
"""

from __future__ import annotations

import base64
import sqlite3
import struct
from pathlib import Path

import numpy as np

from bwlab.talker import encode_opus, talk
from bwlab.viewer import Viewer
from bwlab.wire import chunk as wire_chunk
from bwlab.wire import envelope
from bwlab.wire import talk as wire_talk
from bwlab.wire.fmp4 import iter_boxes, parse_init
from bwlab.wire.help import decode_sealed
from bwlab.wire.positions import decode_record

CHLOE = "B8A44F000103"  # W102 with GPS, profile "Patrol live" (live stream on record, Location always)
WINDOW = 24
_HASH_BASE = np.uint64(1_000_003)


class RecordingViewer(Viewer):
    """The reference viewer, keeping the plaintext it decrypted (only this test needs it)."""

    plaintext: list[tuple[wire_chunk.Chunk, bytes]]

    def _decode(self, plain, report, live):
        self.plaintext = [(c, p) for c, p, _ in plain]
        super()._decode(plain, report, live)


# ---------------------------------------------------------------- what the camera filmed


def _samples(fragment: bytes, tracks: dict) -> list[tuple[str, bytes]]:
    """(handler, sample bytes) of every sample in a moof+mdat fragment, from its trun tables."""
    out = []
    for moof in (b for b in iter_boxes(fragment) if b.type == b"moof"):
        for traf in (b for b in iter_boxes(fragment, moof.payload, moof.end) if b.type == b"traf"):
            boxes = list(iter_boxes(fragment, traf.payload, traf.end))
            tfhd = next(b for b in boxes if b.type == b"tfhd")
            flags = int.from_bytes(fragment[tfhd.payload + 1 : tfhd.payload + 4], "big")
            (track_id,) = struct.unpack_from(">I", fragment, tfhd.payload + 4)
            at = tfhd.payload + 8
            base = moof.start
            if flags & 0x01:
                (base,) = struct.unpack_from(">Q", fragment, at)
                at += 8
            at += 4 if flags & 0x02 else 0
            at += 4 if flags & 0x08 else 0
            default_size = struct.unpack_from(">I", fragment, at)[0] if flags & 0x10 else 0
            for trun in (b for b in boxes if b.type == b"trun"):
                tr = int.from_bytes(fragment[trun.payload + 1 : trun.payload + 4], "big")
                (count,) = struct.unpack_from(">I", fragment, trun.payload + 4)
                at = trun.payload + 8
                data = base
                if tr & 0x001:
                    data = base + struct.unpack_from(">i", fragment, at)[0]
                    at += 4
                at += 4 if tr & 0x004 else 0
                present = [bool(tr & bit) for bit in (0x100, 0x200, 0x400, 0x800)]
                for _ in range(count):
                    at += 4 if present[0] else 0
                    size = default_size
                    if present[1]:
                        (size,) = struct.unpack_from(">I", fragment, at)
                        at += 4
                    at += 4 * (present[2] + present[3])
                    out.append((tracks[track_id].handler, fragment[data : data + size]))
                    data += size
    return out


def _nal_units(sample: bytes) -> list[bytes]:
    """The NAL units of an AVC sample (4-byte length prefixes)."""
    units, at = [], 0
    while at + 4 <= len(sample):
        (n,) = struct.unpack_from(">I", sample, at)
        units.append(sample[at + 4 : at + 4 + n])
        at += 4 + n
    assert at == len(sample), "an AVC sample that does not split into NAL units"
    return units


def _windows(data: bytes, stride: int = WINDOW, skip: int = 1) -> list[bytes]:
    """24-byte windows from inside ``data`` (after ``skip`` header bytes) with enough variety
    that finding one elsewhere cannot be chance (no runs of zeros or padding)."""
    return [w for i in range(skip, len(data) - WINDOW + 1, stride) if len(set(w := data[i : i + WINDOW])) >= 12]


# ---------------------------------------------------------------- searching the server's bytes


def _hashes(buf: bytes) -> np.ndarray:
    """A polynomial hash of every 24-byte window of ``buf`` (wrapping uint64 arithmetic)."""
    a = np.frombuffer(buf, dtype=np.uint8).astype(np.uint64)
    n = len(a) - WINDOW + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint64)
    h = np.zeros(n, dtype=np.uint64)
    for j in range(WINDOW):
        h = h * _HASH_BASE + a[j : j + n]
    return h


def _find_windows(haystack: bytes, needles: dict[bytes, str]) -> list[tuple[int, str]]:
    """(offset, what) of every needle window found anywhere in ``haystack``, at any alignment."""
    if len(haystack) < WINDOW:
        return []
    keys = list(needles)
    needle_hashes = _hashes(b"".join(keys))[::WINDOW]
    hay = _hashes(haystack)
    hits = []
    for offset in np.flatnonzero(np.isin(hay, needle_hashes)):
        window = haystack[offset : offset + WINDOW]
        if window in needles:
            hits.append((int(offset), needles[window]))
    return hits


def _cloud_files(data_dir: Path) -> list[Path]:
    """Every file on the cloud's side: its database (+ WAL, shared memory) and the evidence store."""
    files = [p for p in data_dir.glob("cloud.sqlite3*") if p.is_file()]
    files += [p for p in (data_dir / "evidence").rglob("*") if p.is_file()]
    return files


def _key_forms(private_key, link: str) -> dict[str, bytes]:
    pkcs8 = envelope.private_key_to_pkcs8(private_key)
    scalar = private_key.private_numbers().private_value.to_bytes(32, "big")
    link_value = link.split("#", 1)[1].split("&")[0].split("=", 1)[1]
    return {
        "PKCS#8 DER": pkcs8,
        "PKCS#8 base64url": envelope.b64url_encode(pkcs8).encode(),
        "PKCS#8 base64": base64.b64encode(pkcs8),
        "PKCS#8 hex": pkcs8.hex().encode(),
        "private scalar": scalar,
        "private scalar hex": scalar.hex().encode(),
        "link key payload": link_value.encode(),
    }


# ---------------------------------------------------------------- the test


# covers: S4, S17, D3, D5
async def test_cloud_holds_no_plaintext_media_and_no_private_key(
    appliance, demo_lab, demo_fleet, lab, poll, undock_online
):
    fleet = await demo_fleet({CHLOE})
    cam = fleet.cameras[CHLOE]
    system = demo_lab.systems[0]
    await undock_online(fleet, CHLOE)
    await cam.press("record")
    async with appliance.operator_viewer(system, viewer_class=RecordingViewer) as viewer:
        stream = await viewer.wait_for_stream(timeout=10)
        two_seconds = 2 + 30 // cam.fragment_frames  # the init segment, 30 frames at 15 fps, and a margin
        await poll(lambda: cam.chunks_sent >= two_seconds, "about two seconds of media", timeout=8)
        await cam.press("function", "long")  # the demo profile's help gesture (issue 16)
        async with appliance.session() as operator:
            await operator.sign_in_cloud("operator@demo.bwlab.test", "demo-operator-pass")
            help_requests = await poll(lambda: _help_requests(operator, demo_lab.org_id), "the help request")
        await cam.press("record", "long")
        await poll(lambda: cam.unacked == 0 and cam.chunks_sent > 0, "every chunk acknowledged")
        await poll(lambda: _recorded(viewer, stream["id"]), "the stream to end")
        report = await viewer.watch(stream["id"], recording=True)
        plaintext = viewer.plaintext
        key = viewer.key

    # The recording is the whole stream, decrypted by the operator's key.
    in_stream = sum(1 for c, _ in plaintext if c.kind == wire_chunk.KIND_POSITION)  # chunks_sent counts media
    assert report.ended and report.chunks == cam.chunks_sent + in_stream
    assert report.seqs == list(range(report.chunks))
    assert report.video_frames >= 30 and report.audio_frames > 0
    kinds = [c.kind for c, _ in plaintext]
    inits = [p for c, p in plaintext if c.kind == wire_chunk.KIND_INIT]
    fragments = [p for c, p in plaintext if c.kind == wire_chunk.KIND_MEDIA]
    positions = [p for c, p in plaintext if c.kind == wire_chunk.KIND_POSITION]
    assert len(inits) == 1 and len(fragments) >= 10
    assert positions, "the camera has GPS and Location 'Always': its positions are sealed into the stream"
    assert all(55 < decode_record(p)["lat"] < 56 for p in positions)  # the demo site's latitude
    (help_request,) = help_requests
    help_key = envelope.unwrap_content_key(key.private_key, help_request["id"], help_request["wrapped_key"])
    help_position = envelope.open_chunk(
        help_key, help_request["id"], envelope.ChunkKind.POSITION, 0, decode_sealed(help_request["position"])
    )
    assert 55 < decode_record(help_position)["lat"] < 56
    assert set(kinds) <= {wire_chunk.KIND_INIT, wire_chunk.KIND_MEDIA, wire_chunk.KIND_POSITION}

    # What to look for: windows from inside every video NAL unit and AAC frame, the init
    # segment's codec configuration (SPS/PPS in avcC, the AudioSpecificConfig in esds), and any
    # position payload.
    tracks = parse_init(inits[0])
    needles: dict[bytes, str] = {}
    nal_count = aac_count = 0
    for fragment in fragments:
        for handler, sample in _samples(fragment, tracks):
            if handler == "vide":
                for nal in _nal_units(sample):
                    nal_count += 1
                    for w in _windows(nal, stride=16):
                        needles[w] = "video NAL unit"
            else:
                aac_count += 1
                for w in _windows(sample, stride=16, skip=0):
                    needles[w] = "AAC frame"
    for w in _windows(inits[0], stride=8, skip=0):
        needles.setdefault(w, "init segment")
    for p in positions:
        for w in _windows(p, stride=4, skip=0):
            needles[w] = "position"
    for w in _windows(help_position, stride=4, skip=0):
        needles[w] = "help request position"
    assert nal_count >= report.video_frames and aac_count >= report.audio_frames
    by_kind = {k: sum(1 for v in needles.values() if v == k) for k in set(needles.values())}
    assert by_kind.get("video NAL unit", 0) > 500 and by_kind.get("AAC frame", 0) > 100, by_kind
    assert by_kind.get("position", 0) >= 10 * len(positions), by_kind

    files = _cloud_files(appliance.data_dir)
    assert any(p.name == "cloud.sqlite3" for p in files)
    evidence = [p for p in files if p.suffix == ".bwc" and p.parent.name == stream["id"]]  # not the location track's
    assert len(evidence) == report.chunks, "one evidence file per chunk"

    # The search finds plaintext where there is some (a planted window in a real evidence file).
    sample_window = next(w for w, what in needles.items() if what == "video NAL unit")
    planted = evidence[len(evidence) // 2].read_bytes()
    planted = planted[:100] + sample_window + planted[100:]
    assert _find_windows(planted, needles) == [(100, "video NAL unit")]

    key_forms = _key_forms(key.private_key, system.link)
    assert (
        envelope.private_key_to_pkcs8(envelope.parse_link(system.protected_link, system.link_passphrase))
        == key_forms["PKCS#8 DER"]
    )
    found = []
    for path in files:
        data = path.read_bytes()
        found += [(path.relative_to(appliance.data_dir), what, at) for at, what in _find_windows(data, needles)]
        found += [
            (path.relative_to(appliance.data_dir), f"system private key ({form})", data.find(blob))
            for form, blob in key_forms.items()
            if blob in data
        ]
        help_record = decode_record(help_position)
        found += [
            (path.relative_to(appliance.data_dir), f"help request {k} as text", data.find(text))
            for k in ("lat", "lon")
            if (text := repr(help_record[k]).encode()) in data
        ]
    assert found == [], f"plaintext on the cloud's side: {found[:10]}"

    # S4 as the manual has it: the Manager keeps the key pair (to copy the link with key later);
    # that database is the on-prem controller's, never the cloud's.
    rows = _query(appliance.data_dir / "controller.sqlite3", "SELECT private_key FROM ctl_keys WHERE active = 1")
    assert [r[0] for r in rows] == [key_forms["PKCS#8 base64url"].decode()]
    rows = _query(
        appliance.data_dir / "cloud.sqlite3",
        "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%private%'",
    )
    assert rows == [], f"cloud tables with a private-key column: {rows}"


async def _help_requests(session, org_id: str) -> list[dict]:
    return (await session.get(f"/api/cloud/orgs/{org_id}/help-requests"))["help_requests"]


def _query(path: Path, sql: str) -> list[tuple]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


async def _recorded(viewer: Viewer, stream_id: str) -> bool:
    return any(s["id"] == stream_id for s in await viewer.streams("recorded"))


# ---------------------------------------------------------------- talk-back (issue 16 item 3)


# covers: S4, S17
async def test_cloud_never_holds_talk_back_audio_in_clear(
    appliance, demo_lab, demo_fleet, lab, poll, undock_online, caplog
):
    """An operator talks to Chloe's camera: the Opus packets it said, and the PCM the camera heard,
    are nowhere on the cloud's side — not in its database, its evidence store or its log — and
    what the hub relayed to the camera is the sealed bytes, which the talk key alone opens."""
    fleet = await demo_fleet({CHLOE})
    cam = fleet.cameras[CHLOE]
    system = demo_lab.systems[0]
    await undock_online(fleet, CHLOE)
    await cam.press("record")
    relayed: list[bytes] = []
    play = cam.speaker.play

    def spy(message, now):
        relayed.append(wire_talk.packet_bytes(message.data))
        return play(message, now)

    cam.speaker.play = spy
    rng = np.random.default_rng(16)
    voice = 0.3 * np.sin(2 * np.pi * 300 * np.arange(48_000) / 48_000) + 0.05 * rng.standard_normal(48_000)
    packets = encode_opus(voice.astype(np.float32))
    async with appliance.operator_viewer(system, viewer_class=RecordingViewer) as viewer:
        stream = await viewer.wait_for_stream(timeout=10)
        await poll(lambda: _now(cam._out is not None and cam._out.stream_id == stream["id"]), "the camera's stream")
        await talk(viewer.session, viewer.org_id, stream, viewer.key, packets, viewer.clock, realtime=False)
        await poll(lambda: _now(cam.speaker.packets == len(packets)), "every packet played")
        content_key = envelope.unwrap_content_key(viewer.key.private_key, stream["id"], stream["wrapped_key"])
    heard = (np.clip(cam.speaker.samples(), -1, 1) * 32767).astype("<i2").tobytes()

    needles: dict[bytes, str] = {}
    for packet in packets:
        for w in _windows(packet, stride=4, skip=0):
            needles[w] = "Opus packet said"
    for w in _windows(heard, stride=64, skip=0):
        needles.setdefault(w, "PCM the camera heard")
    needles[content_key[:WINDOW]] = "the stream's content key"
    assert sum(1 for v in needles.values() if v == "Opus packet said") > 5 * len(packets)

    assert _find_windows(b"\0" * 50 + packets[5] + b"\0" * 50, needles), "the search finds a planted packet"
    assert len(relayed) == len(packets) and all(len(r) == len(p) + 16 for r, p in zip(relayed, packets, strict=True))
    assert _find_windows(b"".join(relayed), needles) == [], "the hub relayed plaintext"
    found = []
    for path in _cloud_files(appliance.data_dir):
        found += [
            (path.relative_to(appliance.data_dir), what, at) for at, what in _find_windows(path.read_bytes(), needles)
        ]
    log_text = "\n".join(r.getMessage() for r in caplog.records).encode()
    found += [("log", what, at) for at, what in _find_windows(log_text, needles)]
    assert found == [], f"talk-back audio on the cloud's side: {found[:10]}"


async def _now(value):
    return value
