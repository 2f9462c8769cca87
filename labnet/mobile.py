"""Mobile (LTE) side of the lab network: cells, SIM cards, the camera's modem (SPEC S8, T2, T4).

A sans-I/O core like ``radio.py``: one ``MobileRadio`` per camera with an LTE modem is told what
happens with the lab time (``insert_sim``, ``dock``, ``undock``, ``move``, ``set_cells``,
``set_settings``, ``record_usage``) and read out with ``status(now)``: the mobile fields of the
troubleshooting pages (T1 page 2 on mobile: IP, roaming status, SIM status, APN; page 1: sub-mode
and signal), what the camera screen shows, the alert the Manager raises on docking, and the
lab-side ``problem`` code that names the T2/T4 cause.

Every T4 row (and the mobile rows of T2) comes out of one check, in the order a modem meets them:

==================  ==================================================================  ==============
check               outcome                                                             ``problem``
==================  ==================================================================  ==============
SIM slot empty      Sub-mode WLAN (T4 row 1)                                            ``no_sim``
SIM dead            SIM status "Error", warning icon (T2 row 4e)                        ``sim_dead``
SIM incompatible    SIM status "Unknown" in the Manager (T4 row 2)                      ``sim_incompatible``
ICCID changed       warning icon until docked (T2 row 4b, T4 row 3a)                    ``sim_swapped``
while undocked
SIM PUK-locked      SIM status "PUK required"; dock alert "SIM card is locked" (T4 4)   ``sim_locked``
PIN missing/wrong   dock alert "SIM PIN is wrong or missing", warning icon (T4 5, T2 4a) ``pin_missing`` /
                                                                                        ``pin_wrong``
no cell heard       no LTE icon (T4 row 6a / 6b)                                        ``no_supported_band``
                                                                                        / ``out_of_range``
IMEI blocked or     registration rejected, warning icon (T4 row 3b, T2 row 4d)          ``not_activated``
not activated
roaming needed but  no IPv4, roaming "Inactive" (T4 row 8)                              ``roaming_disabled``
not allowed
APN required, none  no IPv4, no APN listed, warning icon (T4 row 7, T2 row 4c)          ``apn_missing``
no credit left      IPv4 but no data (T4 row 9)                                         ``no_credit``
==================  ==================================================================  ==============

Lab decisions (the manual is silent):

* **Sub-mode** is LTE as soon as a SIM is in the slot, whatever its state, and WLAN without one
  (T3 row 1, T4 row 1). Models without a modem (``CameraModel.lte`` false) are always WLAN.
* **SIM status strings**: "Not inserted", "Ready", "PIN required" (no PIN configured), "Wrong PIN",
  "PUK required", "Unknown" (incompatible, the manual's word), "Error" (dead SIM).
* **PIN.** The camera presents the PIN configured in the Manager once per SIM insertion and never
  retries a rejected one, so a wrong PIN never locks a SIM by itself; a locked SIM is the
  ``puk_locked`` state. The SIM state ``pin_wrong`` makes the SIM reject any PIN (a PIN changed
  behind the Manager's back); ``pin_required`` compares the camera's PIN with ``Sim.pin``.
* **Swap.** The camera remembers the ICCID it was docked with; a SIM with another ICCID while out
  of the dock is a swap (``SimSwapDetected``); docking clears it. A SIM inserted into a camera
  that last docked with an empty slot is a swap too.
* **Cells.** Log-distance path loss (exponent 3.5, outdoor) from the cell's ``tx_power_dbm``
  (default 43 dBm) on its lowest-frequency band the camera supports; heard at ≥ −115 dBm. With
  defaults a band-20 cell reaches ≈ 4.4 km and a band-3 cell ≈ 3.4 km. When no cell is heard the
  problem is ``no_supported_band`` if a cell *would* be heard were its bands supported, else
  ``out_of_range``. The signal shown is the received power of the best cell, also while a SIM
  problem stops registration (the modem still measures cells).
* **Roaming.** A cell belongs to an ``operator``; a SIM has a home ``operator``. Camping on
  another operator's cell is roaming: allowed → roaming "Active"; not allowed → registration
  rejected (roaming "Inactive", no IPv4, the LTE icon still shows).
* **APN.** ``Sim.apn_required``: the operator needs an APN configured on the camera (any
  non-empty name is accepted). Otherwise the network supplies ``Sim.apn`` and that is listed.
* **Credit.** ``Sim.credit_mb`` (None = unlimited) is the credit at insertion; ``record_usage``
  spends it and ``set_credit`` tops it up. With none left the camera keeps its IPv4 but no data
  passes (``data_ok`` false, link down).
* **Addresses.** The IPv4 is in 100.64.0.0/10 (carrier-grade NAT), derived from the ICCID; the
  name servers are ``MobileConfig.dns_servers``.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bwlab.models import CameraModel
from bwlab.schema import FieldError

from .config import FromMapping, limits, site_position
from .events import MobileEvent, MobileStatusChanged, SimSwapDetected
from .propagation import LINK_DOWN, LinkQuality, PathLossModel, distance

SIM_STATES = ("absent", "ok", "pin_required", "pin_wrong", "puk_locked", "dead", "incompatible")

#: Downlink centre frequency (MHz) of the LTE bands a lab cell may use.
LTE_BAND_MHZ: dict[int, float] = {
    1: 2140.0,
    2: 1960.0,
    3: 1842.5,
    4: 2132.5,
    5: 881.5,
    7: 2655.0,
    8: 942.5,
    12: 737.5,
    13: 751.0,
    14: 763.0,
    17: 740.0,
    18: 867.5,
    19: 882.5,
    20: 806.0,
    25: 1962.5,
    26: 876.5,
    28: 780.5,
    38: 2595.0,
    40: 2350.0,
    41: 2593.0,
    66: 2155.0,
    71: 634.5,
}

#: Lab-side cause codes (``MobileStatus.problem``), each naming its manual row.
PROBLEMS: dict[str, str] = {
    "no_sim": "the camera contains no SIM card (T4 row 1)",
    "sim_dead": "the SIM card no longer works (T2 row 4e)",
    "sim_incompatible": "the SIM card is incompatible (T4 row 2)",
    "sim_swapped": "the SIM was replaced while the camera was on and out of the dock (T2 row 4b, T4 row 3a)",
    "sim_locked": "the SIM card is locked and needs its PUK (T4 row 4)",
    "pin_missing": "the SIM PIN is missing (T2 row 4a, T4 row 5)",
    "pin_wrong": "the SIM PIN is wrong (T2 row 4a, T4 row 5)",
    "no_supported_band": "the operator supports none of the camera's LTE bands (T4 row 6a)",
    "out_of_range": "the camera is too far from a mast (T4 row 6b)",
    "not_activated": "the camera is not activated by the network provider / IMEI blocked (T2 row 4d, T4 row 3b)",
    "roaming_disabled": "roaming is disabled in the mobile subscription (T4 row 8)",
    "apn_missing": "the operator requires an APN and none is configured (T2 row 4c, T4 row 7)",
    "no_credit": "no credit left for data transfer (T4 row 9)",
}

_SIM_STATUS = {
    "absent": "Not inserted",
    "ok": "Ready",
    "dead": "Error",
    "incompatible": "Unknown",
    "puk_locked": "PUK required",
}
DOCK_ALERT_LOCKED = "SIM card is locked"
DOCK_ALERT_PIN = "SIM PIN is wrong or missing"
_WARNING = frozenset(
    {
        "sim_dead",
        "sim_incompatible",
        "sim_swapped",
        "sim_locked",
        "pin_missing",
        "pin_wrong",
        "not_activated",
        "apn_missing",
    }
)
_REGISTERED = frozenset({None, "roaming_disabled", "apn_missing", "no_credit"})


# --------------------------------------------------------------------------------------------
# Configuration


@dataclass(frozen=True)
class Cell(FromMapping):
    """One lab mobile cell (a mast): its LTE bands, position on the site plan, power, operator."""

    name: str = field(metadata={"nonempty": True})
    bands: tuple[int, ...]
    position: tuple[float, float] = site_position()
    tx_power_dbm: float = 43.0
    operator: str = field(default="lab", metadata={"nonempty": True})
    enabled: bool = True

    def __post_init__(self) -> None:
        if not self.name:
            raise FieldError("name", "a non-empty string", self.name)
        if not self.bands:
            raise FieldError("bands", "at least one LTE band", list(self.bands))
        for i, band in enumerate(self.bands):
            if band not in LTE_BAND_MHZ:
                raise FieldError(f"bands[{i}]", "an LTE band among " + ", ".join(str(b) for b in LTE_BAND_MHZ), band)
        object.__setattr__(self, "bands", tuple(self.bands))
        if not 0.0 <= self.tx_power_dbm <= 60.0:
            raise FieldError("tx_power_dbm", "a transmit power between 0 and 60 dBm", self.tx_power_dbm)
        if not self.operator:
            raise FieldError("operator", "a non-empty operator name", self.operator)


@dataclass(frozen=True)
class Sim(FromMapping):
    """A SIM card and its subscription (DESIGN "Lab network": SIM states, APN, roaming, credit).

    ``state`` is one of ``SIM_STATES``. ``apn_required``: the operator needs an APN configured on
    the camera; ``apn`` is the name the network supplies when it does not. ``credit_mb`` None =
    unlimited. ``activated`` false or ``imei_blocked`` true: the network rejects the camera.
    """

    state: str = "ok"
    iccid: str = ""
    pin: str | None = None
    operator: str = field(default="lab", metadata={"nonempty": True})
    apn: str = field(default="internet", metadata={"nonempty": True})
    apn_required: bool = False
    roaming_allowed: bool = False
    credit_mb: float | None = None
    imei_blocked: bool = False
    activated: bool = True

    def __post_init__(self) -> None:
        if self.state not in SIM_STATES:
            raise FieldError("state", "one of " + ", ".join(repr(s) for s in SIM_STATES), self.state)
        if self.state != "absent" and not (self.iccid.isdigit() and 18 <= len(self.iccid) <= 22):
            raise FieldError("iccid", "an ICCID of 18 to 22 digits (required unless state is 'absent')", self.iccid)
        if self.pin is not None and not (self.pin.isdigit() and 4 <= len(self.pin) <= 8):
            raise FieldError("pin", "a PIN of 4 to 8 digits", self.pin)
        if self.state in ("pin_required", "pin_wrong") and self.pin is None:
            raise FieldError("pin", f"the SIM's PIN (state {self.state!r} needs one)", self.pin)
        if self.credit_mb is not None and self.credit_mb < 0:
            raise FieldError("credit_mb", "a credit ≥ 0 MB (or no key for unlimited)", self.credit_mb)

    @property
    def present(self) -> bool:
        return self.state != "absent"


NO_SIM = Sim(state="absent")


@dataclass(frozen=True)
class ModemSettings(FromMapping):
    """What the Manager configures for the camera's modem: the SIM PIN (Cameras → camera) and
    the APN (Settings > Camera > Mobile networks > Show advanced)."""

    pin: str | None = None
    apn: str | None = None

    def __post_init__(self) -> None:
        if self.pin == "":
            object.__setattr__(self, "pin", None)
        if self.apn is not None and not self.apn.strip():
            object.__setattr__(self, "apn", None)


@dataclass(frozen=True)
class MobileConfig(FromMapping):
    """Tunables of the LTE model (defaults as in the module docstring)."""

    path_loss: PathLossModel = PathLossModel(exponent=3.5)
    sensitivity_dbm: float = limits(-115.0, min=-150.0, max=0.0)
    good_signal_dbm: float = limits(-80.0, min=-150.0, max=0.0)
    dns_servers: tuple[str, ...] = ("100.64.0.53", "100.64.0.54")
    max_throughput_kbps: float = limits(20_000.0, min=0.0)
    min_throughput_kbps: float = limits(300.0, min=0.0)

    def __post_init__(self) -> None:
        for i, server in enumerate(self.dns_servers):
            try:
                ipaddress.ip_address(server)
            except ValueError:
                raise FieldError(f"dns_servers[{i}]", "an IP address", server) from None
        if self.sensitivity_dbm >= self.good_signal_dbm:
            raise FieldError("good_signal_dbm", "a value above sensitivity_dbm", self.good_signal_dbm)


def lte_link_quality(signal_dbm: float, config: MobileConfig = MobileConfig()) -> LinkQuality:
    """Uplink quality on LTE at ``signal_dbm``: latency 30→90 ms, loss 0→5 %, rate to the edge."""
    if signal_dbm < config.sensitivity_dbm:
        return LINK_DOWN
    q = (signal_dbm - config.sensitivity_dbm) / (config.good_signal_dbm - config.sensitivity_dbm)
    q = min(max(q, 0.0), 1.0)
    return LinkQuality(
        up=True,
        latency_ms=round(30.0 + 60.0 * (1.0 - q) ** 2, 3),
        loss_ratio=round(0.05 * (1.0 - q) ** 3, 5),
        throughput_kbps=round(
            config.min_throughput_kbps + (config.max_throughput_kbps - config.min_throughput_kbps) * q, 1
        ),
    )


# --------------------------------------------------------------------------------------------
# Status


@dataclass(frozen=True)
class MobileStatus:
    """The camera's mobile side as the troubleshooting pages, screen and Manager show it (T1, T4).

    Page 1: ``mode`` (Sub-mode: "LTE" or "WLAN"), ``signal_db``. Page 2 on mobile: ``ipv4`` (IP),
    ``roaming`` ("Active"/"Inactive"), ``sim_status``, ``apn`` (None = no APN listed). Camera
    screen: ``lte_icon`` (absent: T4 row 6), ``warning_icon`` (T2 row 4, T4 row 3). Manager:
    ``sim_status`` (T4 row 2) and ``dock_alert`` raised when the camera is docked (T4 rows 4, 5).
    Lab-side: ``problem`` (a ``PROBLEMS`` code), ``registration`` ("none", "searching", "home",
    "roaming", "denied"), ``data_ok``, the serving cell, credit left and link quality.
    """

    mode: str
    sim_present: bool
    sim_status: str | None
    ipv4: str | None
    roaming: str
    apn: str | None
    signal_db: int | None
    data_ok: bool
    lte_icon: bool
    warning_icon: bool
    dock_alert: str | None
    problem: str | None
    registration: str = "none"
    cell: str | None = None
    band: int | None = None
    operator: str | None = None
    iccid: str | None = None
    imei: str | None = None
    dns_servers: tuple[str, ...] = ()
    credit_left_mb: float | None = None
    link: LinkQuality = LINK_DOWN


# --------------------------------------------------------------------------------------------
# The per-camera modem


class MobileRadio:
    """The LTE modem of one camera (T4); see the module docstring for the checks and decisions."""

    def __init__(
        self,
        model: CameraModel,
        imei: str,
        *,
        settings: ModemSettings = ModemSettings(),
        sim: Sim | None = None,
        cells: Iterable[Cell] = (),
        position: tuple[float, float] = (0.0, 0.0),
        docked: bool = False,
        swapped_while_undocked: bool = False,
        config: MobileConfig = MobileConfig(),
    ):
        if not (imei.isdigit() and len(imei) == 15):
            raise ValueError(f"imei: expected 15 digits, got {imei!r}")
        self.model = model
        self.imei = imei
        self.settings = settings
        self.config = config
        self.position: tuple[float, float] = (float(position[0]), float(position[1]))
        self.docked = docked
        self._sim = sim if sim is not None else NO_SIM
        self._cells: tuple[Cell, ...] = tuple(cells)
        self._docked_iccid: str | None = None if swapped_while_undocked or not self._sim.present else self._sim.iccid
        self._credit_left = self._sim.credit_mb
        self._events: deque[MobileEvent] = deque()
        initial = self.status(0.0)
        self._last: tuple = (initial.problem, initial.ipv4, initial.cell)

    # -- inputs ---------------------------------------------------------------------------

    def insert_sim(self, now: float, sim: Sim | None) -> None:
        """Put ``sim`` in the slot (None or an ``absent`` SIM empties it). The same ICCID with
        another state is the same card changing (a fault); another ICCID is a new card."""
        sim = sim if sim is not None else NO_SIM
        previous = self._sim
        self._sim = sim
        if sim.present and (not previous.present or previous.iccid != sim.iccid):
            self._credit_left = sim.credit_mb
            if self.docked:
                self._docked_iccid = sim.iccid
            elif sim.iccid != self._docked_iccid:
                self._events.append(SimSwapDetected(now, sim.iccid, self._docked_iccid))
        elif sim.present and sim.credit_mb != previous.credit_mb:
            self._credit_left = sim.credit_mb
        self._changed(now)

    def dock(self, now: float) -> None:
        """Docked: the camera adopts the SIM in its slot (clears a swap, T4 row 3a)."""
        self.docked = True
        self._docked_iccid = self._sim.iccid if self._sim.present else None
        self._changed(now)

    def undock(self, now: float) -> None:
        self.docked = False
        self._changed(now)

    def move(self, now: float, position: tuple[float, float]) -> None:
        self.position = (float(position[0]), float(position[1]))
        self._changed(now)

    def set_cells(self, now: float, cells: Iterable[Cell]) -> None:
        self._cells = tuple(cells)
        self._changed(now)

    def set_settings(self, now: float, settings: ModemSettings) -> None:
        """New PIN/APN from the Manager (pushed when docked)."""
        self.settings = settings
        self._changed(now)

    def record_usage(self, now: float, nbytes: int) -> None:
        """``nbytes`` went over the mobile link: spend credit."""
        if self._credit_left is not None and nbytes > 0:
            self._credit_left = max(0.0, self._credit_left - nbytes / 1_000_000)
            self._changed(now)

    def set_credit(self, now: float, credit_mb: float | None) -> None:
        """Top up (or drain, with 0) the subscription's data credit; None = unlimited."""
        self._credit_left = credit_mb
        self._changed(now)

    # -- outputs --------------------------------------------------------------------------

    @property
    def sim(self) -> Sim:
        return self._sim

    @property
    def cells(self) -> tuple[Cell, ...]:
        return self._cells

    def next_event(self) -> MobileEvent | None:
        return self._events.popleft() if self._events else None

    def signal(self, cell: Cell) -> tuple[int, float] | None:
        """(band, dBm) of ``cell`` at the camera on its best band this model supports, or None."""
        bands = [b for b in cell.bands if b in self.model.lte_bands]
        if not bands:
            return None
        band = min(bands, key=lambda b: LTE_BAND_MHZ[b])
        return band, self._received(cell, band)

    def link_quality(self, now: float) -> LinkQuality:
        return self.status(now).link

    def status(self, now: float) -> MobileStatus:
        """The mobile view of the camera at ``now`` (T1 pages 1–2, T4)."""
        sim, settings = self._sim, self.settings
        base: dict[str, Any] = {"imei": self.imei, "dns_servers": ()}
        if not self.model.lte or not sim.present:
            return MobileStatus(
                mode="WLAN",
                sim_present=False,
                sim_status=_SIM_STATUS["absent"] if self.model.lte else None,
                ipv4=None,
                roaming="Inactive",
                apn=None,
                signal_db=None,
                data_ok=False,
                lte_icon=False,
                warning_icon=False,
                dock_alert=None,
                problem="no_sim" if self.model.lte else None,
                **base,
            )
        base["iccid"] = sim.iccid
        serving = self._best_cell()
        if serving is not None:
            cell, band, dbm = serving
            base.update(signal_db=round(dbm), cell=cell.name, band=band)
        else:
            base["signal_db"] = None

        def fail(problem: str, sim_status: str, *, dock_alert: str | None = None, **extra: Any) -> MobileStatus:
            fields = dict(base)
            fields.update(extra)
            return MobileStatus(
                mode="LTE",
                sim_present=True,
                sim_status=sim_status,
                ipv4=fields.pop("ipv4", None),
                roaming=fields.pop("roaming", "Inactive"),
                apn=fields.pop("apn", settings.apn),
                data_ok=False,
                lte_icon=problem in _REGISTERED,
                warning_icon=problem in _WARNING,
                dock_alert=dock_alert,
                problem=problem,
                credit_left_mb=self._credit_left,
                **fields,
            )

        if sim.state in ("dead", "incompatible"):
            return fail("sim_dead" if sim.state == "dead" else "sim_incompatible", _SIM_STATUS[sim.state])
        if not self.docked and sim.iccid != self._docked_iccid:
            return fail("sim_swapped", "Ready")
        if sim.state == "puk_locked":
            return fail("sim_locked", _SIM_STATUS["puk_locked"], dock_alert=DOCK_ALERT_LOCKED)
        if sim.state in ("pin_required", "pin_wrong"):
            if settings.pin is None:
                return fail("pin_missing", "PIN required", dock_alert=DOCK_ALERT_PIN)
            if sim.state == "pin_wrong" or settings.pin != sim.pin:
                return fail("pin_wrong", "Wrong PIN", dock_alert=DOCK_ALERT_PIN)
        if serving is None:
            return fail(self._why_no_cell(), "Ready", registration="searching")
        cell, band, dbm = serving
        if sim.imei_blocked or not sim.activated:
            return fail("not_activated", "Ready", registration="denied", operator=cell.operator)
        roaming = cell.operator != sim.operator
        if roaming and not sim.roaming_allowed:
            return fail("roaming_disabled", "Ready", registration="denied", operator=cell.operator)
        registration = "roaming" if roaming else "home"
        roaming_status = "Active" if roaming else "Inactive"
        if sim.apn_required and settings.apn is None:
            return fail(
                "apn_missing",
                "Ready",
                registration=registration,
                operator=cell.operator,
                roaming=roaming_status,
                apn=None,
            )
        ipv4 = _cgnat_address(sim.iccid)
        apn = settings.apn or sim.apn
        base.update(operator=cell.operator, registration=registration, dns_servers=self.config.dns_servers)
        if self._credit_left is not None and self._credit_left <= 0:
            return fail("no_credit", "Ready", ipv4=ipv4, roaming=roaming_status, apn=apn)
        return MobileStatus(
            mode="LTE",
            sim_present=True,
            sim_status="Ready",
            ipv4=ipv4,
            roaming=roaming_status,
            apn=apn,
            data_ok=True,
            lte_icon=True,
            warning_icon=False,
            dock_alert=None,
            problem=None,
            credit_left_mb=self._credit_left,
            link=lte_link_quality(dbm, self.config),
            **base,
        )

    # -- internals ------------------------------------------------------------------------

    def _received(self, cell: Cell, band: int) -> float:
        return self.config.path_loss.received_dbm(
            cell.tx_power_dbm, LTE_BAND_MHZ[band], distance(self.position, cell.position)
        )

    def _best_cell(self) -> tuple[Cell, int, float] | None:
        best: tuple[Cell, int, float] | None = None
        for cell in self._cells:
            if not cell.enabled:
                continue
            heard = self.signal(cell)
            if heard is None or heard[1] < self.config.sensitivity_dbm:
                continue
            if best is None or heard[1] > best[2]:
                best = (cell, heard[0], heard[1])
        return best

    def _why_no_cell(self) -> str:
        for cell in self._cells:
            if not cell.enabled or any(b in self.model.lte_bands for b in cell.bands):
                continue
            if max(self._received(cell, b) for b in cell.bands) >= self.config.sensitivity_dbm:
                return "no_supported_band"
        return "out_of_range"

    def _changed(self, now: float) -> None:
        status = self.status(now)
        key = (status.problem, status.ipv4, status.cell)
        if key != self._last:
            self._last = key
            self._events.append(MobileStatusChanged(now, status.problem, status.ipv4, status.cell))


def _cgnat_address(iccid: str) -> str:
    n = int.from_bytes(hashlib.sha256(b"iccid:" + iccid.encode()).digest()[:4], "big")
    return str(ipaddress.IPv4Address("100.64.0.0") + 256 + n % (2**22 - 512))
