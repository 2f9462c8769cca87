"""The appliance as one aiohttp application (CONVENTIONS 6–8).

``create_app(config, clock)`` builds the application: the cloud (``/api/cloud``), the system
controllers' Manager API (``/controller``), the device hub (``/hub``), the lab (``/api/lab``),
the web client (``/``), ``/healthz``, Prometheus ``/metrics`` and the lab CA certificate
(``/lab-ca.pem``). Resources live in cleanup contexts; ``serve`` listens over HTTPS.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
import ssl
from pathlib import Path

from aiohttp import web
from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from bwlab.clock import LabClock
from bwlab.regions import SERVICE_HOSTS

from .auth import access_middleware, cross_site_middleware
from .cloud.routes import routes as cloud_routes
from .cloud.soc import routes as soc_routes
from .cloud.soc import setup_soc
from .cloud.positions import routes as position_routes
from .cloud.streams import routes as stream_routes
from .cloud.system_sync import routes as system_sync_routes
from .context import APPLIANCE, Appliance, ApplianceConfig
from .controller.routes import routes as controller_routes
from .controller.cloud_sync import setup_camera_user_sync, sync_middleware
from .controller.offload.routes import routes as offload_routes
from .controller.offload.service import setup_offload
from .controller.timesync import setup_controller_time
from .db import Database
from .http import PUBLIC, access, error_middleware, json_response, security_headers_middleware
from .hub.routes import setup_hub
from .lab.dns import setup_dns
from .lab.routes import setup_lab
from .pki import ensure_lab_tls

log = logging.getLogger(__name__)

LAB_TOKEN_FILE = "lab-token"


def _lab_token(data_dir: Path) -> str:
    path = data_dir / LAB_TOKEN_FILE
    if path.exists():
        return path.read_text().strip()
    token = f"bwlab_{secrets.token_urlsafe(32)}"
    path.touch(mode=0o600)
    path.write_text(token)
    return token


def create_app(config: ApplianceConfig, clock: LabClock | None = None) -> web.Application:
    clock = clock or LabClock()
    app = web.Application(
        middlewares=[error_middleware, security_headers_middleware, cross_site_middleware, access_middleware],
        client_max_size=config.max_chunk + 64 * 1024,
    )

    async def appliance_ctx(app: web.Application):
        config.data_dir.mkdir(parents=True, exist_ok=True)
        db = await Database.open(config.data_dir / "cloud.sqlite3", "appliance.migrations.cloud")
        controller_db = await Database.open(config.data_dir / "controller.sqlite3", "appliance.migrations.controller")
        row = await db.fetchone("SELECT value FROM lab_state WHERE key = 'clock_offset'")
        if row is not None:
            clock.set_offset(max(clock.offset, float(row["value"])))
        tls = ensure_lab_tls(config.data_dir, clock.now(), [h.name for h in SERVICE_HOSTS])  # T5 names too
        app[APPLIANCE] = Appliance(
            config=config, clock=clock, db=db, controller_db=controller_db, tls=tls, lab_token=_lab_token(config.data_dir),
            started_at=clock.now(),
        )
        yield
        await db.close()
        await controller_db.close()

    app.cleanup_ctx.append(appliance_ctx)
    setup_routes(app)
    setup_hub(app)
    setup_soc(app)  # after the hub: observes its streams (S12)
    setup_lab(app)
    setup_dns(app)  # /api/lab/dns/* and /api/lab/faults/blocked-hosts (T5, T2)
    setup_controller_time(app)  # after the lab: its NTP server is the controllers' default
    setup_camera_user_sync(app)
    setup_offload(app)  # the controllers push docked recordings to their content destinations
    return app


def setup_routes(app: web.Application) -> None:
    cloud = web.Application()
    cloud.add_routes(cloud_routes)
    cloud.add_routes(stream_routes)
    cloud.add_routes(position_routes)
    cloud.add_routes(soc_routes)
    cloud.add_routes(system_sync_routes)
    app.add_subapp("/api/cloud", cloud)
    controller = web.Application(middlewares=[sync_middleware])
    controller.add_routes(controller_routes)
    controller.add_routes(offload_routes)  # content destination, recordings, the dock's transfer (issue 13)
    app.add_subapp("/controller", controller)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/lab-ca.pem", lab_ca)
    app.router.add_get("/", webui_file)
    app.router.add_get("/{path:(live|manager|lab|map|js|css|vendor)(/.*)?}", webui_file)


@access(PUBLIC)
async def healthz(request: web.Request) -> web.Response:
    ctx = request.config_dict[APPLIANCE]
    await ctx.db.fetchone("SELECT 1")
    return json_response({"status": "ok", "lab_time": ctx.clock.now(), "clock_offset": ctx.clock.offset})


@access(PUBLIC)
async def metrics(request: web.Request) -> web.Response:
    """Prometheus exposition of the lab's gauges and counters."""
    ctx = request.config_dict[APPLIANCE]
    registry = CollectorRegistry()
    Gauge("bwlab_lab_clock_offset_seconds", "How far lab time runs ahead of real time", registry=registry).set(
        ctx.clock.offset
    )
    Gauge("bwlab_uptime_seconds", "Lab seconds since the appliance started", registry=registry).set(
        ctx.clock.now() - ctx.started_at
    )
    for name, value in sorted(ctx.metrics.items()):
        Gauge(f"bwlab_{name}", name.replace("_", " "), registry=registry).set(value)
    for db, table in ((ctx.db, "accounts"), (ctx.db, "organizations"), (ctx.db, "cloud_systems"),
                      (ctx.db, "streams"), (ctx.controller_db, "ctl_cameras")):
        row = await db.fetchone(f"SELECT COUNT(*) AS n FROM {table}")
        Gauge(f"bwlab_{table}", f"rows in {table}", registry=registry).set(row["n"])
    return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})


@access(PUBLIC)
async def lab_ca(request: web.Request) -> web.Response:
    """The lab CA certificate, to install in browsers and operating systems."""
    ctx = request.config_dict[APPLIANCE]
    return web.Response(
        text=ctx.tls.ca_pem, content_type="application/x-pem-file",
        headers={"Content-Disposition": 'attachment; filename="bwlab-lab-ca.pem"'},
    )


_CONTENT_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml",
                  ".png": "image/png", ".json": "application/json", ".map": "application/json"}


@access(PUBLIC)
async def webui_file(request: web.Request) -> web.StreamResponse:
    """The static web client (webui/): an HTML page per client, ES modules, styles."""
    from .webui_assets import resolve  # the vendor libraries come from installed packages

    path = request.match_info.get("path", "")
    target = resolve(path)
    if target is None:
        raise web.HTTPNotFound(reason=f"no web client file {path!r}")
    return web.FileResponse(target, headers={"Content-Type": _CONTENT_TYPES.get(target.suffix, "application/octet-stream")})


async def serve(config: ApplianceConfig, clock: LabClock | None = None, *, ready: asyncio.Event | None = None,
                stop: asyncio.Event | None = None) -> None:
    """Run the appliance over HTTPS until ``stop`` is set (or forever)."""
    app = create_app(config, clock)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    ctx = app[APPLIANCE]
    ssl_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ssl_ctx.load_cert_chain(ctx.tls.server_cert_path, ctx.tls.server_key_path)
    site = web.TCPSite(runner, config.host, config.port, ssl_context=ssl_ctx, reuse_address=True)
    await site.start()
    log.info("appliance listening on %s (lab CA %s)", config.url, ctx.tls.ca_cert_path)
    zeroconf = None
    if config.zeroconf:
        from bwlab.discovery import advertise

        try:
            zeroconf = await advertise(f"bwlab on {socket.gethostname()}", config.port, config.url)
        except OSError as exc:
            log.warning("zeroconf advertisement failed: %s", exc)
    if ready is not None:
        ready.set()
    try:
        await (stop.wait() if stop is not None else asyncio.Event().wait())
    finally:
        if zeroconf is not None:
            await zeroconf.async_close()
        await runner.cleanup()
