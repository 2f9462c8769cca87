"""The pure checks behind issue 10's input hardening: the JSON loader, identifiers and device
timestamps, paths under the data directory, the schema's number bounds, and which stored rows
are quarantined."""

# covers: D8, S17

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field

import pytest

from appliance.datadir import UnsafePath, under
from appliance.quarantine import container_problem
from bwlab.schema import SchemaError, from_mapping
from bwlab.wire import chunk as wire_chunk
from bwlab.wire import identifiers, jsontext
from bwlab.wire import messages as m


@pytest.mark.parametrize(
    "text",
    [
        "[" * 33 + "]" * 33,
        '{"a":' * 40 + "1" + "}" * 40,
        "[" * 5000 + "]" * 5000,
        '"\\ud800"',
        '{"\\udfff": 1}',
        '["ok", "x\\ud83d"]',
        "NaN",
        "[Infinity]",
        '{"a": -Infinity}',
        "1e400",
        "-1e999",
        b"\xff\xfe",
        "",
        "{",
        '{"a": 1',
        "1" * 5000,
        '{"a": 1}'.encode("utf-16"),
        "[1]".encode("utf-32-le"),
    ],
)
def test_the_loader_refuses_what_cannot_be_stored_or_computed(text):
    with pytest.raises(jsontext.JSONTextError) as exc:
        jsontext.loads(text)
    assert exc.value.code == "malformed_json"


def test_the_loader_accepts_json_within_the_limits_and_brackets_in_strings_do_not_count():
    assert jsontext.loads("[" * 32 + "]" * 32) is not None
    assert jsontext.loads('{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}') == {"a": "[" * 42}
    assert jsontext.loads('{"k\\\\": ["\\"]", 1.5, 1e308, "\\ud83d\\ude00"]}') == {"k\\": ['"]', 1.5, 1e308, "😀"]}


@pytest.mark.parametrize(
    "text", [b'\\"' * 32000, b'["' + b'\\"' * 32000, b'["' + b'\\"' * 32000 + b"\\", b'"' * 65536, b'"' + b"a" * 65000]
)
def test_unterminated_strings_full_of_escapes_are_refused(text):
    """Inputs that made a string-stripping scan retry from every quote (quadratic time): each is
    refused in one pass (the per-test timeout would catch the old behaviour)."""
    with pytest.raises(jsontext.JSONTextError):
        jsontext.loads(text)


@pytest.mark.parametrize(
    "value,ok",
    [
        ("3f2a9c1e7b4d4e8a9c615d0e2b7f8a14", True),
        ("trk-abc", True),
        ("str_01", True),
        ("S" * 64, True),
        ("S" * 65, False),
        ("", False),
        ("..", False),
        ("../x", False),
        ("a/b", False),
        ("-x", False),
        ("_x", False),
        (".hidden", False),
        ("a.b", False),
        ("a\x00", False),
        ("é", False),
        (None, False),
        (5, False),
    ],
)
def test_identifiers(value, ok):
    assert identifiers.is_id(value) is ok


@pytest.mark.parametrize(
    "value,ok",
    [
        (1.8e9, True),
        (identifiers.EARLIEST, True),
        (identifiers.LATEST, True),
        (0.0, False),
        (-1.0, False),
        (1e308, False),
        (math.nan, False),
        (math.inf, False),
        (True, False),
        ("1.8e9", False),
    ],
)
def test_device_timestamps(value, ok):
    assert identifiers.is_timestamp(value) is ok


def test_device_messages_refuse_bad_ids_and_numbers():
    base = {"type": "stream_stop", "stream_id": "s-1", "reason": "stop"}
    assert m.decode(m.encode(m.StreamStop(**{k: v for k, v in base.items() if k != "type"}))).stream_id == "s-1"
    for bad in (
        {"stream_id": "../x"},
        {"ended_at": 1e308},
        {"ended_at": -5.0},
        {"last_seq": -1},
        {"last_seq": 2**63},
        {"stream_id": "a" * 65},
    ):
        with pytest.raises(m.ProtocolError) as exc:
            m.decode(json.dumps({**base, **bad}))
        assert exc.value.code == "invalid_message", bad


def test_a_chunk_header_with_a_path_in_its_stream_id_is_refused():
    key = os.urandom(32)
    good = wire_chunk.Chunk("s-1", wire_chunk.KIND_INIT, 0, 1.8e9, 0.0, False, os.urandom(40)).encode(key)
    assert wire_chunk.decode(good).stream_id == "s-1"
    for sid in ("../../x", "..", "a/b"):
        frame = wire_chunk.Chunk(sid, wire_chunk.KIND_INIT, 0, 1.8e9, 0.0, False, os.urandom(40)).encode(key)
        with pytest.raises(wire_chunk.ChunkError):
            wire_chunk.decode(frame)
    huge = bytearray(good)
    huge[8:16] = (2**63).to_bytes(8, "big")
    with pytest.raises(wire_chunk.ChunkError):
        wire_chunk.decode(bytes(huge))


def test_paths_stay_under_their_root(tmp_path):
    root = tmp_path / "evidence"
    root.mkdir()
    assert under(root, "eu", "org_1", "s-1", "000000000001.bwc") == root.resolve() / "eu/org_1/s-1/000000000001.bwc"
    for names in [("..",), ("eu", "..", "x"), ("eu/../..",), ("",), (".",), ("a\x00",), ("/etc",), ()]:
        with pytest.raises(UnsafePath):
            under(root, *names)
    (root / "eu").mkdir()
    (root / "eu" / "link").symlink_to(tmp_path)  # a link out of the root is refused too
    with pytest.raises(UnsafePath):
        under(root, "eu", "link", "x")


@dataclass(frozen=True)
class _Numbers:
    f: float = 0.0
    i: int = 0
    name: str = field(default="a", metadata={"pattern": identifiers.ID_PATTERN})


def test_the_schema_refuses_non_finite_numbers_and_integers_sqlite_cannot_store():
    assert from_mapping(_Numbers, {"f": 1e308, "i": 2**63 - 1, "name": "ok-1"}).i == 2**63 - 1
    for bad in ({"f": math.inf}, {"f": math.nan}, {"i": 2**63}, {"i": -(2**63) - 1}, {"name": "../x"}):
        with pytest.raises(SchemaError):
            from_mapping(_Numbers, bad)


def _row(**override):
    row = {
        "id": "s-1",
        "org_id": "org_1",
        "region": "eu",
        "started_at": 1.8e9,
        "ended_at": None,
        "end_reason": None,
        "last_seq": None,
        "upload_key": "00" * 32,
        "wrapped_key": "{}",
    }
    row.update(override)
    return row


@pytest.mark.parametrize(
    "override,problem",
    [
        ({}, None),
        ({"ended_at": 1.8e9 + 5, "end_reason": "stop", "last_seq": 4}, None),
        ({"started_at": 1e308}, "started_at"),
        ({"started_at": math.inf}, "started_at"),
        ({"end_reason": "stop"}, "NaN"),
        ({"ended_at": -1.0, "end_reason": "stop"}, "ended_at"),
        ({"id": "../../victim"}, "id"),
        ({"region": ".."}, "region"),
        ({"upload_key": "zz"}, "upload_key"),
        ({"wrapped_key": "[1]"}, "wrapped_key"),
        ({"last_seq": -3}, "last_seq"),
    ],
)
def test_which_stored_rows_are_quarantined(override, problem):
    found = container_problem(_row(**override))
    assert (found is None) if problem is None else (problem in found), found
