"""The controller's provisioning rules, without I/O (SPEC S7, S8, S11, D1).

- ``ProfileSettings``: a camera profile's Body Worn Live settings (S7), its location settings
  per camera model (S11) and the system Wi-Fi networks assigned to it (S8 option 1).
- ``effective_networks``: the Wi-Fi list a camera user's camera receives in the dock, by the
  manual's priority rules (S8): a network the camera user added in the Assistant app replaces
  every other (2b); a network assigned to the camera user in the Manager comes first and takes
  priority over the profile's networks (2a); then the profile's networks (1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from bwlab.models import MODELS
from bwlab.wire.help import HELP_GESTURES


@dataclass(frozen=True)
class LocationSetting:
    """S11: Location per model, mode *While recording or streaming* or *Always* (undocked)."""

    enabled: bool = False
    mode: Literal["while_recording_or_streaming", "always"] = "while_recording_or_streaming"


@dataclass(frozen=True)
class ProfileSettings:
    """S7 (streaming), S8 (networks of the profile), S11 (location per model)."""

    name: str = field(metadata={"max_len": 80, "nonempty": True})
    streaming: bool = False
    live_stream_on_record: bool = False
    remote_activation: bool = False
    remote_mode: Literal["while_recording", "always"] = "while_recording"
    location: dict[str, LocationSetting] = field(default_factory=dict)
    wifi_networks: list[str] = field(default_factory=list, metadata={"max_items": 32})
    # issue 16: the camera gesture that asks for help (bwlab/wire/help.py), null: off; and whether
    # a help request also starts a live stream (with streaming on)
    help_gesture: str | None = field(default=None, metadata={"choices": (None, *HELP_GESTURES)})
    help_stream: bool = True

    def __post_init__(self):
        for model, setting in self.location.items():
            if model not in MODELS:
                raise ValueError(f"location.{model}: unknown camera model; expected one of {', '.join(MODELS)}")
            if setting.enabled and not MODELS[model].gps:
                raise ValueError(f"location.{model}: the {model} has no GPS, so Location cannot be on (S11)")

    def for_camera(self, model: str) -> dict:
        """What a camera of ``model`` receives in the dock."""
        loc = self.location.get(model, LocationSetting())
        return {
            "name": self.name,
            "streaming": self.streaming,
            "live_stream_on_record": self.streaming and self.live_stream_on_record,
            "remote_activation": (self.remote_mode if self.streaming and self.remote_activation else None),
            "location": (loc.mode if loc.enabled and MODELS[model].gps else None),
            "help_gesture": self.help_gesture,
            "help_stream": self.streaming and self.help_stream,
        }


@dataclass(frozen=True)
class WifiCredential:
    ssid: str = field(metadata={"max_len": 32, "nonempty": True})
    password: str = field(default="", metadata={"max_len": 63})


def effective_networks(
    profile_networks: list[WifiCredential],
    manager_network: WifiCredential | None,
    assistant_network: WifiCredential | None,
) -> list[dict]:
    """S8: the camera user's Wi-Fi networks in priority order, each with where it came from."""
    if assistant_network is not None:
        return [
            {
                "ssid": assistant_network.ssid,
                "password": assistant_network.password,
                "source": "assistant",
                "priority": 1,
            }
        ]
    out: list[dict] = []
    if manager_network is not None:
        out.append({"ssid": manager_network.ssid, "password": manager_network.password, "source": "camera_user"})
    seen = {n["ssid"] for n in out}
    for net in profile_networks:
        if net.ssid not in seen:
            out.append({"ssid": net.ssid, "password": net.password, "source": "profile"})
            seen.add(net.ssid)
    for i, entry in enumerate(out, start=1):
        entry["priority"] = i
    return out
