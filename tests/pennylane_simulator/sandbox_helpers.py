"""Helpers for the simulator's tests: a fake clock, an ``Api`` caller that checks every JSON answer against
the spec when it is present, and a balanced entry body."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pennylane_spec

from outboxd.pennylane_simulator import Company, SandboxHandle

CLIENT_ID = "outboxd-test"
CLIENT_SECRET = "sandbox-secret-for-tests"
REDIRECT_URI = "http://127.0.0.1:9/callback"
START = dt.datetime(2026, 3, 15, 12, 0, tzinfo=dt.UTC).timestamp()


class FakeClock:
    """Unix seconds that move only when a test says so."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def is_guide_shape(status: int, body: Any) -> bool:
    """The 422 shape of Pennylane's guide, which the spec does not list; the simulator uses it on purpose."""
    return (status == 422 and isinstance(body, dict) and set(body) == {"error", "message", "details"}
            and isinstance(body["details"], dict))


def check_against_spec(method: str, path: str, status: int, body: Any) -> None:
    """Raise jsonschema.ValidationError unless ``body`` is what the spec documents (or the guide's 422).

    The spec documents no 5xx: those must at least take the spec's common error shape.
    """
    if status >= 500:
        assert isinstance(body, dict), body
        assert body == {"error": body.get("error"), "status": status}, body
    elif not is_guide_shape(status, body):
        pennylane_spec.validate_response(method, path.split("?", 1)[0], status, body)


class Api:
    """A Bearer-authenticated caller of the simulated API that remembers every answer and, when the spec
    file is present, validates each JSON body against the documented response schema."""

    def __init__(self, session: aiohttp.ClientSession, handle: SandboxHandle, token: str) -> None:
        self.session, self.handle, self.token = session, handle, token
        self.seen: list[tuple[str, str, int, Any]] = []

    async def call(self, method: str, path: str, *, json: Any = None, params: dict[str, str] | None = None,
                   token: str | None = None) -> tuple[int, Any, aiohttp.ClientResponse]:
        headers = {"X-Use-2026-API-Changes": "true"}
        if (token if token is not None else self.token):
            headers["Authorization"] = f"Bearer {token if token is not None else self.token}"
        async with self.session.request(method, self.handle.api_url + path, json=json, params=params,
                                        headers=headers) as response:
            text = await response.text()
            body = await response.json() if response.content_type == "application/json" else text
        self.seen.append((method, path, response.status, body))
        if pennylane_spec.SPEC_PATH.is_file() and response.content_type == "application/json":
            check_against_spec(method, path, response.status, body)
        return response.status, body, response

    async def get(self, path: str, **kwargs: Any) -> tuple[int, Any]:
        status, body, _ = await self.call("GET", path, **kwargs)
        return status, body

    async def post(self, path: str, body: Any, **kwargs: Any) -> tuple[int, Any]:
        status, body, _ = await self.call("POST", path, json=body, **kwargs)
        return status, body

def entry_body(company: Company, *, date: str = "2026-03-14", amount: str = "12.00", journal: str = "VT",
               piece_number: str = "KC-1-0001", **extra: Any) -> dict[str, Any]:
    """A balanced two-line entry: D 530000 / C 707000."""
    return {
        "date": date, "label": f"Ticket {piece_number}", "journal_id": company.journal_codes[journal],
        "piece_number": piece_number,
        "ledger_entry_lines": [
            {"debit": amount, "credit": "0.00", "ledger_account_id": company.account_numbers["530000"]},
            {"debit": "0.00", "credit": amount, "ledger_account_id": company.account_numbers["707000"]},
        ],
        **extra,
    }


async def exchange(session: aiohttp.ClientSession, url: str, **form: str) -> tuple[int, dict[str, object]]:
    """A POST to the token or revoke endpoint as the test OAuth app."""
    data = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **form}
    async with session.post(url, data=data) as response:
        return response.status, await response.json()


def code_of(redirect: str) -> str:
    return parse_qs(urlsplit(redirect).query)["code"][0]
