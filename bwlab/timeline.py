"""A scenario's timeline, run against a running lab through its API (SPEC L1, L2, L3).

``run_timeline(scenario, lab)`` carries out each ``[[timeline]]`` step at its time — dock, undock,
press, travel, gps, fault, clear, move — and checks each ``expect`` step, so the same scenario
file is a demo and a regression test. Steps run ``at`` seconds after the timeline starts, in real
seconds (a ``travel`` moves lab time, not the timeline), in file order when equal. A ``fault`` is
any kind of ``appliance/lab/faults.py``, or ``{kind = "hostname", target = <a T5 name>}`` for the
lab's blocked host names; ``clear`` without ``fault_id`` clears both.

An ``expect`` step waits (up to ``within`` seconds, 10 by default, polling) until all of its keys
hold for its ``camera``, then goes on; when they do not hold in time ``ExpectationFailed`` names
each key, what was expected and what was seen. The keys:

==============================  ===========================================================
``state.<path>``                the camera's reported state (``GET /api/lab/cameras``), e.g.
                                ``state.leds.wifi``, ``state.screen.warnings``
``radio.<path>``                its ``radio`` part, e.g. ``radio.wifi.failure``,
                                ``radio.mobile.sim_status``, ``radio.mode``
``troubleshooting.<field>``     a field of the troubleshooting pages (T1), e.g.
                                ``troubleshooting.ipv4``, ``troubleshooting.sub_mode``
``troubleshooting``             ``"available"`` or the 409 code when the pages cannot be read
``status.<path>``               the camera in ``GET /api/lab/status`` (``status.online``,
                                ``status.last_refusal.code``)
``manager.<path>``              the camera as its Manager lists it (``manager.sim_status``,
                                ``manager.sim_alert.message``: T4's Manager-side symptoms)
``diagnosis``                   codes the diagnosis (L3) must name, e.g. ``["T3-2b"]``
``no_diagnosis``                codes it must not name
``viewer``                      ``"plays"`` or ``"refused"``: an operator watches the camera
                                user's live stream with the reference viewer (S1)
==============================  ===========================================================

Values: ``""`` means "shows nothing" (no value), ``"*"`` any value; ``"<-75"``, ``">=200"``
compare numbers; anything else must be equal.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from bwlab.client import ApiError, Session
from bwlab.clock import Clock, LabClock, monotonic
from bwlab.scenario import Scenario, Step

log = logging.getLogger(__name__)

BLOCKED_HOSTS = "/api/lab/faults/blocked-hosts"
DEFAULT_WITHIN = 10.0
POLL = 0.1
VIEW_SECONDS = 3.0


class ExpectationFailed(AssertionError):
    """An ``expect`` step did not hold in time; the message lists each mismatch."""


@dataclass
class StepResult:
    index: int
    step: Step
    ok: bool = True
    detail: Any = None


@dataclass
class Viewing:
    """What the ``viewer`` expectation needs: an operator account and the link with key."""

    email: str
    password: str
    link: str
    passphrase: str | None = None
    ca_pem: str | None = None


@dataclass
class Timeline:
    """Runs one scenario's timeline against the lab behind ``lab`` (a lab-token session)."""

    scenario: Scenario
    lab: Session
    viewing: Viewing | None = None
    clock: Clock = field(default_factory=LabClock)  # the viewer's clock (lab time, S1)
    on_step: Callable[[StepResult], None] | None = None
    fault_ids: dict[str, str] = field(default_factory=dict)
    blocked: dict[str, str] = field(default_factory=dict)  # fault id → blocked host name

    async def run(self) -> list[StepResult]:
        started = monotonic()
        results = []
        order = sorted(range(len(self.scenario.timeline)), key=lambda i: (self.scenario.timeline[i].at, i))
        for i in order:
            step = self.scenario.timeline[i]
            wait = started + step.at - monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            result = StepResult(i, step, detail=await self.do(i, step))
            results.append(result)
            if self.on_step is not None:
                self.on_step(result)
        return results

    async def do(self, index: int, step: Step) -> Any:
        serial = step.camera.upper() if step.camera else None
        action = step.action
        if action in ("dock", "undock", "press", "gps", "move", "bookmark", "category"):
            body: dict[str, Any] = {"action": action}
            if action == "dock":
                body.update(dock=step.dock, bay=step.bay)
            elif action == "press":
                body.update(button=step.button, gesture=step.gesture or "press")
            elif action == "gps":
                body.update(fix=step.fix)
            elif action == "move":
                body.update(position=step.position, seconds=step.seconds)
            elif action == "bookmark":  # issue 13: as the camera user would in the Assistant app
                body.update(text=step.text or "", tags=step.tags or "")
            elif action == "category":
                body.update(category_id=step.category_id, category_name=step.category_name)
            return await self.lab.post(f"/api/lab/cameras/{serial}/actions", body)
        if action == "travel":
            return await self.lab.post("/api/lab/time/travel", {"seconds": step.seconds})
        if action == "fault":
            assert step.fault is not None
            if step.fault.get("kind") == "hostname":  # T5: the lab stops answering for a host name
                if step.fault.get("id"):
                    self.blocked[str(step.fault["id"])] = step.fault["target"]
                return await self.lab.post(BLOCKED_HOSTS, {"hostname": step.fault["target"]})
            fault = await self.lab.post("/api/lab/faults", step.fault)
            if step.fault.get("id"):
                self.fault_ids[str(step.fault["id"])] = fault["id"]
            return fault
        if action == "clear":
            if step.fault_id is None:
                await self.lab.request("DELETE", BLOCKED_HOSTS)
                return await self.lab.delete("/api/lab/faults")
            if step.fault_id in self.blocked:
                return await self.lab.request("DELETE", BLOCKED_HOSTS, {"hostname": self.blocked[step.fault_id]})
            return await self.lab.delete(f"/api/lab/faults/{self.fault_ids.get(step.fault_id, step.fault_id)}")
        return await self.expect(index, step)

    # ---------------------------------------------------------------- expectations

    async def expect(self, index: int, step: Step) -> dict[str, Any]:
        within = step.within if step.within is not None else DEFAULT_WITHIN
        deadline = monotonic() + within
        while True:
            observed, mismatches = await self._check(step)
            if not mismatches:
                return observed
            if monotonic() >= deadline:
                lines = "\n".join(f"  {key}: expected {exp!r}, got {got!r}" for key, exp, got in mismatches)
                raise ExpectationFailed(
                    f"{self.scenario.name}: timeline[{index}] (at {step.at:g} s, camera {step.camera}) did not hold "
                    f"within {within:g} s:\n{lines}")
            await asyncio.sleep(POLL)

    async def _check(self, step: Step) -> tuple[dict[str, Any], list[tuple[str, Any, Any]]]:
        serial = step.camera.upper() if step.camera else ""
        views = _Views(self, serial)
        observed: dict[str, Any] = {}
        mismatches = []
        for key, expected in step.expect.items():
            if key == "viewer":
                got = await self._view(serial)
                ok = got == expected
            elif key in ("diagnosis", "no_diagnosis"):
                codes = (await views.diagnosis())["codes"]
                wanted = [expected] if isinstance(expected, str) else list(expected)
                ok = all((c in codes) == (key == "diagnosis") for c in wanted)
                got = codes
            else:
                got = await views.value(key)
                ok = matches(expected, got)
            observed[key] = got
            if not ok:
                mismatches.append((key, expected, got))
        return observed, mismatches

    async def _view(self, serial: str) -> str:
        """S1: does an operator on lab time see the camera user's live stream?"""
        from bwlab.viewer import ClockMismatch, Viewer

        if self.viewing is None:
            raise ExpectationFailed("a viewer expectation needs the scenario's operator account and link with key")
        state = await _camera_state(self.lab, serial)
        user = ((state or {}).get("user") or {}).get("name")
        v = self.viewing
        async with Viewer(self.lab.base_url, v.ca_pem, email=v.email, password=v.password, link=v.link,
                          passphrase=v.passphrase, clock=self.clock) as viewer:
            try:
                stream = await viewer.wait_for_stream(DEFAULT_WITHIN, user)
            except TimeoutError:
                return "no_stream"
            try:
                report = await viewer.watch(stream["id"], seconds=VIEW_SECONDS)
            except ClockMismatch:
                return "refused"
        return "plays" if report.video_frames > 0 else "no_image"


class _Views:
    """The lab's views of one camera, fetched once per check."""

    def __init__(self, timeline: Timeline, serial: str):
        self.t, self.serial = timeline, serial
        self._cache: dict[str, Any] = {}

    async def _get(self, name: str) -> Any:
        if name not in self._cache:
            lab, serial = self.t.lab, self.serial
            if name == "state":
                self._cache[name] = await _camera_state(lab, serial) or {}
            elif name == "troubleshooting":
                try:
                    self._cache[name] = await lab.get(f"/api/lab/cameras/{serial}/troubleshooting")
                except ApiError as exc:
                    self._cache[name] = {"unavailable": exc.code, "fields": {}}
            elif name == "diagnosis":
                self._cache[name] = await lab.get(f"/api/lab/cameras/{serial}/diagnosis")
            elif name == "status":
                status = await lab.get("/api/lab/status")
                self._cache[name] = next((c for s in status["systems"] for c in s["cameras"]
                                          if c["serial"] == serial), {})
            elif name == "manager":
                self._cache[name] = {}
                for system in (await lab.get("/controller/systems"))["systems"]:
                    cams = (await lab.get(f"/controller/{system['id']}/api/cameras"))["cameras"]
                    found = next((c for c in cams if c["serial"] == serial), None)
                    if found is not None:
                        self._cache[name] = found
                        break
        return self._cache[name]

    async def diagnosis(self) -> dict[str, Any]:
        return await self._get("diagnosis")

    async def value(self, key: str) -> Any:
        if key == "troubleshooting":
            pages = await self._get("troubleshooting")
            return pages.get("unavailable") or "available"
        head, _, path = key.partition(".")
        if head == "radio":
            return dig((await self._get("state")).get("radio"), path)
        if head == "troubleshooting":
            return (await self._get("troubleshooting")).get("fields", {}).get(path)
        return dig(await self._get(head), path)


async def _camera_state(lab: Session, serial: str) -> dict | None:
    cameras = (await lab.get("/api/lab/cameras"))["cameras"]
    return next((c["state"] for c in cameras if c["serial"] == serial), None)


def dig(data: Any, path: str) -> Any:
    """``data`` at a dotted ``path`` (list items by number); None where it does not exist."""
    for part in path.split(".") if path else []:
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def matches(expected: Any, actual: Any) -> bool:
    """Whether ``actual`` satisfies ``expected`` (module docstring: ``""``, ``"*"``, comparisons)."""
    if expected == "":
        return _empty(actual)
    if expected == "*":
        return not _empty(actual)
    if isinstance(expected, str) and expected[:1] in "<>" and isinstance(actual, (int, float)) \
            and not isinstance(actual, bool):
        op = expected[:2] if expected[1:2] == "=" else expected[:1]
        try:
            bound = float(expected[len(op):])
        except ValueError:
            return False
        return {"<": actual < bound, ">": actual > bound, "<=": actual <= bound, ">=": actual >= bound}[op]
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return float(expected) == float(actual)
    return expected == actual
