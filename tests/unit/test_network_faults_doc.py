"""docs/network-faults.md names every row of the manual's troubleshooting tables (T2-T4, L3) and
only scenario files that exist; every scenario file is named there."""

# covers: T2, T3, T4, L3

from __future__ import annotations

import re
from pathlib import Path

from appliance.lab.diagnosis import TABLE

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "network-faults.md"
SCENARIOS = ROOT / "tests" / "scenarios"


def rows() -> dict[str, list[str]]:
    out = {}
    for line in DOC.read_text().splitlines():
        m = re.match(r"\| (T[234]-[0-9a-z-]+) \|", line)
        if m:
            out[m.group(1)] = [c.strip() for c in line.strip("|").split("|")]
    return out


def test_every_row_of_the_tables_is_in_the_doc_once():
    table = rows()
    assert set(table) == {row.code for row in TABLE}


def test_reproduced_rows_name_existing_scenarios_and_the_others_say_why():
    named: set[str] = set()
    for code, cells in rows().items():
        reproduced, scenario, explanation = cells[2], cells[3], cells[4]
        files = re.findall(r"`([^`]+\.(?:toml|py))`", scenario)
        if reproduced == "yes":
            assert files, f"{code}: reproduced by which scenario?"
            for f in files:
                assert (SCENARIOS / f).exists(), f"{code}: {f} does not exist"
            named.update(files)
        else:
            assert reproduced == "no" and not files and len(explanation) > 60, f"{code}: say why it is not reproduced"
    tomls = {p.name for p in SCENARIOS.glob("*.toml")}
    assert tomls <= named, f"scenario files the doc does not name: {sorted(tomls - named)}"
