"""The one JSON loader for untrusted text: request bodies, hub frames, position records.

``json.loads`` alone accepts what bwlab cannot store or must not compute with: nesting deep
enough to exhaust the interpreter's stack (``RecursionError``), lone UTF-16 surrogates
(``"\\ud800"``, which SQLite and UTF-8 encoders refuse later), and the non-standard
``NaN``/``Infinity`` constants or numbers like ``1e400`` that overflow to infinity. ``loads``
refuses all of them up front with a ``JSONTextError`` whose ``code`` is stable
(``malformed_json``), so every boundary answers bad text the same way: a 400 over HTTP, an
``error`` message on the device hub.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from bwlab.errors import WireError

MAX_DEPTH = 32
"""Nesting levels of objects and arrays accepted; bwlab's deepest schema uses fewer than ten."""

# A string (closed, or running to the end of the text: never retried from inside, so the scan is
# linear whatever the text) or a bracket.
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*+(?:"|\\?\Z)|[\[\]{}]', re.DOTALL)


class JSONTextError(WireError, ValueError):
    """Text that is not JSON bwlab accepts; ``code`` is stable."""

    def __init__(self, message: str, code: str = "malformed_json"):
        super().__init__(message)
        self.code = code


def _depth(raw: bytes) -> int:
    """The deepest nesting of objects and arrays, brackets inside strings not counted."""
    depth = deepest = 0
    for match in _TOKENS.finditer(raw):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif token in (b"]", b"}"):
            depth -= 1
    return deepest


def _constant(name: str) -> Any:
    raise JSONTextError(f"{name} is not a JSON number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONTextError(f"number {text[:40]} is out of range")
    return value


def _check_strings(value: Any) -> None:
    """Refuse lone surrogates anywhere (keys included): they cannot be stored or encoded."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise JSONTextError("a string holds a lone UTF-16 surrogate (not a character)") from None
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def loads(text: str | bytes | bytearray, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse untrusted JSON text; JSONTextError says what is wrong with it."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    if _depth(raw) > max_depth:
        raise JSONTextError(f"JSON nested deeper than {max_depth} levels")
    try:
        # UTF-8 only (RFC 8259 §8.1): no guessing UTF-16/32 from the first bytes as json.loads would
        value = json.loads(raw.decode("utf-8"), parse_constant=_constant, parse_float=_float)
    except JSONTextError:
        raise
    except (RecursionError, ValueError) as exc:  # syntax, not UTF-8, ints of more than 4300 digits
        raise JSONTextError(str(exc)) from None
    _check_strings(value)
    return value
