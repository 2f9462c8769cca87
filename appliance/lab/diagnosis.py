"""Automatic diagnosis: the manual's troubleshooting tables as rules over a camera's telemetry
(SPEC L3, T2, T3, T4).

``TABLE`` holds one ``Row`` per row of the manual's tables, in the manual's order, with a stable
code (``T2-3d``, ``T3-2a``, ``T4-6b``: table, row number, letter for the causes of one symptom,
numbered as in ``docs/manual-vs-spec.md``), the English symptom/cause/fix, the manual's French
text, where the symptom is observed, and the rule. ``diagnose(telemetry)`` returns a ``Finding``
for every row whose rule holds, so the lab panel names the cause and the fix, not only the
symptom. The documentation can be generated from ``TABLE``.

The rules read the lab-side cause codes of ``radio.WifiStatus.failure`` and
``mobile.MobileStatus.problem`` (the lab knows why a camera is not connected, which the manual's
reader has to work out from the symptom) plus the telemetry fields below.

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

from dataclasses import dataclass
from typing import Callable

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


@dataclass(frozen=True)
class DiagnosisSettings:
    clock_tolerance_s: float = CLOCK_TOLERANCE_S
    roam_window_s: float = 30.0
    docking_period_s: float = SIX_DAYS_S


@dataclass(frozen=True)
class Finding:
    code: str
    symptom: str
    cause: str
    fix: str
    spec_id: str
    observed: str = ""


Check = Callable[[CameraTelemetry, DiagnosisSettings], bool]


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

    def finding(self) -> Finding:
        return Finding(self.code, self.symptom, self.cause, self.fix, self.spec_id, self.observed)

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
# Predicates


def overdue(t: CameraTelemetry, s: DiagnosisSettings) -> bool:
    """Not docked for more than six days (D1), judged from the certificate or the dock record."""
    if t.docked:
        return False
    if t.cert_not_after is not None and t.now >= t.cert_not_after:
        return True
    return t.last_docked_at is not None and t.now - t.last_docked_at > s.docking_period_s


def on_lte(t: CameraTelemetry) -> bool:
    return t.mobile is not None and t.mobile.mode == "LTE"


def _wifi_failure(t: CameraTelemetry, *codes: str) -> bool:
    return not on_lte(t) and t.wifi is not None and t.wifi.failure in codes


def _mobile_problem(t: CameraTelemetry, *codes: str) -> bool:
    return t.mobile is not None and t.mobile.problem in codes


def _has_lte(t: CameraTelemetry) -> bool:
    model = MODELS.get(t.model)
    return model is not None and model.lte


def _version(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def _clock_apart(t: CameraTelemetry, s: DiagnosisSettings) -> bool:
    return any(
        abs(v.clock_offset_s - t.camera_clock_offset_s) > s.clock_tolerance_s
        or abs(v.clock_offset_s - t.system_clock_offset_s) > s.clock_tolerance_s
        for v in t.viewers
    )


def _eu_channel_12_13(t: CameraTelemetry, s: DiagnosisSettings) -> bool:
    w = t.wifi
    if t.model not in MODELS_POOR_ON_12_13 or w is None or on_lte(t):
        return False
    if w.state not in ("connected", "roaming") or w.band != "2.4" or w.channel not in (12, 13):
        return False
    return t.system_country is not None and t.system_country.upper() in EUROPE


def _recent_roam(t: CameraTelemetry, s: DiagnosisSettings) -> bool:
    w = t.wifi
    return (
        t.streaming
        and w is not None
        and w.last_roam_at is not None
        and 0 <= t.now - w.last_roam_at <= s.roam_window_s
    )


# --------------------------------------------------------------------------------------------
# The table

_P_WIFI = "The camera does not connect to the Wi-Fi network."
_P_WIFI_FR = "La caméra-piéton ne se connecte pas au réseau Wi-Fi."
_P_MOBILE = "The camera does not connect to the mobile network."

_S_START = "The camera does not react when I try to start a live stream."
_S_START_FR = "La caméra-piéton ne réagit pas lorsque j'essaie de démarrer un flux vidéo en direct."
_S_NOWIFI = "The camera does not connect to Wi-Fi. The Wi-Fi connectivity LED turns red / I get a Wi-Fi warning: [icon]."
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
        "T2-1", "T2", "General", "I cannot enable cloud extensions in AXIS Body Worn Manager.",
        "There is a problem with the network configuration.",
        "In AXIS Body Worn Manager go to Settings > Network and check the network configuration, in particular IP "
        "address, DNS settings, proxy server and firewall rules, so that the body worn system can connect.",
        _MANAGER,
        "Je ne peux pas activer les extensions cloud dans AXIS Body Worn Manager.",
        "Il y a un problème avec la configuration du réseau.",
        "Dans AXIS Body Worn Manager, allez à Settings > Network (Paramètres > Réseau) et vérifiez la configuration "
        "du réseau, notamment adresse IP, paramètres DNS, serveur proxy et règles du pare-feu, pour vous assurer que "
        "le système de caméras-piétons peut établir une connexion.",
        lambda t, s: t.cloud_extensions_error is not None,
        manager=(ManagerScreen(("Settings", "Network"), ("IP address", "DNS", "proxy server")),),
    ),
    Row(
        "T2-2a", "T2", "General", _S_START,
        "Streaming is not enabled in the camera user's camera profile.",
        "In AXIS Body Worn Manager go to Camera profiles, select the camera user's profile and, under AXIS Body "
        "Worn Live, turn on Streaming (S7).",
        _CAMERA, _S_START_FR,
        "La diffusion en continu n'est pas activée dans le profil de caméra de l'utilisateur.",
        "Cf. la section « Activer la diffusion en direct » (profil de caméra).",
        lambda t, s: not t.streaming_enabled,
        manager=(ManagerScreen(("Camera profiles", "AXIS Body Worn Live"), ("Streaming",)),),
    ),
    Row(
        "T2-2b", "T2", "General", _S_START,
        "Your AXIS Body Worn Live licence has expired.",
        "In AXIS Body Worn Live go to Settings and check the licence information.",
        _CAMERA, _S_START_FR,
        "Votre licence AXIS Body Worn Live a expiré.",
        "Dans AXIS Body Worn Live, allez à Settings (Paramètres) et vérifiez les informations relatives à la licence.",
        lambda t, s: not t.licence_valid,
    ),
    Row(
        "T2-3a", "T2", "General", _S_NOWIFI,
        "No wireless network has been assigned to the camera user.",
        "Add a Wi-Fi network and assign it to the camera user (S8): in AXIS Body Worn Manager go to Settings > "
        "Camera > Wi-Fi networks, enter its Name (SSID) and Password and click Add, then go to Camera profiles > "
        "Wireless connection and select it in the camera user's profile; or go to Users and, under the camera "
        "user's Network, add its Name (SSID) and Password (streaming must be on in the profile); or add it in AXIS "
        "Body Worn Assistant.",
        _CAMERA, _S_NOWIFI_FR,
        "Aucun réseau sans fil n'a été assigné à l'utilisateur de la caméra.",
        "Cf. la section « Ajouter des réseaux Wi-Fi ».",
        lambda t, s: not on_lte(t) and (t.wifi_networks == 0 or _wifi_failure(t, "no_network_assigned")),
        manager=(ManagerScreen(("Settings", "Camera", "Wi-Fi networks"), ("Name (SSID)", "Password")),
                 ManagerScreen(("Camera profiles", "Wireless connection")),
                 ManagerScreen(("Users",), ("Name (SSID)", "Password"), "Network")),
    ),
    Row(
        "T2-3b", "T2", "General", _S_NOWIFI,
        "The camera has not been docked for more than six days. For security reasons AXIS Body Worn Live requires "
        "the camera to be docked at least every six days; live streaming works only if the camera is docked again "
        "within that period.",
        "Dock the camera to renew the certificate.",
        _CAMERA, _S_NOWIFI_FR,
        "La caméra n'a pas été posée sur la station d'accueil depuis plus de six jours. Pour des raisons de sécurité, "
        "AXIS Body Worn Live nécessite que la caméra soit placée dans sa station d'accueil au moins tous les six "
        "jours. La diffusion en direct n'est opérationnelle que si la caméra est reposée sur la station d'accueil "
        "dans cette période de six jours.",
        "Posez la caméra sur la station d'accueil pour renouveler le certificat.",
        lambda t, s: not on_lte(t) and overdue(t, s),
    ),
    Row(
        "T2-3c", "T2", "General", _S_NOWIFI,
        "The network name or password is incorrect.",
        "Make sure you use the correct network name and password.",
        _CAMERA, _S_NOWIFI_FR,
        "Le nom du réseau ou le mot de passe est incorrect.",
        "Veillez à utiliser le nom du réseau et le mot de passe appropriés.",
        lambda t, s: _wifi_failure(t, "wrong_password", "ssid_not_found", "security_mismatch"),
    ),
    Row(
        "T2-3d", "T2", "General", _S_NOWIFI,
        "AXIS W100 and AXIS W101 body worn cameras support only 2.4 GHz wireless networks.",
        "Make sure the wireless network uses the 2.4 GHz band. Many phones use 5 GHz by default: when you connect "
        "to a mobile hotspot, turn on the 2.4 GHz band in the phone's settings.",
        _CAMERA, _S_NOWIFI_FR,
        "Les caméras-piétons AXIS W100 et AXIS W101 ne prennent en charge que les réseaux sans fil 2,4 GHz.",
        "Assurez-vous que le réseau sans fil utilise la bande de fréquence 2,4 GHz. Par défaut, de nombreux "
        "téléphones utilisent la bande de fréquence 5 GHz. Ainsi, en cas de connexion à un hotspot mobile, vous "
        "devez accéder aux paramètres de votre téléphone et activer la bande de fréquence 2,4 GHz.",
        lambda t, s: _wifi_failure(t, "band_unsupported"),
    ),
    Row(
        "T2-3e", "T2", "General", _S_NOWIFI,
        "The Wi-Fi network's SSID is wrong or missing.",
        "Enter the correct SSID for the Wi-Fi network.",
        _CAMERA, _S_NOWIFI_FR,
        "Le SSID du réseau Wi-Fi est erroné ou absent.",
        "Saisissez le SSID correct pour le réseau Wi-Fi.",
        lambda t, s: _wifi_failure(t, "ssid_not_found"),
    ),
    Row(
        "T2-4a", "T2", "General", _S_NOMOBILE,
        "The SIM card's PIN is wrong or missing.",
        _F_PIN,
        _SCREEN, _S_NOMOBILE_FR,
        "Le PIN de la carte SIM est erroné ou manquant.",
        _F_PIN_FR,
        lambda t, s: _mobile_problem(t, "pin_wrong", "pin_missing"),
        manager=_M_PIN,
    ),
    Row(
        "T2-4b", "T2", "General", _S_NOMOBILE, _C_SWAP, "Dock the camera.", _SCREEN, _S_NOMOBILE_FR, _C_SWAP_FR,
        "Posez la caméra sur la station d'accueil.",
        lambda t, s: _mobile_problem(t, "sim_swapped"),
    ),
    Row(
        "T2-4c", "T2", "General", _S_NOMOBILE, _C_APN, _F_APN, _SCREEN, _S_NOMOBILE_FR, _C_APN_FR,
        "Ajoutez l'APN dans AXIS Body Worn Manager : 1. Allez sur Settings > Camera > Mobile networks (Paramètres > "
        "Caméra > Réseaux mobiles). 2. Cliquez sur Show advanced (Afficher les paramètres avancés). 3. Saisissez le "
        "nom du point d'accès utilisé par votre fournisseur de réseau.",
        lambda t, s: _mobile_problem(t, "apn_missing"),
        manager=_M_APN,
    ),
    Row(
        "T2-4d", "T2", "General", _S_NOMOBILE, _C_IMEI, _F_IMEI, _SCREEN, _S_NOMOBILE_FR, _C_IMEI_FR, _F_IMEI_FR,
        lambda t, s: _mobile_problem(t, "not_activated"),
        manager=_M_IMEI,
    ),
    Row(
        "T2-4e", "T2", "General", _S_NOMOBILE,
        "The SIM card no longer works.",
        "Replace the SIM card.",
        _SCREEN, _S_NOMOBILE_FR,
        "La carte SIM ne fonctionne plus.",
        "Remplacez la carte SIM.",
        lambda t, s: _mobile_problem(t, "sim_dead"),
    ),
    Row(
        "T2-5", "T2", "General", _S_SERVICE,
        "The camera has not been docked for more than six days.",
        "Dock the camera. Make sure the body worn system can reach the host names listed in Hostnames (T5).",
        _SCREEN, _S_SERVICE_FR, _C_SIXDAYS_FR,
        "Posez la caméra sur la station d'accueil. Assurez-vous que le système de caméra-piéton a accès aux noms "
        "d'hôte répertoriés dans Noms d'hôte.",
        overdue,
    ),
    Row(
        "T2-5-hostnames", "T2", "General", _S_SERVICE,
        "The body worn system cannot reach the host names listed in Hostnames (T5) (derived from the fix column).",
        "Make sure the body worn system can reach the host names listed in Hostnames (T5), port 443.",
        _SCREEN, _S_SERVICE_FR,
        "Le système de caméra-piéton n'a pas accès aux noms d'hôte répertoriés (déduit de la colonne Solution).",
        "Assurez-vous que le système de caméra-piéton a accès aux noms d'hôte répertoriés dans Noms d'hôte.",
        lambda t, s: bool(t.blocked_hostnames),
        lab_derived=True,
    ),
    Row(
        "T2-6", "T2", "General", "I see no image in the live-stream player.",
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
        "T2-7", "T2", "General", "Live streaming does not work optimally.",
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
        "T2-8", "T2", "General", "Problems with the live stream in Genetec Security Center's embedded browser.",
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
        lambda t, s: any(v.embedded_in == "genetec" and v.browser == "chrome" for v in t.viewers),
    ),
    Row(
        "T2-9a", "T2", "General", _S_ACS,
        "The AXIS Camera Station version is too old.",
        "Upgrade to version 5.50 or later.",
        _EMBEDDED, _S_ACS_FR,
        "La version d'AXIS Camera Station est trop ancienne.",
        "Effectuez une mise à niveau vers la version 5.50 ou ultérieure.",
        lambda t, s: any(
            v.embedded_in == "axis-camera-station" and v.acs_version is not None and _version(v.acs_version) < (5, 50)
            for v in t.viewers
        ),
    ),
    Row(
        "T2-9b", "T2", "General", _S_ACS,
        "The Microsoft Windows version is too old.",
        "Update to the latest version.",
        _EMBEDDED, _S_ACS_FR,
        "La version Windows de Microsoft® est trop ancienne.",
        "Mettez à niveau vers la dernière version.",
        lambda t, s: any(v.embedded_in == "axis-camera-station" and v.windows_outdated for v in t.viewers),
    ),
    Row(
        "T2-10", "T2", "General", "When I open AXIS Body Worn Live I get the error message: The request is blocked.",
        "The Axis firewall considers the request malicious.",
        "Clear the browser's cookies (this also deletes the key: open the link with key again, S16).",
        _WEB,
        "Lorsque j'ouvre AXIS Body Worn Live, j'obtiens un message d'erreur : The request is blocked.",
        "La requête est considérée comme malveillante par le pare-feu Axis.",
        "Effacer les cookies du navigateur.",
        lambda t, s: any(v.request_blocked for v in t.viewers),
    ),
    # ---- T3: Wi-Fi problems ---------------------------------------------------------------
    Row(
        "T3-1", "T3", _P_WIFI, "In troubleshooting mode the Sub-mode is LTE.",
        "The camera contains a SIM card.",
        "Switch off the camera and remove the SIM card.",
        _TSMODE,
        "Lorsque j'allume le mode dépannage, le sous-mode est LTE.",
        "La caméra contient une carte SIM.",
        "Éteignez la caméra et retirez la carte SIM.",
        # the symptom is seen in troubleshooting mode: a W120 on LTE that merely also holds Wi-Fi
        # networks is healthy (the manual: they are unused, not a fault)
        lambda t, s: t.troubleshooting_mode and on_lte(t) and (t.wifi_networks or 0) > 0,
    ),
    Row(
        "T3-2a", "T3", _P_WIFI, _S_NOIPV4,
        "WPA2 is not allowed by the access point.",
        "Enable WPA2 on the access point.",
        _TSMODE, _S_NOIPV4_FR,
        "WPA2 n'est pas autorisé par le point d'accès.",
        "Activez WPA2 sur le point d'accès.",
        lambda t, s: _wifi_failure(t, "wpa2_not_allowed"),
    ),
    Row(
        "T3-2b", "T3", _P_WIFI, _S_NOIPV4,
        "The Wi-Fi network's password is wrong.",
        "Enter the correct password in AXIS Body Worn Manager (go to Settings > Camera > Wi-Fi networks, delete the "
        "network and add it again with its Password) or in AXIS Body Worn Assistant.",
        _TSMODE, _S_NOIPV4_FR,
        "Le mot de passe du réseau Wi-Fi est erroné.",
        "Dans AXIS Body Worn Manager ou AXIS Body Worn Assistant, saisissez le mot de passe correct.",
        lambda t, s: _wifi_failure(t, "wrong_password"),
        manager=(ManagerScreen(("Settings", "Camera", "Wi-Fi networks"), ("Password",)),),
    ),
    Row(
        "T3-3", "T3", _P_WIFI, "In troubleshooting mode the access point has no MAC address.",
        "Wrong SSID.",
        "Enter the correct SSID.",
        _TSMODE,
        "Lorsque j'active le mode dépannage, le point d'accès n'a pas d'adresse MAC.",
        "SSID erroné.",
        "Saisissez le SSID correct.",
        lambda t, s: _wifi_failure(t, "ssid_not_found"),
    ),
    Row(
        "T3-4", "T3", _P_WIFI, "The camera screen shows [icon] (weak Wi-Fi signal).",
        "The camera is too far from a Wi-Fi access point.",
        "Use the camera closer to an access point.",
        _SCREEN,
        "L'écran de la caméra affiche [icône].",
        "La caméra est trop éloignée d'un point d'accès Wi-Fi.",
        "Utilisez la caméra plus près d'un point d'accès.",
        lambda t, s: not on_lte(t) and t.wifi is not None and t.wifi.weak_signal,
    ),
    Row(
        "T3-5", "T3", _P_WIFI,
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
        "T4-1", "T4", _P_MOBILE, "In troubleshooting mode the Sub-mode is WLAN.",
        "The camera contains no SIM card.",
        "Switch off the camera and insert a SIM card.",
        _TSMODE,
        "Lorsque j'active le mode dépannage, le sous-mode est WLAN.",
        "La caméra ne contient pas de carte SIM.",
        "Éteignez la caméra et insérez une carte SIM.",
        lambda t, s: _has_lte(t) and _mobile_problem(t, "no_sim") and not (t.wifi is not None and t.wifi.connected),
    ),
    Row(
        "T4-2", "T4", _P_MOBILE, "In AXIS Body Worn Manager, the SIM card's state is Unknown.",
        "The SIM card is incompatible.",
        "Contact the operator or try another SIM card.",
        _MANAGER,
        "Dans AXIS Body Worn Manager, l'état de la carte SIM est Unknown (Inconnu).",
        "La carte SIM est incompatible.",
        "Contactez l'opérateur ou essayez une autre carte SIM.",
        lambda t, s: _mobile_problem(t, "sim_incompatible"),
    ),
    Row(
        "T4-3a", "T4", _P_MOBILE, _S_ICON, _C_SWAP, "Dock the camera.", _SCREEN, _S_ICON_FR, _C_SWAP_FR,
        "Posez la caméra sur la station d'accueil.",
        lambda t, s: _mobile_problem(t, "sim_swapped"),
    ),
    Row(
        "T4-3b", "T4", _P_MOBILE, _S_ICON, _C_IMEI, _F_IMEI, _SCREEN, _S_ICON_FR, _C_IMEI_FR, _F_IMEI_FR,
        lambda t, s: _mobile_problem(t, "not_activated"),
        manager=_M_IMEI,
    ),
    Row(
        "T4-4", "T4", _P_MOBILE,
        "When I dock the camera, an alert in AXIS Body Worn Manager says the SIM card is locked.",
        "The SIM card is locked.",
        "Use the PUK code to set a new PIN.",
        _DOCK_ALERT,
        "Lorsque je pose la caméra sur la station d'accueil, je reçois une alerte dans AXIS Body Worn Manager, "
        "indiquant que la carte SIM est verrouillée.",
        "La carte SIM est verrouillée.",
        "Utilisez le code PUK pour définir un nouveau PIN.",
        lambda t, s: _mobile_problem(t, "sim_locked"),
    ),
    Row(
        "T4-5", "T4", _P_MOBILE,
        "When I dock the camera, an alert in AXIS Body Worn Manager says the SIM PIN is wrong or missing.",
        "The SIM card's PIN is wrong or missing.",
        _F_PIN,
        _DOCK_ALERT,
        "Lorsque je pose la caméra sur la station d'accueil, je reçois une alerte dans AXIS Body Worn Manager, "
        "indiquant que le code PIN SIM est erroné ou manquant.",
        "Le PIN de la carte SIM est erroné ou manquant.",
        _F_PIN_FR,
        lambda t, s: _mobile_problem(t, "pin_wrong", "pin_missing"),
        manager=_M_PIN,
    ),
    Row(
        "T4-6a", "T4", _P_MOBILE, _S_NOLTE,
        "The operator supports none of the LTE bands the camera supports.",
        "Compare the LTE bands in the camera's datasheet with the operator's bands.",
        _SCREEN, _S_NOLTE_FR,
        "L'opérateur ne prend en charge aucune des bandes LTE prises en charge par la caméra.",
        "Comparez les bandes LTE indiquées dans la fiche technique de la caméra aux capacités de bande de l'opérateur.",
        lambda t, s: _mobile_problem(t, "no_supported_band"),
    ),
    Row(
        "T4-6b", "T4", _P_MOBILE, _S_NOLTE,
        "The camera is too far from a mast.",
        "Use the camera closer to a mast.",
        _SCREEN, _S_NOLTE_FR,
        "La caméra est trop éloignée d'un mât.",
        "Utilisez la caméra plus près d'un mât.",
        lambda t, s: _mobile_problem(t, "out_of_range"),
    ),
    Row(
        "T4-7", "T4", _P_MOBILE, "In troubleshooting mode the camera has no IPv4 address and no APN is listed.",
        _C_APN, _F_APN, _TSMODE,
        "Lorsque j'active le mode dépannage, la caméra n'a pas d'adresse IPv4 et aucun APN n'est répertorié.",
        _C_APN_FR,
        "Ajoutez l'APN dans AXIS Body Worn Manager : 1. Allez sur Settings > Camera > Mobile networks (Paramètres > "
        "Caméra > Réseaux mobiles). 2. Cliquez sur Show more (Afficher la suite). 3. Saisissez le nom du point "
        "d'accès utilisé par votre fournisseur de réseau.",
        lambda t, s: _mobile_problem(t, "apn_missing"),
        manager=_M_APN,
    ),
    Row(
        "T4-8", "T4", _P_MOBILE, "In troubleshooting mode the camera has no IPv4 address and roaming is inactive.",
        "Roaming is disabled in the mobile network subscription.",
        "1. Dock the camera. 2. Enable roaming in the mobile network subscription.",
        _TSMODE,
        "Lorsque j'active le mode dépannage, la caméra n'a pas d'adresse IPv4 et l'itinérance est inactive.",
        "L'itinérance est désactivée dans l'abonnement au réseau mobile.",
        "1. Posez la caméra sur la station d'accueil. 2. Activez l'itinérance dans l'abonnement au réseau mobile.",
        lambda t, s: _mobile_problem(t, "roaming_disabled"),
    ),
    Row(
        "T4-9", "T4", _P_MOBILE, "In troubleshooting mode the camera has an IPv4 address.",
        "There is no credit left for data transfer.",
        "Contact the network operator for help.",
        _TSMODE,
        "Lorsque j'active le mode dépannage, la caméra a une adresse IPv4.",
        "Il n'y a plus de crédit pour le transfert de données.",
        "Contactez l'opérateur du réseau pour obtenir de l'aide.",
        lambda t, s: _mobile_problem(t, "no_credit"),
    ),
)

ROWS: dict[str, Row] = {row.code: row for row in TABLE}


def diagnose(telemetry: CameraTelemetry, settings: DiagnosisSettings = DiagnosisSettings()) -> list[Finding]:
    """Every row of the manual's tables whose rule holds for ``telemetry``, in table order."""
    return [row.finding() for row in TABLE if row.check(telemetry, settings)]
