"""The appliance's shared state, held under typed app keys (CONVENTIONS 7)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from bwlab.clock import LabClock

from .db import Database
from .pki import LabTLS


@dataclass(frozen=True)
class ApplianceConfig:
    """How the appliance runs; from flags, environment (BWLAB_*) and the scenario.

    host/port: where HTTPS listens (default 127.0.0.1:8443: this machine only; ``bwlab up --host
      0.0.0.0`` opens it to the lab network; 443 in the VM).
    data_dir: the lab's database, certificates, evidence and tokens.
    public_url: the URL the web client, controller and cameras use to reach the cloud; by
      default https://localhost:<port>.
    ntp_port: the lab NTP server's UDP port (0 = pick a free one; None = no NTP server).
    zeroconf: advertise the appliance with mDNS.
    max_chunk: the largest media chunk the device hub accepts, in bytes.
    handshake_timeout: seconds a connection has to finish its TLS handshake, and a camera to send
      its hello on the device hub (docs/security.md, item 10).
    header_timeout: seconds a connection has to send a request's headers after the handshake or
      the previous answer (also the longest idle keep-alive); above the 15 s after which aiohttp
      clients drop an idle connection themselves, so that they never reuse one the server is closing.
    soc_private_targets: turn on the lab setting that lets SOC integrations reach the lab network
      and this machine, over http:// too (appliance/lab/settings.py).
    service_addresses: on a real lab network (issue 15), the addresses of the T5 host names on
      the lab bridge; HTTPS also listens on each, port ``service_port``, certificate by SNI.
    tls_names: more names or addresses for the server certificate (the lab bridge's address).
    """

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8443
    public_url: str | None = None
    ntp_port: int | None = 0
    zeroconf: bool = True
    max_chunk: int = 2 * 1024 * 1024
    soc_private_targets: bool = False
    handshake_timeout: float = 10.0
    header_timeout: float = 20.0
    service_addresses: tuple[str, ...] = ()
    service_port: int = 443
    backplane_addresses: tuple[str, ...] = ()  # more addresses on ``port`` (the lab bridge's own: fleets, docks)
    tls_names: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return self.public_url or f"https://localhost:{self.port}"


@dataclass
class Appliance:
    config: ApplianceConfig
    clock: LabClock
    db: Database  # the cloud's
    controller_db: Database  # the system controllers' (on-prem)
    tls: LabTLS
    lab_token: str
    started_at: float
    metrics: dict[str, float] = field(default_factory=dict)

    def count(self, name: str, value: float = 1.0) -> None:
        self.metrics[name] = self.metrics.get(name, 0.0) + value


APPLIANCE = web.AppKey("appliance", Appliance)

LabNtpServer = Callable[[], tuple[str, int] | None]
LAB_NTP_SERVER: web.AppKey[LabNtpServer] = web.AppKey("lab_ntp_server")
"""Where the lab's NTP server answers (host, port), None when it runs none: set by the lab,
read by the system controllers, whose default NTP server it is (S1)."""

SocPrivateTargets = Callable[[], bool]
SOC_PRIVATE_TARGETS: web.AppKey[SocPrivateTargets] = web.AppKey("soc_private_targets")
"""Whether SOC integrations may reach the lab network and this machine (docs/security.md item 4):
the lab's setting in force, registered by the lab (``lab/settings.py``), read by the cloud's SOC
routes and delivery worker."""

CloudProbe = Callable[[str | None], Awaitable[str | None]]
CLOUD_PROBE: web.AppKey[CloudProbe] = web.AppKey("cloud_probe")
"""Can a system controller reach the cloud with its network settings (``ctl_systems.settings``,
S3)? None when it can, else the error it would show: registered by ``app.py`` from the
controller's cloud client, asked by the lab's diagnosis (T2 row 1)."""

SystemClockSkew = Callable[[str], float]
SYSTEM_CLOCK_SKEW: web.AppKey[SystemClockSkew] = web.AppKey("system_clock_skew")
"""How far a system controller's clock is off lab time, in seconds (what its Manager shows, S1):
registered by the controller (``controller/timesync.py``), read by the lab's diagnosis (T2 row 6)."""
