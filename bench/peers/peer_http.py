"""Pennylane's API as a team would call it from a job queue's task: plain aiohttp, errors sorted in three kinds.

Deliberately not outboxd's client: that one paces itself to the rate limit and resends 429s, which is part of
what the comparison measures. Here a 429 surfaces as ``Throttled`` with its ``retry-after`` and the queue
library's retry decides; a 5xx, a timeout or a cut connection is ``Transient``; any other 4xx is ``Rejected``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

TIMEOUT = aiohttp.ClientTimeout(total=5.0)
"""The bridge's request timeout in the benchmarks (bridge_setup's ``request_timeout``)."""


class Throttled(Exception):
    """429: wait ``retry_after`` seconds, then try the job again."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"429, retry after {retry_after:g} s")
        self.retry_after = retry_after


class Transient(Exception):
    """5xx, timeout or connection lost: try again later (after a POST, it may have been stored)."""


class Rejected(Exception):
    """A 4xx other than 429: trying again will not help."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"HTTP {status}: {text[:300]}")
        self.status = status


class Pennylane:
    """One company's API through one token."""

    def __init__(self, session: aiohttp.ClientSession, api_url: str, token: str) -> None:
        self.session = session
        self.api_url = api_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}", "X-Use-2026-API-Changes": "true"}

    async def call(self, method: str, path: str, *, params: dict[str, str] | None = None, body: Any = None) -> Any:
        try:
            async with self.session.request(
                method, self.api_url + path, params=params, json=body, headers=self.headers, timeout=TIMEOUT
            ) as response:
                status, text = response.status, await response.text()
                retry_after = response.headers.get("retry-after", "1")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Transient(f"{method} {path}: {type(exc).__name__}") from exc
        if status == 429:
            raise Throttled(float(retry_after))
        if status >= 500:
            raise Transient(f"{method} {path}: HTTP {status}")
        if status >= 400:
            raise Rejected(status, text)
        return json.loads(text) if text.strip() else None

    async def first(self, path: str, field: str, value: str) -> dict[str, Any] | None:
        """The first item of ``path`` whose ``field`` equals ``value``."""
        query = json.dumps([{"field": field, "operator": "eq", "value": value}])
        page = await self.call("GET", path, params={"filter": query, "limit": "1"})
        items = page.get("items") or []
        return items[0] if items else None

    async def journal_id(self, code: str, label: str) -> int:
        found = await self._journal(code)
        if found is None:
            found = await self._create("/journals", {"code": code, "label": label}, lambda: self._journal(code))
        return int(found["id"])

    async def _journal(self, code: str) -> dict[str, Any] | None:
        page = await self.call("GET", "/journals", params={"limit": "100"})
        return next((journal for journal in page.get("items") or [] if journal["code"] == code), None)

    async def account_id(self, number: str, label: str, vat_rate: str | None) -> int:
        found = await self.first("/ledger_accounts", "number", number)
        if found is None:
            body = {"number": number, "label": label, **({"vat_rate": vat_rate} if vat_rate else {})}
            found = await self._create(
                "/ledger_accounts", body, lambda: self.first("/ledger_accounts", "number", number)
            )
        return int(found["id"])

    async def customer_account_id(self, reference: str, kind: str, body: dict[str, Any]) -> int:
        """The 411 account of the customer with this external reference, created (``kind``: individual or
        company) if Pennylane has none."""
        found = await self.first("/customers", "external_reference", reference)
        if found is None:
            body = {**body, "external_reference": reference}
            found = await self._create(
                f"/{kind}_customers", body, lambda: self.first("/customers", "external_reference", reference)
            )
        return int(found["ledger_account"]["id"])

    async def _create(
        self, path: str, body: dict[str, Any], find: Callable[[], Awaitable[dict[str, Any] | None]]
    ) -> dict[str, Any]:
        """POST ``body``; after a 409/422 (another job created it meanwhile, as the bridge also expects) the one
        that ``find`` finds."""
        try:
            created: dict[str, Any] = await self.call("POST", path, body=body)
        except Rejected as exc:
            if exc.status not in (409, 422) or (found := await find()) is None:
                raise
            return found
        return created

    async def post_entry(self, body: dict[str, Any]) -> int:
        return int((await self.call("POST", "/ledger_entries", body=body))["id"])
