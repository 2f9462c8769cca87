"""Automatic diagnosis: the manual's troubleshooting tables as rules over a camera's telemetry
(SPEC L3, T2, T3, T4).

``TABLE`` holds one ``Row`` per row of the manual's tables, in the manual's order, with a stable
code (``T2-3d``, ``T3-2a``, ``T4-6b``: table, row number, letter for the causes of one symptom,
numbered as in ``docs/manual-vs-spec.md``), the English symptom/cause/fix, the manual's French
text, where the symptom is observed, and the rule. ``diagnose(telemetry)`` returns a ``Finding``
for every row whose rule holds, so the lab panel names the cause and the fix, not only the
symptom. The documentation can be generated from ``TABLE``.

The rules read only what a technician could see (issue 14 item 4): the camera's screen and
LEDs, its troubleshooting pages, its Wi-Fi log (``firmware_stub/supplicant_log.py``: "no access
point answered", "association rejected, status 43", "4-way handshake failed") and its modem's
registration result, the Manager's pages (profile, last docking, SIM status and dock alert, the
system's country and clock), Live's licence page, the device hub's refusals and the viewers'
errors. Never the lab's cause codes (``WifiStatus.failure``/``degraded``, ``MobileStatus.problem``)
nor the fault list: ``appliance/lab/symptoms.py`` gathers the observations and blanks those
fields. Each rule returns the ``Evidence`` it used ({source, observation}); a row holds when its
evidence is not empty. Where the manual gives several causes for one symptom and nothing a
technician sees tells them apart, every such row is named: a 2.4 GHz-only camera whose SSID no
access point answered gets T2-3d with T2-3e/T3-3, and a camera that hears no cell gets T4-6a and
T4-6b (the fix is to compare the datasheet's bands with the operator's, or to move closer).

Decisions (the manual is silent):

* **Six days (D1; T2 rows 3b, 5).** "Not docked for more than six days" holds when the camera is
  out of its dock and either its certificate has expired or it was last docked more than six days
  ago. A camera with no docking record and no certificate date is not judged.
* **Clock (S1; T2 row 6).** The manual gives no number for "a few seconds": the tolerance is a
  lab assumption, ``DiagnosisSettings.clock_tolerance_s`` (5 s), to keep equal to the cloud's
  viewing threshold. The rule compares each viewer's clock with the camera's (which stamps the
  media) and with the system controller's.
* **T2 row 5, hostnames.** The manual's cause is only the six-day lapse; its fix also says to make
  sure the system reaches the host names of T5. ``T2-5-hostnames`` is that second cause, derived
  from the fix column (``lab_derived``).
* **T2 row 7** is the conjunction the manual states: the system is in Europe (``system_country``,
  the system's location set in the Manager — not the country an access point advertises; a
  system whose location is not set is not known to be in Europe), a W100/W101, on channel 12 or 13.
* **T3 row 1** fires when the camera, in troubleshooting mode (where the manual's symptom is seen),
  shows Sub-mode LTE while it holds Wi-Fi networks: a SIM is in it, so they are unused. Out of
  troubleshooting mode such a W120 is healthy (it streams on LTE) and nothing is named.
  **T4 row 1** fires for an LTE model without a SIM that is not on Wi-Fi either.
* **T3 row 5** (roaming lag, "sometimes") fires while streaming within ``roam_window_s`` (30 s)
  after a hand-over.
* The APN button: the manual says **Show advanced** in T2 and **Show more** in T4; the English
  fix uses **Show advanced** for both, the French text keeps each row's own word.
* Lost cross-references of the extraction ("Cf. .") are restored by naming the section.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bwlab.models import MODELS
from bwlab.wire.constants import CLOCK_TOLERANCE_S
from labnet.mobile import MobileStatus
from labnet.radio_config import EUROPE, MODELS_POOR_ON_12_13
from labnet.wifi import WifiStatus

SIX_DAYS_S = 6 * 24 * 3600


@dataclass(frozen=True)
class ViewerTelemetry:
    """One computer watching the camera's streams (T2 rows 6, 8, 9, 10).

    ``embedded_in``: None for a plain browser, ``"genetec"`` (Security Center) or
    ``"axis-camera-station"``; ``browser``: the engine showing the web client (``"chrome"``,
    ``"edge"``, ``"firefox"``, ``"safari"``); ``acs_version`` like ``"5.49"``;
    ``request_blocked``: the Axis firewall answered "The request is blocked.".
    """

    name: str = "viewer"
    clock_offset_s: float = 0.0  # this computer's clock minus lab time
    embedded_in: str | None = None
    browser: str = "edge"
    acs_version: str | None = None
    windows_outdated: bool = False
    request_blocked: bool = False


@dataclass(frozen=True)
class CameraTelemetry:
    """A snapshot of everything the rules look at for one camera (and its system and viewers).

    Times are lab time (POSIX seconds); clock offsets are "that clock minus lab time".
    ``wifi_networks`` is the length of the camera's effective S8 list (None = unknown);
    ``streaming`` says a live stream is running; ``endpoint_response_code`` is the camera's last
    answer from the service endpoint (T1 page 4); ``blocked_hostnames`` are T5 names the system or
    the camera cannot reach; ``cloud_extensions_error`` is set when enabling cloud extensions
    failed (T2 row 1); ``system_country`` is where the system is (ISO 3166 code).
    """

    camera_id: str
    model: str
    now: float
    docked: bool = False
    last_docked_at: float | None = None
    cert_not_after: float | None = None
    streaming_enabled: bool = True
    licence_valid: bool = True
    streaming: bool = False
    camera_clock_offset_s: float = 0.0
    system_clock_offset_s: float = 0.0
    wifi_networks: int | None = None
    troubleshooting_mode: bool = False  # the camera shows its troubleshooting pages (T1) now
    wifi: WifiStatus | None = None
    mobile: MobileStatus | None = None
    blocked_hostnames: tuple[str, ...] = ()
    endpoint_response_code: int | str | None = None
    cloud_extensions_error: str | None = None
    system_country: str | None = None
    viewers: tuple[ViewerTelemetry, ...] = ()
    wifi_log: tuple[Mapping[str, Any], ...] = ()  # the camera's Wi-Fi log, oldest first (supplicant_log)
    camera_error: str | None = None  # the error code the camera shows (its screen), e.g. "licence_expired"
    hub_refusal: Mapping[str, Any] | None = None  # the device hub's last refusal of the camera {code, message}


@dataclass(frozen=True)
class DiagnosisSettings:
    clock_tolerance_s: float = CLOCK_TOLERANCE_S
    roam_window_s: float = 30.0
    docking_period_s: float = SIX_DAYS_S


@dataclass(frozen=True)
class Evidence:
    """One thing a technician saw: where (``source``) and what (``observation``)."""

    source: str
    observation: str

    def as_dict(self) -> dict[str, str]:
        return {"source": self.source, "observation": self.observation}


@dataclass(frozen=True)
class Finding:
    code: str
    symptom: str
    cause: str
    fix: str
    spec_id: str
    observed: str = ""
    evidence: tuple[Evidence, ...] = ()


Check = Callable[[CameraTelemetry, DiagnosisSettings], tuple[Evidence, ...]]


@dataclass(frozen=True)
class ManagerScreen:
    """Where a fix text sends the user in AXIS Body Worn Manager: the menu entries in the order the
    text names them (``Settings``, ``Camera``, ``Mobile networks``), what to click there to show
    the fields (``Show advanced``, or ``the camera``: a camera of the Cameras list), and the fields
    the text names. Every one of them is in the fix text, and the Manager has them (a unit test
    and an end-to-end test in Chromium walk every path)."""

    menu: tuple[str, ...]
    fields: tuple[str, ...] = ()
    reveal: str | None = None

    def as_dict(self) -> dict:
        return {"menu": list(self.menu), "fields": list(self.fields), "reveal": self.reveal}


@dataclass(frozen=True)
class Row:
    """One row of the manual's tables and its rule."""

    code: str
    spec_id: str
    problem: str
    symptom: str
    cause: str
    fix: str
    observed: str
    symptom_fr: str
    cause_fr: str
    fix_fr: str
    check: Check
    lab_derived: bool = False
    manager: tuple[ManagerScreen, ...] = ()  # where the fix is made in AXIS Body Worn Manager

    def finding(self, evidence: tuple[Evidence, ...] = ()) -> Finding:
        return Finding(self.code, self.symptom, self.cause, self.fix, self.spec_id, self.observed, evidence)

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "spec_id": self.spec_id,
            "problem": self.problem,
            "symptom": self.symptom,
            "cause": self.cause,
            "fix": self.fix,
            "observed": self.observed,
            "symptom_fr": self.symptom_fr,
            "cause_fr": self.cause_fr,
            "fix_fr": self.fix_fr,
            "lab_derived": self.lab_derived,
            "manager": [m.as_dict() for m in self.manager],
        }


# --------------------------------------------------------------------------------------------
# What a technician sees (issue 14 item 4): every rule returns the evidence it used, empty when
# it does not hold. No rule reads the lab's cause codes (``WifiStatus.failure``/``degraded``,
# ``MobileStatus.problem``): appliance/lab/symptoms.py blanks them before the rules run.

_SCREEN_SRC = "camera screen"
_WIFI_LOG = "camera log (Wi-Fi)"
_MODEM = "camera log (modem)"
_CAMERAS_PAGE = "AXIS Body Worn Manager: Cameras"


def _ev(source: str, observation: str) -> Evidence:
    return Evidence(source, observation)


def _page(t: CameraTelemetry, number: int) -> str:
    """Where a field of troubleshooting page ``number`` is seen: on the page (W102, W120), or in
    the status a camera without the mode reports (its log)."""
    model = MODELS.get(t.model)
    return f"troubleshooting page {number}" if model is not None and model.troubleshooting else "camera status report"


def _all(*parts: tuple[Evidence, ...]) -> tuple[Evidence, ...]:
    """The evidence of every part when each part holds, else nothing."""
    return tuple(e for p in parts for e in p) if all(parts) else ()


def overdue(t: CameraTelemetry, s: DiagnosisSettings) -> tuple[Evidence, ...]:
    """Not docked for more than six days (D1), judged from the certificate or the dock record."""
    if t.docked:
        return ()
    if t.cert_not_after is not None and t.now >= t.cert_not_after:
        return (
            _ev("camera certificate", f"expired {(t.now - t.cert_not_after) / 3600:.1f} h ago"),
            _ev("camera dock", "out of its dock"),
        )
    if t.last_docked_at is not None and t.now - t.last_docked_at > s.docking_period_s:
        return (
            _ev(_CAMERAS_PAGE, f"last docked {(t.now - t.last_docked_at) / 86400:.1f} days ago"),
            _ev("camera dock", "out of its dock"),
        )
    return ()


def on_lte(t: CameraTelemetry) -> bool:
    return t.mobile is not None and t.mobile.mode == "LTE"


def _has_lte(t: CameraTelemetry) -> bool:
    model = MODELS.get(t.model)
    return model is not None and model.lte


def _last_wifi_line(t: CameraTelemetry) -> Mapping[str, Any] | None:
    return t.wifi_log[-1] if t.wifi_log else None


def _wifi_not_joined(t: CameraTelemetry) -> bool:
    return not on_lte(t) and t.wifi is not None and t.wifi.state not in ("connected", "roaming", "disabled")


def _wifi_logged(t: CameraTelemetry, event: str) -> tuple[Evidence, ...]:
    """The camera is not on Wi-Fi and the last line of its Wi-Fi log is ``event``."""
    line = _last_wifi_line(t)
    if not _wifi_not_joined(t) or line is None or line.get("event") != event:
        return ()
    w = t.wifi
    assert w is not None
    page = _ev(
        _page(t, 2),
        f"SSID {w.ssid or '-'}, Status {w.auth_status!r}, AP MAC {w.ap_mac or 'none'}, IPv4 {w.ipv4 or 'none'}",
    )
    return (_ev(_WIFI_LOG, f"{line.get('ssid') or '-'}: {line.get('message') or event}"), page)


def _ssid_not_found(t: CameraTelemetry, s: DiagnosisSettings) -> tuple[Evidence, ...]:
    """No AP answered the camera's SSID, and the screen does not show the weak-signal icon (with
    it, distance explains the silence: T3 row 4 alone)."""
    if t.wifi is not None and t.wifi.weak_signal:
        return ()
    return _wifi_logged(t, "network_not_found")


def _wrong_key(t: CameraTelemetry, s: DiagnosisSettings) -> tuple[Evidence, ...]:
    return _wifi_logged(t, "wrong_key")


def _assoc_rejected(t: CameraTelemetry, s: DiagnosisSettings) -> tuple[Evidence, ...]:
    return _wifi_logged(t, "assoc_reject")


def _no_network(t: CameraTelemetry, s: DiagnosisSettings) -> tuple[Evidence, ...]:
    if on_lte(t):
        return ()
    if t.wifi_networks == 0:
        return (_ev("camera", "holds no Wi-Fi network (its profile and Manager list are empty)"),)
    return _wifi_logged(t, "no_networks")


def _only_24(t: CameraTelemetry, s: DiagnosisSettings) -> tuple[Evidence, ...]:
    model = MODELS.get(t.model)
    if model is None or "5" in model.bands:
        return ()
    return _all(_ssid_not_found(t, s), (_ev("camera datasheet", f"the {t.model} hears 2.4 GHz networks only"),))


def _name_or_password(t: CameraTelemetry, s: DiagnosisSettings) -> tuple[Evidence, ...]:
    return _wrong_key(t, s) or _ssid_not_found(t, s)


def _weak_wifi(t: CameraTelemetry, s: DiagnosisSettings) -> tuple[Evidence, ...]:
    if on_lte(t) or t.wifi is None or not t.wifi.weak_signal:
        return ()
    signal = f", signal {t.wifi.signal_db} dB" if t.wifi.signal_db is not None else ""
    return (_ev(_SCREEN_SRC, f"weak Wi-Fi signal icon{signal}"),)


def _version(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def _clock_apart(t: CameraTelemetry, s: DiagnosisSettings) -> tuple[Evidence, ...]:
    out: list[Evidence] = []
    for v in t.viewers:
        for whose, offset, source in (
            ("camera", t.camera_clock_offset_s, _page(t, 1) + " (system time)"),
            ("system controller", t.system_clock_offset_s, "AXIS Body Worn Manager: Settings > System > Date and time"),
        ):
            apart = offset - v.clock_offset_s
            if abs(apart) > s.clock_tolerance_s:
                out.append(_ev(source, f"the {whose}'s clock differs from {v.name}'s by {apart:+.1f} s"))
    return tuple(out)


def _eu_channel_12_13(t: CameraTelemetry, s: DiagnosisSettings) -> tuple[Evidence, ...]:
    w = t.wifi
    if t.model not in MODELS_POOR_ON_12_13 or w is None or on_lte(t):
        return ()
    if w.state not in ("connected", "roaming") or w.band != "2.4" or w.channel not in (12, 13):
        return ()
    if t.system_country is None or t.system_country.upper() not in EUROPE:
        return ()
    return (
        _ev("camera datasheet", f"an AXIS {t.model}"),
        _ev(_page(t, 2), f"joined {w.ssid} on 2.4 GHz channel {w.channel} (AP MAC {w.ap_mac})"),
        _ev("AXIS Body Worn Manager: Settings > System", f"the system is in {t.system_country.upper()} (Europe)"),
    )


def _recent_roam(t: CameraTelemetry, s: DiagnosisSettings) -> tuple[Evidence, ...]:
    w = t.wifi
    if not (
        t.streaming and w is not None and w.last_roam_at is not None and 0 <= t.now - w.last_roam_at <= s.roam_window_s
    ):
        return ()
    return (
        _ev(_WIFI_LOG, f"roamed to AP MAC {w.ap_mac} {t.now - w.last_roam_at:.1f} s ago"),
        _ev("camera", "streaming live"),
    )


def _cloud_extensions(t: CameraTelemetry, s: DiagnosisSettings) -> tuple[Evidence, ...]:
    if t.cloud_extensions_error is None:
        return ()
    return (_ev("AXIS Body Worn Manager: Add-on services", f"the cloud cannot be reached: {t.cloud_extensions_error}"),)


def _told(t: CameraTelemetry, code: str) -> tuple[Evidence, ...]:
    """The camera showed the hub's refusal ``code`` (its screen, log) or the hub logged it."""
    out = []
    if t.camera_error == code:
        out.append(_ev(_SCREEN_SRC, f"error: {code}"))
    if t.hub_refusal is not None and t.hub_refusal.get("code") == code:
        out.append(_ev("device hub", f"refused the camera: {t.hub_refusal.get('message') or code}"))
    return tuple(out)


def _streaming_off(t: CameraTelemetry, s: DiagnosisSettings) -> tuple[Evidence, ...]:
    """A start was tried and not honoured, and the profile has streaming off. A camera user whose
    profile records only (the demo's "Record only") and who never tries to stream shows nothing."""
    told = _told(t, "streaming_disabled")
    if t.streaming_enabled or not told:
        return ()
    return (*told, _ev("AXIS Body Worn Manager: Camera profiles", "Streaming is off in the camera user's profile"))


def _licence(t: CameraTelemetry, s: DiagnosisSettings) -> tuple[Evidence, ...]:
    told = _told(t, "licence_expired")
    if t.licence_valid and not told:
        return ()
    page = () if t.licence_valid else (_ev("AXIS Body Worn Live: Settings", "no valid licence"),)
    return page + told


def _blocked_hosts(t: CameraTelemetry, s: DiagnosisSettings) -> tuple[Evidence, ...]:
    if not t.blocked_hostnames:
        return ()
    return (
        _ev("camera / device hub", "could not reach " + ", ".join(f"{n}:443" for n in t.blocked_hostnames)),
        *_told(t, "service_unreachable"),
    )


def _viewers(t: CameraTelemetry, test: Callable[[ViewerTelemetry], bool], what: str) -> tuple[Evidence, ...]:
    return tuple(_ev(f"viewer {v.name}", what) for v in t.viewers if test(v))


def _lte_with_wifi(t: CameraTelemetry, s: DiagnosisSettings) -> tuple[Evidence, ...]:
    # the symptom is seen in troubleshooting mode: a W120 on LTE that merely also holds Wi-Fi
    # networks is healthy (the manual: they are unused, not a fault)
    if not (t.troubleshooting_mode and on_lte(t) and (t.wifi_networks or 0) > 0):
        return ()
    return (_ev(_page(t, 1), "Sub-mode LTE"), _ev("camera", f"holds {t.wifi_networks} Wi-Fi network(s), unused"))


# -- mobile: the screen's icons, troubleshooting page 2, the Manager's SIM status and dock alert,
#    and the modem's registration result


def _mobile(t: CameraTelemetry) -> MobileStatus | None:
    return t.mobile if t.mobile is not None and t.mobile.mode == "LTE" else None


def _sim_status(t: CameraTelemetry, *statuses: str) -> tuple[Evidence, ...]:
    m = _mobile(t)
    if m is None or m.sim_status not in statuses:
        return ()
    out = [_ev(_page(t, 2) + " / " + _CAMERAS_PAGE, f"SIM status {m.sim_status!r}")]
    if m.dock_alert:
        out.append(_ev("AXIS Body Worn Manager: alert on docking", m.dock_alert))
    if m.warning_icon:
        out.append(_ev(_SCREEN_SRC, "mobile-network warning icon"))
    return tuple(out)


def _ready(t: CameraTelemetry) -> MobileStatus | None:
    m = _mobile(t)
    return m if m is not None and m.sim_status == "Ready" else None


def _page2_mobile(t: CameraTelemetry, m: MobileStatus) -> Evidence:
    return _ev(
        _page(t, 2), f"IP {m.ipv4 or 'none'}, roaming {m.roaming}, SIM status {m.sim_status}, APN {m.apn or 'none'}"
    )


def _no_sim(t: CameraTelemetry, s: DiagnosisSettings) -> tuple[Evidence, ...]:
    m = t.mobile
    if not _has_lte(t) or m is None or m.sim_present or (t.wifi is not None and t.wifi.connected):
        return ()
    return (
        _ev(_page(t, 1), "Sub-mode WLAN"),
        _ev(_CAMERAS_PAGE, f"SIM status {m.sim_status!r}"),
        _ev(_page(t, 2), "not joined to Wi-Fi either"),
    )


def _swapped(t: CameraTelemetry, s: DiagnosisSettings) -> tuple[Evidence, ...]:
    m = _ready(t)
    if m is None or t.docked or not m.warning_icon or m.registration != "none" or m.signal_db is None:
        return ()
    return (
        _ev(_SCREEN_SRC, "mobile-network warning icon"),
        _ev(
            _MODEM,
            f"SIM ready, cell heard at {m.signal_db} dB, no registration attempted (SIM {m.iccid} "
            "not the one it was docked with)",
        ),
    )


def _not_activated(t: CameraTelemetry, s: DiagnosisSettings) -> tuple[Evidence, ...]:
    m = _ready(t)
    if m is None or m.registration != "denied" or not m.warning_icon:
        return ()
    return (
        _ev(_SCREEN_SRC, "mobile-network warning icon"),
        _ev(_MODEM, f"registration denied by {m.operator or 'the network'} (IMEI {m.imei})"),
    )


def _no_cell(t: CameraTelemetry, s: DiagnosisSettings) -> tuple[Evidence, ...]:
    m = _ready(t)
    if m is None or m.lte_icon or m.warning_icon or m.signal_db is not None:
        return ()
    return (_ev(_SCREEN_SRC, "no LTE signal icon"), _ev(_MODEM, "no cell heard"))


def _apn_missing(t: CameraTelemetry, s: DiagnosisSettings) -> tuple[Evidence, ...]:
    m = _ready(t)
    if m is None or not m.lte_icon or not m.warning_icon or m.ipv4 or m.apn:
        return ()
    return (_ev(_SCREEN_SRC, "LTE icon and mobile-network warning icon"), _page2_mobile(t, m))


def _roaming_off(t: CameraTelemetry, s: DiagnosisSettings) -> tuple[Evidence, ...]:
    m = _ready(t)
    if m is None or not m.lte_icon or m.warning_icon or m.ipv4 or m.roaming != "Inactive":
        return ()
    denied = (_ev(_MODEM, f"registration on {m.operator} denied"),) if m.registration == "denied" else ()
    return (_page2_mobile(t, m), *denied)


def _no_data(t: CameraTelemetry, s: DiagnosisSettings) -> tuple[Evidence, ...]:
    m = _ready(t)
    if m is None or not m.ipv4 or m.link.up:
        return ()
    return (_page2_mobile(t, m), _ev("camera", "no data passes on the mobile link"))


# --------------------------------------------------------------------------------------------
# The table

_P_WIFI = "The camera does not connect to the Wi-Fi network."
_P_WIFI_FR = "La caméra-piéton ne se connecte pas au réseau Wi-Fi."
_P_MOBILE = "The camera does not connect to the mobile network."

_S_START = "The camera does not react when I try to start a live stream."
_S_START_FR = "La caméra-piéton ne réagit pas lorsque j'essaie de démarrer un flux vidéo en direct."
_S_NOWIFI = (
    "The camera does not connect to Wi-Fi. The Wi-Fi connectivity LED turns red / I get a Wi-Fi warning: [icon]."
)
_S_NOWIFI_FR = (
    "La caméra-piéton ne se connecte pas au réseau Wi-Fi®. La LED de connectivité Wi-Fi devient rouge/ "
    "je reçois un avertissement Wi-Fi : [icône]"
)
_S_NOMOBILE = "Cannot stream over the mobile network / I get a mobile-network warning: [icon]."
_S_NOMOBILE_FR = (
    "Impossible de diffuser de la vidéo via le réseau mobile/je reçois un avertissement concernant le "
    "réseau mobile : [icône]"
)
_S_SERVICE = "I get an error message about AXIS Body Worn Live: [icon]."
_S_SERVICE_FR = "J'obtiens un message d'erreur concernant AXIS Body Worn Live : [icône]"
_S_ACS = "Problems with the live stream in AXIS Camera Station's embedded browser."
_S_ACS_FR = "Je rencontre des problèmes avec le flux en direct dans le navigateur intégré d'AXIS Camera Station."
_S_NOIPV4 = "In troubleshooting mode the camera has no IPv4 address."
_S_NOIPV4_FR = "Lorsque j'active le mode dépannage, la caméra n'a pas d'adresse IPv4."
_S_ICON = "The camera screen shows [icon] (mobile-network warning)."
_S_ICON_FR = "L'écran de la caméra affiche [icône]."
_S_NOLTE = "[icon] (the mobile signal) does not appear on the camera screen."
_S_NOLTE_FR = "[icône] n'apparaît pas à l'écran de la caméra."

_F_PIN = "In AXIS Body Worn Manager go to Cameras, click the camera and enter the correct PIN."
_M_PIN = (ManagerScreen(("Cameras",), ("PIN",), "the camera"),)
_F_PIN_FR = "Dans Axis Body Worn Manager, allez à Cameras (Caméras) et cliquez sur la caméra. Saisissez le PIN correct."
_C_SWAP = "The SIM card was replaced while the camera was on and out of the dock."
_C_SWAP_FR = "La carte SIM a été remplacée alors que la caméra était allumée et en dehors de la station d'accueil."
_C_APN = "The operator requires the access point name (APN), the gateway between the mobile network and the internet."
_C_APN_FR = (
    "La passerelle entre le réseau mobile et l'internet, le nom du point d'accès (APN), est requis par l'opérateur."
)
_F_APN = (
    "Add the APN in AXIS Body Worn Manager: 1. Go to Settings > Camera > Mobile networks. 2. Click Show advanced. "
    "3. Enter the access point name your network provider uses."
)
_M_APN = (ManagerScreen(("Settings", "Camera", "Mobile networks"), ("access point name",), "Show advanced"),)
_C_IMEI = "The camera has not been activated by the network provider."
_C_IMEI_FR = "La caméra n'est pas activée par le fournisseur de réseau."
_F_IMEI = (
    "1. In AXIS Body Worn Manager go to Cameras and click the camera to find its IMEI (International Mobile Equipment "
    "Identity). 2. Check whether the IMEI is blocked, for example at imeicheck.com. 3. If the IMEI is blocked, "
    "ask the operator to allow it."
)
_M_IMEI = (ManagerScreen(("Cameras",), ("IMEI",), "the camera"),)
_F_IMEI_FR = (
    "1. Dans Axis Body Worn Manager, allez à Cameras (Caméras) et cliquez sur la caméra pour trouver son numéro IMEI "
    "(International Mobile Equipment Identity). 2. Vérifiez si l'IMEI est bloqué, par exemple à l'adresse "
    "imeicheck.com. 3. Si l'IMEI est bloqué, contactez l'opérateur pour qu'il l'autorise."
)
_C_SIXDAYS_FR = "La caméra n'a pas été posée sur la station d'accueil depuis plus de six jours."

_CAMERA = "camera (Wi-Fi LED or screen)"
_SCREEN = "camera screen"
_TSMODE = "troubleshooting mode"
_MANAGER = "AXIS Body Worn Manager"
_DOCK_ALERT = "AXIS Body Worn Manager, alert on docking"
_WEB = "web client"
_EMBEDDED = "embedded browser"

TABLE: tuple[Row, ...] = (
    # ---- T2: general questions ------------------------------------------------------------
    Row(
        "T2-1",
        "T2",
        "General",
        "I cannot enable cloud extensions in AXIS Body Worn Manager.",
        "There is a problem with the network configuration.",
        "In AXIS Body Worn Manager go to Settings > Network and check the network configuration, in particular IP "
        "address, DNS settings, proxy server and firewall rules, so that the body worn system can connect.",
        _MANAGER,
        "Je ne peux pas activer les extensions cloud dans AXIS Body Worn Manager.",
        "Il y a un problème avec la configuration du réseau.",
        "Dans AXIS Body Worn Manager, allez à Settings > Network (Paramètres > Réseau) et vérifiez la configuration "
        "du réseau, notamment adresse IP, paramètres DNS, serveur proxy et règles du pare-feu, pour vous assurer que "
        "le système de caméras-piétons peut établir une connexion.",
        _cloud_extensions,
        manager=(ManagerScreen(("Settings", "Network"), ("IP address", "DNS", "proxy server")),),
    ),
    Row(
        "T2-2a",
        "T2",
        "General",
        _S_START,
        "Streaming is not enabled in the camera user's camera profile.",
        "In AXIS Body Worn Manager go to Camera profiles, select the camera user's profile and, under AXIS Body "
        "Worn Live, turn on Streaming (S7).",
        _CAMERA,
        _S_START_FR,
        "La diffusion en continu n'est pas activée dans le profil de caméra de l'utilisateur.",
        "Cf. la section « Activer la diffusion en direct » (profil de caméra).",
        _streaming_off,
        manager=(ManagerScreen(("Camera profiles", "AXIS Body Worn Live"), ("Streaming",)),),
    ),
    Row(
        "T2-2b",
        "T2",
        "General",
        _S_START,
        "Your AXIS Body Worn Live licence has expired.",
        "In AXIS Body Worn Live go to Settings and check the licence information.",
        _CAMERA,
        _S_START_FR,
        "Votre licence AXIS Body Worn Live a expiré.",
        "Dans AXIS Body Worn Live, allez à Settings (Paramètres) et vérifiez les informations relatives à la licence.",
        _licence,
    ),
    Row(
        "T2-3a",
        "T2",
        "General",
        _S_NOWIFI,
        "No wireless network has been assigned to the camera user.",
        "Add a Wi-Fi network and assign it to the camera user (S8): in AXIS Body Worn Manager go to Settings > "
        "Camera > Wi-Fi networks, enter its Name (SSID) and Password and click Add, then go to Camera profiles > "
        "Wireless connection and select it in the camera user's profile; or go to Users and, under the camera "
        "user's Network, add its Name (SSID) and Password (streaming must be on in the profile); or add it in AXIS "
        "Body Worn Assistant.",
        _CAMERA,
        _S_NOWIFI_FR,
        "Aucun réseau sans fil n'a été assigné à l'utilisateur de la caméra.",
        "Cf. la section « Ajouter des réseaux Wi-Fi ».",
        _no_network,
        manager=(
            ManagerScreen(("Settings", "Camera", "Wi-Fi networks"), ("Name (SSID)", "Password")),
            ManagerScreen(("Camera profiles", "Wireless connection")),
            ManagerScreen(("Users",), ("Name (SSID)", "Password"), "Network"),
        ),
    ),
    Row(
        "T2-3b",
        "T2",
        "General",
        _S_NOWIFI,
        "The camera has not been docked for more than six days. For security reasons AXIS Body Worn Live requires "
        "the camera to be docked at least every six days; live streaming works only if the camera is docked again "
        "within that period.",
        "Dock the camera to renew the certificate.",
        _CAMERA,
        _S_NOWIFI_FR,
        "La caméra n'a pas été posée sur la station d'accueil depuis plus de six jours. Pour des raisons de sécurité, "
        "AXIS Body Worn Live nécessite que la caméra soit placée dans sa station d'accueil au moins tous les six "
        "jours. La diffusion en direct n'est opérationnelle que si la caméra est reposée sur la station d'accueil "
        "dans cette période de six jours.",
        "Posez la caméra sur la station d'accueil pour renouveler le certificat.",
        lambda t, s: () if on_lte(t) else overdue(t, s),
    ),
    Row(
        "T2-3c",
        "T2",
        "General",
        _S_NOWIFI,
        "The network name or password is incorrect.",
        "Make sure you use the correct network name and password.",
        _CAMERA,
        _S_NOWIFI_FR,
        "Le nom du réseau ou le mot de passe est incorrect.",
        "Veillez à utiliser le nom du réseau et le mot de passe appropriés.",
        _name_or_password,
    ),
    Row(
        "T2-3d",
        "T2",
        "General",
        _S_NOWIFI,
        "AXIS W100 and AXIS W101 body worn cameras support only 2.4 GHz wireless networks.",
        "Make sure the wireless network uses the 2.4 GHz band. Many phones use 5 GHz by default: when you connect "
        "to a mobile hotspot, turn on the 2.4 GHz band in the phone's settings.",
        _CAMERA,
        _S_NOWIFI_FR,
        "Les caméras-piétons AXIS W100 et AXIS W101 ne prennent en charge que les réseaux sans fil 2,4 GHz.",
        "Assurez-vous que le réseau sans fil utilise la bande de fréquence 2,4 GHz. Par défaut, de nombreux "
        "téléphones utilisent la bande de fréquence 5 GHz. Ainsi, en cas de connexion à un hotspot mobile, vous "
        "devez accéder aux paramètres de votre téléphone et activer la bande de fréquence 2,4 GHz.",
        _only_24,
    ),
    Row(
        "T2-3e",
        "T2",
        "General",
        _S_NOWIFI,
        "The Wi-Fi network's SSID is wrong or missing.",
        "Enter the correct SSID for the Wi-Fi network.",
        _CAMERA,
        _S_NOWIFI_FR,
        "Le SSID du réseau Wi-Fi est erroné ou absent.",
        "Saisissez le SSID correct pour le réseau Wi-Fi.",
        _ssid_not_found,
    ),
    Row(
        "T2-4a",
        "T2",
        "General",
        _S_NOMOBILE,
        "The SIM card's PIN is wrong or missing.",
        _F_PIN,
        _SCREEN,
        _S_NOMOBILE_FR,
        "Le PIN de la carte SIM est erroné ou manquant.",
        _F_PIN_FR,
        lambda t, s: _sim_status(t, "PIN required", "Wrong PIN"),
        manager=_M_PIN,
    ),
    Row(
        "T2-4b",
        "T2",
        "General",
        _S_NOMOBILE,
        _C_SWAP,
        "Dock the camera.",
        _SCREEN,
        _S_NOMOBILE_FR,
        _C_SWAP_FR,
        "Posez la caméra sur la station d'accueil.",
        _swapped,
    ),
    Row(
        "T2-4c",
        "T2",
        "General",
        _S_NOMOBILE,
        _C_APN,
        _F_APN,
        _SCREEN,
        _S_NOMOBILE_FR,
        _C_APN_FR,
        "Ajoutez l'APN dans AXIS Body Worn Manager : 1. Allez sur Settings > Camera > Mobile networks (Paramètres > "
        "Caméra > Réseaux mobiles). 2. Cliquez sur Show advanced (Afficher les paramètres avancés). 3. Saisissez le "
        "nom du point d'accès utilisé par votre fournisseur de réseau.",
        _apn_missing,
        manager=_M_APN,
    ),
    Row(
        "T2-4d",
        "T2",
        "General",
        _S_NOMOBILE,
        _C_IMEI,
        _F_IMEI,
        _SCREEN,
        _S_NOMOBILE_FR,
        _C_IMEI_FR,
        _F_IMEI_FR,
        _not_activated,
        manager=_M_IMEI,
    ),
    Row(
        "T2-4e",
        "T2",
        "General",
        _S_NOMOBILE,
        "The SIM card no longer works.",
        "Replace the SIM card.",
        _SCREEN,
        _S_NOMOBILE_FR,
        "La carte SIM ne fonctionne plus.",
        "Remplacez la carte SIM.",
        lambda t, s: _sim_status(t, "Error"),
    ),
    Row(
        "T2-5",
        "T2",
        "General",
        _S_SERVICE,
        "The camera has not been docked for more than six days.",
        "Dock the camera. Make sure the body worn system can reach the host names listed in Hostnames (T5).",
        _SCREEN,
        _S_SERVICE_FR,
        _C_SIXDAYS_FR,
        "Posez la caméra sur la station d'accueil. Assurez-vous que le système de caméra-piéton a accès aux noms "
        "d'hôte répertoriés dans Noms d'hôte.",
        overdue,
    ),
    Row(
        "T2-5-hostnames",
        "T2",
        "General",
        _S_SERVICE,
        "The body worn system cannot reach the host names listed in Hostnames (T5) (derived from the fix column).",
        "Make sure the body worn system can reach the host names listed in Hostnames (T5), port 443.",
        _SCREEN,
        _S_SERVICE_FR,
        "Le système de caméra-piéton n'a pas accès aux noms d'hôte répertoriés (déduit de la colonne Solution).",
        "Assurez-vous que le système de caméra-piéton a accès aux noms d'hôte répertoriés dans Noms d'hôte.",
        _blocked_hosts,
        lab_derived=True,
    ),
    Row(
        "T2-6",
        "T2",
        "General",
        "I see no image in the live-stream player.",
        "The body worn system's time differs from the time on the computer used for AXIS Body Worn Live.",
        "Use an NTP server to set the date and time on both the body worn system (in AXIS Body Worn Manager go to "
        "Settings > System > Date and time and set the NTP server) and the computer used for AXIS Body Worn Live.",
        _WEB,
        "Je ne vois pas d'image dans le lecteur du flux en direct.",
        "L'heure du système de caméras-piétons diffère de l'heure sur l'ordinateur utilisé pour AXIS Body Worn Live.",
        "Utilisez un serveur NTP pour régler la date et l'heure à la fois dans le système de caméras-piétons et sur "
        "l'ordinateur utilisé pour AXIS Body Worn Live.",
        _clock_apart,
        manager=(ManagerScreen(("Settings", "System", "Date and time"), ("NTP server",)),),
    ),
    Row(
        "T2-7",
        "T2",
        "General",
        "Live streaming does not work optimally.",
        "Your system is in Europe, it contains AXIS W100 or W101 cameras, and your Wi-Fi router uses channel 12 or 13.",
        "Contact bodywornlive.support@axis.com and give your system ID and the country where the system is.",
        _WEB,
        "Le flux de données vidéo en direct ne fonctionne pas de manière optimale.",
        "Votre système se trouve en Europe, votre système contient des caméras AXIS W100 ou W101, et votre routeur "
        "Wi-Fi utilise le canal 12 ou 13.",
        "Contactez bodywornlive.support@axis.com et fournissez votre ID système et le pays où se trouve le système.",
        _eu_channel_12_13,
    ),
    Row(
        "T2-8",
        "T2",
        "General",
        "Problems with the live stream in Genetec Security Center's embedded browser.",
        "Genetec Security Center uses the Google Chrome browser by default.",
        "Change the default browser to Microsoft Edge by editing a configuration file: for example go to Program "
        "Files (x86) > Genetec Security Center 5.xx > ConfigurationFiles > App.SecurityDesk.config and, in "
        "Presentation, add or set WebBrowserType to Edge.",
        _EMBEDDED,
        "Je rencontre des problèmes avec le flux en direct dans le navigateur intégré de Genetec™ Security Center.",
        "Genetec™ Security Center utilise le navigateur Google Chrome™ par défaut.",
        "Remplacez le navigateur par défaut par Microsoft Edge® en modifiant un fichier de configuration. Par "
        "exemple, allez à Program Files (x86) > Genetec Security Center 5.xx > ConfigurationFiles > "
        "App.SecurityDesk.config. Dans Presentation, ajoutez ou modifiez WebBrowserType par Edge.",
        lambda t, s: _viewers(
            t,
            lambda v: v.embedded_in == "genetec" and v.browser == "chrome",
            "Security Center shows the stream in its Chrome browser",
        ),
    ),
    Row(
        "T2-9a",
        "T2",
        "General",
        _S_ACS,
        "The AXIS Camera Station version is too old.",
        "Upgrade to version 5.50 or later.",
        _EMBEDDED,
        _S_ACS_FR,
        "La version d'AXIS Camera Station est trop ancienne.",
        "Effectuez une mise à niveau vers la version 5.50 ou ultérieure.",
        lambda t, s: _viewers(
            t,
            lambda v: (
                v.embedded_in == "axis-camera-station"
                and v.acs_version is not None
                and _version(v.acs_version) < (5, 50)
            ),
            "AXIS Camera Station older than 5.50",
        ),
    ),
    Row(
        "T2-9b",
        "T2",
        "General",
        _S_ACS,
        "The Microsoft Windows version is too old.",
        "Update to the latest version.",
        _EMBEDDED,
        _S_ACS_FR,
        "La version Windows de Microsoft® est trop ancienne.",
        "Mettez à niveau vers la dernière version.",
        lambda t, s: _viewers(
            t,
            lambda v: v.embedded_in == "axis-camera-station" and v.windows_outdated,
            "AXIS Camera Station on an outdated Windows",
        ),
    ),
    Row(
        "T2-10",
        "T2",
        "General",
        "When I open AXIS Body Worn Live I get the error message: The request is blocked.",
        "The Axis firewall considers the request malicious.",
        "Clear the browser's cookies (this also deletes the key: open the link with key again, S16).",
        _WEB,
        "Lorsque j'ouvre AXIS Body Worn Live, j'obtiens un message d'erreur : The request is blocked.",
        "La requête est considérée comme malveillante par le pare-feu Axis.",
        "Effacer les cookies du navigateur.",
        lambda t, s: _viewers(t, lambda v: v.request_blocked, "The request is blocked."),
    ),
    # ---- T3: Wi-Fi problems ---------------------------------------------------------------
    Row(
        "T3-1",
        "T3",
        _P_WIFI,
        "In troubleshooting mode the Sub-mode is LTE.",
        "The camera contains a SIM card.",
        "Switch off the camera and remove the SIM card.",
        _TSMODE,
        "Lorsque j'allume le mode dépannage, le sous-mode est LTE.",
        "La caméra contient une carte SIM.",
        "Éteignez la caméra et retirez la carte SIM.",
        _lte_with_wifi,
    ),
    Row(
        "T3-2a",
        "T3",
        _P_WIFI,
        _S_NOIPV4,
        "WPA2 is not allowed by the access point.",
        "Enable WPA2 on the access point.",
        _TSMODE,
        _S_NOIPV4_FR,
        "WPA2 n'est pas autorisé par le point d'accès.",
        "Activez WPA2 sur le point d'accès.",
        _assoc_rejected,
    ),
    Row(
        "T3-2b",
        "T3",
        _P_WIFI,
        _S_NOIPV4,
        "The Wi-Fi network's password is wrong.",
        "Enter the correct password in AXIS Body Worn Manager (go to Settings > Camera > Wi-Fi networks, delete the "
        "network and add it again with its Password) or in AXIS Body Worn Assistant.",
        _TSMODE,
        _S_NOIPV4_FR,
        "Le mot de passe du réseau Wi-Fi est erroné.",
        "Dans AXIS Body Worn Manager ou AXIS Body Worn Assistant, saisissez le mot de passe correct.",
        _wrong_key,
        manager=(ManagerScreen(("Settings", "Camera", "Wi-Fi networks"), ("Password",)),),
    ),
    Row(
        "T3-3",
        "T3",
        _P_WIFI,
        "In troubleshooting mode the access point has no MAC address.",
        "Wrong SSID.",
        "Enter the correct SSID.",
        _TSMODE,
        "Lorsque j'active le mode dépannage, le point d'accès n'a pas d'adresse MAC.",
        "SSID erroné.",
        "Saisissez le SSID correct.",
        _ssid_not_found,
    ),
    Row(
        "T3-4",
        "T3",
        _P_WIFI,
        "The camera screen shows [icon] (weak Wi-Fi signal).",
        "The camera is too far from a Wi-Fi access point.",
        "Use the camera closer to an access point.",
        _SCREEN,
        "L'écran de la caméra affiche [icône].",
        "La caméra est trop éloignée d'un point d'accès Wi-Fi.",
        "Utilisez la caméra plus près d'un point d'accès.",
        _weak_wifi,
    ),
    Row(
        "T3-5",
        "T3",
        _P_WIFI,
        "When the camera switches from one Wi-Fi access point to another, the stream is sometimes delayed.",
        "This is a known limitation. See the release notes for more information.",
        "-",
        _WEB,
        "Lorsque la caméra commute d'un point d'accès Wi-Fi à un autre, le flux de données est parfois décalé.",
        "Il s'agit d'une limitation connue. Pour plus d'informations, consultez les notes de version.",
        "-",
        _recent_roam,
    ),
    # ---- T4: mobile network problems ------------------------------------------------------
    Row(
        "T4-1",
        "T4",
        _P_MOBILE,
        "In troubleshooting mode the Sub-mode is WLAN.",
        "The camera contains no SIM card.",
        "Switch off the camera and insert a SIM card.",
        _TSMODE,
        "Lorsque j'active le mode dépannage, le sous-mode est WLAN.",
        "La caméra ne contient pas de carte SIM.",
        "Éteignez la caméra et insérez une carte SIM.",
        _no_sim,
    ),
    Row(
        "T4-2",
        "T4",
        _P_MOBILE,
        "In AXIS Body Worn Manager, the SIM card's state is Unknown.",
        "The SIM card is incompatible.",
        "Contact the operator or try another SIM card.",
        _MANAGER,
        "Dans AXIS Body Worn Manager, l'état de la carte SIM est Unknown (Inconnu).",
        "La carte SIM est incompatible.",
        "Contactez l'opérateur ou essayez une autre carte SIM.",
        lambda t, s: _sim_status(t, "Unknown"),
    ),
    Row(
        "T4-3a",
        "T4",
        _P_MOBILE,
        _S_ICON,
        _C_SWAP,
        "Dock the camera.",
        _SCREEN,
        _S_ICON_FR,
        _C_SWAP_FR,
        "Posez la caméra sur la station d'accueil.",
        _swapped,
    ),
    Row(
        "T4-3b",
        "T4",
        _P_MOBILE,
        _S_ICON,
        _C_IMEI,
        _F_IMEI,
        _SCREEN,
        _S_ICON_FR,
        _C_IMEI_FR,
        _F_IMEI_FR,
        _not_activated,
        manager=_M_IMEI,
    ),
    Row(
        "T4-4",
        "T4",
        _P_MOBILE,
        "When I dock the camera, an alert in AXIS Body Worn Manager says the SIM card is locked.",
        "The SIM card is locked.",
        "Use the PUK code to set a new PIN.",
        _DOCK_ALERT,
        "Lorsque je pose la caméra sur la station d'accueil, je reçois une alerte dans AXIS Body Worn Manager, "
        "indiquant que la carte SIM est verrouillée.",
        "La carte SIM est verrouillée.",
        "Utilisez le code PUK pour définir un nouveau PIN.",
        lambda t, s: _sim_status(t, "PUK required"),
    ),
    Row(
        "T4-5",
        "T4",
        _P_MOBILE,
        "When I dock the camera, an alert in AXIS Body Worn Manager says the SIM PIN is wrong or missing.",
        "The SIM card's PIN is wrong or missing.",
        _F_PIN,
        _DOCK_ALERT,
        "Lorsque je pose la caméra sur la station d'accueil, je reçois une alerte dans AXIS Body Worn Manager, "
        "indiquant que le code PIN SIM est erroné ou manquant.",
        "Le PIN de la carte SIM est erroné ou manquant.",
        _F_PIN_FR,
        lambda t, s: _sim_status(t, "PIN required", "Wrong PIN"),
        manager=_M_PIN,
    ),
    Row(
        "T4-6a",
        "T4",
        _P_MOBILE,
        _S_NOLTE,
        "The operator supports none of the LTE bands the camera supports.",
        "Compare the LTE bands in the camera's datasheet with the operator's bands.",
        _SCREEN,
        _S_NOLTE_FR,
        "L'opérateur ne prend en charge aucune des bandes LTE prises en charge par la caméra.",
        "Comparez les bandes LTE indiquées dans la fiche technique de la caméra aux capacités de bande de l'opérateur.",
        _no_cell,
    ),
    Row(
        "T4-6b",
        "T4",
        _P_MOBILE,
        _S_NOLTE,
        "The camera is too far from a mast.",
        "Use the camera closer to a mast.",
        _SCREEN,
        _S_NOLTE_FR,
        "La caméra est trop éloignée d'un mât.",
        "Utilisez la caméra plus près d'un mât.",
        _no_cell,
    ),
    Row(
        "T4-7",
        "T4",
        _P_MOBILE,
        "In troubleshooting mode the camera has no IPv4 address and no APN is listed.",
        _C_APN,
        _F_APN,
        _TSMODE,
        "Lorsque j'active le mode dépannage, la caméra n'a pas d'adresse IPv4 et aucun APN n'est répertorié.",
        _C_APN_FR,
        "Ajoutez l'APN dans AXIS Body Worn Manager : 1. Allez sur Settings > Camera > Mobile networks (Paramètres > "
        "Caméra > Réseaux mobiles). 2. Cliquez sur Show more (Afficher la suite). 3. Saisissez le nom du point "
        "d'accès utilisé par votre fournisseur de réseau.",
        _apn_missing,
        manager=_M_APN,
    ),
    Row(
        "T4-8",
        "T4",
        _P_MOBILE,
        "In troubleshooting mode the camera has no IPv4 address and roaming is inactive.",
        "Roaming is disabled in the mobile network subscription.",
        "1. Dock the camera. 2. Enable roaming in the mobile network subscription.",
        _TSMODE,
        "Lorsque j'active le mode dépannage, la caméra n'a pas d'adresse IPv4 et l'itinérance est inactive.",
        "L'itinérance est désactivée dans l'abonnement au réseau mobile.",
        "1. Posez la caméra sur la station d'accueil. 2. Activez l'itinérance dans l'abonnement au réseau mobile.",
        _roaming_off,
    ),
    Row(
        "T4-9",
        "T4",
        _P_MOBILE,
        "In troubleshooting mode the camera has an IPv4 address.",
        "There is no credit left for data transfer.",
        "Contact the network operator for help.",
        _TSMODE,
        "Lorsque j'active le mode dépannage, la caméra a une adresse IPv4.",
        "Il n'y a plus de crédit pour le transfert de données.",
        "Contactez l'opérateur du réseau pour obtenir de l'aide.",
        _no_data,
    ),
)

ROWS: dict[str, Row] = {row.code: row for row in TABLE}


def diagnose(telemetry: CameraTelemetry, settings: DiagnosisSettings = DiagnosisSettings()) -> list[Finding]:
    """Every row of the manual's tables whose rule holds for ``telemetry``, in table order, each
    with the evidence its rule used."""
    return [row.finding(evidence) for row in TABLE if (evidence := row.check(telemetry, settings))]
