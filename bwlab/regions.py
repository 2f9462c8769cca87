"""Evidence storage regions and the service's host names (SPEC S3, S17, T5).

T5 as the manual has it, all on port 443 (host name → purpose → who uses it):

=================================  ====================================  =================================
``*.mysystems.axis.com``           web application                       browsers
``*.bodyworn.axis.com``            body-worn-specific APIs               browsers, cameras, controllers
``*.bodyworn.axis.cloud``          body-worn-specific APIs               controllers
``*.axis.com``                     common Axis APIs                      browsers, controllers
``axisbwsprod.webpubsub.azure…``   WebSocket for application data        browsers
``axisbws-prod.azure-devices.net`` device-to-cloud communication         cameras, controllers
``axislive….blob.core.windows.net`` video storage, one per region (11)   browsers, cameras
=================================  ====================================  =================================

In the lab every one of them resolves to the appliance (docs/decisions.md); the names below
are the lab's own, under ``bwlab.test``, so that nothing points at the real service. Each lab
name keeps the manual's name it stands for (``manual``) and who uses it (``used_by``): what a
camera must reach (``CAMERAS``) is read from this table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    manual_host: str = ""  # the manual's storage host of this region (T5)

    @property
    def hostname(self) -> str:
        return f"storage-{self.code}.bwlab.test"

    def as_dict(self) -> dict:
        return {"code": self.code, "name": self.name, "hostname": self.hostname}


REGIONS: dict[str, Region] = {
    r.code: r
    for r in (
        Region("eastus", "East US", "axislive31517ebf9edd88f9.blob.core.windows.net"),
        Region("westus", "West US", "axislive1c7751f2e2c4df77.blob.core.windows.net"),
        Region("eu", "EU", "axislivee6dc2820e149af9f.blob.core.windows.net"),
        Region("australia", "Australia", "axislive980d6ba8adbbf223.blob.core.windows.net"),
        Region("canada", "Canada", "axislive9280c1821b19cd35.blob.core.windows.net"),
        Region("india", "India", "axislive5894d7bc3cd547d1.blob.core.windows.net"),
        Region("france", "France", "axislive09082556af5ba7de.blob.core.windows.net"),
        Region("germany", "Germany", "axislive8adf5397b85a521e.blob.core.windows.net"),
        Region("switzerland", "Switzerland", "axislive7411d120eb3dc484.blob.core.windows.net"),
        Region("uk", "UK", "axislive39b4a3a4e44aa1f5.blob.core.windows.net"),
        Region("japan", "Japan", "axislivef1c7db59e587d874.blob.core.windows.net"),
    )
}


BROWSERS, CAMERAS, CONTROLLERS = "browsers", "cameras", "controllers"


@dataclass(frozen=True)
class ServiceHost:
    name: str  # the lab's name
    purpose: str
    used_by: tuple[str, ...]  # BROWSERS, CAMERAS, CONTROLLERS (the manual's device types)
    manual: str  # the manual's host name this one stands for (T5)
    port: int = 443

    @property
    def clients(self) -> str:
        return ", ".join(self.used_by)


SERVICE_HOSTS: tuple[ServiceHost, ...] = (
    ServiceHost("live.bwlab.test", "web application", (BROWSERS,), "*.mysystems.axis.com"),
    ServiceHost("api.bwlab.test", "body-worn-specific APIs", (BROWSERS, CAMERAS, CONTROLLERS), "*.bodyworn.axis.com"),
    ServiceHost("controllers.bwlab.test", "body-worn-specific APIs", (CONTROLLERS,), "*.bodyworn.axis.cloud"),
    ServiceHost("common.bwlab.test", "common Axis APIs", (BROWSERS, CONTROLLERS), "*.axis.com"),
    ServiceHost("ws.bwlab.test", "WebSocket for application data", (BROWSERS,), "axisbwsprod.webpubsub.azure.com"),
    ServiceHost(
        "devices.bwlab.test", "device-to-cloud messaging", (CAMERAS, CONTROLLERS), "axisbws-prod.azure-devices.net"
    ),
) + tuple(
    ServiceHost(r.hostname, f"video storage, {r.name}", (BROWSERS, CAMERAS), r.manual_host) for r in REGIONS.values()
)

STORAGE_HOSTS = frozenset(r.hostname for r in REGIONS.values())
CAMERA_GENERAL = tuple(h.name for h in SERVICE_HOSTS if CAMERAS in h.used_by and h.name not in STORAGE_HOSTS)


def camera_hosts(region: str) -> tuple[str, ...]:
    """The T5 names a camera whose evidence goes to ``region`` must reach: the general names the
    table gives to cameras, and its region's storage host (docs/manual-vs-spec.md row 24)."""
    names = list(CAMERA_GENERAL)
    if region in REGIONS:
        names.append(REGIONS[region].hostname)
    return tuple(names)
