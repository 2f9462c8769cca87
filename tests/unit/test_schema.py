"""bwlab.schema: untrusted mappings into frozen dataclasses, with the bad key's path in every
error (CONVENTIONS 12). Request bodies, hub messages and scenario files all depend on it."""

# covers: L1

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest

from bwlab.schema import SchemaError, as_json, check_table, from_mapping


@dataclass(frozen=True)
class Net:
    ssid: str = field(metadata={"max_len": 8, "nonempty": True})
    password: str = ""


@dataclass(frozen=True)
class Thing:
    name: str
    count: int = field(default=1, metadata={"min": 1, "max": 8})
    ratio: float = 0.5
    on: bool = False
    mode: Literal["a", "b"] = "a"
    colour: str = field(default="red", metadata={"choices": ("red", "blue")})
    note: str | None = None
    net: Net | None = None
    nets: list[Net] = field(default_factory=list, metadata={"max_items": 2})
    tags: list[str] = field(default_factory=list)
    by_name: dict[str, Net] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Checked:
    low: int
    high: int

    def __post_init__(self):
        if self.low > self.high:
            raise ValueError("low must not exceed high")


def error(cls, data) -> SchemaError:
    with pytest.raises(SchemaError) as info:
        from_mapping(cls, data)
    return info.value


def test_a_full_mapping_round_trips():
    data = {
        "name": "x",
        "count": 3,
        "ratio": 2,
        "on": True,
        "mode": "b",
        "colour": "blue",
        "note": None,
        "net": {"ssid": "N", "password": "p"},
        "nets": [{"ssid": "A"}],
        "tags": ["t"],
        "by_name": {"k": {"ssid": "K"}},
        "extra": {"anything": [1, {"x": None}]},
    }
    thing = from_mapping(Thing, data)
    assert thing.ratio == 2.0 and isinstance(thing.ratio, float)
    assert thing.net == Net("N", "p") and thing.nets == [Net("A")] and thing.by_name == {"k": Net("K")}
    assert as_json(thing) == {
        **data,
        "ratio": 2.0,
        "nets": [{"ssid": "A", "password": ""}],
        "by_name": {"k": {"ssid": "K", "password": ""}},
    }
    assert from_mapping(Thing, as_json(thing)) == thing
    assert dataclasses.is_dataclass(thing)
    with pytest.raises(dataclasses.FrozenInstanceError):
        thing.name = "y"  # type: ignore[misc]


def test_defaults_fill_missing_optional_keys():
    assert from_mapping(Thing, {"name": "x"}) == Thing("x")


@pytest.mark.parametrize(
    "data, path, words",
    [
        ({"name": "x", "cuont": 2}, "cuont", ["unknown key", "count"]),
        ({"name": "x", "net": {"ssid": "N", "pasword": ""}}, "net.pasword", ["unknown key", "password"]),
        ({"name": "x", "nets": [{"ssid": "A"}, {"ssid": "B", "x": 1}]}, "nets[1].x", ["unknown key"]),
        ({}, "name", ["a string (required key is missing)"]),
        ({"name": "x", "net": {}}, "net.ssid", ["required key is missing"]),
        ({"name": 5}, "name", ["expected a string, got number 5"]),
        ({"name": "x", "count": "3"}, "count", ["expected an integer, got string '3'"]),
        ({"name": "x", "count": True}, "count", ["expected an integer, got boolean true"]),
        ({"name": "x", "count": 2.5}, "count", ["expected an integer, got number 2.5"]),
        ({"name": "x", "count": 0}, "count", ["≥ 1", "number 0"]),
        ({"name": "x", "count": 9}, "count", ["≤ 8", "number 9"]),
        ({"name": "x", "ratio": "1"}, "ratio", ["expected a number"]),
        ({"name": "x", "ratio": False}, "ratio", ["expected a number, got boolean false"]),
        ({"name": "x", "on": 1}, "on", ["expected a boolean, got number 1"]),
        ({"name": "x", "on": "true"}, "on", ["expected a boolean, got string 'true'"]),
        ({"name": "x", "mode": "c"}, "mode", ["one of 'a', 'b'", "string 'c'"]),
        ({"name": "x", "mode": None}, "mode", ["one of 'a', 'b'", "null"]),
        ({"name": "x", "colour": "green"}, "colour", ["one of 'red', 'blue'", "'green'"]),
        ({"name": "x", "note": 3}, "note", ["expected a string, got number 3"]),
        ({"name": "x", "net": "N"}, "net", ["a table/object", "string 'N'"]),
        ({"name": "x", "nets": {"ssid": "A"}}, "nets", ["a list of a table", "a table/object"]),
        ({"name": "x", "nets": [{"ssid": "A"}] * 3}, "nets", ["at most 2 items, got 3"]),
        ({"name": "x", "nets": [{"ssid": "A"}, {"ssid": 7}]}, "nets[1].ssid", ["expected a string, got number 7"]),
        ({"name": "x", "nets": [{"ssid": "A"}, {"ssid": "   "}]}, "nets[1].ssid", ["a non-empty string"]),
        ({"name": "x", "net": {"ssid": "123456789"}}, "net.ssid", ["at most 8 characters"]),
        ({"name": "x", "tags": ["a", 1]}, "tags[1]", ["expected a string, got number 1"]),
        ({"name": "x", "by_name": {"k": {"ssid": 1}}}, "by_name.k.ssid", ["expected a string"]),
        ({"name": "x", "by_name": []}, "by_name", ["a table", "a list"]),
    ],
)
def test_errors_name_the_key_path_and_the_expectation(data, path, words):
    exc = error(Thing, data)
    assert exc.path == path
    message = str(exc)
    assert message.startswith(f"{path}: "), message
    for w in words:
        assert w in message, (w, message)


def test_top_level_must_be_an_object():
    for value in ([], "x", None, 3):
        exc = error(Thing, value)
        assert exc.path == "(top level)"
        assert "expected a table/object" in str(exc)


def test_post_init_checks_become_schema_errors_at_the_table_path():
    assert from_mapping(Checked, {"low": 1, "high": 2}) == Checked(1, 2)
    exc = error(Checked, {"low": 3, "high": 2})
    assert str(exc) == "(top level): low must not exceed high"

    @dataclass(frozen=True)
    class Outer:
        inner: Checked

    exc = error(Outer, {"inner": {"low": 3, "high": 2}})
    assert exc.path == "inner" and "low must not exceed high" in str(exc)


def test_long_strings_are_shortened_in_messages():
    exc = error(Thing, {"name": "x", "mode": "m" * 500})
    assert len(str(exc)) < 200
    assert "..." in str(exc)


def test_as_json_of_sets_and_tuples():
    assert as_json({"s": {"b", "a"}, "t": (1, 2), "f": frozenset({"5", "2.4"})}) == {
        "s": ["a", "b"],
        "t": [1, 2],
        "f": ["2.4", "5"],
    }


@dataclass(frozen=True)
class Placed:
    at: tuple[float, float] = field(default=(0.0, 0.0), metadata={"expected": "a position [x, y] in metres"})
    bands: tuple[int, ...] = ()


def test_fixed_length_tuple_checks_its_length_and_each_item():
    assert from_mapping(Placed, {"at": [1, 2.5], "bands": [3, 20]}) == Placed((1.0, 2.5), (3, 20))
    for bad in ([1], [1, 2, 3], "1,2", {"x": 1}):
        with pytest.raises(SchemaError) as err:
            from_mapping(Placed, {"at": bad}, "cells[0]")
        assert err.value.path == "cells[0].at" and "a position [x, y] in metres" in str(err.value)
    with pytest.raises(SchemaError) as err:
        from_mapping(Placed, {"at": [1, "north"]})
    assert err.value.path == "at[1]" and "a number" in str(err.value)
    with pytest.raises(SchemaError, match=r"bands\[0\]: expected an integer"):
        from_mapping(Placed, {"bands": [2.5]})


def test_check_table_rejects_unknown_keys_only():
    check_table({"ssid": "x"}, "set", ("ssid", "channel"))
    with pytest.raises(SchemaError) as err:
        check_table({"ssid": "x", "colour": 1}, "set", ("ssid", "channel"))
    assert err.value.path == "set.colour" and "unknown key" in str(err.value) and "channel, ssid" in str(err.value)
    with pytest.raises(SchemaError, match="set: expected a table/object"):
        check_table(["ssid"], "set", ("ssid",))
