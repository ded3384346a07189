"""Cursor pagination as the 2026 API does it: newest first, limit bounds, and a filter the cursor forgets."""

from __future__ import annotations

import json

from sandbox_helpers import Api, entry_body

from outboxd.pennylane_simulator import Company


def flt(*items: tuple[str, str, object]) -> str:
    return json.dumps([{"field": f, "operator": o, "value": v} for f, o, v in items])


async def test_pages_need_the_filter_sent_again(api: Api, company: Company) -> None:
    api.handle.sandbox.limiter.enabled = False
    for n in range(25):
        assert (await api.post("/ledger_entries", entry_body(company, piece_number=f"KC-{n:03d}")))[0] == 201
    for n in range(5):
        await api.post("/ledger_entries", entry_body(company, journal="OD", piece_number=f"OD-{n}"))
    journal_filter = flt(("journal_id", "eq", company.journal_codes["VT"]), ("date", "eq", "2026-03-14"))
    seen: list[str] = []
    cursor = ""
    pages = 0
    while True:
        params = {"filter": journal_filter, "limit": "10", **({"cursor": cursor} if cursor else {})}
        status, body = await api.get("/ledger_entries", params=params)
        assert status == 200
        seen += [item["piece_number"] for item in body["items"]]
        pages += 1
        if not body["has_more"]:
            assert body["next_cursor"] is None
            break
        cursor = body["next_cursor"]
    assert pages == 3
    assert seen == [f"KC-{n:03d}" for n in reversed(range(25))]  # newest first
    _, newest = await api.get("/ledger_entries", params={"limit": "10"})
    assert [item["piece_number"] for item in newest["items"][:5]] == [f"OD-{n}" for n in reversed(range(5))]


async def test_cursor_without_filter_leaks_other_journals(api: Api, company: Company) -> None:
    for n in range(3):
        await api.post("/ledger_entries", entry_body(company, piece_number=f"KC-{n}"))
        await api.post("/ledger_entries", entry_body(company, journal="OD", piece_number=f"OD-{n}"))
    journal_filter = flt(("journal_id", "eq", company.journal_codes["VT"]))
    _, first = await api.get("/ledger_entries", params={"filter": journal_filter, "limit": "1"})
    assert [item["piece_number"] for item in first["items"]] == ["KC-2"]
    _, forgot = await api.get("/ledger_entries", params={"limit": "100", "cursor": first["next_cursor"]})
    assert "OD-1" in [item["piece_number"] for item in forgot["items"]]
    _, kept = await api.get("/ledger_entries", params={"filter": journal_filter, "limit": "100",
                                                       "cursor": first["next_cursor"]})
    assert [item["piece_number"] for item in kept["items"]] == ["KC-1", "KC-0"]


async def test_limit_bounds_and_sort(api: Api, company: Company) -> None:
    assert (await api.get("/journals", params={"limit": "0"}))[0] == 400
    assert (await api.get("/journals", params={"limit": "101"}))[0] == 400
    assert (await api.get("/ledger_accounts", params={"limit": "1000"}))[0] == 200
    assert (await api.get("/ledger_accounts", params={"limit": "1001"}))[0] == 400
    assert (await api.get("/journals", params={"cursor": "garbage"}))[0] == 400
    _, ascending = await api.get("/journals", params={"sort": "id"})
    ids = [item["id"] for item in ascending["items"]]
    assert ids == sorted(ids)
    _, default = await api.get("/journals")
    assert [item["id"] for item in default["items"]] == sorted(ids, reverse=True)


async def test_ledger_account_filters(api: Api) -> None:
    _, eq = await api.get("/ledger_accounts", params={"filter": flt(("number", "eq", "512000"))})
    assert [a["number"] for a in eq["items"]] == ["512000"]
    _, prefix = await api.get("/ledger_accounts", params={"filter": flt(("number", "start_with", "70"))})
    assert sorted(a["number"] for a in prefix["items"]) == ["706000", "707000"]
    _, many = await api.get("/ledger_accounts", params={"filter": flt(("number", "in", ["411000", "530000", "9"]))})
    assert sorted(a["number"] for a in many["items"]) == ["411000", "530000"]
    assert (await api.get("/ledger_accounts", params={"filter": flt(("number", "gt", "5"))}))[0] == 400
    assert (await api.get("/ledger_accounts", params={"filter": "not json"}))[0] == 400
