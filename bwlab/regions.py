"""Evidence storage regions and the service's host names (SPEC S3, S17, T5).

T5 lists, all on port 443: the web application; the body-worn APIs (clients, cameras,
controllers); common APIs; a WebSocket for application data (browsers); device-to-cloud
messaging (cameras, controllers); and regional video storage endpoints for East US, West US,
EU, Australia, Canada, India, France, Germany, Switzerland, UK and Japan (browsers and cameras).
In the lab every one of them resolves to the appliance (docs/decisions.md); the names below
are the lab's own, under ``bwlab.test``, so that nothing points at the real service.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Region:
    code: str
    name: str

    @property
    def hostname(self) -> str:
        return f"storage-{self.code}.bwlab.test"

    def as_dict(self) -> dict:
        return {"code": self.code, "name": self.name, "hostname": self.hostname}


REGIONS: dict[str, Region] = {
    r.code: r
    for r in (
        Region("eastus", "East US"),
        Region("westus", "West US"),
        Region("eu", "EU"),
        Region("australia", "Australia"),
        Region("canada", "Canada"),
        Region("india", "India"),
        Region("france", "France"),
        Region("germany", "Germany"),
        Region("switzerland", "Switzerland"),
        Region("uk", "UK"),
        Region("japan", "Japan"),
    )
}


@dataclass(frozen=True)
class ServiceHost:
    name: str
    purpose: str
    clients: str
    port: int = 443


SERVICE_HOSTS: tuple[ServiceHost, ...] = (
    ServiceHost("live.bwlab.test", "web application", "browsers"),
    ServiceHost("api.bwlab.test", "body-worn APIs", "clients, cameras, controllers"),
    ServiceHost("common.bwlab.test", "common APIs", "clients, cameras, controllers"),
    ServiceHost("ws.bwlab.test", "WebSocket for application data", "browsers"),
    ServiceHost("devices.bwlab.test", "device-to-cloud messaging", "cameras, controllers"),
) + tuple(ServiceHost(r.hostname, f"video storage, {r.name}", "browsers, cameras") for r in REGIONS.values())
