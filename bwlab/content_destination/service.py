"""Running the lab destination: its directory, certificate, keys, connection file and listener
(issue 13; ``bwlab content-destination serve``)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from bwlab.clock import Clock
from bwlab.wire import content_destination as cd

from .auth import DEFAULT_LIFETIME, TokenAuthority
from .faults import Faults
from .server import DestinationApp, create_app, publish_system_objects
from .settings import (
    PUBLIC_KEY_ID,
    SettingsError,
    connection_file_for_swift,
    ensure_certificate,
    ensure_content_key,
    load_settings,
    write_private,
)
from .store import Store


@dataclass(frozen=True)
class ServeOptions:
    directory: Path
    host: str = "127.0.0.1"
    port: int = 8080
    encrypt: bool = False
    https: bool = True
    url_hosts: tuple[str, ...] = ()
    """Host names or addresses for the connection file's URIs (and the certificate); default:
    the listening host (127.0.0.1 when it listens on every address)."""
    tls_cert: Path | None = None
    tls_key: Path | None = None
    token_lifetime: float = DEFAULT_LIFETIME
    quota_bytes: int | None = None
    capabilities: frozenset[str] = frozenset(cd.KNOWN_CAPABILITIES)
    categories: tuple[cd.Category, ...] = cd.DEFAULT_CATEGORIES
    full_store_and_read: bool = False
    user: str | None = None
    site_name: str | None = None
    container_type: str | None = None


@dataclass
class RunningDestination:
    url: str
    auth_urls: list[str]
    connection_path: Path
    connection: cd.ConnectionFile
    certificate_path: Path | None
    private_key_path: Path | None
    store: Store
    authority: TokenAuthority
    faults: Faults
    runner: web.AppRunner = field(repr=False)

    async def close(self) -> None:
        await self.runner.cleanup()


async def start(options: ServeOptions, clock: Clock) -> RunningDestination:
    """Prepare the directory and listen; raises ``SettingsError`` for what the user must fix."""
    directory = options.directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    settings = load_settings(
        directory,
        encrypt=options.encrypt,
        user=options.user,
        site_name=options.site_name,
        container_type=options.container_type,
    )
    hosts = list(options.url_hosts) or ["127.0.0.1" if options.host in ("0.0.0.0", "::", "") else options.host]
    context = None
    cert_path = None
    if options.https:
        if (options.tls_cert is None) != (options.tls_key is None):
            raise SettingsError("--tls-cert and --tls-key go together")
        if options.tls_cert is not None:
            cert_path, key_path = options.tls_cert, options.tls_key
        else:
            cert_path, key_path = ensure_certificate(
                directory, sorted(set(hosts) | {"127.0.0.1", "localhost"}), clock.now()
            )
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(cert_path, key_path)
        except (OSError, ssl.SSLError) as exc:
            raise SettingsError(f"the TLS certificate and key cannot be used: {exc}") from None
    private_key = None
    private_key_path = None
    public_key = ""
    if settings.encrypt:
        private_key_path, public_key = ensure_content_key(directory)
        private_key = cd.load_private_key(private_key_path.read_bytes())

    store = Store(directory / "store", clock, quota_bytes=options.quota_bytes)
    authority = TokenAuthority(settings.user, settings.key, clock, options.token_lifetime)
    dest = DestinationApp(
        store=store,
        authority=authority,
        private_key=private_key,
        site_name=settings.site_name,
        capabilities=cd.Capabilities(store_and_read=frozenset(options.capabilities)),
        categories=options.categories,
    )
    await publish_system_objects(dest)
    runner = web.AppRunner(create_app(dest), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, options.host, options.port, ssl_context=context)
        try:
            await site.start()
        except OSError as exc:
            raise SettingsError(f"cannot listen on {options.host}:{options.port}: {exc}") from None
        port = runner.addresses[0][1]
        scheme = "https" if context else "http"
        auth_urls = [f"{scheme}://{_url_host(h)}:{port}{cd.AUTH_PATH}" for h in hosts]
        connection = connection_file_for_swift(
            auth_urls=auth_urls,
            user=settings.user,
            key=settings.key,
            site_name=settings.site_name,
            certificates_pem=[cert_path.read_bytes()] if cert_path else [],
            container_type=settings.container_type,
            full_store_and_read_support=options.full_store_and_read,
            public_key=public_key,
            public_key_id=PUBLIC_KEY_ID if public_key else "",
        )
        connection_path = directory / "connection.json"
        write_private(connection_path, connection.to_json())
    except BaseException:
        await runner.cleanup()
        raise
    return RunningDestination(
        url=f"{scheme}://{_url_host(hosts[0])}:{port}",
        auth_urls=auth_urls,
        connection_path=connection_path,
        connection=connection,
        certificate_path=cert_path,
        private_key_path=private_key_path,
        store=store,
        authority=authority,
        faults=dest.faults,
        runner=runner,
    )


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
