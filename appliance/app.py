"""The appliance as one aiohttp application (CONVENTIONS 6–8).

``create_app(config, clock)`` builds the application: the cloud (``/api/cloud``), the system
controllers' Manager API (``/controller``), the device hub (``/hub``), the lab (``/api/lab``),
the web client (``/``), ``/healthz``, Prometheus ``/metrics`` and the lab CA certificate
(``/lab-ca.pem``). Resources live in cleanup contexts; ``serve`` listens over HTTPS.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import secrets
import socket
import ssl
from pathlib import Path

from aiohttp import web
from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from bwlab.clock import LabClock
from bwlab.discovery import advertise
from bwlab.private_files import private_dir, write_private
from bwlab.regions import SERVICE_HOSTS

from .auth import access_middleware, cross_site_middleware, session_cookie_middleware
from .cloud import store as cloud_store
from .cloud.api import routes as cloud_routes
from .cloud.audit import setup_audit
from .cloud.soc import routes as soc_routes
from .cloud.soc import setup_soc
from .cloud.socket_limits import setup_account_sockets
from .cloud.talk import setup_talk
from .context import APPLIANCE, CLOUD_PROBE, Appliance, ApplianceConfig
from .controller import store as controller_store
from .controller.api import routes as controller_routes
from .controller.cloud_client import cloud_probe
from .controller.cloud_sync import setup_camera_user_sync, sync_middleware
from .controller.manager_audit import manager_audit_middleware, setup_manager_audit
from .controller.offload.routes import routes as offload_routes
from .controller.offload.service import setup_offload
from .controller.timesync import setup_controller_time
from .db import Database
from .http import PUBLIC, access, content_security_policy, error_middleware, json_response, setup_security_headers
from .hub import store as hub_store
from .hub.api import setup_hub
from .lab import store as lab_store
from .lab.api import setup_dns, setup_lab
from .lab.settings import setup_lab_settings
from .listener import HandshakeBoundSite, runner_options
from .pki import ensure_lab_tls
from .sni import ensure_name_certs, sni_callback
from .storage import STORAGE, setup_storage, storage_middleware
from .throttle import setup_sign_in_throttle
from .webui_assets import resolve

log = logging.getLogger(__name__)

LAB_TOKEN_FILE = "lab-token"


def _lab_token(data_dir: Path) -> str:
    path = data_dir / LAB_TOKEN_FILE
    if path.exists():
        return path.read_text().strip()
    token = f"bwlab_{secrets.token_urlsafe(32)}"
    write_private(path, token)
    return token


def _stored_offset(value) -> float:
    """The lab clock's saved offset; a value no travel could have made is ignored, with a warning
    (a restart never depends on a stored row being valid)."""
    try:
        offset = float(value)
    except (TypeError, ValueError):
        offset = math.nan
    if not (math.isfinite(offset) and offset >= 0):  # lab time only travels forward
        log.warning("the saved lab clock offset %r is ignored", value)
        return 0.0
    return offset


def create_app(config: ApplianceConfig, clock: LabClock | None = None) -> web.Application:
    clock = clock or LabClock()
    app = web.Application(
        middlewares=[
            error_middleware,
            storage_middleware,
            cross_site_middleware,
            session_cookie_middleware,
            access_middleware,
        ],
        client_max_size=config.max_chunk + 64 * 1024,
    )

    async def appliance_ctx(app: web.Application):
        private_dir(config.data_dir)  # 0700: it holds every secret of the lab
        db = await Database.open(config.data_dir / "cloud.sqlite3", "appliance.migrations.cloud")
        controller_db = await Database.open(config.data_dir / "controller.sqlite3", "appliance.migrations.controller")
        saved = await lab_store.clock_offset(db)
        if saved is not None:
            clock.set_offset(max(clock.offset, _stored_offset(saved)))
        tls = ensure_lab_tls(
            config.data_dir, clock.now(), [*(h.name for h in SERVICE_HOSTS), *config.tls_names]
        )  # T5 too
        app[APPLIANCE] = Appliance(
            config=config,
            clock=clock,
            db=db,
            controller_db=controller_db,
            tls=tls,
            lab_token=_lab_token(config.data_dir),
            started_at=clock.now(),
        )
        yield
        await db.close()
        await controller_db.close()

    app.cleanup_ctx.append(appliance_ctx)

    async def probe(settings_json: str | None) -> str | None:  # the lab asks the controller's way to the cloud
        return await cloud_probe(app[APPLIANCE], settings_json)

    app[CLOUD_PROBE] = probe
    setup_security_headers(app)
    setup_lab_settings(app)  # before the SOC worker reads them (docs/security.md, item 4)
    setup_storage(app, config.data_dir)  # a full disk: 507, refusal to cameras, /healthz (item 8)
    setup_routes(app)
    setup_hub(app)
    setup_talk(app)  # talk-back's floor per camera (issue 16 item 3)
    setup_soc(app)  # after the hub: observes its streams (S12)
    setup_lab(app)
    setup_dns(app)  # /api/lab/dns/* and /api/lab/faults/blocked-hosts (T5, T2)
    setup_controller_time(app)  # after the lab: its NTP server is the controllers' default
    setup_camera_user_sync(app)
    setup_manager_audit(app)  # issue 16 item 4: the Manager's actions to the organization's audit trail
    setup_sign_in_throttle(app)  # docs/security.md, item 5
    setup_account_sockets(app)  # docs/security.md, item 10
    setup_audit(app)  # issue 16 item 4: the audit trail, who is watching
    setup_offload(app)  # the controllers push docked recordings to their content destinations
    return app


def setup_routes(app: web.Application) -> None:
    cloud = web.Application()
    cloud.add_routes(cloud_routes)
    cloud.add_routes(soc_routes)
    app.add_subapp("/api/cloud", cloud)
    controller = web.Application(middlewares=[sync_middleware, manager_audit_middleware])
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
    storage = request.config_dict[STORAGE].status()
    problems = ["insufficient_storage"] if storage["full"] else []
    return json_response(
        {
            "status": "degraded" if problems else "ok",
            "problems": problems,
            "storage": storage,
            "lab_time": ctx.clock.now(),
            "clock_offset": ctx.clock.offset,
        }
    )


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
    counts = {
        **await cloud_store.row_counts(ctx.db),
        "streams": await hub_store.stream_count(ctx.db),
        "ctl_cameras": await controller_store.camera_count(ctx.controller_db),
    }
    for table, n in counts.items():
        Gauge(f"bwlab_{table}", f"rows in {table}", registry=registry).set(n)
    return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})


@access(PUBLIC)
async def lab_ca(request: web.Request) -> web.Response:
    """The lab CA certificate, to install in browsers and operating systems."""
    ctx = request.config_dict[APPLIANCE]
    return web.Response(
        text=ctx.tls.ca_pem,
        content_type="application/x-pem-file",
        headers={"Content-Disposition": 'attachment; filename="bwlab-lab-ca.pem"'},
    )


_CONTENT_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".json": "application/json",
    ".map": "application/json",
}
_FRAMED_BY_ANYONE = frozenset({"live.html", "map.html"})
"""Live's pages: a web VMS on another site frames them (S9, docs/decisions.md "Sessions");
the Manager and the lab panel are framed only by this origin."""


@access(PUBLIC)
async def webui_file(request: web.Request) -> web.StreamResponse:
    """The static web client (webui/): an HTML page per client, ES modules, styles (the vendor
    libraries come from installed packages: appliance/webui_assets.py)."""
    path = request.match_info.get("path", "")
    target = resolve(path)
    if target is None:
        raise web.HTTPNotFound(reason="no such web client file")
    csp = content_security_policy("*" if target.name in _FRAMED_BY_ANYONE else "'self'")
    return web.FileResponse(
        target,
        headers={
            "Content-Type": _CONTENT_TYPES.get(target.suffix, "application/octet-stream"),
            "Content-Security-Policy": csp,
        },
    )


async def serve(
    config: ApplianceConfig,
    clock: LabClock | None = None,
    *,
    ready: asyncio.Event | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run the appliance over HTTPS until ``stop`` is set (or forever)."""
    app = create_app(config, clock)
    runner = web.AppRunner(app, **runner_options(config.header_timeout))
    try:
        await runner.setup()
        ctx = app[APPLIANCE]
        ssl_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ssl_ctx.load_cert_chain(ctx.tls.server_cert_path, ctx.tls.server_key_path)
        ssl_ctx.sni_callback = sni_callback(
            ensure_name_certs(  # T5: each host name its own certificate
                config.data_dir, ctx.clock.now(), [h.name for h in SERVICE_HOSTS]
            )
        )
        site_at = functools.partial(
            HandshakeBoundSite,
            runner,
            ssl_context=ssl_ctx,
            ssl_handshake_timeout=config.handshake_timeout,
            header_timeout=config.header_timeout,
        )
        await site_at(config.host, config.port).start()
        for address in config.backplane_addresses:  # issue 15: the lab's own link on the bridge (fleets, docks)
            await site_at(address, config.port).start()
        for address in config.service_addresses:  # issue 15: the T5 names' addresses on the lab bridge
            await site_at(address, config.service_port).start()
    except BaseException:
        # Stop what had started (the databases' threads, background tasks): a failed start-up
        # ends with its error instead of a process that hangs without listening.
        await runner.cleanup()
        raise
    log.info("appliance listening on %s (lab CA %s)", config.url, ctx.tls.ca_cert_path)
    zeroconf = None
    if config.zeroconf:
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
