"""docs/scenarios.md, written from the code that reads scenario files (SPEC L1).

The page lists every top-level table and key of a scenario file with its type (from the
dataclasses of bwlab/scenario.py), every timeline action (``ACTIONS``), every ``expect`` key and
value form (bwlab/expect.py) and ``bwlab test``'s options (its argument parser), so the document
cannot drift from what the loader accepts: tests/unit/test_scenario_reference.py fails when the
page and this output differ. Refresh it with ``python3 -m bwlab.scenario_reference > docs/scenarios.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from collections.abc import Sequence
from typing import Any, get_args, get_origin

from bwlab import example_scenarios, expect, regression, scenario
from bwlab.schema import _type_name

HEADER = """# Scenario files and `bwlab test`

<!-- Written by `python3 -m bwlab.scenario_reference > docs/scenarios.md`; do not edit by hand. -->

A scenario is a TOML file that declares a lab (accounts, an organization, systems with their
Wi-Fi networks, profiles, camera users, docks and cameras, access points, cells, routes) and a
timeline of actions and expectations. `bwlab up FILE` runs it as a demo; `bwlab test PATH…` runs
files as a regression suite, each against a lab of its own, and exits 0 only when every
expectation held. Examples to copy: `examples/scenarios/` (below) and `tests/scenarios/`, one
file per row of the manual's troubleshooting tables T2–T4 (`docs/network-faults.md` maps rows to
files); several chain a symptom, a fix and a recovery (`t2-3b-six-days-wifi`: six days away,
docked, healthy again; `t3-4-too-far`: walks out of range and back; `t2-6-ntp-offset`).

Every file is checked before anything starts: an unknown key, a value of the wrong type, an
unknown action or expect key, a value form this page does not list, or a step that could never run
at its time stops the run with exit status 2, naming the file, the step and the key.
"""


def _fields(cls: Any) -> list[tuple[str, str, str]]:
    hints = typing.get_type_hints(cls)
    rows = []
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        if f.default is not dataclasses.MISSING:
            default = repr(f.default).replace("None", "none").replace("True", "true").replace("False", "false")
        elif f.default_factory is not dataclasses.MISSING:
            default = "empty"
        else:
            default = "required"
        rows.append((f.name, _describe(tp), default))
    return rows


def _describe(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is list:
        (item,) = get_args(tp) or (Any,)
        if isinstance(item, type) and dataclasses.is_dataclass(item):
            return f"list of [{item.__name__}](#{item.__name__.lower()})"
        return f"list of {_describe(item)}"
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return f"[{tp.__name__}](#{tp.__name__.lower()})"
    args = [a for a in get_args(tp) if a is not type(None)]
    if args and len(args) < len(get_args(tp)) and len(args) == 1:
        return _describe(args[0]) + " or none"
    return _type_name(tp)


def _table(rows: Sequence[tuple[str, ...]], head: tuple[str, ...]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _classes() -> list[type]:
    seen: list[type] = []

    def walk(cls: type) -> None:
        if cls in seen:
            return
        seen.append(cls)
        for tp in typing.get_type_hints(cls).values():
            for candidate in (tp, *get_args(tp), *(a for arg in get_args(tp) for a in get_args(arg))):
                if dataclasses.is_dataclass(candidate) and isinstance(candidate, type):
                    walk(candidate)

    walk(scenario.Scenario)
    return seen


def _test_options() -> list[tuple[str, str]]:
    parser = argparse.ArgumentParser()
    regression.add_parser(parser.add_subparsers())
    test = next(a for a in parser._subparsers._group_actions[0].choices.values())  # type: ignore[union-attr]
    rows = []
    for action in test._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        names = ", ".join(action.option_strings) or action.metavar or action.dest
        rows.append((f"`{names}`", (action.help or "").replace("%%", "%")))
    return rows


def render() -> str:
    parts = [HEADER, "## `bwlab test`\n", _table(_test_options(), ("option", "meaning")), ""]
    parts += [example_scenarios.section()]
    parts += [
        "## The file\n",
        "Tables and keys, with their types and defaults. The lab network's tables (`access_points`, "
        "`cells`, `radio`, `mobile`) and a camera's `sim` take the keys of the radio models "
        "(docs/network-faults.md).\n",
    ]
    for cls in _classes():
        doc = (cls.__doc__ or "").strip()
        if doc.startswith(cls.__name__ + "("):
            doc = ""
        parts += [
            f"### {cls.__name__}\n",
            (doc.split("\n\n")[0].replace("\n", " ") + "\n") if doc else "",
            _table(_fields(cls), ("key", "type", "default")),
            "",
        ]
    parts += [
        "## Timeline actions\n",
        "Each `[[timeline]]` step has an `action`, an optional `at` (real seconds after the timeline "
        "starts; steps run in file order, `at` never goes back, and a step without `at` runs as soon "
        "as the one before it is done) and, where it acts on one, a `camera` (its serial).\n",
        _table(
            [
                (f"`{name}`", ", ".join(f"`{k.strip()}`" for k in keys.split(",")) if keys else "", what)
                for name, (keys, what) in scenario.ACTIONS.items()
            ],
            ("action", "keys", "what it does"),
        ),
        "",
    ]
    parts += [
        "## Expect keys\n",
        "An `expect` step's `[timeline.expect]` table maps keys to expected values. A key is a finding or "
        "a view of the step's camera followed by a dotted path (list items by number: `radio.roams.0.event`). "
        'A path that does not exist fails the step — it never passes for "shows nothing" — and the '
        "failure names the keys that do exist there.\n",
        _table([(f"`{k}`", v) for k, v in expect.FINDINGS.items()], ("finding", "value")),
        "",
        _table([(f"`{k}.<path>`", v) for k, v in expect.VIEWS.items()], ("view", "what it is")),
        "",
    ]
    parts += [
        "## Watch keys\n",
        "A `watch` step's `expect` table judges what the reference viewer saw, with the same value forms.\n",
        _table([(f"`{k}`", v) for k, v in scenario.WATCH_KEYS.items()], ("key", "what the viewer saw")),
        "",
    ]
    parts += [
        "## Manager changes\n",
        "A `manager` step's `set` takes the keys of the Manager screen its `change` names, checked like the "
        "file's own tables before anything starts: `profile` — the keys of [Profile](#profile) "
        "(`target` is its name; keys left out keep their value); `wifi_network` — `password` "
        "(`target` is the SSID); `camera` and `settings` — the keys below.\n",
    ]
    for cls in (scenario.CameraChange, scenario.SettingsChange):
        parts += [
            f"### {cls.__name__}\n",
            (cls.__doc__ or "").strip() + "\n",
            _table(_fields(cls), ("key", "type", "default")),
            "",
        ]
    forms = expect.__doc__.split("The forms of an expected value:")[1].strip()
    parts += ["## Expected values\n", "```", forms, "```", ""]
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(), end="")
