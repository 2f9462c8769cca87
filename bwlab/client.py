"""An HTTPS client of the appliance's public APIs, as an integrator's script would use them.

The scenario runner, the CLI and the integration tests all go through this client, so they
exercise the same routes a browser or a Manager does. Each ``Session`` holds one principal
(a cloud account, a Manager administrator, or the lab token) and its cookies.
"""

from __future__ import annotations

import ssl
from typing import Any

import aiohttp

from bwlab.errors import Refused


class ApiError(Refused):
    """An error answer from the appliance: HTTP status, stable code and message."""

    def __init__(self, status: int, code: str, message: str, method: str = "", path: str = ""):
        super().__init__(f"{method} {path} → {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def ssl_context(ca_pem: str | None) -> ssl.SSLContext:
    return ssl.create_default_context(cadata=ca_pem) if ca_pem else ssl.create_default_context()


class Session:
    """One principal talking to one appliance."""

    def __init__(self, base_url: str, ca_pem: str | None, *, token: str | None = None, timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.ca_pem = ca_pem
        self.ssl = ssl_context(ca_pem)
        self.token = token
        self._http = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=timeout), cookie_jar=aiohttp.CookieJar(unsafe=True)
        )

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.close()

    @property
    def http(self) -> aiohttp.ClientSession:
        return self._http

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        expect: tuple[int, ...] | None = None,
    ) -> Any:
        kwargs: dict[str, Any] = {"headers": self.headers(), "ssl": self.ssl}
        if raw is not None:
            kwargs["data"] = raw
            kwargs["headers"] = {**kwargs["headers"], "Content-Type": "application/json"}
        elif body is not None:
            kwargs["json"] = body
        async with self._http.request(method, self.base_url + path, **kwargs) as response:
            text = await response.text()
            try:
                import json

                data = json.loads(text) if text else None
            except ValueError:
                data = text
            if response.status >= 400 and (expect is None or response.status not in expect):
                err = data.get("error", {}) if isinstance(data, dict) else {}
                raise ApiError(
                    response.status, err.get("code", "http_error"), err.get("message", text[:200]), method, path
                )
            return data

    async def get(self, path: str, **kw) -> Any:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, body: Any = None, **kw) -> Any:
        return await self.request("POST", path, body, **kw)

    async def put(self, path: str, body: Any = None, **kw) -> Any:
        return await self.request("PUT", path, body, **kw)

    async def delete(self, path: str, **kw) -> Any:
        return await self.request("DELETE", path, **kw)

    # ---- sign-in helpers -------------------------------------------------------------------

    async def sign_in_cloud(self, email: str, password: str) -> dict:
        result = await self.post("/api/cloud/sessions", {"email": email, "password": password})
        self.token = result["token"]
        return result

    async def sign_in_manager(self, system_id: str, password: str) -> dict:
        result = await self.post(f"/controller/{system_id}/api/login", {"password": password})
        self.token = result["token"]
        return result
