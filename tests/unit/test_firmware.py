"""The camera firmware state machine, scene by scene (D1, D3, D4, D5, D6, S7, S11, S15, T1, T2).

Scenes read as playbooks, after mitmproxy's ``tutils.Playbook``: ``playbook >> event`` feeds an
event, ``playbook << command`` expects the next command, and ``assert playbook`` runs what was
written since the last assert. State reports and log lines are left out unless a scene asks for
them. Time is a ``ManualClock`` that scenes move forward; nothing sleeps.
"""

from __future__ import annotations

import json
from typing import Any
from unittest.mock import ANY

import pytest

from bwlab.clock import ManualClock
from bwlab.models import get_model
from firmware_stub.events import (
    VIBRATION_PATTERNS,
    Acknowledged,
    ButtonEdge,
    ButtonGesture,
    CloseHubConnection,
    Command,
    Docked,
    Event,
    HubConnected,
    HubDisconnected,
    LicenceChanged,
    LogEvent,
    NetworkChanged,
    OpenHubConnection,
    ProfileSettings,
    Provisioned,
    RemoteStartRequested,
    RemoteStartResult,
    ReportState,
    RequestStreamStart,
    SetLocationReporting,
    StartMedia,
    StartRecording,
    StopMedia,
    StopRecording,
    StopStream,
    StreamAccepted,
    StreamRefused,
    TimerFired,
    Undocked,
    Vibrate,
    WifiNetwork,
)
from firmware_stub.firmware import (
    HUB_CONNECT_TIMEOUT,
    RECONNECT_BACKOFF,
    STREAM_REQUEST_TIMEOUT,
    Firmware,
)

DAY = 86_400.0
SERIAL = "ACCC8E0A0001"
STREAMING = ProfileSettings(streaming=True)
ON_RECORD = ProfileSettings(streaming=True, live_stream_on_record=True)


# ------------------------------------------------------------------------------------ playbook


class Playbook:
    """``playbook >> event << expected_command``; evaluated by ``assert playbook``."""

    def __init__(self, firmware: Firmware, *, ignore: tuple[type[Command], ...] = (ReportState, LogEvent)):
        self.firmware = firmware
        self.ignore = ignore
        self.steps: list[tuple[str, Any]] = []
        self.done = 0
        self.transcript: list[str] = []

    def __rshift__(self, event: Event) -> Playbook:
        self.steps.append((">>", event))
        return self

    def __lshift__(self, command: Command) -> Playbook:
        self.steps.append(("<<", command))
        return self

    def _fail(self, message: str) -> None:
        raise AssertionError(message + "\n--- transcript ---\n" + "\n".join(self.transcript))

    def __bool__(self) -> bool:
        pending: list[Command] = []
        for kind, item in self.steps[self.done :]:
            self.done += 1
            if kind == ">>":
                if pending:
                    self._fail(f"unexpected commands before {item!r}: {pending!r}")
                self.transcript.append(f">> {item!r}")
                produced = self.firmware.handle_event(item)
                for command in produced:
                    self.transcript.append(
                        f"   {'(ignored) ' if isinstance(command, self.ignore) else ''}<< {command!r}"
                    )
                pending = [c for c in produced if not isinstance(c, self.ignore)]
            else:
                if not pending:
                    self._fail(f"expected {item!r}, but the firmware produced nothing more")
                actual = pending.pop(0)
                if item != actual:
                    self._fail(f"expected {item!r}\n     got {actual!r}")
        if pending:
            self._fail(f"unexpected commands at the end: {pending!r}")
        return True


# ------------------------------------------------------------------------------------ helpers


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def provisioning(
    clock: ManualClock,
    *,
    model: str = "W100",
    profile: ProfileSettings = ON_RECORD,
    allow_troubleshooting: bool = True,
    offset: float = 0.0,
    serial: str = SERIAL,
) -> Provisioned:
    """What a dock hands over: the controller's clock is ``offset`` ahead of the camera's."""
    controller_time = clock.now() + offset
    return Provisioned(
        clock.now(),
        serial=serial,
        model=model,
        user_id="cu-17",
        user_name="Alice Martin",
        cert_pem="-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        cert_not_after=controller_time + 6 * DAY,
        system_public_key="BGx0ZXN0LXB1YmxpYy1rZXk=",
        wifi_networks=(WifiNetwork("lab-wpa2", "correct horse"),),
        profile=profile,
        allow_troubleshooting=allow_troubleshooting,
        time=controller_time,
    )


def dock_and_provision(pb: Playbook, clock: ManualClock, **kwargs: Any) -> None:
    pb >> Docked(clock.now(), "dock-1/bay-3")
    pb >> provisioning(clock, **kwargs)


def out_of_dock(
    clock: ManualClock,
    *,
    model: str = "W100",
    profile: ProfileSettings = ON_RECORD,
    connect: bool = True,
    **kwargs: Any,
) -> tuple[Firmware, Playbook]:
    """A provisioned camera on a network, out of its dock, connected to the hub."""
    fw = Firmware(SERIAL, model)
    pb = Playbook(fw)
    dock_and_provision(pb, clock, model=model, profile=profile, **kwargs)
    pb >> NetworkChanged(clock.now(), True, "WLAN")
    pb >> Undocked(clock.now())
    if get_model(model).gps and profile.location and profile.location_mode == "always":
        pb << SetLocationReporting(True)  # S11
    pb << OpenHubConnection()
    if connect:
        pb >> HubConnected(clock.now())
    assert pb
    return fw, pb


def live(clock: ManualClock, stream_id: str = "st-1", **kwargs: Any) -> tuple[Firmware, Playbook]:
    """A camera streaming live after a record press with *Live stream on record*."""
    fw, pb = out_of_dock(clock, **kwargs)
    assert (
        pb
        >> ButtonGesture(clock.now(), "record", "press")
        << StartRecording()
        << RequestStreamStart(None, "record")
        >> StreamAccepted(clock.now(), stream_id)
        << StartMedia(stream_id)
    )
    return fw, pb


def now(clock: ManualClock) -> float:
    return clock.now()


# ------------------------------------------------------------------------------------ D3


def test_record_press_with_live_stream_on_record_starts_recording_and_stream(clock):
    # covers: D3, S7
    fw, pb = out_of_dock(clock)
    assert fw.state()["leds"] == {"record": "off", "wifi": "off"}
    assert pb >> ButtonGesture(now(clock), "record", "press") << StartRecording() << RequestStreamStart(None, "record")
    state = fw.state()
    assert state["recording"] is True
    assert state["streaming"] == "connecting"
    assert state["leds"] == {"record": "red", "wifi": "orange-blink"}
    assert pb >> StreamAccepted(now(clock), "st-1") << StartMedia("st-1")
    state = fw.state()
    assert state["streaming"] == "live"
    assert state["stream_id"] == "st-1"
    assert state["stream_reason"] == "record"
    assert state["leds"] == {"record": "red", "wifi": "green"}
    assert state["last_error"] is None


def test_record_press_without_live_stream_on_record_only_records(clock):
    # covers: D3, S7
    fw, pb = out_of_dock(clock, profile=STREAMING)
    assert pb >> ButtonGesture(now(clock), "record", "press") << StartRecording()
    assert fw.state()["streaming"] is None
    assert fw.state()["leds"] == {"record": "red", "wifi": "off"}
    # a stream started while recording does not start a second recording
    assert pb >> ButtonGesture(now(clock), "function", "double") << RequestStreamStart(None, "function")
    assert fw.state()["leds"]["wifi"] == "orange-blink"


def test_function_double_press_starts_a_recording_with_the_stream(clock):
    # covers: D3
    fw, pb = out_of_dock(clock, profile=STREAMING)
    assert (
        pb
        >> ButtonGesture(now(clock), "function", "double")
        << StartRecording()
        << RequestStreamStart(None, "function")
        >> StreamAccepted(now(clock), "st-2")
        << StartMedia("st-2")
    )
    assert fw.state()["leds"] == {"record": "red", "wifi": "green"}


def test_function_single_and_long_press_do_nothing(clock):
    # covers: D3 — only the double press is the stream gesture
    fw, pb = out_of_dock(clock, profile=STREAMING)
    assert pb >> ButtonGesture(now(clock), "function", "press") >> ButtonGesture(now(clock), "function", "long")
    assert fw.state()["recording"] is False


def test_record_press_while_recording_changes_nothing(clock):
    # covers: D3
    fw, pb = live(clock)
    assert pb >> ButtonGesture(now(clock), "record", "press") >> ButtonGesture(now(clock), "function", "double")
    assert fw.state()["streaming"] == "live"


def test_models_with_a_screen_show_the_stream_icon_instead_of_the_wifi_led(clock):
    # covers: D3 (per-model indicator: docs/manual-vs-spec.md row 14)
    fw, pb = out_of_dock(clock, model="W102")
    assert fw.state()["screen"]["stream_icon"] is None
    assert pb >> ButtonGesture(now(clock), "record", "press") << StartRecording() << RequestStreamStart(None, "record")
    state = fw.state()
    assert state["leds"] == {"record": "red", "wifi": None}
    assert state["screen"]["stream_icon"] == "visible"
    assert state["screen"]["record_icon"] is True
    assert pb >> StreamAccepted(now(clock), "st-1") << StartMedia("st-1")
    assert fw.state()["screen"]["stream_icon"] == "green"
    assert fw.state()["screen"]["warnings"] == []


def test_a_screen_shows_the_weak_signal_icon_on_a_weak_wifi_and_not_on_lte(clock):
    # covers: T3 (row 4: "the camera screen shows the weak Wi-Fi signal icon")
    fw, pb = out_of_dock(clock, model="W102")
    assert fw.state()["screen"]["weak_signal"] is False
    assert pb >> NetworkChanged(now(clock), True, "WLAN", weak_signal=True)
    assert fw.state()["screen"]["weak_signal"] is True
    assert fw.state()["screen"]["warnings"] == [], "weak, but still connected: no warning"
    assert pb >> NetworkChanged(now(clock), True, "LTE", weak_signal=True)
    assert fw.state()["screen"]["weak_signal"] is False, "the icon is the Wi-Fi's"
    assert pb >> NetworkChanged(now(clock), True, "WLAN", weak_signal=False)
    assert fw.state()["screen"]["weak_signal"] is False
    leds_only, pb = out_of_dock(clock, model="W100")
    assert pb >> NetworkChanged(now(clock), True, "WLAN", weak_signal=True)
    assert leds_only.state()["screen"] is None, "the W100 has LEDs, no screen to show it on"


def test_raw_edges_work_like_gestures(clock):
    # covers: D3, D5 — a function double press and a 2 s record hold, from raw button edges
    fw, pb = out_of_dock(clock, profile=STREAMING)
    t0 = now(clock)
    assert (
        pb
        >> ButtonEdge(t0, "function", True)
        >> ButtonEdge(t0 + 0.1, "function", False)
        >> ButtonEdge(t0 + 0.3, "function", True)
        << StartRecording()
        << RequestStreamStart(None, "function")
        >> ButtonEdge(t0 + 0.4, "function", False)
        >> StreamAccepted(t0 + 0.5, "st-3")
        << StartMedia("st-3")
        >> ButtonEdge(t0 + 1.0, "record", True)
    )
    assert fw.get_timer() == t0 + 3.0
    assert fw.state()["streaming"] == "live"
    assert (
        pb
        >> TimerFired(t0 + 3.0)
        << StopMedia("st-3")
        << StopStream("st-3", "user")
        << StopRecording("user")
        >> ButtonEdge(t0 + 4.0, "record", False)
    )
    assert fw.state()["recording"] is False


# ------------------------------------------------------------------------------------ D6


def test_acknowledgement_makes_the_camera_vibrate(clock):
    # covers: D6, D3
    fw, pb = live(clock)
    clock.advance(12)
    until = now(clock) + sum(VIBRATION_PATTERNS["acknowledged"])
    assert pb >> Acknowledged(now(clock), "st-1", "op-bob") << Vibrate("acknowledged", until)
    state = fw.state()
    assert state["vibrating_until"] == until
    assert state["acknowledged_by"] == "op-bob"
    assert fw.get_timer() == until
    assert pb >> TimerFired(until)
    assert fw.state()["vibrating_until"] is None


def test_acknowledgement_of_another_stream_is_ignored(clock):
    # covers: D6
    fw, pb = live(clock)
    assert pb >> Acknowledged(now(clock), "st-other", "op-bob")
    assert fw.state()["vibrating_until"] is None


# ------------------------------------------------------------------------------------ D5


def test_long_press_stops_stream_and_recording_together(clock):
    # covers: D5
    fw, pb = live(clock)
    assert (
        pb
        >> ButtonGesture(now(clock), "record", "long")
        << StopMedia("st-1")
        << StopStream("st-1", "user")
        << StopRecording("user")
    )
    state = fw.state()
    assert (state["recording"], state["streaming"], state["stream_id"]) == (False, None, None)
    assert state["leds"] == {"record": "off", "wifi": "off"}
    assert state["hub"] == "up"  # the camera stays reachable for remote starts


def test_long_press_while_only_recording_stops_the_recording(clock):
    # covers: D5
    fw, pb = out_of_dock(clock, profile=STREAMING)
    assert (
        pb
        >> ButtonGesture(now(clock), "record", "press")
        << StartRecording()
        >> ButtonGesture(now(clock), "record", "long")
        << StopRecording("user")
    )
    assert pb >> ButtonGesture(now(clock), "record", "long")  # nothing left to stop


def test_no_gesture_stops_the_stream_but_keeps_recording(clock):
    # covers: D5 — short presses and the function button never stop a live stream
    fw, pb = live(clock)
    for button in ("record", "function", "top"):
        for gesture in ("press", "double"):
            pb >> ButtonGesture(now(clock), button, gesture)  # type: ignore[arg-type]
    pb >> ButtonGesture(now(clock), "function", "long")
    assert pb
    assert (fw.state()["streaming"], fw.state()["recording"]) == ("live", True)


def test_stop_before_the_hub_answers_cancels_the_stream(clock):
    # covers: D5
    fw, pb = out_of_dock(clock)
    assert (
        pb
        >> ButtonGesture(now(clock), "record", "press")
        << StartRecording()
        << RequestStreamStart(None, "record")
        >> ButtonGesture(now(clock), "record", "long")
        << StopStream(None, "user")
        << StopRecording("user")
        >> StreamAccepted(now(clock), "st-late")
        << StopStream("st-late", "user")
    )
    assert fw.state()["streaming"] is None


# ------------------------------------------------------------------------------------ D4


def test_remote_start_when_always_allowed_starts_recording_and_stream(clock):
    # covers: D4, S7
    fw, pb = out_of_dock(clock, profile=ProfileSettings(streaming=True, remote_activation="always"))
    assert (
        pb
        >> RemoteStartRequested(now(clock), "rq-1", "op-bob")
        << RemoteStartResult("rq-1", True, None)
        << StartRecording()
        << RequestStreamStart(None, "remote", "rq-1")
        >> StreamAccepted(now(clock), "st-9")
        << StartMedia("st-9")
    )
    assert fw.state()["leds"] == {"record": "red", "wifi": "green"}
    assert fw.state()["stream_reason"] == "remote"


def test_remote_start_while_recording_needs_a_recording(clock):
    # covers: D4, S7
    fw, pb = out_of_dock(clock, profile=ProfileSettings(streaming=True, remote_activation="while_recording"))
    assert pb >> RemoteStartRequested(now(clock), "rq-1", "op-bob") << RemoteStartResult("rq-1", False, "not_recording")
    assert fw.state()["recording"] is False
    assert (
        pb
        >> ButtonGesture(now(clock), "record", "press")
        << StartRecording()
        >> RemoteStartRequested(now(clock), "rq-2", "op-bob")
        << RemoteStartResult("rq-2", True, None)
        << RequestStreamStart(None, "remote", "rq-2")
    )


@pytest.mark.parametrize(
    ("profile", "code"),
    [
        (ProfileSettings(streaming=True), "remote_activation_disabled"),
        (
            ProfileSettings(streaming=False, remote_activation="always", location=True, location_mode="always"),
            "streaming_disabled",
        ),
    ],
)
def test_remote_start_refused_by_the_profile(clock, profile, code):
    # covers: D4, S7
    fw, pb = out_of_dock(clock, model="W101", profile=profile)
    assert pb >> RemoteStartRequested(now(clock), "rq-1", "op-bob") << RemoteStartResult("rq-1", False, code)
    assert fw.state()["recording"] is False


def test_remote_start_refused_in_the_dock_and_without_certificate(clock):
    # covers: D4, D1
    always = ProfileSettings(streaming=True, remote_activation="always")
    fw = Firmware(SERIAL, "W100")
    pb = Playbook(fw)
    dock_and_provision(pb, clock, profile=always)
    assert pb >> RemoteStartRequested(now(clock), "rq-1", "op") << RemoteStartResult("rq-1", False, "docked")
    clock.advance(7 * DAY)
    assert (
        pb
        >> Undocked(now(clock))
        >> RemoteStartRequested(now(clock), "rq-2", "op")
        << RemoteStartResult("rq-2", False, "certificate_expired")
    )


def test_remote_start_while_streaming_is_acknowledged_without_a_second_stream(clock):
    # covers: D4
    fw, pb = live(
        clock, profile=ProfileSettings(streaming=True, live_stream_on_record=True, remote_activation="always")
    )
    assert pb >> RemoteStartRequested(now(clock), "rq-1", "op") << RemoteStartResult("rq-1", True, "already_streaming")


# ------------------------------------------------------------------------------------ T2 / S15


def test_streaming_disabled_in_profile_camera_does_not_react(clock):
    # covers: T2, S7 — "the camera does not react when I try to start a live stream"
    fw = Firmware(SERIAL, "W100")
    pb = Playbook(fw, ignore=(ReportState,))
    pb >> Docked(now(clock), "dock-1/bay-3") << LogEvent("info", "docked", ANY, ANY)
    pb >> provisioning(clock, profile=ProfileSettings(streaming=False)) << LogEvent("info", "provisioned", ANY, ANY)
    pb >> NetworkChanged(now(clock), True, "WLAN")
    pb >> Undocked(now(clock)) << LogEvent("info", "undocked", ANY, ANY)  # no hub connection needed
    before = fw.state()["leds"]
    assert (
        pb
        >> ButtonGesture(now(clock), "function", "double")
        << LogEvent("warning", "streaming_disabled", ANY, {"trigger": "function"})
    )
    state = fw.state()
    assert state["leds"] == before == {"record": "off", "wifi": "off"}
    assert (state["recording"], state["streaming"]) == (False, None)
    assert state["last_error"]["code"] == "streaming_disabled"
    # the record button still records locally
    pb.ignore = (ReportState, LogEvent)
    assert pb >> ButtonGesture(now(clock), "record", "press") << StartRecording()


def test_licence_expired_camera_does_not_react_to_a_start(clock):
    # covers: T2, S15, D3 — the cloud refuses before the camera knew: the start is taken back
    fw, pb = out_of_dock(clock, profile=STREAMING)
    pb.ignore = (ReportState,)
    assert (
        pb
        >> ButtonGesture(now(clock), "function", "double")
        << StartRecording()
        << RequestStreamStart(None, "function")
        >> StreamRefused(now(clock), "licence_expired")
        << LogEvent("warning", "licence_expired", ANY, ANY)
        << StopRecording("licence_expired")
    )
    state = fw.state()
    assert state["streaming"] is None
    assert state["leds"] == {"record": "off", "wifi": "off"}
    assert state["last_error"]["code"] == "licence_expired"
    # now it knows: a new double press does nothing at all — no recording, no request
    assert pb >> ButtonGesture(now(clock), "function", "double") << LogEvent("warning", "licence_expired", ANY, ANY)
    assert fw.state()["recording"] is False


def test_told_the_licence_expired_the_camera_does_not_react(clock):
    # covers: T2, S15, D3, D4 — T2 row 2b: the hub said the licence is not valid; a purchase restores it
    fw, pb = out_of_dock(clock, profile=ProfileSettings(streaming=True, remote_activation="always"))
    assert pb >> LicenceChanged(now(clock), valid=False)
    assert pb >> ButtonGesture(now(clock), "function", "double")  # nothing: no recording, no stream
    state = fw.state()
    assert state["recording"] is False and state["streaming"] is None and state["leds"]["wifi"] == "off"
    assert state["last_error"]["code"] == "licence_expired"
    # an operator's remote start is refused with the reason, without recording
    assert pb >> RemoteStartRequested(now(clock), "rq-1", "op") << RemoteStartResult("rq-1", False, "licence_expired")
    assert fw.state()["recording"] is False
    # an order: the hub tells the camera, which streams again
    cover_end = fw.camera_time(now(clock)) + 365 * DAY
    assert pb >> LicenceChanged(now(clock), valid=True, until=cover_end)
    assert fw.state()["last_error"] is None
    assert (
        pb
        >> ButtonGesture(now(clock), "function", "double")
        << StartRecording()
        << RequestStreamStart(None, "function")
    )


def test_the_cover_the_hub_announced_runs_out_on_the_camera_clock(clock):
    # covers: T2, S15 — valid until a moment: after it the camera does not react, without being told
    fw, pb = out_of_dock(clock, profile=STREAMING)
    assert pb >> LicenceChanged(now(clock), valid=True, until=fw.camera_time(now(clock)) + DAY)
    clock.advance(DAY + 1)
    assert pb >> ButtonGesture(now(clock), "function", "double")
    assert fw.state()["recording"] is False


def test_other_cloud_refusals_show_an_error_and_a_new_start_retries(clock):
    # covers: T2, D3
    fw, pb = out_of_dock(clock, profile=STREAMING, model="W120")
    assert (
        pb
        >> ButtonGesture(now(clock), "function", "double")
        << StartRecording()
        << RequestStreamStart(None, "function")
        >> StreamRefused(now(clock), "system_not_connected")
    )
    state = fw.state()
    assert state["streaming"] == "error"
    assert state["screen"]["stream_icon"] == "red"
    assert state["screen"]["warnings"] == ["service"]
    assert state["last_error"]["code"] == "system_not_connected"
    assert pb >> ButtonGesture(now(clock), "function", "double") << RequestStreamStart(None, "function")
    assert fw.state()["streaming"] == "connecting"


# ------------------------------------------------------------------------------------ D1


def test_six_days_out_of_the_dock_the_certificate_expires_and_docking_renews_it(clock):
    # covers: D1, T2
    t_dock = now(clock)
    fw, pb = live(clock)
    expiry = t_dock + 6 * DAY
    assert fw.state()["cert_not_after"] == expiry
    assert fw.get_timer() == expiry
    clock.advance(6 * DAY - 1)
    assert pb >> TimerFired(now(clock))
    assert fw.state()["certificate_valid"] is True
    clock.advance(1)
    # the camera cannot authenticate any more: the live stream ends, the recording goes on
    assert (
        pb
        >> TimerFired(now(clock))
        << StopMedia("st-1")
        << StopStream("st-1", "certificate_expired")
        << CloseHubConnection("certificate_expired")
    )
    state = fw.state()
    assert state["certificate_valid"] is False
    assert (state["recording"], state["streaming"]) == (True, "error")
    assert state["leds"] == {"record": "red", "wifi": "red"}
    assert state["last_error"]["code"] == "certificate_expired"
    assert state["hub"] == "down"

    # stop, then try again: the start is refused (records locally, no hub, error shown)
    assert pb >> ButtonGesture(now(clock), "record", "long") << StopRecording("user")
    assert fw.state()["leds"] == {"record": "off", "wifi": "red"}
    clock.advance(3600)
    assert pb >> ButtonGesture(now(clock), "record", "press") << StartRecording()
    assert (fw.state()["streaming"], fw.state()["leds"]["wifi"]) == ("error", "red")
    assert pb >> NetworkChanged(now(clock), True, "WLAN")  # a network does not help
    assert fw.get_timer() is None

    # dock again: certificate renewed, streaming works
    assert pb >> Docked(now(clock), "dock-1/bay-3") << StopRecording("docked")
    assert fw.state()["leds"] == {"record": "off", "wifi": "off"}
    assert (
        pb
        >> provisioning(clock)
        >> Undocked(now(clock))
        << OpenHubConnection()
        >> HubConnected(now(clock))
        >> ButtonGesture(now(clock), "record", "press")
        << StartRecording()
        << RequestStreamStart(None, "record")
        >> StreamAccepted(now(clock), "st-2")
        << StartMedia("st-2")
    )
    state = fw.state()
    assert state["certificate_valid"] is True
    assert state["cert_not_after"] == now(clock) + 6 * DAY
    assert state["leds"] == {"record": "red", "wifi": "green"}
    assert state["last_error"] is None


def test_expired_certificate_on_a_screen_model_shows_the_wifi_and_service_warnings(clock):
    # covers: D1, T2 (rows 3b and 5)
    fw, pb = out_of_dock(clock, model="W102")
    clock.advance(6 * DAY + 1)
    assert pb >> TimerFired(now(clock)) << CloseHubConnection("certificate_expired")
    screen = fw.state()["screen"]
    assert screen["warnings"] == ["wifi", "service"]
    assert "dock" in screen["message"]


def test_undocking_with_an_expired_certificate_opens_no_hub_connection(clock):
    # covers: D1
    fw = Firmware(SERIAL, "W100")
    pb = Playbook(fw)
    dock_and_provision(pb, clock)
    clock.advance(6 * DAY + 60)  # left in a bay that lost power, say: no new provisioning
    assert pb >> NetworkChanged(now(clock), True, "WLAN") >> Undocked(now(clock))
    assert fw.state()["leds"]["wifi"] == "red"
    assert fw.state()["certificate_valid"] is False


def test_hub_refusing_the_certificate_shows_the_error_and_retries(clock):
    # covers: D1, T2 — e.g. a camera clock behind the cloud's (S1 skew): the hub decides
    fw, pb = out_of_dock(clock, connect=False)
    t = now(clock)
    assert pb >> HubDisconnected(t, "certificate_expired")
    state = fw.state()
    assert (state["hub"], state["leds"]["wifi"]) == ("backoff", "red")
    assert state["last_error"]["code"] == "certificate_expired"
    assert pb >> ButtonGesture(t, "record", "press") << StartRecording() << OpenHubConnection()
    assert fw.state()["streaming"] == "error"
    assert (
        pb
        >> HubConnected(t + 1)
        << RequestStreamStart(None, "record")
        >> StreamAccepted(t + 1, "st-1")
        << StartMedia("st-1")
    )
    assert fw.state()["leds"]["wifi"] == "green"


def test_clock_offset_from_provisioning_moves_the_expiry_moment(clock):
    # covers: D1 — the camera adopts the controller's time; its certificate expires on that clock
    fw, pb = out_of_dock(clock, offset=120.0)
    assert fw.state()["clock_offset"] == 120.0
    assert fw.camera_time(now(clock)) == now(clock) + 120.0
    assert fw.get_timer() == now(clock) + 6 * DAY


# ------------------------------------------------------------------------------------ network


def test_no_network_keeps_recording_and_streams_once_the_network_is_back(clock):
    # covers: D3, T2
    fw, pb = out_of_dock(clock)
    assert pb >> NetworkChanged(now(clock), False, None) << CloseHubConnection("network_down")
    assert fw.state()["leds"] == {"record": "off", "wifi": "red"}
    assert pb >> ButtonGesture(now(clock), "record", "press") << StartRecording()
    state = fw.state()
    assert (state["recording"], state["streaming"]) == (True, "error")
    assert state["last_error"]["code"] == "no_network"
    assert (
        pb
        >> NetworkChanged(now(clock), True, "WLAN")
        << OpenHubConnection()
        >> HubConnected(now(clock))
        << RequestStreamStart(None, "record")
        >> StreamAccepted(now(clock), "st-1")
        << StartMedia("st-1")
    )
    assert fw.state()["leds"] == {"record": "red", "wifi": "green"}


def test_network_loss_while_live_resumes_the_same_stream(clock):
    # covers: D3 — media keeps buffering; the stream resumes under its id
    fw, pb = live(clock, model="W120")
    assert pb >> NetworkChanged(now(clock), False, "LTE") << CloseHubConnection("network_down")
    state = fw.state()
    assert (state["streaming"], state["stream_id"]) == ("error", "st-1")
    assert state["screen"]["warnings"] == ["mobile"]
    assert (
        pb
        >> NetworkChanged(now(clock), True, "LTE")
        << OpenHubConnection()
        >> HubConnected(now(clock))
        << RequestStreamStart("st-1", "record")
        >> StreamAccepted(now(clock), "st-1")
    )
    assert fw.state()["streaming"] == "live"


def test_hub_connection_timeout_and_backoff(clock):
    fw, pb = out_of_dock(clock, connect=False)
    t = now(clock)
    assert fw.get_timer() == t + HUB_CONNECT_TIMEOUT
    t += HUB_CONNECT_TIMEOUT
    assert pb >> TimerFired(t) << CloseHubConnection("connect_timeout")
    assert fw.get_timer() == t + RECONNECT_BACKOFF[0]
    t += RECONNECT_BACKOFF[0]
    assert pb >> TimerFired(t) << OpenHubConnection() >> HubDisconnected(t + 0.5, "tls_handshake_failed")
    assert fw.get_timer() == t + 0.5 + RECONNECT_BACKOFF[1]
    # a user's start does not wait for the backoff
    assert (
        pb
        >> ButtonGesture(t + 1, "record", "press")
        << StartRecording()
        << OpenHubConnection()
        >> HubConnected(t + 2)
        << RequestStreamStart(None, "record")
    )
    assert fw.state()["leds"]["wifi"] == "orange-blink"


def test_hub_that_does_not_answer_a_stream_request_is_reconnected(clock):
    fw, pb = out_of_dock(clock)
    t = now(clock)
    assert pb >> ButtonGesture(t, "record", "press") << StartRecording() << RequestStreamStart(None, "record")
    t += STREAM_REQUEST_TIMEOUT
    assert pb >> TimerFired(t) << CloseHubConnection("hub_no_response")
    assert fw.state()["streaming"] == "connecting"
    assert fw.state()["last_error"]["code"] == "hub_no_response"
    t += RECONNECT_BACKOFF[0]
    assert (
        pb
        >> TimerFired(t)
        << OpenHubConnection()
        >> HubConnected(t)
        << RequestStreamStart(None, "record")
        >> StreamAccepted(t, "st-1")
        << StartMedia("st-1")
    )


def test_hub_drop_while_live_blinks_until_resumed(clock):
    fw, pb = live(clock)
    t = now(clock)
    assert pb >> HubDisconnected(t, "reset")
    assert fw.state()["leds"]["wifi"] == "orange-blink"
    assert (
        pb
        >> TimerFired(t + RECONNECT_BACKOFF[0])
        << OpenHubConnection()
        >> HubConnected(t + 2)
        << RequestStreamStart("st-1", "record")
    )


# ------------------------------------------------------------------------------------ docking


def test_docking_ends_stream_and_recording_and_the_dock_ignores_buttons(clock):
    # covers: D3, D5 (docking decision, see firmware docstring)
    fw, pb = live(clock)
    assert (
        pb
        >> Docked(now(clock), "dock-2/bay-1")
        << StopMedia("st-1")
        << StopStream("st-1", "docked")
        << StopRecording("docked")
        << CloseHubConnection("docked")
    )
    state = fw.state()
    assert (state["docked"], state["bay"], state["charging"]) == (True, "dock-2/bay-1", True)
    assert state["leds"] == {"record": "off", "wifi": "off"}
    assert pb >> ButtonGesture(now(clock), "record", "press") >> ButtonGesture(now(clock), "function", "double")
    assert fw.state()["recording"] is False


def test_provisioning_is_only_taken_in_the_dock_and_for_this_camera(clock):
    fw = Firmware(SERIAL, "W100")
    pb = Playbook(fw, ignore=(ReportState,))
    assert pb >> provisioning(clock) << LogEvent("warning", "provisioning_outside_dock", ANY, ANY)
    assert (
        pb
        >> Docked(now(clock), "b")
        << LogEvent("info", "docked", ANY, ANY)
        >> provisioning(clock, serial="OTHER")
        << LogEvent("error", "provisioning_mismatch", ANY, ANY)
    )
    assert fw.state()["provisioned"] is False
    pb.ignore = (ReportState, LogEvent)
    assert pb >> Undocked(now(clock)) >> ButtonGesture(now(clock), "record", "press")
    assert fw.state()["recording"] is False  # an unassigned camera does not record


# ------------------------------------------------------------------------------------ T1


def test_troubleshooting_mode_pages_cycle_and_a_long_hold_leaves(clock):
    # covers: T1
    fw, pb = out_of_dock(clock, model="W102")
    assert fw.state()["troubleshooting"] == {"available": True, "active": False, "page": None}
    assert pb >> ButtonGesture(now(clock), "top", "press")  # nothing outside the mode
    assert fw.state()["troubleshooting"]["active"] is False
    pb >> ButtonGesture(now(clock), "top", "double")
    assert pb
    pages = [fw.state()["troubleshooting"]["page"]]
    for _ in range(4):
        assert pb >> ButtonGesture(now(clock), "top", "press")
        pages.append(fw.state()["troubleshooting"]["page"])
    assert pages == [1, 2, 3, 4, 1]
    assert fw.state()["screen"]["troubleshooting_page"] == 1
    assert pb >> ButtonGesture(now(clock), "top", "double")  # already in the mode: ignored
    assert fw.state()["troubleshooting"]["page"] == 1
    assert pb >> ButtonGesture(now(clock), "top", "long")
    assert fw.state()["troubleshooting"] == {"available": True, "active": False, "page": None}


def test_troubleshooting_mode_from_raw_edges_leaves_after_five_seconds(clock):
    # covers: T1
    fw, pb = out_of_dock(clock, model="W120")
    t = now(clock)
    assert pb >> ButtonEdge(t, "top", True) >> ButtonEdge(t + 0.1, "top", False) >> ButtonEdge(t + 0.2, "top", True)
    assert fw.state()["troubleshooting"]["page"] == 1
    assert (
        pb >> ButtonEdge(t + 0.3, "top", False) >> ButtonEdge(t + 1.0, "top", True) >> ButtonEdge(t + 1.1, "top", False)
    )
    assert fw.state()["troubleshooting"]["page"] == 1  # the single press waits for the window
    assert fw.get_timer() == t + 1.5
    assert pb >> TimerFired(t + 1.5)
    assert fw.state()["troubleshooting"]["page"] == 2
    assert pb >> ButtonEdge(t + 3.0, "top", True)
    assert fw.get_timer() == t + 8.0
    assert pb >> TimerFired(t + 8.0)
    assert fw.state()["troubleshooting"]["active"] is False


@pytest.mark.parametrize(("model", "allowed"), [("W100", True), ("W101", True), ("W120", False)])
def test_troubleshooting_mode_needs_the_model_and_the_managers_permission(clock, model, allowed):
    # covers: T1
    fw, pb = out_of_dock(clock, model=model, allow_troubleshooting=allowed)
    assert pb >> ButtonGesture(now(clock), "top", "double")
    assert fw.state()["troubleshooting"] == {"available": False, "active": False, "page": None}


def test_withdrawn_permission_leaves_troubleshooting_mode(clock):
    # covers: T1
    fw = Firmware(SERIAL, "W102")
    pb = Playbook(fw)
    dock_and_provision(pb, clock, model="W102")
    pb >> ButtonGesture(now(clock), "top", "double")  # works in the dock too
    assert pb
    assert fw.state()["troubleshooting"]["page"] == 1
    assert pb >> provisioning(clock, model="W102", allow_troubleshooting=False)
    assert fw.state()["troubleshooting"]["active"] is False


# ------------------------------------------------------------------------------------ S11


def test_location_always_reports_positions_out_of_the_dock(clock):
    # covers: S11
    profile = ProfileSettings(streaming=True, location=True, location_mode="always")
    fw = Firmware(SERIAL, "W101")
    pb = Playbook(fw)
    dock_and_provision(pb, clock, model="W101", profile=profile)
    assert (
        pb
        >> NetworkChanged(now(clock), True, "WLAN")
        >> Undocked(now(clock))
        << SetLocationReporting(True)
        << OpenHubConnection()
        >> Docked(now(clock), "b")
        << SetLocationReporting(False)
        << CloseHubConnection("docked")
    )


def test_location_while_recording_follows_the_recording(clock):
    # covers: S11
    profile = ProfileSettings(streaming=True, location=True)
    fw, pb = out_of_dock(clock, model="W120", profile=profile)
    assert fw.state()["location"] == {"enabled": True, "mode": "while_recording_or_streaming", "reporting": False}
    assert (
        pb
        >> ButtonGesture(now(clock), "record", "press")
        << StartRecording()
        << SetLocationReporting(True)
        >> ButtonGesture(now(clock), "record", "long")
        << StopRecording("user")
        << SetLocationReporting(False)
    )


def test_models_without_gps_never_report_positions(clock):
    # covers: S11
    profile = ProfileSettings(streaming=True, location=True, location_mode="always")
    fw, pb = out_of_dock(clock, model="W100", profile=profile)
    assert fw.state()["location"]["enabled"] is False
    assert pb >> ButtonGesture(now(clock), "record", "press") << StartRecording()


# ------------------------------------------------------------------------------------ state


def test_state_is_json_and_reported_only_when_it_changes(clock):
    fw, pb = live(clock, model="W120")
    text = json.dumps(fw.state())
    assert json.loads(text)["user"] == {"id": "cu-17", "name": "Alice Martin"}
    assert set(fw.state()) >= {
        "docked",
        "bay",
        "recording",
        "streaming",
        "stream_id",
        "leds",
        "screen",
        "vibrating_until",
        "troubleshooting",
        "last_error",
        "cert_not_after",
        "certificate_valid",
        "clock_offset",
    }
    t = now(clock) + 1
    assert fw.handle_timer(t) == []  # nothing changed, nothing reported
    reports = [c for c in fw.handle_event(Acknowledged(t, "st-1", "op")) if isinstance(c, ReportState)]
    assert len(reports) == 1 and reports[0].state["acknowledged_by"] == "op"


def test_commands_serialise_with_their_type():
    assert RequestStreamStart(None, "remote", "rq-1").as_dict() == {
        "type": "RequestStreamStart",
        "stream_id": None,
        "reason": "remote",
        "request_id": "rq-1",
    }
    assert Docked(1.0, "b").as_dict() == {"type": "Docked", "now": 1.0, "bay": "b"}


def test_bad_input_is_rejected_with_the_field_name():
    with pytest.raises(ValueError, match="ProfileSettings.remote_activation"):
        ProfileSettings(streaming=True, remote_activation="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="NetworkChanged.mode"):
        NetworkChanged(0.0, True, "5G")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Event"):
        Firmware(SERIAL, "W100").handle_event(Event(0.0))
    with pytest.raises(KeyError, match="W999"):
        Firmware(SERIAL, "W999")


# ------------------------------------------------------------------------------------ invariants


@pytest.mark.parametrize("seed", range(40))
def test_random_walks_keep_the_camera_consistent(seed):
    # covers: D3, D5, D1 — whatever order events come in (a hub answering late or out of turn,
    # buttons mashed, time travel), the camera never streams without recording, never records
    # in the dock, pairs every start with a stop, and never asks for a timer in the past.
    import random

    rng = random.Random(seed)
    clock = ManualClock()
    model = rng.choice(["W100", "W101", "W102", "W120"])
    fw = Firmware(SERIAL, model)
    profiles = [
        ON_RECORD,
        STREAMING,
        ProfileSettings(streaming=False, location=True, location_mode="always"),
        ProfileSettings(streaming=True, remote_activation="always", location=True),
        ProfileSettings(streaming=True, live_stream_on_record=True, remote_activation="while_recording"),
    ]
    builders = [
        lambda t: Docked(t, "b1"),
        lambda t: Undocked(t),
        lambda t: provisioning(clock, model=model, profile=rng.choice(profiles)),
        lambda t: ButtonGesture(t, rng.choice(["record", "function", "top"]), rng.choice(["press", "double", "long"])),
        lambda t: ButtonEdge(t, rng.choice(["record", "function", "top"]), rng.random() < 0.5),
        lambda t: HubConnected(t),
        lambda t: HubDisconnected(t, rng.choice(["reset", "certificate_expired"])),
        lambda t: StreamAccepted(t, rng.choice(["st-1", "st-2"])),
        lambda t: StreamRefused(t, rng.choice(["licence_expired", "certificate_expired", "other"])),
        lambda t: RemoteStartRequested(t, f"rq-{rng.randrange(99)}", "op"),
        lambda t: Acknowledged(t, "st-1", "op"),
        lambda t: NetworkChanged(t, rng.random() < 0.7, rng.choice(["WLAN", "LTE", None])),
        lambda t: TimerFired(t),
    ]
    recording = False
    media: set[str] = set()
    for _ in range(300):
        timer = fw.get_timer()
        if timer is not None and rng.random() < 0.3:
            clock.t = max(clock.t, timer)
            event: Event = TimerFired(clock.t)
        else:
            clock.advance(rng.choice([0.0, 0.05, 0.3, 1.0, 20.0, 3 * DAY]))
            event = rng.choice(builders)(clock.now())
        for command in fw.handle_event(event):
            if isinstance(command, StartRecording):
                assert not recording
                recording = True
            elif isinstance(command, StopRecording):
                assert recording
                recording = False
            elif isinstance(command, StartMedia):
                assert command.stream_id not in media
                media.add(command.stream_id)
            elif isinstance(command, StopMedia):
                media.remove(command.stream_id)
        state = fw.state()
        json.dumps(state)
        assert state["recording"] is recording
        assert len(media) <= 1
        assert media == ({state["stream_id"]} if media else set())
        if state["streaming"] is not None:
            assert state["recording"]
        if state["docked"]:
            assert not state["recording"] and state["streaming"] is None and state["hub"] == "down"
        if not fw.model.screen:
            assert (state["leds"]["wifi"] == "green") == (state["streaming"] == "live")
        timer = fw.get_timer()
        assert timer is None or timer > clock.now()


# ------------------------------------------------------------------------------------ issue 13


def test_each_start_names_its_trigger_for_the_recording(clock):
    # covers: D3, D4 (issue 13: TriggerOn)
    fw, pb = out_of_dock(clock, profile=ProfileSettings(streaming=True, remote_activation="always"))

    def triggers(event: Event) -> list[str]:
        return [c.trigger for c in fw.handle_event(event) if isinstance(c, StartRecording)]

    assert triggers(ButtonGesture(now(clock), "record", "press")) == ["record"]
    assert triggers(ButtonGesture(now(clock), "record", "long")) == []
    assert triggers(RemoteStartRequested(now(clock), "rq-1", "op")) == ["remote"]
    assert triggers(ButtonGesture(now(clock), "record", "long")) == []
    assert triggers(ButtonGesture(now(clock), "function", "double")) == ["function"]


def test_a_full_storage_stops_the_recording_and_starts_none(clock):
    # covers: D5 (issue 13: camera storage is finite)
    from firmware_stub.events import StorageChanged

    fw, pb = out_of_dock(clock, profile=STREAMING)
    assert pb >> ButtonGesture(now(clock), "record", "press") << StartRecording()
    assert pb >> StorageChanged(now(clock), True) << StopRecording("storage_full")
    assert fw.state()["storage_full"] is True and fw.state()["leds"]["record"] == "off"
    assert pb >> ButtonGesture(now(clock), "record", "press")  # nothing: no room
    assert fw.state()["last_error"]["code"] == "storage_full"
    assert pb >> StorageChanged(now(clock), False) >> ButtonGesture(now(clock), "record", "press") << StartRecording()
