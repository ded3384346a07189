"""ACCOUNTING.md's worked example, to the cent: ticket T-000482, its two payments and the closing's cash gap."""

from __future__ import annotations

import dataclasses

import pytest
from pennylane_spec import require_spec, validate_request
from rules_builders import DAY, MARIE, event, payment, render, worked_closing, worked_order

from outboxd.delivery.deliver import ledger_entry
from outboxd.rules import (
    CustomerAccount,
    Entry,
    EntryLine,
    LedgerAccount,
    OrderCustomerAccount,
    ShopMapping,
    book,
    z_control,
)

ACCOUNT = LedgerAccount("471000", "test")
EXPECTED_ORDER = [
    ["customer kashclick:boutique-1:c-77", "50.08", "0.00", "Ticket T-000482 Marie Dupont"],
    ["707200", "0.00", "22.72", "Ventes de marchandises 20 %"],
    ["707055", "0.00", "10.86", "Ventes de marchandises 5,5 %"],
    ["706100", "0.00", "10.33", "Prestations de services 10 %"],
    ["44571200", "0.00", "4.54", "TVA collectée 20 %"],
    ["44571055", "0.00", "0.60", "TVA collectée 5,5 %"],
    ["44571100", "0.00", "1.03", "TVA collectée 10 %"],
]


@pytest.mark.parametrize("breakdown", [True, False], ids=["printed-breakdown", "computed"])
def test_order_books_the_worked_example(mapping: ShopMapping, breakdown: bool) -> None:
    booking = render(book(event(worked_order(breakdown=breakdown)), mapping))
    [entry] = booking["entries"]
    assert entry["lines"] == EXPECTED_ORDER
    assert entry["piece_number"] == "T-000482-r1"
    assert entry["date"] == "2026-03-14"
    assert booking["journals"] == [["r1", "CAIA", "Caisse Kash.Click - Caisse 1"]]


def test_order_customer_is_found_by_external_reference(mapping: ShopMapping) -> None:
    entry = book(event(worked_order()), mapping).entries[0]
    assert entry.lines[0].account == CustomerAccount("kashclick:boutique-1:c-77", MARIE)


def test_payments_book_on_the_order_customer(mapping: ShopMapping) -> None:
    card = render(book(event(payment("p-9981", "cb", 3000)), mapping))["entries"]
    cash = render(book(event(payment("p-9982", "cash", 2008)), mapping))["entries"]
    assert [line[:3] for line in card[0]["lines"]] == [["5115", "30.00", "0.00"], ["order o-10452", "0.00", "30.00"]]
    assert [line[:3] for line in cash[0]["lines"]] == [["5301", "20.08", "0.00"], ["order o-10452", "0.00", "20.08"]]
    assert card[0]["piece_number"] == "PAY-p-9981"
    assert book(event(payment("p-1", "cb", 3000)), mapping).entries[0].lines[1].account == OrderCustomerAccount(
        "o-10452"
    )


def test_closing_books_the_shortage(mapping: ShopMapping) -> None:
    entries = render(book(event(worked_closing()), mapping))["entries"]
    assert [e["piece_number"] for e in entries] == ["Z452-r1", "Z452-r1-ECART-cash"]
    assert [line[:3] for line in entries[1]["lines"]] == [["658000", "2.30", "0.00"], ["5301", "0.00", "2.30"]]
    assert [line[:3] for line in entries[0]["lines"]] == [["580000", "1234.50", "0.00"], ["580000", "0.00", "1234.50"]]


def test_closing_surplus_debits_the_method(mapping: ShopMapping) -> None:
    closing = worked_closing()
    receipt = dataclasses.replace(closing.receipts[0], counted=57100)
    booking = book(event(dataclasses.replace(closing, receipts=(receipt,))), mapping)
    lines = render(booking)["entries"][1]["lines"]
    assert [line[:3] for line in lines] == [["5301", "0.50", "0.00"], ["758000", "0.00", "0.50"]]


def test_closing_global_entry_can_be_switched_off(mapping: ShopMapping) -> None:
    booking = book(event(worked_closing()), dataclasses.replace(mapping, closing_entry=False))
    assert [e.piece_number for e in booking.entries] == ["Z452-r1-ECART-cash"]
    assert "mapping.closing.global_entry" in booking.notes[0]


def test_z_control_compares_delivered_payments_with_expected() -> None:
    control = z_control(worked_closing(), {"cash": 57050, "cb": 66000, "chq": 1500}, 123450)
    assert [(r.method_id, r.expected, r.delivered, r.difference) for r in control.rows] == [
        ("cash", 57050, 57050, 0),
        ("cb", 66400, 66000, -400),
        ("chq", 0, 1500, 1500),
    ]
    assert control.sales.difference == 0
    assert control.differs


def test_z_control_compares_the_sales_total_with_the_tickets_booked() -> None:
    control = z_control(worked_closing(), {"cash": 57050, "cb": 66400}, 123050)
    assert (control.sales.method_id, control.sales.expected, control.sales.delivered) == (
        "sales_total_incl_tax", 123450, 123050,
    )  # fmt: skip
    assert control.sales.difference == -400
    assert control.differs
    assert not z_control(worked_closing(), {"cash": 57050, "cb": 66400}, 123450).differs


def test_the_ticket_leaves_as_a_body_pennylanes_spec_accepts(mapping: ShopMapping) -> None:
    require_spec()
    entry = book(event(worked_order()), mapping).entries[0]
    ids = {line.account: number for number, line in enumerate(entry.lines, start=100)}
    body = ledger_entry(entry, 7, ids).body()
    validate_request("POST", "/ledger_entries", body)
    assert (body["journal_id"], body["piece_number"], body["date"]) == (7, entry.piece_number, DAY.isoformat())
    wire = body["ledger_entry_lines"]
    assert wire[0] == {"debit": "50.08", "credit": "0.00", "ledger_account_id": 100, "label": entry.label}
    assert wire[4] == {"debit": "0.00", "credit": "4.54", "ledger_account_id": 104, "label": "TVA collectée 20 %"}


@pytest.mark.parametrize(
    "lines",
    [
        ((ACCOUNT, 100, 0), (ACCOUNT, 0, 99)),  # unbalanced
        ((ACCOUNT, 100, 100), (ACCOUNT, 0, 0)),  # both sides on one line, then an empty line
        ((ACCOUNT, -100, 0), (ACCOUNT, 0, -100)),  # negative amounts
        (),  # no line at all
    ],
)
def test_an_unsound_entry_cannot_be_built(lines: tuple[tuple[LedgerAccount, int, int], ...]) -> None:
    with pytest.raises(AssertionError):
        Entry("r1", DAY, "x", "X-1", "EUR", tuple(EntryLine(account, d, c, "x") for account, d, c in lines))
