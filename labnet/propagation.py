"""Radio propagation of the lab network: path loss, distance, link quality (SPEC T3, L4; DESIGN "Lab network").

Log-distance path loss with no random shadowing, so every run of a scenario gives the same numbers
(``labnet.wifi``'s docstring, "Signal"), the centre frequency of a Wi-Fi channel, and the link a
driver applies to a camera's real uplink. Shared by the Wi-Fi (``wifi.py``) and mobile
(``mobile.py``) models. Pure: no I/O, no clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .config import FromMapping, limits


def distance(a: tuple[float, float], b: tuple[float, float]) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def channel_frequency_mhz(band: str, channel: int) -> float:
    """Centre frequency of a Wi-Fi channel."""
    if band == "2.4":
        return 2484.0 if channel == 14 else 2407.0 + 5 * channel
    return 5000.0 + 5 * channel


# --------------------------------------------------------------------------------------------
# Path loss


@dataclass(frozen=True)
class PathLossModel(FromMapping):
    """Log-distance path loss: free space up to ``reference_m``, then exponent ``exponent``."""

    exponent: float = limits(3.0, min=1.5, max=6.0)
    reference_m: float = limits(1.0, min=0.1, max=100.0)
    extra_loss_db: float = limits(0.0, min=0.0, max=100.0)  # walls, body of the wearer

    def loss_db(self, frequency_mhz: float, distance_m: float) -> float:
        d = max(distance_m, self.reference_m)
        free_space_at_reference = 20 * math.log10(self.reference_m) + 20 * math.log10(frequency_mhz) - 27.55
        return free_space_at_reference + 10 * self.exponent * math.log10(d / self.reference_m) + self.extra_loss_db

    def received_dbm(self, tx_power_dbm: float, frequency_mhz: float, distance_m: float) -> float:
        return tx_power_dbm - self.loss_db(frequency_mhz, distance_m)

    def range_m(self, tx_power_dbm: float, frequency_mhz: float, threshold_dbm: float) -> float:
        """The distance at which the signal falls to ``threshold_dbm`` (coverage on the map)."""
        budget = tx_power_dbm - threshold_dbm - self.extra_loss_db
        at_reference = self.loss_db(frequency_mhz, self.reference_m) - self.extra_loss_db
        if budget <= at_reference:
            return 0.0
        return self.reference_m * 10 ** ((budget - at_reference) / (10 * self.exponent))


# --------------------------------------------------------------------------------------------
# Link quality


@dataclass(frozen=True)
class LinkQuality:
    """What the driver applies to the camera's real uplink (delay, loss, rate limit)."""

    up: bool
    latency_ms: float
    loss_ratio: float
    throughput_kbps: float


LINK_DOWN = LinkQuality(up=False, latency_ms=0.0, loss_ratio=1.0, throughput_kbps=0.0)
