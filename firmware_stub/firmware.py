"""The camera firmware as a sans-I/O state machine (SPEC D1, D3, D4, D5, D6, S7, S11, S15, T1, T2).

Shape (CONVENTIONS 1, 3): like aioquic's ``QuicConnection``, a ``Firmware`` does no I/O and never
reads the time. The driver feeds it events stamped with ``now`` and carries out the commands it
returns, in order::

    commands = firmware.handle_event(ButtonGesture(now, "record", "press"))
    deadline = firmware.get_timer()          # None, or when to call handle_timer(deadline)
    commands = firmware.handle_timer(now)
    snapshot = firmware.state()              # JSON-serialisable; also sent as ReportState

Behaviour, by SPEC id (the manual wins over SPEC, see docs/manual-vs-spec.md):

- **D3** A press of the record button starts a recording (record LED red); with *Live stream
  on record* it also starts a stream. A double press of the function button starts a stream
  (it also works with *Live stream on record* on: it is the camera's stream button). Starting
  a stream starts a recording if none runs. While connecting, the Wi-Fi LED blinks orange (on
  models with a screen, the stream icon becomes visible); it turns green once streaming.
- **D6** An operator's acknowledgement of the current stream makes the camera vibrate.
- **D4 / S7** A remote start is honoured only with streaming on and *Remote stream activation*
  set: *Always* (camera out of its dock) or *While recording* (only while recording). Otherwise
  it is refused with a stable reason. It starts a recording if none runs.
- **D5** Only a long press of the record button stops, and it stops stream and recording
  together. There is no remote stop and no way to stop the stream alone.
- **T2 row 2 / S15** "The camera does not react when I try to start a live stream": with
  streaming disabled in the profile, or with the organization's licence expired (the hub tells
  the camera where the licence stands on connecting and whenever licences are ordered or
  renewed, ``LicenceChanged``; the cover's end is read on the camera's clock), a function double
  press does nothing at all — no recording, no LED — and a record press records without a
  stream. When the cloud refuses a stream anyway (the camera was not told yet), the recording
  that start began is taken back and the Wi-Fi indication goes back to how it was; a recording
  the user started with the record button goes on (D5). The reason is still kept in
  ``last_error`` and reported with ``LogEvent`` for the cloud and the lab's diagnosis.
- **D1 / T2 rows 3b and 5** The camera knows its certificate's ``not_after``. From that moment
  it cannot authenticate: it ends a running stream (``StopStream(reason="certificate_expired")``),
  closes its hub connection and opens none; the Wi-Fi LED turns red (Wi-Fi and service warnings
  on models with a screen). A start still records locally but its stream shows the error.
  Docking and provisioning renew the certificate, and the dock keeps renewing it while the
  camera sits in its bay (a docked camera never expires). A hub that refuses the certificate
  (``HubDisconnected("certificate_expired")``, e.g. under clock skew) gives the same picture.
- **No network** A stream cannot start or go on: the LED shows red, the recording goes on
  locally, and the stream (re)starts by itself once the network is back.
- **Docking** A docked camera charges and neither records nor streams: docking ends a running
  stream and recording (``StopStream``/``StopRecording`` with reason ``"docked"``), as a real
  camera put back in its dock at the end of a shift does. Recording buttons do nothing in the
  dock; the top button (troubleshooting mode) still works.
- **T1** On W102 and W120, when the Manager allows it, a double press of the top button enters
  troubleshooting mode on page 1, a press shows the next page (1→2→3→4→1), a 5 s hold leaves.
  A double press while already in the mode is ignored. The pages' contents are the lab's.
- **Issue 13** Every start records locally (``StartRecording`` names its trigger: ``record``,
  ``function`` or ``remote``), whether or not a stream runs; ``StorageChanged(full=True)`` ends
  the recording (and, D5, the stream) and no recording starts until there is room again.
- **Issue 16, help request** When the profile gives a help gesture (``help_gesture``, e.g. a
  long press of the function button), that gesture sends a help request (``SendHelpRequest``: the
  driver seals the position the camera has then) and, if the profile streams and
  ``help_stream`` is on, starts a stream with reason ``help``. An operator's acknowledgement
  (``HelpAcknowledged``) vibrates with the ``help_acknowledged`` pattern; the state's ``help``
  says when help was asked for and who acknowledged it, ``vibration`` which pattern runs.
- **S11** Positions are reported (``SetLocationReporting``) on models with GPS when the profile's
  Location is on: *Always* out of the dock, or *While recording or streaming*.

The camera holds its device-to-cloud (hub) connection whenever it is out of the dock, provisioned,
on a network, with a valid certificate, and its profile streams or reports positions: a remote
start (D4) and acknowledgements (D6) arrive over it. Failed connections are retried with an
exponential backoff; a user's start retries at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bwlab.models import CameraModel, get_model
from bwlab.wire.help import HELP_PREFIX, gesture_of
from firmware_stub.buttons import GestureRecogniser
from firmware_stub.events import (
    VIBRATION_PATTERNS,
    Acknowledged,
    ButtonEdge,
    ButtonGesture,
    CloseHubConnection,
    Command,
    Docked,
    Event,
    HelpAcknowledged,
    HubConnected,
    HubDisconnected,
    LicenceChanged,
    LogEvent,
    NetworkChanged,
    OpenHubConnection,
    Provisioned,
    RemoteStartRequested,
    RemoteStartResult,
    ReportState,
    RequestStreamStart,
    SendHelpRequest,
    SetLocationReporting,
    StartMedia,
    StartRecording,
    StopMedia,
    StopRecording,
    StopStream,
    StorageChanged,
    StreamAccepted,
    StreamRefused,
    TimerFired,
    Undocked,
    Vibrate,
)

HUB_CONNECT_TIMEOUT = 15.0
"""Seconds an ``OpenHubConnection`` may take before the camera gives up and backs off."""

STREAM_REQUEST_TIMEOUT = 15.0
"""Seconds the hub has to answer ``RequestStreamStart`` before the camera reconnects."""

RECONNECT_BACKOFF: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 60.0)
"""Waits before successive reconnection attempts; the last one repeats."""

TROUBLESHOOTING_PAGES = 4

IGNORED_START_CODES = frozenset({"licence_expired", "streaming_disabled"})
"""Cloud refusals after which the camera "does not react" to a start (T2 row 2)."""

CERTIFICATE_CODES = frozenset({"certificate_expired", "certificate_refused"})

HUB_REFUSAL_CODES = CERTIFICATE_CODES | {"service_unreachable"}
"""Hub refusals the camera shows as an error until it connects again (T2 rows 3b and 5)."""

ERROR_MESSAGES: dict[str, str] = {
    "streaming_disabled": "Streaming is not enabled in the camera user's profile (S7).",
    "licence_expired": "The AXIS Body Worn Live licence has expired (S15).",
    "certificate_expired": (
        "The camera has not been docked for more than six days; dock it to renew its certificate (D1)."
    ),
    "certificate_refused": "The device hub rejected the camera's certificate; dock the camera (D1).",
    "service_unreachable": "The camera cannot reach the service's host names (T5); check the network.",
    "no_network": "The camera has no usable Wi-Fi or mobile network.",
    "hub_no_response": "The device hub did not answer the stream request in time.",
    "remote_activation_disabled": "Remote stream activation is off in the camera user's profile (S7, D4).",
    "not_recording": "Remote stream activation is 'While recording' and the camera is not recording (S7, D4).",
    "docked": "The camera is in its dock.",
    "not_provisioned": "The camera has not been provisioned in a dock yet.",
    "storage_full": "The camera's storage is full: dock it so that its recordings are offloaded.",
}


PRESS_MESSAGES: dict[str, str] = {
    "docked": "The camera is in its dock: its buttons do nothing while it charges. Take it out of the dock first.",
    "not_provisioned": "The camera has not been provisioned in a dock yet: dock it once, then take it out.",
    "no_action": "This gesture of this button does nothing; a double press of the function button starts a stream (D3).",
    "already_recording": "The camera is already recording; a long press of the record button stops (D5).",
    "nothing_to_stop": "Nothing to stop: the camera is neither recording nor streaming.",
    "troubleshooting_unavailable": "Troubleshooting mode needs a W102 or W120 and 'Allow troubleshooting mode' (T1).",
}
"""Why a button press did nothing, by code (with the codes of ERROR_MESSAGES: streaming_disabled)."""


def _message(code: str) -> str:
    return ERROR_MESSAGES.get(code, f"The cloud refused the stream ({code}).")


@dataclass
class _Stream:
    """The stream the camera user (or an operator) asked for, from start until stopped."""

    reason: str
    request_id: str | None = None
    stream_id: str | None = None
    phase: str = "waiting"  # waiting (for the hub) | requested | live | error
    error: str | None = None  # the code while phase == "error"
    retry: bool = True  # an error that clears by itself once its cause is gone
    deadline: float | None = None  # the hub must answer the request by then
    media: bool = False  # StartMedia sent and not stopped
    started_recording: bool = False  # the start began the recording (none ran before)
    acknowledged_by: str | None = None


class Firmware:
    """One body-worn camera's behaviour. ``serial`` and ``model`` are its hardware identity."""

    def __init__(
        self,
        serial: str,
        model: CameraModel | str,
        *,
        recogniser: GestureRecogniser | None = None,
        help_ids: Callable[[], str] | None = None,
    ) -> None:
        self.serial = serial
        self.model = model if isinstance(model, CameraModel) else get_model(model)
        self._recogniser = recogniser if recogniser is not None else GestureRecogniser()
        self._now: float | None = None
        self._provisioning: Provisioned | None = None
        self._clock_offset = 0.0
        self._cert_expires_at: float | None = None  # not_after in the events' time base
        self._cert_valid = False
        self._docked = False
        self._bay: str | None = None
        self._recording = False
        self._storage_full = False
        self._stream: _Stream | None = None
        self._hub = "down"  # down | connecting | up | backoff
        self._hub_deadline: float | None = None
        self._hub_refusal: str | None = None  # the hub refused our certificate
        self._licence_until: float | None = None  # licensed until (events' time base); None: not told
        self._licence_expired = False  # the hub said the licence is not valid (or refused a start for it)
        self._backoff_step = 0
        self._network_up = False
        self._network_mode: str | None = None
        self._weak_signal = False
        self._vibrating_until: float | None = None
        self._vibration: str | None = None  # the pattern while vibrating
        self._help_ids = help_ids if help_ids is not None else (lambda: HELP_PREFIX + uuid.uuid4().hex)
        self._help: dict[str, Any] | None = None  # the last help request (issue 16)
        self._troubleshooting_page: int | None = None
        self._location_reporting = False
        self._last_error: dict[str, Any] | None = None
        self._last_press: dict[str, Any] | None = None  # the last gesture and, if it did nothing, why
        self._reported: dict[str, Any] | None = None
        self._out: list[Command] = []
        self._handlers: dict[type[Event], Callable[[Any], None]] = {
            Provisioned: self._on_provisioned,
            Docked: self._on_docked,
            Undocked: self._on_undocked,
            ButtonGesture: self._on_gesture,
            ButtonEdge: self._on_edge,
            HubConnected: self._on_hub_connected,
            HubDisconnected: self._on_hub_disconnected,
            LicenceChanged: self._on_licence_changed,
            StreamAccepted: self._on_stream_accepted,
            StreamRefused: self._on_stream_refused,
            RemoteStartRequested: self._on_remote_start,
            Acknowledged: self._on_acknowledged,
            HelpAcknowledged: self._on_help_acknowledged,
            NetworkChanged: self._on_network_changed,
            StorageChanged: self._on_storage_changed,
            TimerFired: lambda event: None,
        }

    # ---------------------------------------------------------------- public interface

    @property
    def provisioning(self) -> Provisioned | None:
        """The last provisioning (certificate PEM, system public key, Wi-Fi list, profile)."""
        return self._provisioning

    @property
    def clock_offset(self) -> float:
        """Seconds added to ``now`` to get the camera's own clock (set at provisioning)."""
        return self._clock_offset

    def camera_time(self, now: float) -> float:
        return now + self._clock_offset

    def handle_event(self, event: Event) -> list[Command]:
        """Feed one event; returns the commands to carry out, in order."""
        try:
            handler = self._handlers[type(event)]
        except KeyError:
            raise TypeError(f"Firmware cannot handle {type(event).__name__}") from None
        self._now = event.now
        self._run_due(event.now)
        handler(event)
        return self._finish(event.now)

    def handle_timer(self, now: float) -> list[Command]:
        """Do what has fallen due by ``now`` (same as feeding ``TimerFired(now)``)."""
        return self.handle_event(TimerFired(now))

    def get_timer(self) -> float | None:
        """When the firmware next needs ``handle_timer``, or ``None``."""
        candidates = [self._recogniser.get_timer(), self._vibrating_until]
        if self._hub in ("connecting", "backoff"):
            candidates.append(self._hub_deadline)
        if self._stream is not None and self._stream.phase == "requested":
            candidates.append(self._stream.deadline)
        if self._cert_valid:
            candidates.append(self._cert_expires_at)
        present = [c for c in candidates if c is not None]
        return min(present) if present else None

    def state(self, now: float | None = None) -> dict[str, Any]:
        """The JSON-serialisable snapshot the Lab panel draws and the hub receives."""
        if now is None:
            now = self._now
        prov = self._provisioning
        cert_valid = now is not None and self._certificate_valid(now)
        streaming = self._streaming()
        visible_error = self._visible_error(cert_valid)
        s = self._stream
        return {
            "serial": self.serial,
            "model": self.model.name,
            "provisioned": prov is not None,
            "user": None if prov is None else {"id": prov.user_id, "name": prov.user_name},
            "docked": self._docked,
            "bay": self._bay,
            "charging": self._docked,
            "recording": self._recording,
            "storage_full": self._storage_full,
            "streaming": streaming,
            "stream_id": None if s is None else s.stream_id,
            "stream_reason": None if s is None else s.reason,
            "acknowledged_by": None if s is None else s.acknowledged_by,
            "hub": self._hub,
            "network": {"up": self._network_up, "mode": self._network_mode},
            "leds": self._leds(streaming, visible_error),
            "screen": self._screen(streaming, visible_error),
            "vibrating_until": self._vibrating_until,
            "vibration": self._vibration,
            "help": None if self._help is None else dict(self._help),
            "troubleshooting": {
                "available": self._troubleshooting_available(),
                "active": self._troubleshooting_page is not None,
                "page": self._troubleshooting_page,
            },
            "location": {
                "enabled": prov is not None and prov.profile.location and self.model.gps,
                "mode": None if prov is None else prov.profile.location_mode,
                "reporting": self._location_reporting,
            },
            "profile": None if prov is None else prov.profile.as_dict(),
            "wifi_ssids": [] if prov is None else [n.ssid for n in prov.wifi_networks],
            "last_error": None if self._last_error is None else dict(self._last_error),
            "last_press": None if self._last_press is None else dict(self._last_press),
            "cert_not_after": None if prov is None else prov.cert_not_after,
            "certificate_valid": cert_valid,
            "licence": {
                "told": self._licence_expired or self._licence_until is not None,
                "valid": now is None or not self._licence_lapsed(now),
            },
            "clock_offset": self._clock_offset,
        }

    # ---------------------------------------------------------------- event handlers

    def _on_provisioned(self, event: Provisioned) -> None:
        if not self._docked:
            self._log("warning", "provisioning_outside_dock", "Provisioning ignored: the camera is not docked.")
            return
        if event.serial != self.serial or event.model != self.model.name:
            self._log(
                "error",
                "provisioning_mismatch",
                "Provisioning ignored: it is for another camera.",
                serial=event.serial,
                model=event.model,
            )
            return
        self._provisioning = event
        if self._last_error is not None and self._last_error["code"] in CERTIFICATE_CODES:
            self._last_error = None  # D1: renewed in the dock
        self._clock_offset = event.time - event.now
        self._cert_expires_at = event.cert_not_after - self._clock_offset
        self._cert_valid = self._certificate_valid(event.now)
        if not self._troubleshooting_available():
            self._troubleshooting_page = None
        self._log("info", "provisioned", "Provisioned in the dock.", user_id=event.user_id, bay=self._bay)

    def _on_docked(self, event: Docked) -> None:
        self._stop_all("docked")
        self._docked = True
        self._bay = event.bay
        self._help = None
        self._hub_refusal = None
        self._backoff_step = 0
        self._last_error = None
        self._log("info", "docked", "Docked: charging.", bay=event.bay)

    def _on_undocked(self, event: Undocked) -> None:
        if not self._docked:
            return
        self._docked = False
        self._bay = None
        self._log("info", "undocked", "Taken out of the dock.")

    def _on_edge(self, event: ButtonEdge) -> None:
        for gesture in self._recogniser.edge(event):
            self._on_gesture(gesture)

    def _on_gesture(self, event: ButtonGesture) -> None:
        self._last_press = {
            "button": event.button,
            "gesture": event.gesture,
            "at": self.camera_time(event.now),
            "ignored": None,
        }
        if event.button == "top":
            self._on_top_button(event)
            return
        if self._docked:
            self._ignored_gesture(event, "docked")
            return
        prov = self._provisioning
        if prov is None:
            self._ignored_gesture(event, "not_provisioned")
            return
        if gesture_of(prov.profile.help_gesture) == (event.button, event.gesture):
            self._on_help_gesture(event, prov)
            return
        if event.button == "record":
            if event.gesture == "long":
                if self._recording or self._stream is not None:
                    self._stop_all("user")
                else:
                    self._ignored_gesture(event, "nothing_to_stop")
                return
            if self._recording:
                self._ignored_gesture(event, "already_recording")
                return
            if self._storage_full:
                self._start_ignored(event.now, "record", "storage_full")
                return
            self._start_recording("record")
            if prov.profile.live_stream_on_record and prov.profile.streaming:
                if self._licence_lapsed(event.now):
                    self._start_ignored(event.now, "record", "licence_expired")  # it records; no stream (T2 row 2b)
                else:
                    self._start_stream(event.now, "record")
            return
        # function button: a double press is the stream button (D3)
        if event.gesture != "double":
            self._ignored_gesture(event, "no_action")
            return
        if not prov.profile.streaming:
            self._start_ignored(event.now, "function", "streaming_disabled")
            self._press_ignored("streaming_disabled")
            return
        if self._licence_lapsed(event.now):
            self._start_ignored(event.now, "function", "licence_expired")  # T2 row 2b: no reaction at all
            return
        self._start_stream(event.now, "function")

    def _on_top_button(self, event: ButtonGesture) -> None:
        page = self._troubleshooting_page
        if page is None:
            if event.gesture != "double":
                self._ignored_gesture(event, "no_action")
                return
            if not self._troubleshooting_available():
                self._press_ignored("troubleshooting_unavailable")
                self._log(
                    "info",
                    "troubleshooting_unavailable",
                    "Troubleshooting mode needs a W102 or W120 and 'Allow troubleshooting mode' (T1).",
                )
                return
            self._troubleshooting_page = 1
            self._log("info", "troubleshooting_entered", "Troubleshooting mode: page 1.")
        elif event.gesture == "press":
            self._troubleshooting_page = page % TROUBLESHOOTING_PAGES + 1
        elif event.gesture == "long":
            self._troubleshooting_page = None
            self._log("info", "troubleshooting_left", "Left troubleshooting mode.")

    def _on_hub_connected(self, event: HubConnected) -> None:
        self._hub = "up"
        self._hub_deadline = None
        self._hub_refusal = None
        self._backoff_step = 0
        self._log("info", "hub_connected", "Connected to the device hub.")

    def _on_licence_changed(self, event: LicenceChanged) -> None:
        self._licence_expired = not event.valid
        self._licence_until = None if event.until is None else event.until - self._clock_offset
        if event.valid and self._last_error is not None and self._last_error["code"] == "licence_expired":
            self._last_error = None

    def _on_hub_disconnected(self, event: HubDisconnected) -> None:
        if self._hub not in ("connecting", "up"):
            self._log("debug", "hub_disconnected_late", "Hub disconnection while not connected.", reason=event.reason)
            return
        self._log("warning", "hub_disconnected", "Lost the device hub connection.", reason=event.reason)
        self._hub_failed(event.now, event.reason, close=False)

    def _on_stream_accepted(self, event: StreamAccepted) -> None:
        s = self._stream
        if s is None:
            # The user stopped (D5) before the hub answered: end the stream it just created.
            self._emit(StopStream(event.stream_id, "user"))
            return
        if s.phase == "live" and s.stream_id == event.stream_id:
            return
        if s.phase not in ("requested", "waiting") or self._hub != "up":
            # Not a stream this camera can send now: end it rather than leave it open on the hub.
            self._log("warning", "unexpected_stream_accepted", "Stream acceptance refused.", stream_id=event.stream_id)
            self._emit(StopStream(event.stream_id, "cancelled"))
            return
        if s.media and s.stream_id is not None and s.stream_id != event.stream_id:
            self._emit(StopMedia(s.stream_id))
            s.media = False
        s.stream_id = event.stream_id
        s.phase = "live"
        s.deadline = None
        s.error = None
        if not s.media:
            self._emit(StartMedia(event.stream_id))
            s.media = True
        self._last_error = None
        self._log("info", "stream_live", "Streaming live.", stream_id=event.stream_id, reason=s.reason)

    def _on_stream_refused(self, event: StreamRefused) -> None:
        s = self._stream
        if s is None or s.phase != "requested":
            self._log("debug", "unexpected_stream_refused", "Stream refusal ignored.", reason_code=event.reason_code)
            return
        code = event.reason_code
        self._set_error(event.now, code)
        self._log("warning", code, _message(code), trigger=s.reason, stream_id=s.stream_id)
        if s.media and s.stream_id is not None:
            self._emit(StopMedia(s.stream_id))
        s.media = False
        s.stream_id = None
        s.deadline = None
        if code in IGNORED_START_CODES:
            # T2 row 2: the camera does not react. A recording that only this start began (a
            # function double press, a remote start) is taken back; one the user started with the
            # record button goes on (D5).
            if code == "licence_expired":
                self._licence_expired = True
            self._stream = None
            if s.started_recording and self._recording:
                self._recording = False
                self._emit(StopRecording(code))
        else:
            s.phase, s.error, s.retry = "error", code, False

    def _on_remote_start(self, event: RemoteStartRequested) -> None:
        code = self._remote_refusal(event.now)
        if code is not None:
            self._emit(RemoteStartResult(event.request_id, False, code))
            self._log("info", "remote_start_refused", _message(code), request_id=event.request_id, reason=code)
            return
        if self._stream is not None:
            self._emit(RemoteStartResult(event.request_id, True, "already_streaming"))
            self._rearm_stream()
            return
        self._emit(RemoteStartResult(event.request_id, True, None))
        self._log("info", "remote_start", "Remote start.", request_id=event.request_id, operator=event.operator)
        self._start_stream(event.now, "remote", event.request_id)

    def _on_acknowledged(self, event: Acknowledged) -> None:
        s = self._stream
        if s is None or s.stream_id != event.stream_id:
            self._log(
                "debug", "acknowledgement_ignored", "Acknowledgement of another stream.", stream_id=event.stream_id
            )
            return
        s.acknowledged_by = event.operator
        self._vibrate(event.now, "acknowledged")
        self._log("info", "acknowledged", "An operator acknowledged the stream.", operator=event.operator)

    def _on_help_gesture(self, event: ButtonGesture, prov: Provisioned) -> None:
        """Issue 16: the camera user asks for help; the stream starts if the profile allows."""
        help_id = self._help_ids()
        self._help = {
            "id": help_id,
            "requested_at": self.camera_time(event.now),
            "acknowledged_by": None,
            "acknowledged_at": None,
        }
        self._emit(SendHelpRequest(help_id, str(prov.profile.help_gesture)))
        self._log("warning", "help_requested", "The camera user asked for help.", help_id=help_id)
        if prov.profile.help_stream and prov.profile.streaming and not self._licence_lapsed(event.now):
            self._start_stream(event.now, "help")

    def _on_help_acknowledged(self, event: HelpAcknowledged) -> None:
        h = self._help
        if h is None or h["id"] != event.help_id:
            self._log(
                "debug",
                "help_acknowledgement_ignored",
                "Acknowledgement of another help request.",
                help_id=event.help_id,
            )
            return
        h["acknowledged_by"], h["acknowledged_at"] = event.operator, self.camera_time(event.now)
        self._vibrate(event.now, "help_acknowledged")
        self._log("info", "help_acknowledged", "An operator acknowledged the help request.", operator=event.operator)

    def _vibrate(self, now: float, pattern: str) -> None:
        until = now + sum(VIBRATION_PATTERNS[pattern])
        self._vibrating_until, self._vibration = until, pattern
        self._emit(Vibrate(pattern, until))

    def _on_storage_changed(self, event: StorageChanged) -> None:
        """Issue 13: a full storage ends the recording (and, D5, the stream with it)."""
        self._storage_full = event.full
        if event.full and self._recording:
            self._set_error(event.now, "storage_full")
            self._log("warning", "storage_full", _message("storage_full"))
            self._stop_all("storage_full")

    def _on_network_changed(self, event: NetworkChanged) -> None:
        was_up = self._network_up
        self._network_up = event.up
        self._network_mode = event.mode
        self._weak_signal = event.weak_signal
        if was_up and not event.up:
            if self._hub in ("connecting", "up"):
                self._emit(CloseHubConnection("network_down"))
            self._hub = "down"
            self._hub_deadline = None
            self._requeue_stream()
        elif event.up and not was_up and self._hub == "backoff":
            self._hub = "down"  # a new network: try at once

    # ---------------------------------------------------------------- actions

    def _start_recording(self, trigger: str) -> None:
        if not self._recording and not self._storage_full:
            self._recording = True
            self._emit(StartRecording(trigger))

    def _start_stream(self, now: float, reason: str, request_id: str | None = None) -> None:
        """D3/D4: start a stream (and a recording if none runs and the storage has room); the
        hub part runs in ``_sync``."""
        if self._stream is not None:
            self._rearm_stream()
            return
        began = not self._recording
        self._start_recording(reason)
        self._stream = _Stream(reason=reason, request_id=request_id, started_recording=began and reason != "record")
        if self._hub == "backoff":
            self._hub = "down"  # the user is waiting: reconnect now
            self._hub_deadline = None

    def _rearm_stream(self) -> None:
        s = self._stream
        if s is not None and s.phase == "error" and not s.retry:
            s.phase, s.error, s.retry = "waiting", None, True

    def _stop_all(self, reason: str) -> None:
        """D5 (and docking): stream and recording end together."""
        s = self._stream
        if s is not None:
            self._end_stream_on_hub(s, reason)
            self._stream = None
            self._log("info", "stream_stopped", "Stream stopped.", reason=reason)
        if self._recording:
            self._recording = False
            self._emit(StopRecording(reason))

    def _end_stream_on_hub(self, s: _Stream, reason: str) -> None:
        if s.media and s.stream_id is not None:
            self._emit(StopMedia(s.stream_id))
        if s.stream_id is not None or s.phase == "requested":
            self._emit(StopStream(s.stream_id, reason))
        s.media = False
        s.stream_id = None
        s.deadline = None

    def _start_ignored(self, now: float, trigger: str, code: str) -> None:
        """T2 row 2: the camera does not react, but the reason is kept and reported."""
        self._set_error(now, code)
        self._log("warning", code, _message(code), trigger=trigger)

    def _ignored_gesture(self, event: ButtonGesture, why: str) -> None:
        self._press_ignored(why)
        self._log(
            "debug", "gesture_ignored", "Button gesture ignored.", button=event.button, gesture=event.gesture, why=why
        )

    def _press_ignored(self, code: str) -> None:
        """The gesture being handled does nothing: say why in the state (CLI, Lab panel, doctor)."""
        if self._last_press is not None:
            self._last_press["ignored"] = {"code": code, "message": PRESS_MESSAGES.get(code) or _message(code)}

    def _hub_failed(self, now: float, reason: str, *, close: bool) -> None:
        if close:
            self._emit(CloseHubConnection(reason))
        self._hub = "backoff"
        self._hub_deadline = now + RECONNECT_BACKOFF[min(self._backoff_step, len(RECONNECT_BACKOFF) - 1)]
        self._backoff_step += 1
        self._requeue_stream()
        if reason in HUB_REFUSAL_CODES:
            self._hub_refusal = reason
            self._set_error(now, reason)

    def _requeue_stream(self) -> None:
        """The hub went away: the stream waits for the next connection (media keeps buffering)."""
        s = self._stream
        if s is not None and s.phase in ("requested", "live"):
            s.phase = "waiting"
            s.deadline = None

    # ---------------------------------------------------------------- reconciliation

    def _run_due(self, now: float) -> None:
        for gesture in self._recogniser.handle_timer(now):
            self._on_gesture(gesture)
        if self._vibrating_until is not None and now >= self._vibrating_until:
            self._vibrating_until = self._vibration = None
        if self._hub_deadline is not None and now >= self._hub_deadline:
            if self._hub == "connecting":
                self._log("warning", "hub_connect_timeout", "The device hub did not answer the connection.")
                self._hub_failed(now, "connect_timeout", close=True)
            elif self._hub == "backoff":
                self._hub = "down"
                self._hub_deadline = None
        s = self._stream
        if s is not None and s.phase == "requested" and s.deadline is not None and now >= s.deadline:
            self._set_error(now, "hub_no_response")
            self._log("warning", "hub_no_response", _message("hub_no_response"))
            self._hub_failed(now, "hub_no_response", close=True)

    def _sync(self, now: float) -> None:
        """Bring certificate, location, hub connection and stream in line with the facts."""
        valid = self._certificate_valid(now)
        if self._cert_valid and not valid:
            self._on_certificate_expired(now)
        self._cert_valid = valid

        reporting = self._location_should_report()
        if reporting != self._location_reporting:
            self._location_reporting = reporting
            self._emit(SetLocationReporting(reporting))

        if not self._wants_hub(now):
            if self._hub in ("connecting", "up"):
                self._emit(CloseHubConnection(self._no_hub_reason(now)))
            self._hub = "down"
            self._hub_deadline = None
        elif self._hub == "down":
            self._emit(OpenHubConnection())
            self._hub = "connecting"
            self._hub_deadline = now + HUB_CONNECT_TIMEOUT

        s = self._stream
        if s is None:
            return
        blocker = self._stream_blocker(now)
        if s.phase == "error" and s.retry and blocker is None:
            s.phase, s.error = "waiting", None
        if s.phase == "waiting" and blocker is not None:
            s.phase, s.error, s.retry = "error", blocker, True
            self._set_error(now, blocker)
            self._log("warning", blocker, _message(blocker), trigger=s.reason)
        if s.phase == "waiting" and self._hub == "up":
            self._emit(RequestStreamStart(s.stream_id, s.reason, s.request_id))  # type: ignore[arg-type]
            s.phase = "requested"
            s.deadline = now + STREAM_REQUEST_TIMEOUT

    def _on_certificate_expired(self, now: float) -> None:
        """D1: from ``not_after`` on, live streaming stops working until the camera is docked."""
        self._set_error(now, "certificate_expired")
        self._log("warning", "certificate_expired", _message("certificate_expired"))
        s = self._stream
        if s is not None:
            self._end_stream_on_hub(s, "certificate_expired")
            s.phase, s.error, s.retry = "error", "certificate_expired", True

    def _finish(self, now: float) -> list[Command]:
        self._sync(now)
        snapshot = self.state(now)
        if snapshot != self._reported:
            self._reported = snapshot
            self._emit(ReportState(snapshot))
        out, self._out = self._out, []
        return out

    # ---------------------------------------------------------------- derived facts

    def _certificate_valid(self, now: float) -> bool:
        return self._cert_expires_at is not None and now < self._cert_expires_at

    def _licence_lapsed(self, now: float) -> bool:
        """S15: the hub said the licence is not valid, or the cover it announced has run out."""
        return self._licence_expired or (self._licence_until is not None and now >= self._licence_until)

    def _uses_network(self) -> bool:
        prov = self._provisioning
        return prov is not None and (
            prov.profile.streaming or self._location_reporting or prov.profile.help_gesture is not None
        )

    def _wants_hub(self, now: float) -> bool:
        return not self._docked and self._network_up and self._certificate_valid(now) and self._uses_network()

    def _no_hub_reason(self, now: float) -> str:
        if self._docked:
            return "docked"
        if not self._certificate_valid(now):
            return "certificate_expired"
        if not self._network_up:
            return "network_down"
        return "not_needed"

    def _stream_blocker(self, now: float) -> str | None:
        if not self._certificate_valid(now):
            return "certificate_expired"
        if not self._network_up:
            return "no_network"
        return self._hub_refusal

    def _remote_refusal(self, now: float) -> str | None:
        prov = self._provisioning
        if prov is None:
            return "not_provisioned"
        if self._docked:
            return "docked"
        if not prov.profile.streaming:
            return "streaming_disabled"
        if prov.profile.remote_activation is None:
            return "remote_activation_disabled"
        if prov.profile.remote_activation == "while_recording" and not self._recording:
            return "not_recording"
        if not self._certificate_valid(now):
            return "certificate_expired"
        if self._licence_lapsed(now):
            return "licence_expired"  # T2 row 2b: no reaction, and the operator is told why
        return None

    def _location_should_report(self) -> bool:
        prov = self._provisioning
        if prov is None or self._docked or not self.model.gps or not prov.profile.location:
            return False
        return prov.profile.location_mode == "always" or self._recording

    def _troubleshooting_available(self) -> bool:
        prov = self._provisioning
        return self.model.troubleshooting and prov is not None and prov.allow_troubleshooting

    def _streaming(self) -> str | None:
        s = self._stream
        if s is None:
            return None
        return {"waiting": "connecting", "requested": "connecting", "live": "live", "error": "error"}[s.phase]

    def _visible_error(self, cert_valid: bool) -> str | None:
        """The error the camera shows (LED red / warnings), or ``None``."""
        if self._docked or self._provisioning is None:
            return None
        s = self._stream
        if s is not None:
            return s.error if s.phase == "error" else None
        if not self._uses_network():
            return None
        if not cert_valid:
            return "certificate_expired"
        if self._hub_refusal is not None:
            return self._hub_refusal
        if not self._network_up:
            return "no_network"
        return None

    def _leds(self, streaming: str | None, visible_error: str | None) -> dict[str, str | None]:
        record = "red" if self._recording else "off"
        if self.model.screen:
            return {"record": record, "wifi": None}  # these models show an icon instead (D3)
        if streaming == "live":
            wifi = "green"
        elif streaming == "connecting":
            wifi = "orange-blink"
        elif visible_error is not None:
            wifi = "red"
        else:
            wifi = "off"
        return {"record": record, "wifi": wifi}

    def _screen(self, streaming: str | None, visible_error: str | None) -> dict[str, Any] | None:
        if not self.model.screen:
            return None
        network = "mobile" if self._network_mode == "LTE" else "wifi"
        if visible_error is None:
            warnings: list[str] = []
        elif visible_error == "no_network":
            warnings = [network]
        elif visible_error in CERTIFICATE_CODES:
            warnings = [network, "service"]
        else:
            warnings = ["service"]
        return {
            "record_icon": self._recording,
            "stream_icon": {None: None, "connecting": "visible", "live": "green", "error": "red"}[streaming],
            "warnings": warnings,
            "message": None if visible_error is None else _message(visible_error),
            "weak_signal": self._weak_signal and network == "wifi" and not self._docked,
            "charging": self._docked,
            "troubleshooting_page": self._troubleshooting_page,
        }

    # ---------------------------------------------------------------- output helpers

    def _emit(self, command: Command) -> None:
        self._out.append(command)

    def _set_error(self, now: float, code: str) -> None:
        self._last_error = {"code": code, "message": _message(code), "at": self.camera_time(now)}

    def _log(self, level: str, code: str, message: str, **fields: Any) -> None:
        self._emit(LogEvent(level, code, message, fields))
