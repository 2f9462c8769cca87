"""The site plan the map draws (SPEC D9, L4): streets, buildings, access points, tile server.

The lab holds it (``PUT /api/lab/site``, from the scenario's ``[site]`` and access points, or
from a trainer); the web client reads it through ``GET /api/cloud/orgs/{org_id}/map``. With no
tile server configured — the lab works with no internet — the map draws this plan; with
``tile_url`` set, it shows that tile server's map instead, with the same overlays. Access points
come with their coverage radii from the radio model's path loss (where the signal is at least
the sensitivity, and where it is above the weak-signal level), in metres.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bwlab import schema
from bwlab.scenario import Site
from labnet.propagation import PathLossModel, channel_frequency_mhz
from labnet.radio_config import BANDS, RadioConfig, allowed_channels


@dataclass(frozen=True)
class MapAccessPoint:
    """An access point as the map shows it: where (metres east/north of the site origin), band, channel."""

    name: str = field(metadata={"nonempty": True, "max_len": 80})
    ssid: str = field(metadata={"max_len": 32})
    position: list[float]
    band: str = field(default="2.4", metadata={"choices": BANDS})
    channel: int = 6
    tx_power_dbm: float = field(default=20.0, metadata={"min": -10, "max": 36})
    country: str = field(default="SE", metadata={"max_len": 2})
    enabled: bool = True

    def __post_init__(self) -> None:
        if len(self.position) != 2:
            raise ValueError("position: expected [x, y] in metres east and north of the site origin")
        if self.channel not in allowed_channels(self.band, self.country):
            raise ValueError(f"channel: {self.channel} is not a {self.band} GHz channel allowed in {self.country}")


@dataclass(frozen=True)
class SitePlan:
    site: Site
    access_points: list[MapAccessPoint] = field(default_factory=list, metadata={"max_items": 500})


def coverage(
    ap: MapAccessPoint, config: RadioConfig = RadioConfig(), path_loss: PathLossModel = PathLossModel()
) -> dict:
    freq = channel_frequency_mhz(ap.band, ap.channel)
    return {
        "range_m": round(path_loss.range_m(ap.tx_power_dbm, freq, config.sensitivity_dbm), 1),
        "good_m": round(path_loss.range_m(ap.tx_power_dbm, freq, config.weak_signal_dbm), 1),
    }


def plan_json(plan: SitePlan) -> dict:
    data = schema.as_json(plan)
    for ap, out in zip(plan.access_points, data["access_points"], strict=True):
        out["coverage"] = coverage(ap)
    return data
