"""Events in, commands out: the vocabulary of the camera firmware (SPEC D1, D3–D6, S7, S11, T1, T2).

The firmware (``firmware.py``) is a sans-I/O state machine: the asyncio driver feeds it the
*events* below, each stamped with ``now`` (POSIX seconds read from the camera's injected clock),
and carries out the *commands* it returns — opening the device-to-cloud connection, asking the
device hub for a stream, starting the media pipeline, vibrating, reporting state. Both families
are frozen dataclasses, like hypercorn's ``protocol/events.py`` and mitmproxy's
``proxy/commands.py`` (CONVENTIONS 2).

Values a scenario or the Lab panel may send are validated here, at the edge: a bad button name
or gesture raises ``ValueError`` naming the field and the allowed values.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Literal

from bwlab.wire.help import HELP_GESTURES

Button = Literal["record", "function", "top"]
Gesture = Literal["press", "double", "long"]
StreamReason = Literal["record", "function", "remote", "help"]
RemoteActivation = Literal["while_recording", "always"]
LocationMode = Literal["while_recording_or_streaming", "always"]
NetworkMode = Literal["WLAN", "LTE"]

BUTTONS: tuple[str, ...] = ("record", "function", "top")
GESTURES: tuple[str, ...] = ("press", "double", "long")
STREAM_REASONS: tuple[str, ...] = ("record", "function", "remote", "help")
REMOTE_ACTIVATIONS: tuple[str | None, ...] = (None, "while_recording", "always")
LOCATION_MODES: tuple[str, ...] = ("while_recording_or_streaming", "always")
NETWORK_MODES: tuple[str | None, ...] = ("WLAN", "LTE", None)

# Vibration patterns as alternating on/off durations in seconds. D6: the camera vibrates when an
# operator acknowledges the stream; the pattern itself is a lab choice (two short pulses).
VIBRATION_PATTERNS: dict[str, tuple[float, ...]] = {
    "acknowledged": (0.4, 0.2, 0.4),
    # issue 16: an operator acknowledged the camera user's help request: three long pulses, unlike D6's two short ones
    "help_acknowledged": (1.0, 0.3, 1.0, 0.3, 1.0),
}


def _check_choice(owner: object, name: str, value: object, allowed: tuple[object, ...]) -> None:
    if value not in allowed:
        shown = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{type(owner).__name__}.{name}: expected one of {shown}, got {value!r}")


def _as_dict(obj: object) -> dict[str, Any]:
    return {"type": type(obj).__name__, **asdict(obj)}  # type: ignore[call-overload]


# --------------------------------------------------------------------------------------------
# Provisioning payload (handed over by the dock)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WifiNetwork:
    """One entry of the camera user's effective Wi-Fi list (S8), already resolved by the Manager."""

    ssid: str
    passphrase: str | None = None
    security: str = "wpa2-psk"


@dataclass(frozen=True)
class ProfileSettings:
    """The Body Worn Live part of a camera profile (S7, S11).

    ``remote_activation`` is ``None`` when *Remote stream activation* is off, else its mode.
    ``location_mode`` only matters when ``location`` is on.
    """

    streaming: bool
    live_stream_on_record: bool = False
    remote_activation: RemoteActivation | None = None
    location: bool = False
    location_mode: LocationMode = "while_recording_or_streaming"
    help_gesture: str | None = None  # issue 16: a key of bwlab.wire.help.HELP_GESTURES, or None (off)
    help_stream: bool = True  # a help request also starts a stream (when streaming is on)

    def __post_init__(self) -> None:
        _check_choice(self, "remote_activation", self.remote_activation, REMOTE_ACTIVATIONS)
        _check_choice(self, "location_mode", self.location_mode, LOCATION_MODES)
        _check_choice(self, "help_gesture", self.help_gesture, (None, *HELP_GESTURES))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------------------------
# Events (inputs)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """Base of every input; ``now`` is the camera's clock reading when the event happened."""

    now: float

    def as_dict(self) -> dict[str, Any]:
        return _as_dict(self)


@dataclass(frozen=True)
class Provisioned(Event):
    """The dock provisioned the camera (S4, S7, S8, S11, D1, T1).

    ``cert_not_after`` is the device certificate's expiry (POSIX seconds, six days after docking,
    D1). ``time`` is the controller's clock at provisioning: the camera adopts it, so its clock
    offset becomes ``time - now``.
    """

    serial: str
    model: str
    user_id: str
    user_name: str
    cert_pem: str
    cert_not_after: float
    system_public_key: str
    wifi_networks: tuple[WifiNetwork, ...]
    profile: ProfileSettings
    allow_troubleshooting: bool
    time: float


@dataclass(frozen=True)
class Docked(Event):
    """The camera was put in a docking-station bay: it charges and stops recording/streaming."""

    bay: str


@dataclass(frozen=True)
class Undocked(Event):
    """The camera was taken out of its bay."""


@dataclass(frozen=True)
class ButtonGesture(Event):
    """An already-recognised gesture (the Lab panel's buttons, or ``buttons.GestureRecogniser``)."""

    button: Button
    gesture: Gesture

    def __post_init__(self) -> None:
        _check_choice(self, "button", self.button, BUTTONS)
        _check_choice(self, "gesture", self.gesture, GESTURES)


@dataclass(frozen=True)
class ButtonEdge(Event):
    """A raw button edge: ``down=True`` when pressed, ``False`` when released."""

    button: Button
    down: bool

    def __post_init__(self) -> None:
        _check_choice(self, "button", self.button, BUTTONS)


@dataclass(frozen=True)
class HubConnected(Event):
    """The device-to-cloud connection asked for by ``OpenHubConnection`` is up and authenticated."""


@dataclass(frozen=True)
class LicenceChanged(Event):
    """The hub told the camera where the organization's licence stands (S15, T2 row 2b): whether
    it is valid, and until when (the cloud's time; the firmware reads it like its certificate's
    ``not_after``, through the clock offset taken at provisioning)."""

    valid: bool
    until: float | None = None


@dataclass(frozen=True)
class HubDisconnected(Event):
    """The device-to-cloud connection failed or dropped.

    ``reason`` is the hub's or the transport's code; ``"certificate_expired"`` and
    ``"certificate_refused"`` mean the hub refused the device certificate (D1).
    """

    reason: str


@dataclass(frozen=True)
class StreamAccepted(Event):
    """The hub accepted ``RequestStreamStart`` (or a resume) and names the stream."""

    stream_id: str


@dataclass(frozen=True)
class StreamRefused(Event):
    """The cloud refused ``RequestStreamStart``.

    ``reason_code``: ``"licence_expired"`` (S15), ``"streaming_disabled"`` (S7),
    ``"certificate_expired"`` (D1), or any other code the cloud chooses.
    """

    reason_code: str


@dataclass(frozen=True)
class RemoteStartRequested(Event):
    """An operator clicked *Start stream* for this camera's user (D4)."""

    request_id: str
    operator: str


@dataclass(frozen=True)
class Acknowledged(Event):
    """An operator acknowledged the stream in the web client (D6): the camera vibrates."""

    stream_id: str
    operator: str


@dataclass(frozen=True)
class HelpAcknowledged(Event):
    """An operator acknowledged the camera user's help request (issue 16): vibrate, help pattern."""

    help_id: str
    operator: str


@dataclass(frozen=True)
class NetworkChanged(Event):
    """The lab radio model says whether the camera has a usable network, and which kind, and
    whether the Wi-Fi signal is weak (models with a screen show an icon for it, T3 row 4)."""

    up: bool
    mode: NetworkMode | None
    weak_signal: bool = False

    def __post_init__(self) -> None:
        _check_choice(self, "mode", self.mode, NETWORK_MODES)


@dataclass(frozen=True)
class StorageChanged(Event):
    """The camera's storage became full (or has room again, e.g. after an offload in the dock):
    a full camera stops recording and starts none (issue 13)."""

    full: bool


@dataclass(frozen=True)
class TimerFired(Event):
    """The time asked for by ``Firmware.get_timer()`` has come (same as ``handle_timer(now)``)."""


# --------------------------------------------------------------------------------------------
# Commands (outputs)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """Base of every output the driver must carry out, in the order given."""

    def as_dict(self) -> dict[str, Any]:
        return _as_dict(self)


@dataclass(frozen=True)
class OpenHubConnection(Command):
    """Open the device-to-cloud connection with the device certificate; answer with
    ``HubConnected`` or ``HubDisconnected``."""


@dataclass(frozen=True)
class CloseHubConnection(Command):
    """Close the device-to-cloud connection (docked, certificate expired, timeout)."""

    reason: str


@dataclass(frozen=True)
class RequestStreamStart(Command):
    """Ask the hub for a live stream (D3, D4).

    ``stream_id`` is ``None`` for a new stream (the hub assigns one) or the current id when
    resuming after a lost connection. ``request_id`` links a remote start (D4) to its stream.
    Answer with ``StreamAccepted`` or ``StreamRefused``.
    """

    stream_id: str | None
    reason: StreamReason
    request_id: str | None = None

    def __post_init__(self) -> None:
        _check_choice(self, "reason", self.reason, STREAM_REASONS)


@dataclass(frozen=True)
class StopStream(Command):
    """Tell the hub the stream has ended (D5: long press; or docked, certificate expired).

    ``stream_id`` is ``None`` when the user stopped before the hub named the stream: the hub
    drops the camera's pending request. The driver delivers this even after a reconnect.
    """

    stream_id: str | None
    reason: str


@dataclass(frozen=True)
class StartRecording(Command):
    """Start the local recording (recording LED red).

    ``trigger`` says why (``"record"``: the record button, ``"function"``: the stream button,
    ``"remote"``: an operator's remote start); it goes into the recording's metadata (issue 13)
    and is left out of comparisons, so that scenes state only that a recording starts."""

    trigger: str = field(default="record", compare=False)


@dataclass(frozen=True)
class StopRecording(Command):
    """Stop the local recording; ``reason`` is ``"user"`` (long press, D5), ``"docked"`` or
    ``"storage_full"``."""

    reason: str


@dataclass(frozen=True)
class StartMedia(Command):
    """Start sending encrypted media (and positions, when reporting) for ``stream_id``."""

    stream_id: str


@dataclass(frozen=True)
class StopMedia(Command):
    """Stop the media uplink of ``stream_id`` (unacknowledged chunks are still resent)."""

    stream_id: str


@dataclass(frozen=True)
class RemoteStartResult(Command):
    """Answer to ``RemoteStartRequested`` (D4); ``reason`` is a stable code, ``None`` when plain ok."""

    request_id: str
    ok: bool
    reason: str | None


@dataclass(frozen=True)
class Vibrate(Command):
    """Vibrate with a pattern of ``VIBRATION_PATTERNS`` until ``until`` (D6).

    ``until`` is in the time base of the events' ``now``.
    """

    pattern: str
    until: float


@dataclass(frozen=True)
class SendHelpRequest(Command):
    """The camera user made the help gesture (issue 16): seal the position the camera has now and
    send ``help_request`` for ``help_id`` (queued until the hub link is up)."""

    help_id: str
    gesture: str


@dataclass(frozen=True)
class SetLocationReporting(Command):
    """Start or stop sending positions to the cloud (S11)."""

    active: bool


@dataclass(frozen=True)
class ReportState(Command):
    """The state snapshot (``Firmware.state()``) changed: send it to the hub and the Lab panel."""

    state: dict[str, Any] = field(hash=False)


@dataclass(frozen=True)
class LogEvent(Command):
    """A fact worth logging and forwarding as telemetry, with a stable ``code``.

    Refused and ignored starts are reported this way so that the lab's diagnosis (L3) and the
    cloud can name the reason although the camera itself "does not react" (T2).
    """

    LEVELS: ClassVar[tuple[str, ...]] = ("debug", "info", "warning", "error")

    level: str
    code: str
    message: str
    fields: dict[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        _check_choice(self, "level", self.level, self.LEVELS)


EVENT_TYPES: tuple[type[Event], ...] = (
    Provisioned,
    Docked,
    Undocked,
    ButtonGesture,
    ButtonEdge,
    HubConnected,
    HubDisconnected,
    StreamAccepted,
    StreamRefused,
    RemoteStartRequested,
    Acknowledged,
    HelpAcknowledged,
    NetworkChanged,
    StorageChanged,
    TimerFired,
)
