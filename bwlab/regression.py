"""``bwlab test``: run scenario files as a regression suite, each against a lab of its own (SPEC L1).

For users' own CI: no Python test framework and no checkout of bwlab are needed, only scenario
files. Every file is loaded and checked first — one bad file (an unknown action, an unknown
expect key, a step that could never run at its time) stops the run before any lab starts, with
the file, the step and the key named. Then each selected scenario gets an appliance of its own
(``bwlab up FILE --no-fleet --no-timeline`` on a free loopback port and a data directory of its
own), its cameras run in this process (``firmware_stub.fleet``, sharing one pre-encoded media
source), and its timeline runs (bwlab/timeline.py) until the end or the first expectation that
does not hold. Up to ``-j`` scenarios run at once.

The outcome: a line per scenario as it ends, a summary table, exit status 0 only when every
expectation of every selected scenario held (1 when one did not, 2 when the files or the command
line are wrong), and reports — JUnit XML (``--junit-xml``, the format CI servers read), JSON
(``--json``) and an HTML page (``--report DIR``, default ``bwlab-report``) with each scenario's
timeline, what each step expected and saw, the cameras' LEDs and screens, the diagnosis, the
viewer's latency and the cameras' 802.11 captures. ``--seed`` makes the random draws of every
camera's link reproducible; the seed is in every report.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import logging
import os
import random
import re
import signal
import socket
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bwlab.client import ApiError, Session
from bwlab.clock import monotonic
from bwlab.errors import InputError
from bwlab.scenario import MAX_TIMELINE_S, Scenario, ScenarioError, load_scenario
from bwlab.timeline import ExpectationFailed, StepResult, Timeline, viewing_for
from firmware_stub.fleet import Fleet

log = logging.getLogger(__name__)

#: How long a lab may take to come up, and its cameras to start.
START_TIMEOUT_S = 60.0


class SelectionError(InputError, ValueError):
    """A ``-k`` expression that cannot be read."""


# ---------------------------------------------------------------------------- collecting


def collect(paths: list[Path]) -> list[Path]:
    """The scenario files named, and the ``*.toml`` files under the folders named, sorted."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*.toml") if p.is_file())
        elif path.is_file():
            found.append(path)
        else:
            raise ScenarioError(f"{path}: no such file or folder")
    unique = list(dict.fromkeys(p.resolve() for p in found))
    if not unique:
        raise ScenarioError(f"{', '.join(map(str, paths))}: no scenario files (*.toml) found")
    return unique


def load_all(files: list[Path], timeout: float) -> tuple[list[tuple[Path, Scenario]], list[str]]:
    """Every file loaded and checked; the errors of all the bad ones, not just the first."""
    loaded, errors = [], []
    for path in files:
        try:
            scenario, _ = load_scenario(path)
        except ScenarioError as exc:
            errors.append(str(exc))
            continue
        last = max((s.at for s in scenario.timeline if s.at is not None), default=0.0)
        if last > timeout:
            errors.append(
                f"{path}: timeline: a step at {last:g} s can never run within the scenario time "
                f"limit (--timeout {timeout:g} s)"
            )
            continue
        loaded.append((path, scenario))
    return loaded, errors


_TOKEN = re.compile(r"\s*(\(|\)|\band\b|\bor\b|\bnot\b|[^\s()]+)")


def select(expression: str | None, scenario: Scenario, path: Path) -> bool:
    """Whether ``-k expression`` selects the scenario: words match (as substrings, any case) its
    name, file name or a tag; ``and``, ``or``, ``not`` and parentheses combine them."""
    if not expression:
        return True
    haystack = [scenario.name.lower(), path.stem.lower(), *(t.lower() for t in scenario.tags)]
    tokens = _TOKEN.findall(expression)
    if not tokens or "".join(tokens).replace(" ", "") != expression.replace(" ", ""):
        raise SelectionError(f"-k {expression!r}: expected words joined with and, or, not and parentheses")
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def disjunction() -> bool:
        value = conjunction()
        while peek() == "or":
            take()
            value = conjunction() or value
        return value

    def conjunction() -> bool:
        value = negation()
        while peek() == "and":
            take()
            value = negation() and value
        return value

    def negation() -> bool:
        if peek() == "not":
            take()
            return not negation()
        return atom()

    def atom() -> bool:
        token = peek()
        if token is None or token in (")", "and", "or"):
            raise SelectionError(f"-k {expression!r}: a word or '(' expected at {token or 'the end'!r}")
        take()
        if token == "(":
            value = disjunction()
            if peek() != ")":
                raise SelectionError(f"-k {expression!r}: ')' missing")
            take()
            return value
        word = token.lower()
        return any(word in h for h in haystack)

    result = disjunction()
    if pos != len(tokens):
        raise SelectionError(f"-k {expression!r}: unexpected {tokens[pos]!r}")
    return result


# ---------------------------------------------------------------------------- running


@dataclass
class Outcome:
    """What became of one scenario."""

    path: Path
    scenario: Scenario
    status: str = "error"  # passed, failed (an expectation), error (the lab or a step broke)
    seconds: float = 0.0
    message: str = ""
    failed_step: int | None = None
    failed_keys: list[dict[str, Any]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    cameras: list[dict[str, Any]] = field(default_factory=list)  # LEDs, screen, diagnosis at the end
    viewer: list[dict[str, Any]] = field(default_factory=list)  # what the viewer saw (frames, latency)
    pcaps: list[str] = field(default_factory=list)  # report-relative paths of the 802.11 captures
    log: str = ""  # the appliance's output, for an error
    phases: dict[str, float] = field(default_factory=dict)  # seconds: lab start, cameras, timeline, teardown

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.scenario.name,
            "file": str(self.path),
            "tags": self.scenario.tags,
            "status": self.status,
            "seconds": round(self.seconds, 2),
            "message": self.message,
            "failed_step": self.failed_step,
            "failed_keys": self.failed_keys,
            "steps": self.steps,
            "cameras": self.cameras,
            "viewer": self.viewer,
            "pcaps": self.pcaps,
            "phases": {k: round(v, 2) for k, v in self.phases.items()},
        }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)


def _step_record(result: StepResult) -> dict[str, Any]:
    step = result.step
    record: dict[str, Any] = {
        "index": result.index,
        "at": step.at,
        "action": step.action,
        "camera": step.camera,
        "started_s": round(result.started, 2),
        "seconds": round(result.seconds, 2),
        "lab_time": result.lab_time,
        "ok": True,
    }
    if step.action == "expect":
        record["expected"] = step.expect
        record["seen"] = _jsonable(result.detail)
    return record


class _Lab:
    """One scenario's own appliance: ``bwlab up FILE --no-fleet --no-timeline`` on a free port."""

    def __init__(self, path: Path, data_dir: Path, log_path: Path):
        self.path, self.data_dir, self.log_path = path, data_dir, log_path
        self.proc: asyncio.subprocess.Process | None = None
        self.facts: dict[str, Any] = {}
        self.ca_pem = ""

    async def start(self) -> None:
        port = free_port()
        url = f"https://127.0.0.1:{port}"
        self._log = self.log_path.open("wb")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bwlab",
            "up",
            str(self.path),
            "--no-fleet",
            "--no-timeline",
            "--no-zeroconf",
            "--json",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--public-url",
            url,
            "--data-dir",
            str(self.data_dir),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=self._log,
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        text = ""
        deadline = monotonic() + START_TIMEOUT_S
        while True:
            remaining = deadline - monotonic()
            if remaining <= 0:
                raise TimeoutError(f"the lab did not come up within {START_TIMEOUT_S:g} s")
            try:
                line = await asyncio.wait_for(self.proc.stdout.readline(), remaining)
            except TimeoutError:
                raise TimeoutError(f"the lab did not come up within {START_TIMEOUT_S:g} s") from None
            if not line:
                raise RuntimeError("the lab stopped before it was up (see its log)")
            text += line.decode("utf-8", "replace")
            if line.rstrip() == b"}":
                self.facts = json.loads(text)
                break
        self.url = url
        self.ca_pem = Path(self.facts["ca_certificate"]).read_text()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 20)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if hasattr(self, "_log"):
            self._log.close()


async def run_one(
    path: Path, scenario: Scenario, workdir: Path, report_dir: Path, seed: int, timeout: float
) -> Outcome:
    """Run one scenario against a lab of its own; never raises for what the scenario or lab does."""

    outcome = Outcome(path, scenario)
    began = monotonic()
    lab = _Lab(path, workdir / scenario.name, workdir / f"{scenario.name}.log")
    fleet: Fleet | None = None
    timeline: Timeline | None = None
    mark = began

    def phase(name: str) -> None:
        nonlocal mark
        now = monotonic()
        outcome.phases[name] = now - mark
        mark = now

    try:
        await lab.start()
        phase("lab")
        fleet = Fleet(url=lab.url, ca_pem=lab.ca_pem, lab_token=lab.facts["lab_token"], media="shared", seed=seed)
        async with Session(lab.url, lab.ca_pem, token=lab.facts["lab_token"]) as session:
            await fleet.start(scenario)
            await _wait_for_cameras(session, scenario)
            phase("cameras")
            links = [
                (s.get("link_with_key"), s.get("protected_link_with_key"), s.get("link_passphrase"))
                for s in lab.facts["systems"]
            ]
            viewing = viewing_for(scenario, links, lab.ca_pem)
            timeline = Timeline(
                scenario,
                session,
                source=str(path),
                viewing=viewing,
                clock=fleet.clock,
                on_step=lambda r: outcome.steps.append(_step_record(r)),
            )
            try:
                await asyncio.wait_for(timeline.run(), timeout)
                outcome.status = "passed"
            except ExpectationFailed as exc:
                outcome.status, outcome.message, outcome.failed_step = "failed", str(exc), exc.index
                outcome.failed_keys = [
                    {"key": m.key, "expected": m.expected, "seen": _jsonable(m.seen), "why": m.why}
                    for m in exc.mismatches
                ]
                if exc.index is not None:
                    step = scenario.timeline[exc.index]
                    outcome.steps.append(
                        {
                            "index": exc.index,
                            "at": step.at,
                            "action": step.action,
                            "camera": step.camera,
                            "expected": step.expect,
                            "seen": _jsonable(exc.observed),
                            "ok": False,
                        }
                    )
            except TimeoutError:
                outcome.status = "error"
                outcome.message = f"{path}: the timeline did not end within the time limit ({timeout:g} s)"
            except ApiError as exc:
                index = len(outcome.steps)
                where = timeline.where(index) if index < len(scenario.timeline) else str(path)
                outcome.status, outcome.message, outcome.failed_step = (
                    "error",
                    f"{where}: the lab refused: {exc}",
                    index,
                )
            phase("timeline")
            await _snapshot(session, scenario, outcome, report_dir)
            phase("snapshot")
        if timeline is not None:
            outcome.viewer = timeline.viewer_reports
    except Exception as exc:  # the lab did not start, a camera broke: the scenario errs, the run goes on
        outcome.status = "error"
        outcome.message = outcome.message or f"{path}: {type(exc).__name__}: {exc}"
        log.debug("scenario %s", scenario.name, exc_info=True)
    finally:
        mark = monotonic()
        if fleet is not None:
            await fleet.close()
        phase("fleet_close")
        await lab.stop()
        phase("lab_stop")
        outcome.seconds = monotonic() - began
        if outcome.status == "error" and lab.log_path.exists():
            outcome.log = lab.log_path.read_text(errors="replace")[-4000:]
    return outcome


async def _wait_for_cameras(session: Session, scenario: Scenario) -> None:
    serials = {c.serial.upper() for system in scenario.systems for c in system.cameras}
    deadline = monotonic() + START_TIMEOUT_S
    while True:
        running = {c["serial"] for c in (await session.get("/api/lab/cameras"))["cameras"] if c["running"]}
        if serials <= running:
            return
        if monotonic() > deadline:
            raise TimeoutError(
                f"cameras not running after {START_TIMEOUT_S:g} s: {', '.join(sorted(serials - running))}"
            )
        await asyncio.sleep(0.1)


async def _snapshot(session: Session, scenario: Scenario, outcome: Outcome, report_dir: Path) -> None:
    """Each camera's LEDs, screen and diagnosis at the end, and its 802.11 capture."""
    cameras = {c["serial"]: c for c in (await session.get("/api/lab/cameras"))["cameras"]}
    for system in scenario.systems:
        for cam in system.cameras:
            serial = cam.serial.upper()
            state = (cameras.get(serial) or {}).get("state") or {}
            entry: dict[str, Any] = {
                "serial": serial,
                "model": cam.model,
                "leds": state.get("leds"),
                "screen": state.get("screen"),
                "streaming": state.get("streaming"),
                "recording": state.get("recording"),
            }
            try:
                diagnosis = await session.get(f"/api/lab/cameras/{serial}/diagnosis")
                entry["diagnosis"] = [
                    {k: f.get(k) for k in ("code", "symptom", "cause", "fix", "evidence")}
                    for f in diagnosis.get("findings", [])
                ] or diagnosis.get("codes", [])
            except ApiError as exc:
                entry["diagnosis"] = f"unavailable: {exc}"
            async with session.http.get(
                f"{session.base_url}/api/lab/cameras/{serial}/pcap", headers=session.headers(), ssl=session.ssl
            ) as r:
                if r.status == 200:
                    name = f"pcaps/{scenario.name}-{serial}-80211.pcap"
                    target = report_dir / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(await r.read())
                    outcome.pcaps.append(name)
            outcome.cameras.append(entry)


async def run_all(
    cases: list[tuple[Path, Scenario]], jobs: int, seed: int, timeout: float, report_dir: Path, out=sys.stderr
) -> list[Outcome]:
    semaphore = asyncio.Semaphore(jobs)
    outcomes: list[Outcome | None] = [None] * len(cases)
    width = max(len(s.name) for _, s in cases)
    with tempfile.TemporaryDirectory(prefix="bwlab-test-") as tmp:

        async def one(i: int, path: Path, scenario: Scenario) -> None:
            async with semaphore:
                outcome = await run_one(path, scenario, Path(tmp), report_dir, seed, timeout)
            outcomes[i] = outcome
            done = sum(o is not None for o in outcomes)
            print(
                f"[{done:>{len(str(len(cases)))}}/{len(cases)}] {outcome.status.upper():<6} "
                f"{scenario.name:<{width}} {outcome.seconds:6.1f} s",
                file=out,
                flush=True,
            )
            if outcome.status != "passed":
                print("    " + outcome.message.replace("\n", "\n    "), file=out, flush=True)

        await asyncio.gather(*(one(i, p, s) for i, (p, s) in enumerate(cases)))
    return [o for o in outcomes if o is not None]


# ---------------------------------------------------------------------------- reports


def junit_xml(outcomes: list[Outcome], seed: int, seconds: float) -> ET.ElementTree:
    failures = sum(o.status == "failed" for o in outcomes)
    errors = sum(o.status == "error" for o in outcomes)
    suites = ET.Element(
        "testsuites",
        name="bwlab test",
        tests=str(len(outcomes)),
        failures=str(failures),
        errors=str(errors),
        time=f"{seconds:.3f}",
    )
    suite = ET.SubElement(
        suites,
        "testsuite",
        name="bwlab scenarios",
        tests=str(len(outcomes)),
        failures=str(failures),
        errors=str(errors),
        skipped="0",
        time=f"{seconds:.3f}",
        timestamp=time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()),
    )
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="seed", value=str(seed))
    for o in outcomes:
        case = ET.SubElement(
            suite,
            "testcase",
            classname="scenarios." + o.path.parent.name,
            name=o.scenario.name,
            file=str(o.path),
            time=f"{o.seconds:.3f}",
        )
        if o.status in ("failed", "error"):
            keys = ", ".join(k["key"] for k in o.failed_keys)
            head = o.message.splitlines()[0] if o.message else o.status
            message = head + (f" [keys: {keys}]" if keys else "")
            node = ET.SubElement(
                case,
                "failure" if o.status == "failed" else "error",
                message=message,
                type="ExpectationFailed" if o.status == "failed" else "LabError",
            )
            node.text = o.message + ("\n\n" + o.log if o.log else "")
    ET.indent(suites)
    return ET.ElementTree(suites)


def json_report(outcomes: list[Outcome], seed: int, seconds: float) -> dict[str, Any]:
    return {
        "seed": seed,
        "seconds": round(seconds, 2),
        "passed": sum(o.status == "passed" for o in outcomes),
        "failed": sum(o.status == "failed" for o in outcomes),
        "errors": sum(o.status == "error" for o in outcomes),
        "scenarios": [o.as_dict() for o in outcomes],
    }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return html.escape(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))


def html_report(outcomes: list[Outcome], seed: int, seconds: float) -> str:
    rows = "".join(
        f'<tr class="{o.status}"><td><a href="#{html.escape(o.scenario.name)}">{html.escape(o.scenario.name)}</a></td>'
        f"<td>{o.status}</td><td>{o.seconds:.1f} s</td><td>{_cell(', '.join(o.scenario.tags))}</td></tr>"
        for o in outcomes
    )
    sections = []
    for o in outcomes:
        steps = "".join(
            f'<tr class="{"passed" if s.get("ok") else "failed"}"><td>{s["index"]}</td><td>{_cell(s.get("at"))}</td>'
            f"<td>{_cell(s['action'])}</td><td>{_cell(s.get('camera'))}</td><td><code>{_cell(s.get('expected'))}</code></td>"
            f"<td><code>{_cell(s.get('seen'))}</code></td></tr>"
            for s in o.steps
        )
        cams = "".join(
            f"<tr><td>{_cell(c['serial'])} ({_cell(c['model'])})</td><td><code>{_cell(c.get('leds'))}</code></td>"
            f"<td><code>{_cell(c.get('screen'))}</code></td><td><code>{_cell(c.get('diagnosis'))}</code></td></tr>"
            for c in o.cameras
        )
        viewer = "".join(f"<li><code>{_cell(v)}</code></li>" for v in o.viewer)
        pcaps = "".join(f'<li><a href="{html.escape(p)}">{html.escape(p)}</a></li>' for p in o.pcaps)
        failure = f"<pre class=failure>{html.escape(o.message)}</pre>" if o.message else ""
        sections.append(
            f'<section id="{html.escape(o.scenario.name)}"><h2 class="{o.status}">{html.escape(o.scenario.name)} — '
            f"{o.status}</h2><p>{html.escape(o.scenario.description)}<br><small>{html.escape(str(o.path))}</small></p>"
            f"{failure}<h3>Timeline</h3><table><tr><th>#</th><th>at (s)</th><th>action</th><th>camera</th>"
            f"<th>expected</th><th>seen</th></tr>{steps}</table>"
            f"<h3>Cameras at the end</h3><table><tr><th>camera</th><th>LEDs</th><th>screen</th><th>diagnosis</th></tr>"
            f"{cams}</table>"
            + (f"<h3>Viewer</h3><ul>{viewer}</ul>" if viewer else "")
            + (f"<h3>802.11 captures</h3><ul>{pcaps}</ul>" if pcaps else "")
            + "</section>"
        )
    passed = sum(o.status == "passed" for o in outcomes)
    return (
        "<!doctype html><html lang=en><meta charset=utf-8><title>bwlab test report</title><style>"
        "body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin:.5em 0}"
        "td,th{border:1px solid #ccc;padding:.2em .5em;vertical-align:top;text-align:left}"
        "code{font-size:.85em;white-space:pre-wrap;word-break:break-all}.passed{color:#075}"
        ".failed,.error{color:#b00}pre.failure{background:#fee;padding:.5em;white-space:pre-wrap}</style>"
        f"<h1>bwlab test: {passed} of {len(outcomes)} passed</h1><p>seed {seed} · {seconds:.1f} s</p>"
        f"<table><tr><th>scenario</th><th>result</th><th>time</th><th>tags</th></tr>{rows}</table>"
        + "".join(sections)
        + "</html>"
    )


def summary_table(outcomes: list[Outcome], seed: int, seconds: float) -> str:
    width = max([len("scenario")] + [len(o.scenario.name) for o in outcomes])
    lines = [f"{'scenario':<{width}}  result  seconds", f"{'-' * width}  ------  -------"]
    lines += [f"{o.scenario.name:<{width}}  {o.status:<6}  {o.seconds:7.1f}" for o in outcomes]
    counts = {s: sum(o.status == s for o in outcomes) for s in ("passed", "failed", "error")}
    lines.append(
        f"{counts['passed']} passed, {counts['failed']} failed, {counts['error']} errors "
        f"in {seconds:.1f} s (seed {seed})"
    )
    return "\n".join(lines)


# ---------------------------------------------------------------------------- the command


def add_parser(sub: Any) -> None:
    test = sub.add_parser(
        "test", help="run scenario files as a regression suite: exit 0 only when every expectation held"
    )
    test.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="scenario files or folders of them")
    test.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="scenarios run at once (default: the number of cores)",
    )
    test.add_argument(
        "-k",
        dest="select",
        default=None,
        metavar="EXPR",
        help="only scenarios whose name, file name or tags match, e.g. -k 't3 and not roaming'",
    )
    test.add_argument("--seed", type=int, default=None, help="the random draws' seed (default: a new one, reported)")
    test.add_argument("--timeout", type=float, default=300.0, help="seconds one scenario may run (default 300)")
    test.add_argument("--junit-xml", type=Path, default=None, metavar="FILE", help="write a JUnit XML report")
    test.add_argument("--json", type=Path, default=None, metavar="FILE", help="write a JSON report")
    test.add_argument(
        "--report",
        type=Path,
        default=Path("bwlab-report"),
        metavar="DIR",
        help="folder of the HTML report and the captures (default ./bwlab-report)",
    )


def _write(path: Path, data: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data, encoding="utf-8")


async def cmd_test(args: argparse.Namespace) -> int:
    if args.jobs < 1:
        print("bwlab test: -j: expected a number of scenarios at once ≥ 1", file=sys.stderr)
        return 2
    if not (1 <= args.timeout <= MAX_TIMELINE_S * 2):
        print(f"bwlab test: --timeout: expected seconds from 1 to {MAX_TIMELINE_S * 2:g}", file=sys.stderr)
        return 2
    try:
        files = collect(args.paths)
    except ScenarioError as exc:
        print(f"bwlab test: {exc}", file=sys.stderr)
        return 2
    loaded, errors = load_all(files, args.timeout)
    if errors:
        print("bwlab test: nothing was run; fix these scenario files first:", file=sys.stderr)
        for error in errors:
            print("  " + error.replace("\n", "\n  "), file=sys.stderr)
        return 2
    try:
        cases = [(p, s) for p, s in loaded if select(args.select, s, p)]
    except SelectionError as exc:
        print(f"bwlab test: {exc}", file=sys.stderr)
        return 2
    if not cases:
        print(f"bwlab test: no scenario matches -k {args.select!r}", file=sys.stderr)
        return 2
    names = [s.name for _, s in cases]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        print(
            f"bwlab test: scenario names must be unique in a run (reports are named by them): {', '.join(dupes)}",
            file=sys.stderr,
        )
        return 2
    if not args.verbose:  # the cameras' own log lines would drown the progress
        logging.getLogger("firmware_stub").setLevel(logging.WARNING)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    report_dir = args.report.resolve()
    report_dir.mkdir(parents=True, exist_ok=True)
    print(
        f"bwlab test: {len(cases)} scenarios, {min(args.jobs, len(cases))} at once, seed {seed}",
        file=sys.stderr,
        flush=True,
    )
    started = monotonic()
    outcomes = await run_all(cases, args.jobs, seed, args.timeout, report_dir)
    seconds = monotonic() - started
    print(summary_table(outcomes, seed, seconds), flush=True)
    _write(report_dir / "index.html", html_report(outcomes, seed, seconds))
    print(f"bwlab test: report {report_dir / 'index.html'}", file=sys.stderr)
    if args.junit_xml is not None:
        args.junit_xml.parent.mkdir(parents=True, exist_ok=True)
        junit_xml(outcomes, seed, seconds).write(args.junit_xml, encoding="utf-8", xml_declaration=True)
    if args.json is not None:
        _write(args.json, json.dumps(json_report(outcomes, seed, seconds), indent=2, default=repr))
    return 0 if all(o.status == "passed" for o in outcomes) else 1
