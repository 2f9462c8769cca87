"""``bwlab content-destination serve | connection-file | decrypt`` (issue 13).

    bwlab content-destination serve [--port P] [--dir D] [--encrypt]
        run the lab destination; writes D/connection.json and prints its path
    bwlab content-destination connection-file --auth-url URL --user U --key K [-o FILE] …
        a connection file for any Swift (a real one): container type, certificates, encryption
    bwlab content-destination decrypt KEY_OBJECT CONTENT (--private-key PEM | --dir D) [-o OUT]
        decrypt an encrypted clip or GNSS trail with its key object

Only ``argparse``, ``pathlib`` and the signal helper are imported here; the rest when a command runs.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from bwlab.clock import LabClock
from bwlab.content_destination.settings import SettingsError
from bwlab.errors import BwlabError
from bwlab.lifecycle import stop_on_signals
from bwlab.wire import content_destination as cd
from bwlab.wire.content_destination import ContentDestinationError

from .service import ServeOptions, start
from .settings import connection_file_for_swift, write_private

log = logging.getLogger(__name__)


class CommandError(BwlabError):
    """A user error, printed by the CLI as ``bwlab: <message>``."""


def add_parser(sub) -> None:
    cd = sub.add_parser("content-destination", help="the lab's content destination (Body Worn Content Destination API)")
    cd_sub = cd.add_subparsers(dest="cd_command", required=True)

    serve = cd_sub.add_parser("serve", help="run the lab destination; writes its connection file and prints its path")
    serve.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="where it keeps its objects, keys and connection file (default: DATA_DIR/content-destination)",
    )
    serve.add_argument("--data-dir", type=Path, default=None, help=argparse.SUPPRESS)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument(
        "--port", type=int, default=8080, help="port (default 8080, as Axis's example server; 0: any free port)"
    )
    serve.add_argument(
        "--encrypt",
        action="store_true",
        help="make an RSA key pair and ask for end-to-end encryption (stays on once on)",
    )
    serve.add_argument("--http", action="store_true", help="plain HTTP (no certificate; for debugging only)")
    serve.add_argument(
        "--url-host",
        action="append",
        default=[],
        help="host name or address the controllers use (repeat; up to 10 URIs in the file)",
    )
    serve.add_argument("--tls-cert", type=Path, default=None, help="serve this certificate (e.g. from the lab CA)")
    serve.add_argument("--tls-key", type=Path, default=None, help="its private key")
    serve.add_argument("--token-life", type=float, default=3600.0, help="seconds an access token lasts (default 3600)")
    serve.add_argument("--quota", type=int, default=None, help="bytes it may hold; past that it answers 507")
    serve.add_argument(
        "--capabilities",
        default="all",
        help="comma-separated capabilities in System/Capabilities.json (default: all; 'none')",
    )
    serve.add_argument(
        "--categories",
        type=Path,
        default=None,
        help='System/Categories.json to serve: a JSON list of {"Id", "Name"} (default: the lab\'s six)',
    )
    serve.add_argument("--full-store-and-read", action="store_true", help="set FullStoreAndReadSupport")
    serve.add_argument("--user", default=None, help="BlobAPIUserName (default bwc; fixed once made)")
    serve.add_argument("--site-name", default=None, help="SiteName in the connection file")
    serve.add_argument("--container-type", choices=("mkv", "mp4"), default=None, help="ContainerType (default mkv)")

    conn = cd_sub.add_parser("connection-file", help="write a connection file for a Swift (a real one, or this lab's)")
    conn.add_argument(
        "--auth-url",
        action="append",
        required=True,
        help="the auth URL, e.g. https://swift.example:8080/auth/v1.0 (repeat, up to 10)",
    )
    conn.add_argument("--user", required=True, help="X-Auth-User (tempauth: account:user)")
    conn.add_argument("--key", required=True, help="X-Auth-Key")
    conn.add_argument("--site-name", default="bwlab site", help="SiteName")
    conn.add_argument("--application-name", default="OpenStack Swift", help="ApplicationName")
    conn.add_argument("--application-version", default="1.0", help="ApplicationVersion")
    conn.add_argument(
        "--certificate",
        type=Path,
        action="append",
        default=[],
        help="a PEM certificate the server presents or that issued it (repeat; makes it HTTPS)",
    )
    conn.add_argument("--container-type", choices=("mkv", "mp4"), default="mkv")
    conn.add_argument("--full-store-and-read", action="store_true", help="set FullStoreAndReadSupport (a plain Swift)")
    conn.add_argument("--encrypt", action="store_true", help="WantEncryption, with --public-key or a new key pair")
    conn.add_argument(
        "--public-key", type=Path, default=None, help="the RSA public key (PEM) content keys are wrapped with"
    )
    conn.add_argument("--key-id", default=None, help="PublicKeyId (default: the public key file's name)")
    conn.add_argument(
        "--previous",
        type=Path,
        default=None,
        help="the file this one replaces: refuse what the Manager would refuse (encryption turned off…)",
    )
    conn.add_argument("-o", "--output", type=Path, required=True, help="where to write it (mode 0600)")

    dec = cd_sub.add_parser("decrypt", help="decrypt an encrypted clip or GNSS trail with its key object")
    dec.add_argument("key_object", type=Path, help="the key object (<StartTime>_<RecordingID>.key)")
    dec.add_argument("content", type=Path, help="the encrypted object")
    dec.add_argument("--private-key", type=Path, default=None, help="the destination's private key (PEM)")
    dec.add_argument("--dir", type=Path, default=None, help="a lab destination's directory (uses its private key)")
    dec.add_argument("-o", "--output", type=Path, default=None, help="output file (default: decrypted_<name>)")


async def run(args: argparse.Namespace, data_dir: Path) -> int:
    command = {"serve": serve, "connection-file": connection_file, "decrypt": decrypt}[args.cd_command]
    try:
        return await command(args, data_dir)
    except (SettingsError, ContentDestinationError) as exc:
        raise CommandError(str(exc)) from None


async def serve(args: argparse.Namespace, data_dir: Path) -> int:
    if args.capabilities == "all":
        caps = frozenset(cd.KNOWN_CAPABILITIES)
    elif args.capabilities == "none":
        caps = frozenset()
    else:
        caps = frozenset(c.strip() for c in args.capabilities.split(",") if c.strip())
        unknown = sorted(caps - set(cd.KNOWN_CAPABILITIES))
        if unknown:
            raise CommandError(
                f"--capabilities: unknown {', '.join(unknown)} (known: {', '.join(cd.KNOWN_CAPABILITIES)})"
            )
    categories = cd.DEFAULT_CATEGORIES
    if args.categories is not None:
        try:
            categories = cd.parse_categories(args.categories.read_bytes())
        except OSError as exc:
            raise CommandError(f"--categories {args.categories}: {exc.strerror}") from None
        except cd.ContentDestinationError as exc:
            raise CommandError(f"--categories {args.categories}: {exc}") from None
    if len(args.url_host) > cd.MAX_URIS:
        raise CommandError(f"--url-host: at most {cd.MAX_URIS}")
    options = ServeOptions(
        directory=args.dir or data_dir / "content-destination",
        host=args.host,
        port=args.port,
        encrypt=args.encrypt,
        https=not args.http,
        url_hosts=tuple(args.url_host),
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        token_lifetime=args.token_life,
        quota_bytes=args.quota,
        capabilities=caps,
        categories=categories,
        full_store_and_read=args.full_store_and_read,
        user=args.user,
        site_name=args.site_name,
        container_type=args.container_type,
    )
    running = await start(options, LabClock())
    try:
        print(running.connection_path, flush=True)
        print(
            f"bwlab content-destination: {running.url}/ (browse as {running.connection.blob_api_user_name} with "
            f"the key in the connection file); auth {', '.join(running.auth_urls)}"
            + (f"; content key {running.private_key_path}" if running.private_key_path else ""),
            file=sys.stderr,
            flush=True,
        )
        stop = stop_on_signals()
        await stop.wait()
    finally:
        await running.close()
    return 0


async def connection_file(args: argparse.Namespace, data_dir: Path) -> int:
    certs = []
    for path in args.certificate:
        try:
            certs.append(path.read_bytes())
        except OSError as exc:
            raise CommandError(f"--certificate {path}: {exc.strerror}") from None
    public_key, key_id = "", ""
    if args.public_key and not args.encrypt:
        raise CommandError("--public-key goes with --encrypt")
    if args.encrypt:
        if args.public_key:
            try:
                public_key = cd.encode_pem(args.public_key.read_bytes())
            except OSError as exc:
                raise CommandError(f"--public-key {args.public_key}: {exc.strerror}") from None
            cd.load_public_key(public_key)
            key_id = args.key_id or args.public_key.stem
        else:
            private, public_key = cd.new_key_pair()
            private_path = args.output.with_name(args.output.stem + ".private.pem")
            write_private(private_path, cd.private_key_pem(private))
            key_id = args.key_id or private_path.stem
            print(f"private key: {private_path} (keep it: it decrypts everything uploaded)", file=sys.stderr)
    conn = connection_file_for_swift(
        auth_urls=args.auth_url,
        user=args.user,
        key=args.key,
        site_name=args.site_name,
        certificates_pem=certs,
        container_type=args.container_type,
        full_store_and_read_support=args.full_store_and_read,
        public_key=public_key,
        public_key_id=key_id,
        application_name=args.application_name,
        application_version=args.application_version,
    )
    if args.previous is not None:
        try:
            previous = cd.ConnectionFile.parse(args.previous.read_bytes())
        except OSError as exc:
            raise CommandError(f"--previous {args.previous}: {exc.strerror}") from None
        cd.check_replacement(previous, conn)
    write_private(args.output, conn.to_json())
    print(args.output)
    return 0


async def decrypt(args: argparse.Namespace, data_dir: Path) -> int:
    if (args.private_key is None) == (args.dir is None):
        raise CommandError("give --private-key or --dir (a lab destination's directory)")
    key_path = args.private_key or args.dir / "content-key" / "private.pem"
    try:
        private = cd.load_private_key(key_path.read_bytes())
        key_object = cd.KeyObject.parse(args.key_object.read_bytes())
    except OSError as exc:
        raise CommandError(f"{exc.filename}: {exc.strerror}") from None
    output = args.output or args.content.with_name("decrypted_" + args.content.name)
    decryptor = key_object.decryptor(private)
    try:
        with open(args.content, "rb") as src, open(output, "wb") as dst:
            while chunk := src.read(1024 * 1024):
                dst.write(decryptor.update(chunk))
            dst.write(decryptor.finalize())
    except OSError as exc:
        raise CommandError(f"{exc.filename}: {exc.strerror}") from None
    print(output)
    return 0
