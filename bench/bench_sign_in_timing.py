"""Benchmark: how long a failed cloud sign-in takes for a known and for an unknown e-mail (issue 10 item 5).

    python bench/bench_sign_in_timing.py --rounds 60

Runs the appliance in this process on 127.0.0.1 (a temporary data directory), makes one
account, then alternates failed sign-ins (wrong password) for the known e-mail and for made-up
ones, timing each from the client. The per-account and per-address lock-outs are stepped over
by travelling the lab clock past the window whenever the counts would reach them. Prints JSON:
median, p10 and p90 in ms per kind, and the difference of the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from appliance.throttle import ThrottlePolicy  # noqa: E402
from bwlab.client import ApiError  # noqa: E402
from tests.conftest import start_appliance  # noqa: E402


async def run(rounds: int) -> dict:
    policy = ThrottlePolicy()
    with tempfile.TemporaryDirectory() as tmp:
        handle, stop, task = await start_appliance(Path(tmp) / "data")
        try:
            async with handle.session() as s, handle.lab() as lab:
                await s.post(
                    "/api/cloud/accounts",
                    {"email": "known@bench.test", "name": "Known", "password": "known-bench-pass"},
                )
                times: dict[str, list[float]] = {"known": [], "unknown": []}
                failures = 0
                for i in range(rounds):
                    for kind in ("known", "unknown"):
                        if failures + 1 >= min(policy.per_account, policy.per_address):
                            await lab.post("/api/lab/time/travel", {"seconds": policy.window + 1})
                            failures = 0
                        email = "known@bench.test" if kind == "known" else f"nobody{i}@bench.test"
                        started = time.perf_counter()
                        try:
                            await s.post("/api/cloud/sessions", {"email": email, "password": "wrong-bench-pass"})
                        except ApiError as exc:
                            assert exc.status == 401, exc
                        times[kind].append((time.perf_counter() - started) * 1000)
                        failures += 1
        finally:
            stop.set()
            await asyncio.wait_for(task, 15)

    def summary(values: list[float]) -> dict:
        q = statistics.quantiles(values, n=10)
        return {"p10": round(q[0], 1), "median": round(statistics.median(values), 1), "p90": round(q[-1], 1)}

    out = {kind: summary(values) for kind, values in times.items()}
    out["median_difference_ms"] = round(out["unknown"]["median"] - out["known"]["median"], 1)
    out["rounds"] = rounds
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60)
    print(json.dumps(asyncio.run(run(parser.parse_args().rounds)), indent=2))


if __name__ == "__main__":
    main()
