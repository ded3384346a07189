"""Lettering in the simulator: lines of one account lettered together, balanced with strategy none, groups that
extend (so lettering again is harmless), unlettering, and the listing of a line's group; answers as the spec says."""

from __future__ import annotations

from typing import Any

from sandbox_helpers import Api

from outboxd.pennylane_simulator import Company

NONE = "none"


def _entry(company: Company, piece: str, debit_account: str, credit_account: str, amount: str) -> dict[str, Any]:
    return {"date": "2026-03-14", "label": piece, "journal_id": company.journal_codes["VT"], "piece_number": piece,
            "ledger_entry_lines": [
                {"debit": amount, "credit": "0.00", "ledger_account_id": company.account_numbers[debit_account]},
                {"debit": "0.00", "credit": amount, "ledger_account_id": company.account_numbers[credit_account]}]}


async def _customer_line(api: Api, company: Company, piece: str, debit: str, credit: str, amount: str) -> int:
    status, created = await api.post("/ledger_entries", _entry(company, piece, debit, credit, amount))
    assert status == 201, created
    customer = company.account_numbers["411000"]
    [line] = [ln["id"] for ln in created["ledger_entry_lines"] if ln["ledger_account_id"] == customer]
    return int(line)


def _body(*ids: int, strategy: str = NONE) -> dict[str, Any]:
    return {"unbalanced_lettering_strategy": strategy, "ledger_entry_lines": [{"id": i} for i in ids]}


async def test_a_ticket_and_its_split_payments_are_lettered_once_they_balance(api: Api, company: Company) -> None:
    company.add_account("411000", "Clients comptoir")
    ticket = await _customer_line(api, company, "T-1", "411000", "707000", "50.08")
    card = await _customer_line(api, company, "PAY-1", "530000", "411000", "30.00")
    cash = await _customer_line(api, company, "PAY-2", "530000", "411000", "20.08")

    status, body = await api.post("/ledger_entry_lines/lettering", _body(ticket, card))
    assert status == 422, body
    assert "not balanced" in body["error"]
    status, body = await api.post("/ledger_entry_lines/lettering", _body(ticket, card, cash))
    assert (status, sorted(item["id"] for item in body)) == (200, sorted([ticket, card, cash]))

    status, again = await api.post("/ledger_entry_lines/lettering", _body(ticket, cash))  # extends its own group
    assert (status, sorted(item["id"] for item in again)) == (200, sorted([ticket, card, cash]))
    status, listed = await api.get(f"/ledger_entry_lines/{card}/lettered_ledger_entry_lines")
    assert status == 200
    assert sorted(item["id"] for item in listed["items"]) == sorted([ticket, card, cash])
    assert listed["items"][0]["lettered_ledger_entry_lines"]["ids"] == sorted([ticket, card, cash])


async def test_what_cannot_be_lettered_and_unlettering(api: Api, company: Company) -> None:
    company.add_account("411000", "Clients comptoir")
    ticket = await _customer_line(api, company, "T-2", "411000", "707000", "10.00")
    paid = await _customer_line(api, company, "PAY-3", "530000", "411000", "4.00")
    status, created = await api.post("/ledger_entries", _entry(company, "T-3", "530000", "707000", "1.00"))
    other_account = created["ledger_entry_lines"][0]["id"]

    status, body = await api.post("/ledger_entry_lines/lettering", _body(ticket, other_account))
    assert status == 422, body
    status, body = await api.post("/ledger_entry_lines/lettering", _body(ticket, 999_999_999))
    assert status == 404, body
    status, body = await api.post("/ledger_entry_lines/lettering", _body(ticket))
    assert status == 400, body
    status, body = await api.post("/ledger_entry_lines/lettering", _body(ticket, paid, strategy="partial"))
    assert status == 200, body

    status, _, _ = await api.call("DELETE", "/ledger_entry_lines/lettering", json=_body(paid))
    assert status == 204
    status, listed = await api.get(f"/ledger_entry_lines/{ticket}/lettered_ledger_entry_lines")
    assert (status, listed["items"]) == (200, [])
