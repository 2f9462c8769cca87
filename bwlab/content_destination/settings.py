"""The lab destination's settings, TLS certificate, content key pair and connection file (issue 13).

Everything lives in the destination's directory ``D`` and survives restarts, so a connection
file imported once stays good::

    D/destination.json        user, key, whether encryption is on, site name (0600)
    D/tls/cert.pem, key.pem   the HTTPS certificate it made for itself (key 0600)
    D/content-key/private.pem the RSA key that unwraps content keys (0600), and public.pem
    D/connection.json         the connection file for the Manager (0600: it holds the key)
    D/store/                  the objects (store.py)

Encryption, once on, stays on (the Manager would refuse a connection file that turns it off).
``connection_file_for_swift`` makes a connection file for any Swift (a real one, or this one).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from bwlab.errors import InputError
from bwlab.wire import content_destination as cd

APPLICATION_NAME = "bwlab content destination"
APPLICATION_VERSION = "0.1.0"
CERT_DAYS = 825
PUBLIC_KEY_ID = "bwlab-content-key"


class SettingsError(InputError):
    """A destination directory or option that cannot be used (the CLI prints it)."""


@dataclass(frozen=True)
class Settings:
    user: str
    key: str
    encrypt: bool
    site_name: str
    container_type: str = "mkv"

    def to_json(self) -> str:
        return (
            json.dumps(
                {
                    "user": self.user,
                    "key": self.key,
                    "encrypt": self.encrypt,
                    "site_name": self.site_name,
                    "container_type": self.container_type,
                },
                indent=2,
            )
            + "\n"
        )


def write_private(path: Path, data: bytes) -> None:
    """Write a secret file with mode 0600 from the start (never readable by others)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_settings(
    directory: Path,
    *,
    encrypt: bool,
    user: str | None = None,
    site_name: str | None = None,
    container_type: str | None = None,
) -> Settings:
    """The directory's settings, made on first use (a random key); ``encrypt`` turns encryption
    on for good. ``user``/``container_type`` can only be given when they agree with a store
    that exists (changing them would orphan what is stored)."""
    path = directory / "destination.json"
    if user is not None and not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", user):
        raise SettingsError(f"--user {user!r}: 1 to 64 letters, digits, '.', '_' or '-'")
    if site_name is not None and not (0 < len(site_name) <= 64 and site_name.isprintable()):
        raise SettingsError("--site-name: 1 to 64 printable characters (the connection file's SiteName)")
    if path.exists():
        try:
            doc = json.loads(path.read_text())
            settings = Settings(
                user=doc["user"],
                key=doc["key"],
                encrypt=bool(doc["encrypt"]),
                site_name=doc["site_name"],
                container_type=doc.get("container_type", "mkv"),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SettingsError(f"{path}: not a destination settings file ({exc})") from None
        if user is not None and user != settings.user:
            raise SettingsError(f"{path}: this destination's user is {settings.user!r}; --user cannot change it")
        if container_type is not None and container_type != settings.container_type:
            raise SettingsError(
                f"{path}: this destination stores {settings.container_type}; "
                "ContainerType cannot change once a system uses it"
            )
        changed = Settings(
            settings.user,
            settings.key,
            settings.encrypt or encrypt,
            site_name or settings.site_name,
            settings.container_type,
        )
    else:
        changed = Settings(
            user=user or "bwc",
            key=secrets.token_urlsafe(24),
            encrypt=encrypt,
            site_name=site_name or "bwlab lab destination",
            container_type=container_type or "mkv",
        )
        settings = None
    if changed != settings:
        write_private(path, changed.to_json().encode())
    return changed


def ensure_certificate(directory: Path, names: list[str], now: float) -> tuple[Path, Path]:
    """The destination's self-made HTTPS certificate (ECDSA P-256, self-signed) for ``names``
    (host names and IP addresses), made again when a name is missing or it expires within 30
    days. Returns (cert.pem, key.pem)."""
    cert_path, key_path = directory / "tls" / "cert.pem", directory / "tls" / "key.pem"
    if cert_path.exists() and key_path.exists():
        try:
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            have = {str(v) for v in san.get_values_for_type(x509.DNSName)} | {
                str(v) for v in san.get_values_for_type(x509.IPAddress)
            }
            if set(names) <= have and cert.not_valid_after_utc.timestamp() > now + 30 * 86400:
                return cert_path, key_path
        except (ValueError, x509.ExtensionNotFound):
            pass
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, names[0]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, APPLICATION_NAME),
        ]
    )
    alt: list[x509.GeneralName] = []
    for name in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt.append(x509.DNSName(name))
    start = dt.datetime.fromtimestamp(now - 86400, tz=dt.UTC)  # a day's margin for clock skew
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=CERT_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    write_private(
        key_path,
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def ensure_content_key(directory: Path) -> tuple[Path, str]:
    """The destination's content key pair (RSA 2048), made on first use. Returns the private
    key's path and the public key as the connection file carries it (base64 of the PEM)."""
    private_path, public_path = directory / "content-key" / "private.pem", directory / "content-key" / "public.pem"
    if private_path.exists():
        private = cd.load_private_key(private_path.read_bytes())
    else:
        private, _ = cd.new_key_pair()
        write_private(private_path, cd.private_key_pem(private))
    pem = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    public_path.write_bytes(pem)
    return private_path, cd.encode_pem(pem)


def connection_file_for_swift(
    *,
    auth_urls: list[str],
    user: str,
    key: str,
    site_name: str,
    certificates_pem: Iterable[bytes] = (),
    container_type: str = "mkv",
    full_store_and_read_support: bool = False,
    public_key: str = "",
    public_key_id: str = "",
    application_name: str = APPLICATION_NAME,
    application_version: str = APPLICATION_VERSION,
) -> cd.ConnectionFile:
    """A validated connection file for a Swift at ``auth_urls`` (``…/auth/v1.0``); encryption is
    on when a public key (base64 of its PEM) is given."""
    conn = cd.ConnectionFile(
        site_name=site_name,
        application_name=application_name,
        application_version=application_version,
        authentication_token_uri=tuple(auth_urls),
        blob_api_key=key,
        blob_api_user_name=user,
        https_certificate=tuple(cd.encode_pem(p) for p in certificates_pem),
        container_type=container_type,  # type: ignore[arg-type]  # conn.validate() below checks it
        full_store_and_read_support=full_store_and_read_support,
        want_encryption=bool(public_key),
        public_key=public_key,
        public_key_id=public_key_id if public_key else "",
        blob_api="Swift 1.0",
    )
    conn.validate()
    return conn
