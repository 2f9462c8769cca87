"""The example scenarios users copy (``examples/scenarios``; issue 14 item 5), for docs/scenarios.md.

One file per row of the manual's tables T2-T4 that the lab can cause through the scenario's own
world (access points, camera models, SIM cards, masts, lab time) or the Manager, never through the
fault API, plus chains of a symptom, the manual's fix and the recovery. ``NOT_CAUSED_ELSEWHERE``
names the rows that no other path causes and why; tests/integration/test_diagnosis_from_symptoms.py
runs the folder and checks both lists. ``section()`` is the page's section, read from the files.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "scenarios"

#: Rows no path but the fault API (or a computer outside the lab) causes, and why.
NOT_CAUSED_ELSEWHERE: dict[str, str] = {
    "T2-1": "a system, not a camera: tests/scenarios/test_cloud_extensions.py causes it with the Manager's own "
    "network settings (a proxy)",
    "T2-4b": "a SIM swapped while the camera is out of its dock is a physical act: the fault API is the lab's hand",
    "T4-3a": "the same swap as T2-4b",
    "T2-5-hostnames": "a host name the network stops answering: the lab's firewall is the fault API (or a real "
    "firewall with --network real)",
    "T2-8": "a viewer embedded in Genetec Security Center is outside the lab",
    "T2-9a": "a viewer in AXIS Camera Station is outside the lab",
    "T2-9b": "a viewer in AXIS Camera Station is outside the lab",
    "T2-10": "the Axis firewall's block page is outside the lab",
}

#: The files that chain a symptom, the manual's fix and the recovery.
CHAINS = (
    "t2-2a-fix-and-recover",
    "t2-3b-six-days-wifi",
    "t2-4c-apn-fix-and-recover",
    "t3-2b-password-changed",
    "t3-4-too-far",
)


def named(steps: list[dict[str, Any]]) -> list[str]:
    """The diagnosis codes the ``expect`` steps of a timeline want named, in order."""
    codes: list[str] = []
    for step in steps:
        wanted = (step.get("expect") or {}).get("diagnosis", [])
        for code in [wanted] if isinstance(wanted, str) else wanted:
            if code not in codes:
                codes.append(code)
    return codes


def load() -> dict[str, dict[str, Any]]:
    """Each example file (by stem) as TOML; nothing when the folder is not there."""
    return {p.stem: tomllib.loads(p.read_text()) for p in sorted(EXAMPLES.glob("*.toml"))}


def section() -> str:
    files = load()
    if not files:
        return ""
    rows = [
        f"| `{stem}` | {', '.join(named(d.get('timeline', []))) or 'none'} | "
        f"{'symptom, fix, recovery' if stem in CHAINS else 'symptom'} | {d.get('description', '')} |"
        for stem, d in files.items()
    ]
    missing = [f"| {code} | {why} |" for code, why in NOT_CAUSED_ELSEWHERE.items()]
    return "\n".join(
        [
            "## Example scenarios\n",
            (
                "`examples/scenarios/` holds files to copy: one per row of the manual's troubleshooting tables T2–T4 "
                "that the lab can cause through the scenario's own world (an access point on 5 GHz, on channel 13 or "
                "WPA3-only, a camera that hears 2.4 GHz only, a SIM that is dead, locked or without credit, a mast too "
                "far or on bands the camera lacks) or the Manager (a wrong Wi-Fi password, a profile without "
                'streaming), never through `action = "fault"`, and chains of the symptom, the manual\'s fix in the '
                "Manager and the recovery. The automatic diagnosis names each row from what a technician sees, with "
                "its evidence. `bwlab test examples/scenarios` runs them all; `tests/scenarios/` holds the same rows "
                "caused or fixed with the fault API.\n"
            ),
            "| file | diagnosis named | kind | what it shows |",
            "| --- | --- | --- | --- |",
            *rows,
            "",
            "Rows no example causes, and why:\n",
            "| row | why |",
            "| --- | --- |",
            *missing,
            "",
        ]
    )
