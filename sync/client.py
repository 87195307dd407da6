"""HTTP client of the office's gate API (/api/v1), counting requests and bytes.

Transport failures become OfficeUnreachable and error statuses OfficeRefused, so the
daemon can tell "office down, retry later" from "office says no, look at this".
"""
from __future__ import annotations

from typing import Any

import httpx

from sync.errors import OfficeRefused, OfficeUnreachable

API = "/api/v1"


def _header_bytes(headers: httpx.Headers) -> int:
    return sum(len(k) + len(v) + 4 for k, v in headers.raw)


class OfficeClient:
    def __init__(self, office_url: str, credential: str, *, timeout_s: float = 15.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.http = httpx.Client(base_url=office_url.rstrip("/"), timeout=timeout_s, transport=transport,
                                 headers={"Authorization": f"Bearer {credential}", "User-Agent": "gatepass-sync/1"})
        self.requests = 0
        self.bytes_sent = 0
        self.bytes_received = 0

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            r = self.http.request(method, API + path, **kwargs)
        except httpx.HTTPError as exc:  # connection refused, timeout, reset, a garbled (e.g. gzip) reply
            raise OfficeUnreachable(f"office unreachable ({type(exc).__name__}: {exc})") from None
        self.requests += 1
        self.bytes_sent += len(r.request.content or b"") + _header_bytes(r.request.headers) + len(path) + 20
        self.bytes_received += r.num_bytes_downloaded + _header_bytes(r.headers) + 20
        if r.status_code >= 400:
            try:
                detail = r.json().get("detail")
            except ValueError:
                detail = r.text[:200]
            raise OfficeRefused(f"office refused {method} {path}: {r.status_code} {detail}", r.status_code)
        try:
            data = r.json()
        except ValueError:
            raise OfficeRefused(f"office sent something that is not JSON for {method} {path}", r.status_code) from None
        if not isinstance(data, dict):
            raise OfficeRefused(f"office sent an unexpected reply for {method} {path}", r.status_code)
        return data

    def pull(self, since: int, limit: int) -> dict[str, Any]:
        return self._call("GET", "/replica", params={"since": since, "limit": limit})

    def push(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        return self._call("POST", "/events", json={"events": events})

    def heartbeat(self, info: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/heartbeat", json=info)
