"""The system controller's HTTPS client to the cloud (S3), through the system's network settings.

The controller reaches the cloud over the network like a real Manager: with the lab CA as its
trust anchor, through the proxy set in its network settings. When the cloud cannot be reached
(wrong proxy, DNS, firewall), cloud extensions cannot be enabled (S3, T2).
"""

from __future__ import annotations

import ssl
from typing import Any

import aiohttp

from ..errors import BwlabError, Conflict


class CloudUnreachable(Conflict):
    code = "cloud_unreachable"


class CloudClient:
    def __init__(self, base_url: str, ca_pem: str, *, proxy: str | None = None, token: str | None = None,
                 timeout: float = 5.0):
        self.base_url = base_url.rstrip("/") + "/api/cloud"
        self._ssl = ssl.create_default_context(cadata=ca_pem)
        self.proxy = proxy or None
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def request(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            async with aiohttp.ClientSession(timeout=self.timeout) as session:
                async with session.request(
                    method, self.base_url + path, json=body, headers=headers, ssl=self._ssl, proxy=self.proxy
                ) as response:
                    data = await response.json(content_type=None)
                    if response.status >= 400:
                        err = (data or {}).get("error", {}) if isinstance(data, dict) else {}
                        raise BwlabError(
                            f"the cloud refused: {err.get('message', response.reason)}",
                            code=err.get("code", "cloud_error"), status=response.status if response.status < 500 else 502,
                            headers={"Retry-After": response.headers["Retry-After"]}
                            if "Retry-After" in response.headers else None,
                        )
                    return data
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            raise CloudUnreachable(
                f"the cloud at {self.base_url} cannot be reached ({type(exc).__name__}: {exc}); "
                "check the system's network settings: IP address, DNS, proxy and firewall (S3, T2)"
            ) from None
