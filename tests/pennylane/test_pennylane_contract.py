"""Every request the client sends is one Pennylane's published spec accepts (bodies, filters, limits).

The client drives the real simulator with a recording trace; each recorded request is then checked against
the spec in ../shared/pennylane/ (skipped with a reason when the file is absent).
"""

from __future__ import annotations

import datetime
import json

import aiohttp
import pytest

from outboxd.pennylane import (
    Address,
    ApiTokenConnection,
    LedgerEntryLine,
    LedgerEntryRequest,
    PennylaneClient,
    RateLimiter,
    RecordingTrace,
)
from outboxd.pennylane_simulator import Sandbox, run_sandbox
from outboxd.secrets import Secret
from tests.pennylane_spec import operation, require_spec, validate_request


@pytest.fixture
async def recorded(session: aiohttp.ClientSession) -> RecordingTrace:
    """Exercise every client method once against the simulator; yield what went over the wire."""
    require_spec()
    sandbox = Sandbox(rate_limit=None)
    company = sandbox.add_company("Épicerie Lemoine")
    trace = RecordingTrace()
    async with run_sandbox(sandbox) as handle:
        connection = ApiTokenConnection(Secret(sandbox.issue_api_token(company.id)))
        api = PennylaneClient(session, handle.api_url, connection, RateLimiter(1000), trace=trace)
        await api.me()
        await api.fiscal_years()
        journal = await api.create_journal("KASH", "Kash.Click")
        await api.journals()
        account = await api.create_ledger_account("445713", "TVA 5,5 %", vat_rate="FR_55")
        await api.create_ledger_account("471000", "Attente")
        await api.find_ledger_account("445713")
        await api.get_ledger_account(account.id)
        address = Address("1 place du Marché", "69001", "Lyon")
        await api.find_customer("kash-c-1")
        await api.create_individual_customer(
            "Ana", "Lopes", address, external_reference="kash-c-1", emails=["ana@example.org"]
        )
        await api.create_company_customer(
            "SAS Cantine",
            address,
            external_reference="kash-c-2",
            vat_number="FR12345678901",
            reg_no="123456789",
            ledger_account_number="411CANT",
        )
        cash = await api.find_ledger_account("530000")
        assert cash is not None
        day = datetime.date(datetime.date.today().year, 5, 2)
        lines = (LedgerEntryLine(cash.id, 550, 0, "Caisse"), LedgerEntryLine(account.id, 0, 550, ""))
        await api.create_ledger_entry(LedgerEntryRequest(day, "Z de caisse", journal.id, "KC-9-0001", "EUR", lines))
        await api.list_ledger_entries(journal.id, day)
    return trace


async def test_every_request_body_matches_the_spec(recorded: RecordingTrace) -> None:
    posts = [e for e in recorded.exchanges if e.method == "POST"]
    assert {e.path for e in posts} == {
        "/journals",
        "/ledger_accounts",
        "/individual_customers",
        "/company_customers",
        "/ledger_entries",
    }
    for exchange in posts:
        validate_request("POST", exchange.path, json.loads(exchange.request_body))
        assert exchange.status == 201, exchange


async def test_every_filter_limit_and_sort_is_documented(recorded: RecordingTrace) -> None:
    gets = [e for e in recorded.exchanges if e.method == "GET" and e.query]
    assert gets
    for exchange in gets:
        params = {p["name"]: p for p in operation("GET", exchange.path).get("parameters", []) if "name" in p}
        query = json.loads(exchange.query)
        for name in query:
            assert name in params, f"{exchange.path} has no parameter {name}"
        limit = params["limit"]["schema"]
        assert limit.get("minimum", 1) <= int(query["limit"]) <= limit["maximum"]
        for condition in json.loads(query.get("filter", "[]")):
            description = params["filter"]["description"]
            line = next((ln for ln in description.splitlines() if f"`{condition['field']}`" in ln), "")
            assert condition["operator"] in line, f"{exchange.path}: filter {condition} not documented"
            assert isinstance(condition["value"], str)
