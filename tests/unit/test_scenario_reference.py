"""docs/scenarios.md is written from the code that reads scenario files, so it cannot drift."""

# covers: L1

import dataclasses
import typing
from pathlib import Path

from bwlab import scenario
from bwlab.scenario_reference import render

DOC = Path(__file__).resolve().parents[2] / "docs" / "scenarios.md"


def test_the_page_is_what_the_code_says():
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/scenarios.md is out of date: python3 -m bwlab.scenario_reference > docs/scenarios.md"
    )


def test_every_action_is_documented():
    step_action = typing.get_type_hints(scenario.Step)["action"]
    assert set(typing.get_args(step_action)) == set(scenario.ACTIONS)
    keys = {f.name for f in dataclasses.fields(scenario.Step)}
    for name, (takes, _) in scenario.ACTIONS.items():
        for key in (k.strip() for k in takes.replace("|", ",").split(",") if k.strip()):
            assert key in keys, (name, key)
