"""Injected faults reach the client as the real ones do; the inspection endpoints show what was stored."""

from __future__ import annotations

import json
import time

import aiohttp
import pytest
from sandbox_helpers import Api, entry_body

from outboxd.pennylane_simulator import Company, Faults


async def test_drop_after_commit_stores_the_entry_and_gives_no_answer(api: Api, company: Company) -> None:
    api.handle.sandbox.faults.drop_after_commit = 1.0
    with pytest.raises(aiohttp.ClientConnectionError):
        await api.post("/ledger_entries", entry_body(company, piece_number="KC-7-0042"))
    api.handle.sandbox.faults.drop_after_commit = 0.0
    flt = json.dumps([{"field": "journal_id", "operator": "eq", "value": company.journal_codes["VT"]},
                      {"field": "date", "operator": "eq", "value": "2026-03-14"}])
    status, found = await api.get("/ledger_entries", params={"filter": flt})
    assert status == 200
    assert [item["piece_number"] for item in found["items"]] == ["KC-7-0042"]
    assert (await api.get("/me"))[0] == 200  # GETs are never dropped, and the server keeps serving


async def test_fail_rate_answers_503_before_processing(api: Api, company: Company) -> None:
    api.handle.sandbox.faults.fail_rate = 1.0
    status, body = await api.post("/ledger_entries", entry_body(company))
    assert (status, body["status"]) == (503, 503)
    assert api.handle.sandbox.entries(company.id) == []


async def test_latency_is_added(api: Api) -> None:
    api.handle.sandbox.faults.latency_ms = 60
    started = time.perf_counter()
    await api.get("/me")
    assert time.perf_counter() - started >= 0.06


def test_the_seed_makes_faulty_runs_reproducible() -> None:
    first, second = Faults(fail_rate=0.3, seed=7), Faults(fail_rate=0.3, seed=7)
    draws = [first.should_fail() for _ in range(50)]
    assert draws == [second.should_fail() for _ in range(50)]
    assert 5 < sum(draws) < 30
    second.update(seed=7)
    assert draws == [second.should_fail() for _ in range(50)]


async def test_faults_endpoint_changes_knobs_and_refuses_unknown_ones(api: Api) -> None:
    url = api.handle.base_url + "/_sandbox/faults"
    async with api.session.post(url, json={"fail_rate": 0.25, "latency_ms": 5, "seed": 3}) as answer:
        assert answer.status == 200
    faults = api.handle.sandbox.faults
    assert (faults.fail_rate, faults.latency_ms, faults.seed) == (0.25, 5, 3)
    async with api.session.post(url, json={"fail_rat": 1}) as answer:
        assert answer.status == 400
        assert "fail_rat" in (await answer.json())["error"]
    async with api.session.post(url, json={"latency_ms": "slow"}) as answer:
        assert answer.status == 400
    async with api.session.get(url) as answer:
        assert (await answer.json())["fail_rate"] == 0.25


async def test_inspection_shows_entries_trial_balance_and_stats(api: Api, company: Company) -> None:
    await api.post("/ledger_entries", entry_body(company, amount="50.08"))
    base = api.handle.base_url + "/_sandbox"
    async with api.session.get(f"{base}/companies") as answer:
        companies = await answer.json()
    assert [(c["id"], c["entries"]) for c in companies] == [(company.id, 1)]
    async with api.session.get(f"{base}/companies/{company.id}/entries") as answer:
        entries = await answer.json()
    assert entries[0]["journal"] == "VT"
    assert entries[0]["lines"][0] == {"account": "530000", "label": "Ticket KC-1-0001", "debit": "50.08",
                                      "credit": "0.00"}
    async with api.session.get(f"{base}/companies/{company.id}/trial_balance") as answer:
        balance = await answer.json()
    assert balance["accounts"]["707000"] == {"debit": "0.00", "credit": "50.08"}
    assert balance["balanced"] is True
    async with api.session.get(f"{base}/stats") as answer:
        stats = await answer.json()
    assert (stats["requests"], stats["throttled"], stats["entries"]) == (1, 0, 1)
    assert stats["tokens"][0]["company_id"] == company.id
    async with api.session.get(f"{base}/companies/999/entries") as answer:
        assert answer.status == 404
