"""S8 through the Manager API and the dock: the networks of the camera user's profile; a network
assigned to the camera user in the Manager (needs streaming on, comes first); a network the
camera user adds in the Assistant app (replaces every other) — as the Manager shows them and as a
docked camera receives them."""

# covers: S8, D1

from __future__ import annotations

import pytest

from bwlab.client import ApiError
from bwlab.wire.device_auth import make_csr, new_device_key


async def expect_error(coro, status: int, code: str) -> ApiError:
    with pytest.raises(ApiError) as info:
        await coro
    assert (info.value.status, info.value.code) == (status, code), info.value
    return info.value


class Station:
    """One system controller: its Manager session, and the lab playing its dock."""

    def __init__(self, system_id, mgr, lab):
        self.api = f"/controller/{system_id}/api"
        self.mgr, self.lab = mgr, lab
        self.key = new_device_key()

    async def manager_view(self, user: str) -> list[tuple]:
        nets = (await self.mgr.get(f"{self.api}/camera-users/{user}/networks"))["networks"]
        assert all("password" not in n for n in nets), "the Manager never shows Wi-Fi passwords"
        assert [n["priority"] for n in nets] == list(range(1, len(nets) + 1))
        return [(n["ssid"], n["source"]) for n in nets]

    async def camera_view(self, serial: str, bay: int) -> list[tuple]:
        """Dock the camera (again) and return the Wi-Fi list it received, in order."""
        prov = await self.lab.post(
            f"{self.api}/docks/Dock/bays/{bay}", {"serial": serial, "csr": make_csr(self.key, serial)}
        )
        nets = prov["wifi_networks"]
        assert [n["priority"] for n in nets] == list(range(1, len(nets) + 1))
        return [(n["ssid"], n["password"], n["source"]) for n in nets]

    async def assistant(self, user: str, network: dict | None) -> dict:
        return await self.lab.put(f"{self.api}/assistant/camera-users/{user}/network", {"network": network})


@pytest.fixture
async def station(new_system, lab):
    system_id, mgr = await new_system("Wi-Fi station")
    s = Station(system_id, mgr, lab)
    for ssid, pw in (("Depot", "depot-pass"), ("Depot-24", "depot24-pass"), ("Yard", "yard-pass")):
        await mgr.post(s.api + "/wifi-networks", {"ssid": ssid, "password": pw})
    await mgr.post(s.api + "/profiles", {"name": "Live", "streaming": True, "wifi_networks": ["Depot", "Depot-24"]})
    await mgr.post(s.api + "/profiles", {"name": "Record only", "streaming": False, "wifi_networks": ["Yard"]})
    await mgr.post(s.api + "/camera-users", {"name": "Ada", "profile": "Live"})
    await mgr.post(s.api + "/camera-users", {"name": "Bo", "profile": "Record only"})
    await mgr.post(s.api + "/docks", {"name": "Dock", "bays": 4})
    await mgr.post(s.api + "/cameras", {"serial": "WIFI001", "model": "W102", "camera_user": "Ada"})
    await mgr.post(s.api + "/cameras", {"serial": "WIFI002", "model": "W100", "camera_user": "Bo"})
    return s


async def test_the_three_ways_by_rising_priority(station):
    s = station
    # (1) Only the profile's networks, in the profile's order.
    assert await s.manager_view("Ada") == [("Depot", "profile"), ("Depot-24", "profile")]
    assert await s.camera_view("WIFI001", 1) == [
        ("Depot", "depot-pass", "profile"),
        ("Depot-24", "depot24-pass", "profile"),
    ]

    # (2a) A network assigned to the camera user in the Manager comes first.
    user = await s.mgr.put(s.api + "/camera-users/Ada", {"network": {"ssid": "Van-7", "password": "van-pass"}})
    assert user["network"] == {"ssid": "Van-7", "password": "van-pass"}
    assert await s.manager_view("Ada") == [("Van-7", "camera_user"), ("Depot", "profile"), ("Depot-24", "profile")]
    assert await s.camera_view("WIFI001", 1) == [
        ("Van-7", "van-pass", "camera_user"),
        ("Depot", "depot-pass", "profile"),
        ("Depot-24", "depot24-pass", "profile"),
    ]

    # Same SSID as a profile network: the camera user's own entry wins, once, first.
    await s.mgr.put(s.api + "/camera-users/Ada", {"network": {"ssid": "Depot-24", "password": "ada-only"}})
    assert await s.camera_view("WIFI001", 1) == [
        ("Depot-24", "ada-only", "camera_user"),
        ("Depot", "depot-pass", "profile"),
    ]
    await s.mgr.put(s.api + "/camera-users/Ada", {"network": {"ssid": "Van-7", "password": "van-pass"}})

    # (2b) A network the camera user adds in the Assistant app replaces every other.
    added = await s.assistant("Ada", {"ssid": "Phone hotspot", "password": "hotspot-pass"})
    assert added["assistant_network"] == {"ssid": "Phone hotspot", "password": "hotspot-pass"}
    assert await s.manager_view("Ada") == [("Phone hotspot", "assistant")]
    assert await s.camera_view("WIFI001", 1) == [("Phone hotspot", "hotspot-pass", "assistant")]

    # Removing it in the app brings back the Manager's and the profile's networks.
    await s.assistant("Ada", None)
    assert await s.manager_view("Ada") == [("Van-7", "camera_user"), ("Depot", "profile"), ("Depot-24", "profile")]

    # Clearing the Manager network leaves the profile's.
    await s.mgr.put(s.api + "/camera-users/Ada", {"clear_network": True})
    assert await s.camera_view("WIFI001", 1) == [
        ("Depot", "depot-pass", "profile"),
        ("Depot-24", "depot24-pass", "profile"),
    ]


async def test_a_manager_network_needs_streaming_in_the_profile(station):
    s = station
    before = await s.mgr.get(s.api + "/camera-users")
    err = await expect_error(
        s.mgr.put(s.api + "/camera-users/Bo", {"network": {"ssid": "Van-7"}}), 409, "streaming_required"
    )
    assert "streaming" in err.message
    err = await expect_error(
        s.mgr.post(s.api + "/camera-users", {"name": "Cy", "profile": "Record only", "network": {"ssid": "Van-7"}}),
        409,
        "streaming_required",
    )
    err = await expect_error(
        s.mgr.post(s.api + "/camera-users", {"name": "Cy", "network": {"ssid": "Van-7"}}), 409, "streaming_required"
    )
    assert await s.mgr.get(s.api + "/camera-users") == before, "a refused request changes nothing"
    assert await s.manager_view("Bo") == [("Yard", "profile")]
    assert await s.camera_view("WIFI002", 2) == [("Yard", "yard-pass", "profile")]

    # Moving a camera user who has a Manager network to a profile without streaming is refused too.
    await s.mgr.put(s.api + "/camera-users/Ada", {"network": {"ssid": "Van-7"}})
    await expect_error(s.mgr.put(s.api + "/camera-users/Ada", {"profile": "Record only"}), 409, "streaming_required")
    assert (await s.mgr.get(s.api + "/camera-users/Ada/networks"))["networks"][0]["ssid"] == "Van-7"
    # Turning streaming on in the profile makes the assignment possible.
    await s.mgr.put(
        s.api + "/profiles/Record only", {"name": "Record only", "streaming": True, "wifi_networks": ["Yard"]}
    )
    await s.mgr.put(s.api + "/camera-users/Bo", {"network": {"ssid": "Van-9", "password": "p9"}})
    assert await s.camera_view("WIFI002", 2) == [("Van-9", "p9", "camera_user"), ("Yard", "yard-pass", "profile")]


async def test_the_assistant_network_needs_no_streaming_and_replaces_the_profile(station):
    s = station
    await s.assistant("Bo", {"ssid": "Home", "password": "home-pass"})
    assert await s.manager_view("Bo") == [("Home", "assistant")]
    assert await s.camera_view("WIFI002", 2) == [("Home", "home-pass", "assistant")]


async def test_profile_networks_must_exist_and_cannot_be_deleted_while_assigned(station):
    s = station
    profiles = await s.mgr.get(s.api + "/profiles")
    err = await expect_error(
        s.mgr.put(s.api + "/profiles/Live", {"name": "Live", "streaming": True, "wifi_networks": ["Depot", "Nowhere"]}),
        400,
        "invalid_input",
    )
    assert "wifi_networks[1]" in err.message and "Nowhere" in err.message
    await expect_error(s.mgr.delete(s.api + "/wifi-networks/Depot"), 409, "in_use")
    assert await s.mgr.get(s.api + "/profiles") == profiles
    assert await s.manager_view("Ada") == [("Depot", "profile"), ("Depot-24", "profile")]
    # A camera user without a profile gets no network: nothing to join (a SIM-only camera needs none).
    await s.mgr.post(s.api + "/camera-users", {"name": "Dee"})
    assert await s.manager_view("Dee") == []
