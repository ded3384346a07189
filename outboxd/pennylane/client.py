"""Typed calls to Pennylane's Company API v2 for one connection (one company, one token, one rate limit).

Every call: a token from the connection, a slot from the limiter, ``X-Use-2026-API-Changes: true``. A 429 is
waited out and resent (bounded) without surfacing; a 401 refreshes and resends (``REFRESHES_PER_CALL`` times at
most); everything else becomes one of the domain errors of ``outboxd.exceptions`` (see
:mod:`outboxd.pennylane.errors`).
"""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import Any
from urllib.parse import quote

import aiohttp

from outboxd.exceptions import AuthError, PermanentError, RateLimited, UnknownOutcomeError
from outboxd.pennylane.auth import Connection
from outboxd.pennylane.entries import LedgerEntryRequest
from outboxd.pennylane.errors import BODY_LIMIT, error_for_response, error_for_transport
from outboxd.pennylane.models import (
    Address,
    CreatedCustomer,
    Customer,
    FiscalYear,
    Journal,
    LedgerAccount,
    Me,
    PostedEntry,
)
from outboxd.pennylane.ratelimit import RateLimiter
from outboxd.pennylane.trace import Exchange, TraceHook
from outboxd.secrets import redact

__all__ = ["SEND_GATE", "PennylaneClient", "filter_param"]

Filter = tuple[str, str, str | list[str]]
"""``(field, operator, value)``, e.g. ``("number", "eq", "445711")``; a list for ``in``."""

VALUES_PER_LOOKUP = 100
"""Values per ``in`` lookup at most: the answer is then one page (customers are listed 100 at a time at most)."""
LOOKUP_CHARACTERS = 4000
"""Encoded characters of the values of one ``in`` lookup at most: the URL stays well under the 8 kB many servers
accept (100 customer references of two UUIDs would need ~9.6 kB; they are asked 40 at a time)."""


SEND_GATE: ContextVar[Callable[[], None] | None] = ContextVar("send_gate", default=None)
"""Asked right before each request leaves, in the task that set it: raises to keep the request from leaving. The
daemon sets it in each task that sends for one shop (a delivery, a register-day, a backfill), so that a replica
which lost the shop's lane (its lease ran out while the process stood still) posts nothing the new owner may have
posted meanwhile, nor spends the token's budget beside it. A control call made through any replica is not gated."""

REFRESHES_PER_CALL = 3
"""401s one call meets with a refresh before the shop needs reconnecting. A token refused right after a refresh is
not proof the grant is dead: its retry may have waited for the rate limit or a busy event loop longer than the
token lived (early expiry), or another process may have rotated the pair meanwhile; a grant Pennylane revoked
fails the refresh itself (``invalid_grant``)."""


def filter_param(filters: Sequence[Filter]) -> str:
    """The ``filter`` query value: a compact JSON array (aiohttp URL-encodes it)."""
    return json.dumps([{"field": f, "operator": o, "value": v} for f, o, v in filters], separators=(",", ":"))


class PennylaneClient:
    """One company's API. ``api_url`` ends with ``/api/external/v2``; defaults live here only."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_url: str,
        connection: Connection,
        limiter: RateLimiter,
        *,
        timeout: float = 30.0,
        max_rate_limited_resends: int = 10,
        trace: TraceHook | None = None,
    ) -> None:
        self._session = session
        self._api_url = api_url.rstrip("/")
        self.connection = connection
        self.limiter = limiter
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._max_resends = max_rate_limited_resends
        self._trace = trace

    def __repr__(self) -> str:
        return f"PennylaneClient({self._api_url!r}, {self.connection!r})"

    # -- transport -------------------------------------------------------------------------------------------

    async def request(
        self, method: str, path: str, *, params: Mapping[str, str] | None = None, body: Any = None
    ) -> Any:
        """Send one logical call; returns the decoded JSON (None for an empty body)."""
        refreshes = 0
        resends = 0
        while True:
            await self.limiter.acquire()
            if (gate := SEND_GATE.get()) is not None:  # after the wait, which a stalled process may have overslept
                gate()
            token = await self.connection.access_token(self._session)  # after the wait: fresh when it leaves
            status, headers, text = await self._send(method, path, params, body, token)
            self.limiter.observe(headers)
            error = error_for_response(method, status, text, headers)
            if isinstance(error, RateLimited):
                self.limiter.rate_limited(error.retry_after)
                resends += 1
                if resends > self._max_resends:
                    raise error
                await self.limiter.wait_retry_after()
                continue
            if isinstance(error, AuthError):
                if refreshes == REFRESHES_PER_CALL:
                    reason = f"{method} {path} refused with 401 after {refreshes} refreshes"
                    raise self.connection.reconnect_needed(reason)
                await self.connection.unauthorized(self._session, token)
                refreshes += 1
                continue
            if error is not None:
                raise error
            return self._decode(method, path, status, text)

    async def _send(
        self, method: str, path: str, params: Mapping[str, str] | None, body: Any, token: str
    ) -> tuple[int, Mapping[str, str], str]:
        headers = {"Authorization": f"Bearer {token}", "X-Use-2026-API-Changes": "true", "Accept": "application/json"}
        data = None if body is None else json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        if data is not None:
            headers["Content-Type"] = "application/json"
        started = time.monotonic()
        status: int | None = None
        text, failure = "", ""
        try:
            async with self._session.request(
                method, self._api_url + path, params=params, data=data, headers=headers, timeout=self._timeout
            ) as response:
                status = response.status
                text = await response.text()
                return status, response.headers, redact(text, [token])
        except (TimeoutError, aiohttp.ClientError) as exc:
            failure = type(exc).__name__
            raise error_for_transport(method, exc, f"{method} {path}") from exc
        finally:
            if self._trace is not None:
                self._trace(
                    Exchange(
                        method,
                        path,
                        "" if params is None else json.dumps(dict(params), separators=(",", ":")),
                        redact(data or "", [token]),
                        status,
                        redact(text[: BODY_LIMIT * 5], [token]),
                        time.monotonic() - started,
                        failure,
                    )
                )

    @staticmethod
    def _decode(method: str, path: str, status: int, text: str) -> Any:
        if not text.strip():
            return None
        try:
            return json.loads(text)
        except ValueError as exc:
            what = f"{method} {path}: HTTP {status} with a body that is not JSON"
            if method == "GET":
                raise PermanentError(what, status=status, body=text[:BODY_LIMIT]) from exc
            raise UnknownOutcomeError(what, status=status, body=text[:BODY_LIMIT]) from exc

    async def paginate(
        self, path: str, *, filters: Sequence[Filter] = (), sort: str | None = None, limit: int = 100
    ) -> AsyncIterator[dict[str, Any]]:
        """Every item of a cursor-paginated list; ``filter`` and ``sort`` are sent again on every page."""
        params: dict[str, str] = {"limit": str(limit)}
        if filters:
            params["filter"] = filter_param(filters)
        if sort:
            params["sort"] = sort
        while True:
            page = await self.request("GET", path, params=params)
            for item in page.get("items") or ():
                yield item
            cursor = page.get("next_cursor")
            if not page.get("has_more") or not cursor:
                return
            params = {**params, "cursor": str(cursor)}

    async def _first(self, path: str, filters: Sequence[Filter]) -> dict[str, Any] | None:
        async for item in self.paginate(path, filters=filters, limit=1):
            return item
        return None

    # -- resources -------------------------------------------------------------------------------------------

    async def me(self) -> Me:
        return Me.from_api(await self.request("GET", "/me"))

    async def fiscal_years(self) -> list[FiscalYear]:
        return [FiscalYear.from_api(item) async for item in self.paginate("/fiscal_years")]

    async def journals(self) -> list[Journal]:
        return [Journal.from_api(item) async for item in self.paginate("/journals")]

    async def create_journal(self, code: str, label: str) -> Journal:
        return Journal.from_api(await self.request("POST", "/journals", body={"code": code, "label": label}))

    async def find_ledger_account(self, number: str) -> LedgerAccount | None:
        item = await self._first("/ledger_accounts", [("number", "eq", number)])
        return None if item is None else LedgerAccount.from_api(item)

    async def find_ledger_accounts(self, numbers: Iterable[str]) -> dict[str, LedgerAccount]:
        """The accounts among ``numbers`` that exist, by number: one ``number in`` list per 100 numbers."""
        found = [LedgerAccount.from_api(item) async for item in self._find_in("/ledger_accounts", "number", numbers)]
        return {account.number: account for account in found}

    async def find_customers(self, external_references: Iterable[str]) -> dict[str, Customer]:
        """The customers among ``external_references`` that exist, by reference: one ``in`` list per 100."""
        items = self._find_in("/customers", "external_reference", external_references)
        found = [Customer.from_api(item) async for item in items]
        return {c.external_reference: c for c in found if c.external_reference is not None}

    async def _find_in(self, path: str, field: str, values: Iterable[str]) -> AsyncIterator[dict[str, Any]]:
        """Items whose ``field`` is among ``values``, asked ``VALUES_PER_LOOKUP`` at a time, each with that value.

        The spec lists ``in`` among the field's operators without saying how its value is written; a JSON array
        is sent (the filter itself is JSON), which the simulator also accepts. Items outside a list are dropped.
        """
        for chunk in _lookups(sorted(set(values))):
            async for item in self.paginate(path, filters=[(field, "in", chunk)], limit=VALUES_PER_LOOKUP):
                if str(item.get(field)) in chunk:
                    yield item

    async def get_ledger_account(self, account_id: int) -> LedgerAccount:
        return LedgerAccount.from_api(await self.request("GET", f"/ledger_accounts/{int(account_id)}"))

    async def create_ledger_account(self, number: str, label: str, vat_rate: str | None = None) -> LedgerAccount:
        """``vat_rate`` is a Pennylane code (``FR_200``, ``exempt``...); omitted when None."""
        body = {"number": number, "label": label}
        if vat_rate is not None:
            body["vat_rate"] = vat_rate
        return LedgerAccount.from_api(await self.request("POST", "/ledger_accounts", body=body))

    async def find_customer(self, external_reference: str) -> Customer | None:
        item = await self._first("/customers", [("external_reference", "eq", external_reference)])
        return None if item is None else Customer.from_api(item)

    async def create_individual_customer(
        self,
        first_name: str,
        last_name: str,
        billing_address: Address,
        *,
        external_reference: str | None = None,
        emails: Sequence[str] = (),
        ledger_account_number: str | None = None,
    ) -> CreatedCustomer:
        body: dict[str, Any] = {
            "first_name": first_name,
            "last_name": last_name,
            "billing_address": billing_address.to_api(),
        }
        self._customer_extras(body, external_reference, emails, ledger_account_number)
        return CreatedCustomer.from_api(await self.request("POST", "/individual_customers", body=body))

    async def create_company_customer(
        self,
        name: str,
        billing_address: Address,
        *,
        external_reference: str | None = None,
        vat_number: str | None = None,
        reg_no: str | None = None,
        emails: Sequence[str] = (),
        ledger_account_number: str | None = None,
    ) -> CreatedCustomer:
        body: dict[str, Any] = {"name": name, "billing_address": billing_address.to_api()}
        if vat_number is not None:
            body["vat_number"] = vat_number
        if reg_no is not None:
            body["reg_no"] = reg_no
        self._customer_extras(body, external_reference, emails, ledger_account_number)
        return CreatedCustomer.from_api(await self.request("POST", "/company_customers", body=body))

    @staticmethod
    def _customer_extras(
        body: dict[str, Any], external_reference: str | None, emails: Sequence[str], number: str | None
    ) -> None:
        if external_reference is not None:
            body["external_reference"] = external_reference
        if emails:
            body["emails"] = list(emails)
        if number is not None:
            body["ledger_account"] = {"number": number}

    async def create_ledger_entry(self, entry: LedgerEntryRequest) -> PostedEntry:
        """Post one entry; the new entry's id and its lines' ids.

        Not idempotent: on :class:`UnknownOutcomeError` look the ``piece_number`` up with
        :meth:`list_ledger_entries` before posting again.
        """
        return PostedEntry.from_api(await self.request("POST", "/ledger_entries", body=entry.body()))

    async def get_ledger_entry(self, entry_id: int) -> PostedEntry:
        """An entry and its lines' ids, read back (after an unknown outcome, or when they were not kept)."""
        return PostedEntry.from_api(await self.request("GET", f"/ledger_entries/{int(entry_id)}"))

    async def letter_lines(self, line_ids: Iterable[int]) -> list[int]:
        """Letter lines of one account together (strategy ``none``: Pennylane refuses an unbalanced group with a
        422); a line already lettered brings its group, so lettering the same lines again changes nothing.
        Returns the ids of the group's lines."""
        body = {"unbalanced_lettering_strategy": "none", "ledger_entry_lines": [{"id": int(i)} for i in line_ids]}
        group = await self.request("POST", "/ledger_entry_lines/lettering", body=body)
        return [int(item["id"]) for item in group or ()]

    async def list_ledger_entries(self, journal_id: int, date: datetime.date | str) -> list[dict[str, Any]]:
        """All entries of a journal on a date (every page), each with its ``piece_number``."""
        filters = [("journal_id", "eq", str(int(journal_id))), ("date", "eq", str(date))]
        return [item async for item in self.paginate("/ledger_entries", filters=filters)]


def _lookups(values: list[str]) -> Iterator[list[str]]:
    """``values`` cut into lists of ``VALUES_PER_LOOKUP`` and ``LOOKUP_CHARACTERS`` (URL-encoded) at most."""
    chunk: list[str] = []
    size = 0
    for value in values:
        cost = len(quote(json.dumps(value))) + 3  # the encoded comma
        if chunk and (len(chunk) == VALUES_PER_LOOKUP or size + cost > LOOKUP_CHARACTERS):
            yield chunk
            chunk, size = [], 0
        chunk.append(value)
        size += cost
    if chunk:
        yield chunk
