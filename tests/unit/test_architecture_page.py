"""docs/architecture.md stays true: every SPEC behaviour has a row, and every path it names exists.

covers: none (documentation of the structure, issue 11)
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
SPEC_IDS = (
    [f"S{i}" for i in range(1, 18)]
    + [f"D{i}" for i in range(1, 10)]
    + [f"T{i}" for i in range(1, 6)]
    + [f"L{i}" for i in range(1, 6)]
)


def _spec_rows() -> dict[str, str]:
    section = PAGE.split("## Where each SPEC behaviour lives", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and re.fullmatch(r"[SDTL]\d+", cells[0]):
            rows[cells[0]] = cells[2]
    return rows


def test_every_spec_behaviour_has_a_row() -> None:
    assert sorted(_spec_rows()) == sorted(SPEC_IDS)


def test_every_path_on_the_page_exists() -> None:
    paths = re.findall(r"`((?:appliance|bwlab|firmware_stub|labnet|webui|tests|bench|docs|examples)/[^`*]+)`", PAGE)
    assert len(paths) > 60
    missing = sorted({p for p in paths if not (ROOT / p.rstrip("/")).exists()})
    assert missing == []
