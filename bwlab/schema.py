"""Typed loading of untrusted mappings into frozen dataclasses (CONVENTIONS 12).

Request bodies, WebSocket payloads and scenario files all pass through ``from_mapping``: unknown
keys are rejected, every value is checked against the dataclass field's type, and the error
names the path of the bad key (``profiles[1].remote_activation``) and what was expected.
Field metadata may add constraints: ``field(metadata={"min": 0, "max": 10, "max_len": 64})``,
``"pattern"`` (a regular expression the whole string must match), ``"nonempty"``, ``"choices"``,
``"max_items"``, and ``"expected"`` (what a fixed-length tuple such as ``tuple[float, float]`` is
called in its error: ``"a position [x, y] in metres"``). Whatever the metadata, a number
must be finite and an integer must fit SQLite's 64 bits: nothing loaded here fails to store.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from bwlab.errors import InputError

T = TypeVar("T")


class SchemaError(InputError, ValueError):
    """A value does not fit its schema; ``path`` names where, ``expected`` says what fits."""

    def __init__(self, path: str, expected: str, got: Any = dataclasses.MISSING):
        self.path = path or "(top level)"
        self.expected = expected
        if got is dataclasses.MISSING:
            message = f"{self.path}: {expected}"
        else:
            message = f"{self.path}: expected {expected}, got {_describe(got)}"
        super().__init__(message)


class FieldError(InputError, ValueError):
    """Raised by a dataclass's ``__post_init__`` to name the bad field (relative to the dataclass,
    ``dns[1]``); ``from_mapping`` prefixes it with the dataclass's own path (``network.dns[1]``)."""

    def __init__(self, field: str, expected: str, got: Any = dataclasses.MISSING):
        self.field, self.expected, self.got = field, expected, got
        super().__init__(str(SchemaError(field, expected, got)))


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"string {shown!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table/object"
    return type(value).__name__


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp))
    if origin is list or (origin is tuple and get_args(tp)[1:] == (Ellipsis,)):
        return f"a list of {_type_name(get_args(tp)[0])}"
    if origin is tuple:
        return f"a list of {len(get_args(tp))} items ({', '.join(_type_name(a) for a in get_args(tp))})"
    if origin is dict:
        return "a table"
    if dataclasses.is_dataclass(tp):
        return "a table"
    return {str: "a string", int: "an integer", float: "a number", bool: "a boolean", type(None): "null"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _convert(tp: Any, value: Any, path: str, meta: typing.Mapping[str, Any]) -> Any:
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin is Literal:
        if value in get_args(tp) and type(value) in {type(a) for a in get_args(tp)}:
            return value
        raise SchemaError(path, _type_name(tp), value)
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(arg, value, path, meta)
            except SchemaError as exc:
                errors.append(exc)
        if len(errors) == 1:
            raise errors[0]
        raise SchemaError(path, _type_name(tp), value)
    if origin is tuple and get_args(tp) and get_args(tp)[1:] != (Ellipsis,):  # fixed length: tuple[float, float]
        args = get_args(tp)
        if not isinstance(value, (list, tuple)) or len(value) != len(args):
            raise SchemaError(path, meta.get("expected") or _type_name(tp), value)
        return tuple(_convert(a, v, _join(path, i), {}) for i, (a, v) in enumerate(zip(args, value, strict=True)))
    if origin is list or origin is tuple:
        if not isinstance(value, list):
            raise SchemaError(path, _type_name(tp), value)
        if "max_items" in meta and len(value) > meta["max_items"]:
            raise SchemaError(path, f"at most {meta['max_items']} items, got {len(value)}")
        (item_tp, *_) = get_args(tp) or (Any,)
        items = [_convert(item_tp, v, _join(path, i), {}) for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise SchemaError(path, "a table", value)
        key_tp, val_tp = get_args(tp) or (str, Any)
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise SchemaError(path, "string keys", k)
            out[k] = _convert(val_tp, v, _join(path, k), {})
        return out
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return from_mapping(tp, value, path)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise SchemaError(path, "a boolean", value)
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            _check_range(value, path, meta)
            return value
        raise SchemaError(path, "an integer", value)
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            _check_range(value, path, meta)
            return float(value)
        raise SchemaError(path, "a number", value)
    if tp is str:
        if not isinstance(value, str):
            raise SchemaError(path, "a string", value)
        if "max_len" in meta and len(value) > meta["max_len"]:
            raise SchemaError(path, f"a string of at most {meta['max_len']} characters")
        if meta.get("nonempty") and not value.strip():
            raise SchemaError(path, "a non-empty string", value)
        if "pattern" in meta and re.fullmatch(meta["pattern"], value) is None:
            raise SchemaError(path, f"a string matching {meta['pattern']}", value)
        if "choices" in meta and value not in meta["choices"]:
            raise SchemaError(path, "one of " + ", ".join(map(repr, meta["choices"])), value)
        return value
    raise TypeError(f"schema type {tp!r} at {path} is not supported")


_INT64 = 2**63


def _check_range(value: float, path: str, meta: typing.Mapping[str, Any]) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise SchemaError(path, "a finite number", value)
    if isinstance(value, int) and not -_INT64 <= value < _INT64:
        raise SchemaError(path, "an integer that fits in 64 bits", value)
    if "min" in meta and value < meta["min"]:
        raise SchemaError(path, f"a value ≥ {meta['min']}", value)
    if "max" in meta and value > meta["max"]:
        raise SchemaError(path, f"a value ≤ {meta['max']}", value)


def join_path(path: str, key: str | int) -> str:
    """The path of ``key`` inside ``path``: ``network.dns``, ``dns[1]``."""
    return _join(path, key)


def check_table(data: Any, path: str, allowed: typing.Iterable[str]) -> None:
    """``data`` is a table whose keys are all ``allowed`` (the first check of ``from_mapping``; on
    its own, for a partial change whose values are checked later)."""
    if not isinstance(data, dict):
        raise SchemaError(path, "a table/object", data)
    allowed = sorted(allowed)
    unknown = sorted(set(data) - set(allowed), key=str)
    if unknown:
        raise SchemaError(
            _join(path, str(unknown[0])),
            f"a known key (unknown key; expected one of {', '.join(allowed)})",
        )


def from_mapping(cls: type[T], data: Any, path: str = "") -> T:
    """Build dataclass ``cls`` from ``data``, rejecting unknown keys and wrong types."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    check_table(data, path, fields)
    hints = get_type_hints(cls)
    kwargs = {}
    for name, f in fields.items():
        sub = _join(path, name)
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise SchemaError(sub, f"{_type_name(hints[name])} (required key is missing)")
            continue
        kwargs[name] = _convert(hints[name], data[name], sub, f.metadata)
    try:
        return cls(**kwargs)
    except FieldError as exc:
        raise SchemaError(_join(path, exc.field), exc.expected, exc.got) from None
    except SchemaError:
        raise
    except (ValueError, TypeError) as exc:
        raise SchemaError(path, str(exc)) from None


def as_json(obj: Any) -> Any:
    """A dataclass (or nested structure of them) as JSON-ready data."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: as_json(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [as_json(v) for v in obj]
    if isinstance(obj, dict):
        return {k: as_json(v) for k, v in obj.items()}
    if isinstance(obj, (frozenset, set)):
        return sorted(obj)
    return obj
