"""The T2-T4 scenario suite under ``bwlab test`` (issue 14): wall-clock time of the whole run, and
each scenario's own time, on this box.

    python bench/bench_scenarios.py [--jobs 2] [--runs 1] [PATH]

Each run is ``bwlab test PATH -j JOBS --json FILE`` in a subprocess, timed from start to exit (the
labs' start-up and shutdown included). Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", nargs="?", default=str(HERE.parent / "tests" / "scenarios"))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--runs", type=int, default=1, choices=range(1, 6))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    walls, reports = [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "run.json"
            started = time.monotonic()
            run = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bwlab",
                    "test",
                    args.path,
                    "-j",
                    str(args.jobs),
                    "--seed",
                    str(args.seed),
                    "--json",
                    str(out),
                    "--report",
                    str(Path(tmp) / "report"),
                ],
                capture_output=True,
                text=True,
                timeout=900,
                stdin=subprocess.DEVNULL,
            )
            walls.append(time.monotonic() - started)
            if run.returncode != 0:
                print(run.stdout + run.stderr, file=sys.stderr)
                return 1
            reports.append(json.loads(out.read_text()))
    times = sorted(s["seconds"] for s in reports[-1]["scenarios"])
    slowest = sorted(reports[-1]["scenarios"], key=lambda s: -s["seconds"])[:3]
    print(f"| scenarios | jobs | wall clock, s (runs: {args.runs}) | per scenario p50 / max, s | slowest |")
    print("| --- | --- | --- | --- | --- |")
    print(
        f"| {len(times)} | {args.jobs} | {' / '.join(f'{w:.1f}' for w in walls)} | "
        f"{statistics.median(times):.1f} / {times[-1]:.1f} | "
        + ", ".join(f"{s['name']} {s['seconds']:.1f}" for s in slowest)
        + " |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
