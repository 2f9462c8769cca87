"""A scenario's timeline, run against a running lab through its API (SPEC L1, L2, L3).

``Timeline(scenario, lab).run()`` carries out each ``[[timeline]]`` step in file order at its time —
dock, undock, press, travel, gps, fault, clear, move — and checks each ``expect`` step, so the same
scenario file is a demo and a regression test (``bwlab test``, bwlab/regression.py). Steps run ``at``
seconds after the timeline starts, in real seconds (a ``travel`` moves lab time, not the timeline);
a step without ``at`` runs as soon as the one before it is done. A ``fault`` is any kind of
``labnet/faults.py``, or ``{kind = "hostname", target = <a T5 name>}`` for the lab's blocked
host names; ``clear`` without ``fault_id`` clears both.

An ``expect`` step polls until all of its keys hold for its ``camera`` — up to ``within`` real
seconds (10 by default) or, with ``eventually``, until that many seconds of lab time have passed —
then goes on; when they do not hold in time ``ExpectationFailed`` names the file, the step and each
key, what was expected, what was seen and why it does not match. The keys (bwlab/expect.py checks
them when the scenario loads, and judges the values):

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

A path that does not exist in its view fails the step (it never passes for "shows nothing").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from bwlab.client import ApiError, Session
from bwlab.clock import Clock, LabClock, monotonic
from bwlab.errors import BwlabError
from bwlab.expect import Missing, dig, judge
from bwlab.scenario import Scenario, Step, manager_system
from bwlab.viewer import ClockMismatch, Viewer

log = logging.getLogger(__name__)

BLOCKED_HOSTS = "/api/lab/faults/blocked-hosts"
DEFAULT_WITHIN = 10.0
POLL = 0.1
VIEW_SECONDS = 3.0


@dataclass(frozen=True)
class Mismatch:
    key: str
    expected: Any
    seen: Any
    why: str


class ExpectationFailed(BwlabError, AssertionError):
    """An ``expect`` step did not hold in time; the message names the file, the step and each key."""

    def __init__(
        self,
        message: str,
        index: int | None = None,
        mismatches: tuple[Mismatch, ...] = (),
        observed: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        self.index = index
        self.mismatches = mismatches
        self.observed = observed or {}


@dataclass
class StepResult:
    index: int
    step: Step
    ok: bool = True
    detail: Any = None
    started: float = 0.0  # real seconds after the timeline started
    seconds: float = 0.0  # how long the step took
    lab_time: float = 0.0  # lab time when it ended


@dataclass
class Viewing:
    """What the ``viewer`` expectation needs: an operator account and the link with key."""

    email: str
    password: str
    link: str
    passphrase: str | None = None
    ca_pem: str | None = None


def viewing_for(
    scenario: Scenario, links: list[tuple[str | None, str | None, str | None]], ca_pem: str
) -> Viewing | None:
    """The operator who watches for ``viewer`` expectations: the organization's first operator or
    admin, with the first system's link with key — ``links`` holds (link, protected link,
    passphrase) per system, in the scenario's order — the protected one where there is one."""
    member = next(
        (
            m
            for m in (scenario.organization.members if scenario.organization else [])
            if m.role in ("operator", "admin")
        ),
        None,
    )
    link = next((entry for entry in links if entry[0]), None)
    if member is None or link is None:
        return None
    account = scenario.account(member.email)
    plain, protected, passphrase = link
    return Viewing(account.email, account.password, protected or plain or "", passphrase if protected else None, ca_pem)


@dataclass
class Timeline:
    """Runs one scenario's timeline against the lab behind ``lab`` (a lab-token session)."""

    scenario: Scenario
    lab: Session
    source: str = ""  # the scenario's file, for messages
    viewing: Viewing | None = None
    clock: Clock = field(default_factory=LabClock)  # the viewer's clock (lab time, S1)
    on_step: Callable[[StepResult], None] | None = None
    viewer_reports: list[dict[str, Any]] = field(default_factory=list)  # what each viewer check and watch saw
    _operator: Any = None  # the signed-in operator (a bwlab.viewer.Viewer) of remote starts, acks and watches
    _managers: dict[str, Session] = field(default_factory=dict)  # system name → its signed-in Manager
    fault_ids: dict[str, str] = field(default_factory=dict)
    blocked: dict[str, str] = field(default_factory=dict)  # fault id → blocked host name

    async def run(self) -> list[StepResult]:
        started = monotonic()
        results = []
        try:
            for i, step in enumerate(self.scenario.timeline):
                if step.at is not None:
                    wait = started + step.at - monotonic()
                    if wait > 0:
                        await asyncio.sleep(wait)
                began = monotonic()
                detail = await self.do(i, step)
                result = StepResult(
                    i,
                    step,
                    detail=detail,
                    started=began - started,
                    seconds=monotonic() - began,
                    lab_time=self.clock.now(),
                )
                results.append(result)
                if self.on_step is not None:
                    self.on_step(result)
        finally:
            if self._operator is not None:
                await self._operator.__aexit__(None, None, None)
            for session in self._managers.values():
                await session.close()
        return results

    def where(self, index: int) -> str:
        step = self.scenario.timeline[index]
        at = f"at {step.at:g} s" if step.at is not None else "after the step before"
        return (
            f"{self.source or self.scenario.name}: timeline[{index}] ({step.action} {at}"
            + (f", camera {step.camera}" if step.camera else "")
            + ")"
        )

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
        if action in ("remote_start", "acknowledge"):
            return await self._operator_action(index, step)
        if action == "watch":
            return await self._watch(index, step)
        if action == "manager":
            return await self._manager(step)
        return await self.expect(index, step)

    # ---------------------------------------------------------------- what people do

    async def operator(self) -> Any:
        """The scenario's operator, signed in to Live (the account of ``viewing``)."""
        if self._operator is None:
            if self.viewing is None:
                raise ExpectationFailed(
                    "remote starts, acknowledgements and watching need the scenario's operator "
                    "account and a system with a link with key"
                )
            viewer = self._viewer(self.viewing)
            await viewer.__aenter__()
            self._operator = viewer
        return self._operator

    def _viewer(self, v: Viewing) -> Viewer:
        """The reference viewer of ``v``'s account and link on lab time (not signed in yet)."""
        return Viewer(
            self.lab.base_url,
            v.ca_pem,
            email=v.email,
            password=v.password,
            link=v.link,
            passphrase=v.passphrase,
            clock=self.clock,
        )

    async def _camera_user(self, serial: str, *, wait_for: str | None = None) -> dict[str, Any]:
        """The camera user Live lists with this camera; with ``wait_for``, once Live shows that
        field true or set (``stream_id``: a live stream; ``remote_start``: the Start button), as an
        operator waits for the list to say so — it follows the controllers' changes a moment later."""
        op = await self.operator()
        deadline = monotonic() + DEFAULT_WITHIN
        while True:
            users = (await op.session.get(f"/api/cloud/orgs/{op.org_id}/camera-users"))["camera_users"]
            user = next((u for u in users if (u.get("serial") or "").upper() == serial), None)
            if user is not None and (wait_for is None or user.get(wait_for)):
                return user
            if monotonic() >= deadline:
                if user is None:
                    raise ExpectationFailed(f"camera {serial}: Live lists no camera user with it")
                if wait_for == "remote_start":
                    return user  # the start is tried anyway: Live says why it cannot happen
                raise ExpectationFailed(f"camera {serial}: Live shows no live stream of {user.get('name')!r}")
            await asyncio.sleep(POLL)

    async def _operator_action(self, index: int, step: Step) -> dict[str, Any]:
        serial = (step.camera or "").upper()
        op = await self.operator()
        try:
            if step.action == "remote_start":
                user = await self._camera_user(serial, wait_for=None if step.refusal is not None else "remote_start")
                done = await op.session.post(f"/api/cloud/orgs/{op.org_id}/camera-users/{user['id']}/start", {})
            else:
                user = await self._camera_user(serial, wait_for="stream_id")
                done = await op.session.post(f"/api/cloud/orgs/{op.org_id}/streams/{user['stream_id']}/acknowledge", {})
        except ApiError as exc:
            if step.refusal is not None and exc.code == step.refusal:
                return {"refused": exc.code}
            raise ExpectationFailed(
                f"{self.where(index)}: Live refused it: {exc}",
                index,
                (Mismatch("refusal", step.refusal or "", exc.code, str(exc)),),
            ) from None
        if step.refusal is not None:
            raise ExpectationFailed(
                f"{self.where(index)}: expected a refusal {step.refusal!r}, but it went through",
                index,
                (Mismatch("refusal", step.refusal, None, "not refused"),),
            )
        return done

    async def _watch(self, index: int, step: Step) -> dict[str, Any]:
        serial = (step.camera or "").upper()
        op = await self.operator()
        state = await _camera_state(self.lab, serial)
        user_name = ((state or {}).get("user") or {}).get("name")
        seen: dict[str, Any] = {"camera": serial, "refusal": None}
        try:
            stream = await op.wait_for_stream(DEFAULT_WITHIN, user_name)
            report = await op.watch(stream["id"], seconds=step.seconds or VIEW_SECONDS)
            times = sorted(report.capture_times)
            gaps = [1000 * (b - a) for a, b in pairwise(times)]
            seen.update(report.as_dict(), max_gap_ms=round(max(gaps), 1) if gaps else None)
        except TimeoutError:
            seen["refusal"] = "no_stream"
        except ClockMismatch as exc:
            seen.update(refusal="clock_mismatch", message=str(exc))
        self.viewer_reports.append(seen)
        mismatches = []
        for key, expected in step.expect.items():
            got = seen.get("refusal") if key == "refusal" else dig(seen, key)
            verdict = judge(expected, got, self.clock.now())
            if not verdict.ok:
                mismatches.append(
                    Mismatch(key, expected, got if not isinstance(got, Missing) else repr(got), verdict.why)
                )
        if mismatches:
            lines = "\n".join(f"  {m.key}: expected {m.expected!r}, saw {m.seen!r} — {m.why}" for m in mismatches)
            raise ExpectationFailed(
                f"{self.where(index)}: the viewer did not see what was expected:\n{lines}",
                index,
                tuple(mismatches),
                seen,
            )
        return seen

    async def _manager(self, step: Step) -> Any:
        """An administrator's change in the Manager, through the Manager's own API."""
        system = manager_system(self.scenario, step)
        mgr = self._managers.get(system.name)
        systems = {s["name"]: s["id"] for s in (await self.lab.get("/controller/systems"))["systems"]}
        api = f"/controller/{systems[system.name]}/api"
        if mgr is None:
            mgr = Session(self.lab.base_url, self.lab.ca_pem)
            await mgr.sign_in_manager(systems[system.name], system.admin_password)
            self._managers[system.name] = mgr
        values = dict(step.set or {})
        if step.change == "profile":
            profiles = {p["name"]: p for p in (await mgr.get(api + "/profiles"))["profiles"]}
            if step.target in profiles:
                return await mgr.put(
                    api + f"/profiles/{step.target}", {**_profile_body(profiles[step.target]), **values}
                )
            return await mgr.post(api + "/profiles", {"name": step.target, **values})
        if step.change == "wifi_network":
            return await _replace_wifi_network(mgr, api, step.target or "", values)
        if step.change == "camera":
            return await mgr.put(api + f"/cameras/{(step.target or step.camera or '').upper()}", values)
        overview = await mgr.get(api)
        settings = {**overview["settings"], **{k: v for k, v in values.items() if k != "apn"}}
        if "apn" in values:  # Settings > Camera > Mobile networks > Show advanced
            settings["mobile_networks"] = {**(settings.get("mobile_networks") or {}), "apn": values["apn"]}
        return await mgr.put(api + "/settings", settings)

    # ---------------------------------------------------------------- expectations

    async def expect(self, index: int, step: Step) -> dict[str, Any]:
        if step.eventually is not None:
            lab_deadline = self.clock.now() + step.eventually
            expired = lambda: self.clock.now() >= lab_deadline  # noqa: E731
            budget = f"{step.eventually:g} s of lab time"
        else:
            within = step.within if step.within is not None else DEFAULT_WITHIN
            deadline = monotonic() + within
            expired = lambda: monotonic() >= deadline  # noqa: E731
            budget = f"{within:g} s"
        while True:
            observed, mismatches = await self._check(step)
            if not mismatches:
                return observed
            if expired():
                lines = "\n".join(f"  {m.key}: expected {m.expected!r}, saw {m.seen!r} — {m.why}" for m in mismatches)
                raise ExpectationFailed(
                    f"{self.where(index)} did not hold within {budget}:\n{lines}", index, tuple(mismatches), observed
                )
            await asyncio.sleep(POLL)

    async def _check(self, step: Step) -> tuple[dict[str, Any], list[Mismatch]]:
        serial = step.camera.upper() if step.camera else ""
        views = _Views(self, serial)
        observed: dict[str, Any] = {}
        mismatches = []
        now = self.clock.now()
        for key, expected in step.expect.items():
            why = ""
            if key == "viewer":
                got = await self._view(serial)
                ok = got == expected
                why = "" if ok else "the viewer saw otherwise"
            elif key in ("diagnosis", "no_diagnosis"):
                codes = (await views.diagnosis())["codes"]
                wanted = [expected] if isinstance(expected, str) else list(expected)
                if key == "diagnosis" and not wanted:  # a healthy camera: nothing at all is named
                    wrong = list(codes)
                else:
                    wrong = [c for c in wanted if (c in codes) != (key == "diagnosis")]
                ok, got = not wrong, codes
                why = "" if ok else ("not named: " if key == "diagnosis" and wanted else "named: ") + ", ".join(wrong)
            else:
                got = await views.value(key)
                verdict = judge(expected, got, now)
                ok, why = verdict.ok, verdict.why
            observed[key] = got if not isinstance(got, Missing) else repr(got)
            if not ok:
                mismatches.append(Mismatch(key, expected, observed[key], why))
        return observed, mismatches

    async def _view(self, serial: str) -> str:
        """S1: does an operator on lab time see the camera user's live stream?"""
        if self.viewing is None:
            raise ExpectationFailed("a viewer expectation needs the scenario's operator account and link with key")
        state = await _camera_state(self.lab, serial)
        user = ((state or {}).get("user") or {}).get("name")
        async with self._viewer(self.viewing) as viewer:
            try:
                stream = await viewer.wait_for_stream(DEFAULT_WITHIN, user)
            except TimeoutError:
                return "no_stream"
            try:
                report = await viewer.watch(stream["id"], seconds=VIEW_SECONDS)
            except ClockMismatch as exc:
                self.viewer_reports.append({"camera": serial, "refused": str(exc)})
                return "refused"
        self.viewer_reports.append({"camera": serial, **report.as_dict()})
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
                self._cache[name] = next(
                    (c for s in status["systems"] for c in s["cameras"] if c["serial"] == serial), {}
                )
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
            pages = await self._get("troubleshooting")
            if pages.get("unavailable"):
                return None  # the pages cannot be read: nothing is shown (``troubleshooting`` says why)
            return dig(pages.get("fields", {}), path)
        return dig(await self._get(head), path)


async def _replace_wifi_network(mgr: Session, api: str, ssid: str, values: dict[str, Any]) -> Any:
    """The manual's way to change a Wi-Fi network in the Manager: delete it and add it again. The
    Manager refuses to delete a network a profile uses, so, as an administrator would, take it out
    of those profiles first and put it back after."""
    networks = {n["ssid"]: n for n in (await mgr.get(api + "/wifi-networks"))["wifi_networks"]}
    using = [p for p in (await mgr.get(api + "/profiles"))["profiles"] if ssid in (p.get("wifi_networks") or [])]
    for p in using:
        body = _profile_body(p)
        await mgr.put(
            api + f"/profiles/{p['name']}", {**body, "wifi_networks": [n for n in body["wifi_networks"] if n != ssid]}
        )
    if ssid in networks:
        await mgr.delete(api + f"/wifi-networks/{networks[ssid]['id']}")
    added = await mgr.post(api + "/wifi-networks", {"ssid": ssid, **values})
    for p in using:
        await mgr.put(api + f"/profiles/{p['name']}", _profile_body(p))
    return added


def _profile_body(profile: dict[str, Any]) -> dict[str, Any]:
    """The keys of a profile the Manager takes back in a PUT (what it lists, less what it adds)."""
    keys = (
        "name",
        "streaming",
        "live_stream_on_record",
        "remote_activation",
        "remote_mode",
        "location",
        "wifi_networks",
        "help_gesture",
        "help_stream",
    )
    return {k: profile[k] for k in keys if k in profile}


async def _camera_state(lab: Session, serial: str) -> dict | None:
    cameras = (await lab.get("/api/lab/cameras"))["cameras"]
    return next((c["state"] for c in cameras if c["serial"] == serial), None)
