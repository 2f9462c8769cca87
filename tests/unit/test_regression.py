"""bwlab test's selection and reports, without a lab (bwlab/regression.py)."""

# covers: L1

from pathlib import Path

import pytest
from junitparser import JUnitXml

from bwlab.regression import Outcome, SelectionError, html_report, junit_xml, select
from bwlab.scenario import parse_scenario

ROAMING = parse_scenario({"name": "t3-5-roaming", "tags": ["wifi", "slow"]})
SIM = parse_scenario({"name": "t4-1-no-sim", "tags": ["lte"]})


@pytest.mark.parametrize(
    "expression, roaming, sim",
    [
        (None, True, True),
        ("roam", True, False),
        ("T3", True, False),
        ("wifi or lte", True, True),
        ("not slow", False, True),
        ("t3 and not slow", False, False),
        ("(t3 or t4) and not lte", True, False),
    ],
)
def test_k_expressions(expression, roaming, sim):
    assert select(expression, ROAMING, Path("a/t3-5-roaming.toml")) is roaming
    assert select(expression, SIM, Path("a/t4-1-no-sim.toml")) is sim


@pytest.mark.parametrize("expression", ["t3 and", "(t3", "t3)", "or", "not"])
def test_bad_k_expressions(expression):
    with pytest.raises(SelectionError):
        select(expression, ROAMING, Path("t3.toml"))


def test_junit_and_html_name_the_failure(tmp_path):
    ok = Outcome(Path("/s/t3-5-roaming.toml"), ROAMING, status="passed", seconds=2.0)
    bad = Outcome(
        Path("/s/t4-1-no-sim.toml"),
        SIM,
        status="failed",
        seconds=3.0,
        failed_step=2,
        message="/s/t4-1-no-sim.toml: timeline[2] (expect at 1 s, camera X) did not hold within 2 s:\n"
        "  radio.mode: expected 'lte', saw 'wifi' — not equal",
        failed_keys=[{"key": "radio.mode", "expected": "lte", "seen": "wifi", "why": "not equal"}],
    )
    junit_xml([ok, bad], 42, 5.0).write(tmp_path / "j.xml")
    xml = JUnitXml.fromfile(str(tmp_path / "j.xml"))
    cases = {c.name: c for suite in xml for c in suite}
    assert cases["t3-5-roaming"].is_passed
    [failure] = cases["t4-1-no-sim"].result
    assert (
        "timeline[2]" in failure.message
        and "radio.mode" in failure.message
        and "/s/t4-1-no-sim.toml" in failure.message
    )
    page = html_report([ok, bad], 42, 5.0)
    assert "1 of 2 passed" in page and "seed 42" in page and "radio.mode: expected &#x27;lte&#x27;" in page
