"""The diagnosis names each cause it can reproduce from symptoms when the cause comes through
another path than the fault API (issue 14 item 4; SPEC L3, T2-T4).

``examples/scenarios`` holds the T2-T4 set users copy: each file causes its row through the
scenario's own world (an access point on 5 GHz only, on channel 13 or WPA3-only, a camera model
that hears 2.4 GHz only, a SIM that is dead, locked, without credit or not activated, a mast too
far or on bands the camera lacks, an APN the operator requires) or through the Manager (a wrong
Wi-Fi password typed by an administrator, a profile without streaming), never through
``action = "fault"``. Each file is run with ``bwlab test`` against a lab of its own; every
expectation (the camera's LEDs, screen and troubleshooting pages, and the diagnosis codes) must
hold, and the diagnosis left at the end names its row with the evidence it used.

The rows the lab cannot cause another way are listed in ``NOT_REPRODUCIBLE`` with the reason
(bwlab/example_scenarios.py; docs/scenarios.md shows it).
"""

# covers: L3, T2, T3, T4, L1

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from appliance.lab.diagnosis import ROWS
from bwlab.example_scenarios import CHAINS, EXAMPLES, named
from bwlab.example_scenarios import NOT_CAUSED_ELSEWHERE as NOT_REPRODUCIBLE


def _scenarios() -> dict[str, dict]:
    return {p.stem: tomllib.loads(p.read_text()) for p in sorted(EXAMPLES.glob("*.toml"))}


def _named(steps: list[dict]) -> set[str]:
    return set(named(steps))


def test_no_example_uses_the_fault_api_and_every_reproducible_row_has_one():
    scenarios = _scenarios()
    assert len(scenarios) >= 30
    for name, data in scenarios.items():
        actions = {step["action"] for step in data.get("timeline", [])}
        assert not actions & {"fault", "clear"}, f"{name}: caused or fixed through the fault API"
        assert not any(
            k.startswith(("radio.wifi.failure", "radio.mobile.problem"))
            for step in data.get("timeline", [])
            for k in (step.get("expect") or {})
        ), name
    named = set().union(*(_named(d.get("timeline", [])) for d in scenarios.values()))
    assert set(ROWS) - set(NOT_REPRODUCIBLE) <= named, sorted(set(ROWS) - set(NOT_REPRODUCIBLE) - named)
    assert not named & set(NOT_REPRODUCIBLE)
    assert set(CHAINS) <= set(scenarios)


@pytest.mark.timeout(900)
def test_each_example_names_its_row_from_symptoms_with_evidence(tmp_path):
    out = tmp_path / "run.json"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "bwlab",
            "test",
            str(EXAMPLES),
            "-j",
            "2",
            "--json",
            str(out),
            "--report",
            str(tmp_path / "report"),
        ],
        capture_output=True,
        text=True,
        timeout=850,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    report = {s["name"]: s for s in json.loads(out.read_text())["scenarios"]}
    scenarios = _scenarios()
    assert set(report) == {d["name"] for d in scenarios.values()}
    for stem, data in scenarios.items():
        if stem in CHAINS or stem == "healthy-fleet":
            continue
        wanted = _named(data["timeline"])  # the rows it names, still there at the end (no fix in these files)
        assert wanted, f"{stem}: names no row"
        findings = {f["code"]: f for cam in report[data["name"]]["cameras"] for f in cam["diagnosis"]}
        for code in wanted:
            assert code in findings, (stem, code, list(findings))
            evidence = findings[code]["evidence"]
            assert evidence and all(e["source"] and e["observation"] for e in evidence), (stem, code)
    healthy = report["healthy-fleet"]["cameras"]
    assert len(healthy) >= 6 and all(cam["diagnosis"] == [] for cam in healthy)  # no false positive


@pytest.mark.timeout(400)
def test_the_demo_fleet_is_healthy(tmp_path):
    """Zero false positives: the demo (every model, docked and out on their routes, a Record-only
    camera user, a W120) gives no diagnosis; with the W120 given a SIM and Wi-Fi networks (on LTE)
    neither. ``healthy-fleet`` above covers every model out of its dock, on Wi-Fi and on LTE."""
    demo = (Path(__file__).resolve().parents[2] / "bwlab" / "scenarios" / "demo.toml").read_text()
    demo = demo.replace(
        'sim_pin = "1234"\n',
        'sim_pin = "1234"\nsim = { iccid = "8946071234567890123", pin = "1234", state = "pin_required" }\n',
        1,
    )  # the Manager's PIN is the SIM's
    assert "iccid" in demo and "[[cells]]" not in demo
    demo = demo.replace(
        "[[timeline]]",
        '[[cells]]\nname = "Mast"\nbands = [3, 20]\nposition = [400, 0]\noperator = "lab"\n\n[[timeline]]',
        1,
    )
    serials = re.findall(r'^serial = "(\w+)"', demo, re.MULTILINE)
    checks = "".join(
        f'[[timeline]]\nat = 8\naction = "expect"\ncamera = "{s}"\nwithin = 30\n[timeline.expect]\ndiagnosis = []\n\n'
        for s in serials
    )
    head = demo.split("[[timeline]]", 1)[0]  # the demo's own timeline (GPS fixes at 90 s, 120 s) is not needed
    path = tmp_path / "demo-healthy.toml"
    path.write_text(head + checks)
    out = tmp_path / "run.json"
    run = subprocess.run(
        [sys.executable, "-m", "bwlab", "test", str(path), "--json", str(out), "--report", str(tmp_path / "report")],
        capture_output=True,
        text=True,
        timeout=380,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    cameras = json.loads(out.read_text())["scenarios"][0]["cameras"]
    assert len(cameras) == len(serials) >= 6 and all(cam["diagnosis"] == [] for cam in cameras)
