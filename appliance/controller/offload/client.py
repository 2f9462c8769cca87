"""The controller's HTTP client of a content destination: the Swift subset the API uses (issue 13).

Thin: it turns requests into HTTP and answers into ``Answer`` (status, headers, a small body);
what an answer means is ``plan.outcome``. Authentication is Swift's v1: ``GET`` a token URI with
``X-Auth-User``/``X-Auth-Key``, keep ``X-Auth-Token`` and ``X-Storage-Url``; the token URIs of
the connection file are tried in order until one answers. With ``HTTPSCertificate`` the server's
certificate must chain to one of those (pinned: the system's trust store plays no part); without
it the connection is plain HTTP, as the README allows for development. Bodies are streamed from
disk in blocks (encrypted on the way with ``WantEncryption``): memory stays flat whatever the
clip's size.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import aiohttp

from bwlab.errors import Refused
from bwlab.wire import content_destination as cd

log = logging.getLogger(__name__)

BLOCK = 256 * 1024
TIMEOUT = aiohttp.ClientTimeout(total=None, connect=10, sock_connect=10, sock_read=60)


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no answer (connection refused, reset, TLS failure, timeout)
    headers: Mapping[str, str]
    body: bytes = b""
    error: str | None = None


class AuthFailed(Refused):
    """No token URI gave a token: ``answer`` is the last one (401, or no answer)."""

    def __init__(self, answer: Answer):
        super().__init__(answer.error or f"HTTP {answer.status}")
        self.answer = answer


def ssl_context(conn: cd.ConnectionFile) -> ssl.SSLContext | bool:
    if not conn.https_certificate:
        return False
    context = ssl.create_default_context(cadata=conn.certificates_pem())
    context.check_hostname = False  # pinned: the certificate itself is what is trusted
    return context


class DestinationClient:
    def __init__(self, conn: cd.ConnectionFile, http: aiohttp.ClientSession):
        self.conn = conn
        self.http = http
        self.ssl = ssl_context(conn)
        self.token: str | None = None
        self.storage_url: str | None = None
        self.auth_uri: str | None = None

    async def authenticate(self) -> Answer:
        """Get a token, trying each token URI in order; raises ``AuthFailed``."""
        self.token = self.storage_url = None
        last = Answer(None, {}, error="no token URI")
        for uri in self.conn.authentication_token_uri:
            headers = {"X-Auth-User": self.conn.blob_api_user_name, "X-Auth-Key": self.conn.blob_api_key}
            last = await self._call("GET", uri, headers, None)
            if last.status is not None and 200 <= last.status < 300:
                token, storage = last.headers.get("X-Auth-Token"), last.headers.get("X-Storage-Url")
                if token and storage:
                    self.token, self.storage_url, self.auth_uri = token, storage.rstrip("/"), uri
                    return last
                last = Answer(last.status, last.headers, error="no X-Auth-Token or X-Storage-Url in the answer")
            elif last.status == 401:
                break  # the credentials are wrong: another URI of the same destination says the same
        raise AuthFailed(last)

    def url(self, container: str, obj: str | None = None) -> str:
        assert self.storage_url is not None
        url = f"{self.storage_url}/{quote(container, safe='')}"
        return url if obj is None else f"{url}/{quote(obj, safe='/')}"

    async def request(
        self,
        method: str,
        container: str,
        obj: str | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | AsyncIterator[bytes] | None = None,
        length: int | None = None,
    ) -> Answer:
        if self.token is None:
            return Answer(401, {}, error="no token")
        all_headers = {"X-Auth-Token": self.token, **(headers or {})}
        if length is not None:
            all_headers["Content-Length"] = str(length)
        elif method == "PUT" and body is None:
            all_headers["Content-Length"] = "0"
        return await self._call(method, self.url(container, obj), all_headers, body)

    async def _call(self, method: str, url: str, headers: Mapping[str, str], body) -> Answer:
        try:
            async with self.http.request(
                method, url, headers=headers, data=body, ssl=self.ssl, timeout=TIMEOUT, allow_redirects=False
            ) as r:
                data = await r.content.read(256 * 1024)
                return Answer(r.status, dict(r.headers), data)
        except (TimeoutError, aiohttp.ClientError, OSError, ssl.SSLError) as exc:
            return Answer(None, {}, error=f"{type(exc).__name__}: {exc}"[:300])


async def file_body(path: Path, encryptor: cd.ContentEncryptor | None = None) -> AsyncIterator[bytes]:
    """A file in blocks read in a worker thread, encrypted on the way when asked."""
    with open(path, "rb") as f:
        while True:
            block = await asyncio.to_thread(f.read, BLOCK)
            if not block:
                break
            yield encryptor.update(block) if encryptor is not None else block
    if encryptor is not None:
        yield encryptor.finalize()
