"""Camera models and their capabilities (SPEC S8, S11, T1, T2).

The manual states: W100 and W101 support 2.4 GHz only (S8, T2); troubleshooting mode exists on
W102 and W120 (T1); only some models have GPS (S11); cameras with a SIM stream over mobile
networks (S8, T4). Where the manual is silent the lab decides, as written in docs/decisions.md:
W101, W102 and W120 have GPS; only the W120 has an LTE modem; the two models with
troubleshooting mode have a screen to show its pages, the others show state with LEDs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CameraModel:
    name: str
    bands: frozenset[str]  # "2.4" and/or "5" (GHz)
    lte: bool
    gps: bool
    troubleshooting: bool
    screen: bool
    lte_bands: frozenset[int] = frozenset()

    def supports_band(self, band: str) -> bool:
        return band in self.bands

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "bands": sorted(self.bands),
            "lte": self.lte,
            "gps": self.gps,
            "troubleshooting": self.troubleshooting,
            "screen": self.screen,
            "lte_bands": sorted(self.lte_bands),
        }


_BOTH = frozenset({"2.4", "5"})

MODELS: dict[str, CameraModel] = {
    m.name: m
    for m in (
        CameraModel("W100", frozenset({"2.4"}), lte=False, gps=False, troubleshooting=False, screen=False),
        CameraModel("W101", frozenset({"2.4"}), lte=False, gps=True, troubleshooting=False, screen=False),
        CameraModel("W102", _BOTH, lte=False, gps=True, troubleshooting=True, screen=True),
        CameraModel("W110", _BOTH, lte=False, gps=False, troubleshooting=False, screen=False),
        CameraModel(
            "W120",
            _BOTH,
            lte=True,
            gps=True,
            troubleshooting=True,
            screen=True,
            lte_bands=frozenset({1, 3, 7, 8, 20, 28}),
        ),
    )
}


def get_model(name: str) -> CameraModel:
    """The model called ``name``; KeyError names the known models."""
    try:
        return MODELS[name]
    except KeyError:
        raise KeyError(f"unknown camera model {name!r}; expected one of {', '.join(MODELS)}") from None
