"""What an ``expect`` step of a scenario timeline may assert, and how a value is judged (SPEC L1).

Keys name a view of one camera and a dotted path inside it (``state.leds.wifi``,
``radio.mobile.sim_status``) or a whole finding (``diagnosis``). Every key is checked when the
scenario loads (``check_expectation``): an unknown view, a malformed path or a value of a form
this module does not know is refused before anything starts, naming the step and the key.

At run time the value found at the path is judged by ``judge``, which says *why* a value does not
match: a path that does not exist is never taken for "no value" (so a mistyped key fails instead
of matching ``""``), and a number compared with a string is a type mismatch, not merely unequal.

The forms of an expected value:

=========================  =================================================================
``""``                     shows nothing: null, an empty string, list or table
``"*"``                    shows something (anything but the above)
``"<-75"`` ``">=200"``     a number compared with a bound (``<``, ``<=``, ``>``, ``>=``)
``{min = a, max = b}``     a number in a range (either bound may be left out; inclusive)
``{approx = v, tolerance = t}``  a number within ``t`` of ``v``
``{within_s = n}``         a lab-time timestamp (seconds) at most ``n`` seconds from lab now
``{one_of = [a, b]}``      equal to one of the values
``{contains = v}``         a list that contains ``v``, or a string that contains it
anything else              equal (booleans only equal booleans; numbers compare as numbers)
=========================  =================================================================
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

#: Whole-finding keys and what each takes.
FINDINGS = {
    "diagnosis": 'a diagnosis code or a list of codes the diagnosis (L3) must name, e.g. ["T3-2b"]; [] for none '
    "at all (a healthy camera)",
    "no_diagnosis": "a diagnosis code or a list of codes the diagnosis must not name",
    "viewer": 'what an operator sees of the camera user\'s live stream: "plays", "refused", "no_stream" '
    'or "no_image" (S1)',
    "troubleshooting": '"available", or the code the troubleshooting pages (T1) answer when they cannot be read',
}
#: Views of a camera that take a dotted path, and what each is.
VIEWS = {
    "state": "the camera's reported state (GET /api/lab/cameras): LEDs, screen, streaming, recording, …",
    "radio": "the camera's radio part of that state: wifi, mobile, link, ntp, roams, mode",
    "troubleshooting": "a field of the camera's troubleshooting pages (T1)",
    "status": "the camera as GET /api/lab/status lists it: online, last_refusal, certificate",
    "manager": "the camera as its Manager lists it (GET /controller/{id}/api/cameras)",
}
VIEWERS = ("plays", "refused", "no_stream", "no_image")
_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.([A-Za-z_][A-Za-z0-9_]*|[0-9]+))*$")
_COMPARISON = re.compile(r"^(<=|>=|<|>)\s*(-?[0-9]+(\.[0-9]+)?)$")
_DIAGNOSIS_CODE = re.compile(r"^T[1-5]-[0-9]+[a-z]?(-[a-z]+)?$")
TABLE_FORMS = {"min", "max", "approx", "tolerance", "within_s", "one_of", "contains"}


class Missing:
    """The value at a path that does not exist (no such key in the view)."""

    def __init__(self, where: str):
        self.where = where

    def __repr__(self) -> str:
        return f"<no such key: {self.where}>"


def split_key(key: str) -> tuple[str, str]:
    """``state.leds.wifi`` → ("state", "leds.wifi"); ``diagnosis`` → ("diagnosis", "")."""
    head, _, path = key.partition(".")
    return head, path


def check_expectation(key: str, expected: Any) -> str | None:
    """Why ``key = expected`` cannot be an expectation, or None when it can."""
    head, path = split_key(key)
    if not path:
        if key not in FINDINGS:
            return (
                "a known expectation: "
                + ", ".join(sorted(FINDINGS))
                + ", or a path under "
                + ", ".join(f"{v}." for v in VIEWS)
            )
        if key in ("diagnosis", "no_diagnosis"):
            codes = [expected] if isinstance(expected, str) else expected
            if not isinstance(codes, list) or not all(isinstance(c, str) and _DIAGNOSIS_CODE.match(c) for c in codes):
                return 'a diagnosis code like "T3-2b" or a list of them'
            if not codes and key == "no_diagnosis":
                return 'a diagnosis code like "T3-2b" or a non-empty list of them'
        elif key == "viewer":
            if expected not in VIEWERS:
                return "one of " + ", ".join(f'"{v}"' for v in VIEWERS)
        elif not isinstance(expected, str):
            return '"available" or the code the pages answer with'
        return None
    if head not in VIEWS:
        return "a path under one of " + ", ".join(f"{v}." for v in VIEWS)
    if not _PATH.match(path):
        return "a dotted path of names and list positions, e.g. state.leds.wifi or radio.roams.0.event"
    return _check_value(expected)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_value(expected: Any) -> str | None:
    if isinstance(expected, str) and expected.startswith(("<", ">")):
        if not _COMPARISON.match(expected):
            return 'a comparison with a number, like "<-75" or ">=200"'
        return None
    if isinstance(expected, dict):
        unknown = set(expected) - TABLE_FORMS
        if unknown or not expected:
            return (
                "a table of " + ", ".join(sorted(TABLE_FORMS)) + f" (unknown: {', '.join(sorted(unknown)) or 'empty'})"
            )
        forms = set(expected)
        if forms <= {"min", "max"}:
            if not all(_number(expected[k]) for k in forms):
                return "{min = <number>, max = <number>}"
            if forms == {"min", "max"} and expected["min"] > expected["max"]:
                return "a range whose min is at most its max"
        elif forms == {"approx", "tolerance"}:
            if not (_number(expected["approx"]) and _number(expected["tolerance"]) and expected["tolerance"] >= 0):
                return "{approx = <number>, tolerance = <number ≥ 0>}"
        elif forms == {"within_s"}:
            if not (_number(expected["within_s"]) and expected["within_s"] >= 0):
                return "{within_s = <seconds ≥ 0>}"
        elif forms == {"one_of"}:
            if not isinstance(expected["one_of"], list) or not expected["one_of"]:
                return "{one_of = [<value>, …]} with at least one value"
        elif forms == {"contains"}:
            return None
        else:
            return "one form: {min, max}, {approx, tolerance}, {within_s}, {one_of} or {contains}"
    return None


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "list", dict: "table"}.get(
        type(value), type(value).__name__
    )


@dataclass(frozen=True)
class Verdict:
    ok: bool
    why: str = ""


HOLDS = Verdict(True)


def judge(expected: Any, actual: Any, now: float) -> Verdict:
    """Whether ``actual`` (the value at the key's path, or a ``Missing``) satisfies ``expected``;
    ``now`` is lab time, for ``within_s``."""
    if isinstance(actual, Missing):
        return Verdict(False, f"the path does not exist ({actual.where})")
    if expected == "":
        return HOLDS if _empty(actual) else Verdict(False, "expected nothing shown")
    if expected == "*":
        return HOLDS if not _empty(actual) else Verdict(False, "expected something shown")
    if isinstance(expected, str) and expected.startswith(("<", ">")):
        m = _COMPARISON.match(expected)
        if m is None or not _number(actual):
            return Verdict(False, f"type mismatch: a number is compared, the value is a {_type(actual)}")
        op, bound = m.group(1), float(m.group(2))
        ok = {"<": actual < bound, ">": actual > bound, "<=": actual <= bound, ">=": actual >= bound}[op]
        return HOLDS if ok else Verdict(False, f"not {op} {m.group(2)}")
    if isinstance(expected, dict):
        return _judge_table(expected, actual, now)
    if isinstance(expected, bool) or isinstance(actual, bool):
        if type(expected) is not type(actual):
            return Verdict(False, f"type mismatch: expected a {_type(expected)}, the value is a {_type(actual)}")
        return HOLDS if expected is actual else Verdict(False, "not equal")
    if _number(expected) and isinstance(actual, (int, float)):
        return HOLDS if float(expected) == float(actual) else Verdict(False, "not equal")
    if actual is not None and _type(expected) != _type(actual):
        return Verdict(False, f"type mismatch: expected a {_type(expected)}, the value is a {_type(actual)}")
    return HOLDS if expected == actual else Verdict(False, "not equal")


def _judge_table(expected: dict, actual: Any, now: float) -> Verdict:
    forms = set(expected)
    if forms == {"one_of"}:
        return (
            HOLDS if any(judge(v, actual, now).ok for v in expected["one_of"]) else Verdict(False, "none of the values")
        )
    if forms == {"contains"}:
        if not isinstance(actual, (list, str)):
            return Verdict(False, f"type mismatch: contains needs a list or a string, the value is a {_type(actual)}")
        return HOLDS if expected["contains"] in actual else Verdict(False, "not contained")
    if not _number(actual):
        return Verdict(False, f"type mismatch: a number is compared, the value is a {_type(actual)}")
    if forms == {"within_s"}:
        gap = abs(now - actual)
        return HOLDS if gap <= expected["within_s"] else Verdict(False, f"{gap:.1f} s from lab now")
    if forms == {"approx", "tolerance"}:
        gap = abs(actual - expected["approx"])
        return HOLDS if gap <= expected["tolerance"] else Verdict(False, f"{gap:g} away")
    low, high = expected.get("min", -math.inf), expected.get("max", math.inf)
    return HOLDS if low <= actual <= high else Verdict(False, "out of range")


def dig(data: Any, path: str) -> Any:
    """``data`` at a dotted ``path`` (list items by number). A key absent from a table, or a list
    position past its end, gives a ``Missing``; a null on the way gives null (nothing shown)."""
    walked: list[str] = []
    for part in path.split(".") if path else []:
        if data is None:
            return None
        if isinstance(data, dict):
            if part not in data:
                return Missing(".".join(walked + [part]) + " — known here: " + (", ".join(sorted(data)) or "none"))
            data = data[part]
        elif isinstance(data, list):
            if not part.isdigit() or int(part) >= len(data):
                return Missing(".".join(walked + [part]) + f" — the list has {len(data)} items")
            data = data[int(part)]
        else:
            return Missing(".".join(walked + [part]) + f" — {'.'.join(walked) or 'the view'} is a {_type(data)}")
        walked.append(part)
    return data
