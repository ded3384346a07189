"""The typed body of ``POST /ledger_entries``: what Pennylane's spec accepts, and nothing that cannot balance."""

from __future__ import annotations

import datetime

import pytest
from pennylane_spec import request_schema, require_spec, validate_request

from outboxd.exceptions import BookingError
from outboxd.pennylane import MAX_LINES, LedgerEntryLine, LedgerEntryRequest

DAY = datetime.date(2026, 3, 14)


def entry(*lines: LedgerEntryLine, label: str = "Ticket T-1") -> LedgerEntryRequest:
    return LedgerEntryRequest(DAY, label, 7, "KC-1-0001", "EUR", lines)


def test_the_body_is_one_the_spec_accepts_with_amounts_from_cents() -> None:
    require_spec()
    body = entry(LedgerEntryLine(11, 1250, 0, "Caisse"), LedgerEntryLine(12, 0, 1250, "Ventes")).body()
    validate_request("POST", "/ledger_entries", body)
    assert body == {
        "date": "2026-03-14",
        "label": "Ticket T-1",
        "journal_id": 7,
        "piece_number": "KC-1-0001",
        "currency": "EUR",
        "ledger_entry_lines": [
            {"debit": "12.50", "credit": "0.00", "ledger_account_id": 11, "label": "Caisse"},
            {"debit": "0.00", "credit": "12.50", "ledger_account_id": 12, "label": "Ventes"},
        ],
    }


def test_the_body_holds_only_fields_the_spec_names() -> None:
    """Pennylane refuses any other field (``additionalProperties: false``, on the entry and on each line)."""
    schema = request_schema("POST", "/ledger_entries") if require_spec() else {}
    line_schema = schema["properties"]["ledger_entry_lines"]["items"]
    assert (schema["additionalProperties"], line_schema["additionalProperties"]) == (False, False)
    body = entry(LedgerEntryLine(11, 5, 0, ""), LedgerEntryLine(12, 0, 5, "")).body()
    assert set(body) <= set(schema["properties"])
    assert set(body["ledger_entry_lines"][0]) <= set(line_schema["properties"])


def test_labels_leave_cleaned_and_cut() -> None:
    body = entry(
        LedgerEntryLine(11, 5, 0, "Marie\x1b[31m  Dupont"), LedgerEntryLine(12, 0, 5, ""), label="x" * 300
    ).body()
    assert body["ledger_entry_lines"][0]["label"] == "Marie [31m Dupont"
    assert len(body["label"]) == 250
    assert body["label"].endswith("…")


@pytest.mark.parametrize(
    "lines",
    [
        (LedgerEntryLine(11, 100, 0, ""), LedgerEntryLine(12, 0, 99, "")),  # unbalanced
        (LedgerEntryLine(11, -100, 0, ""), LedgerEntryLine(12, 0, -100, "")),  # negative
        (),  # no line
        (LedgerEntryLine(11, 1, 0, ""),) * (MAX_LINES + 1) + (LedgerEntryLine(12, 0, MAX_LINES + 1, ""),),
    ],
    ids=["unbalanced", "negative", "empty", "too-many-lines"],
)
def test_an_entry_that_cannot_balance_or_be_sent_is_refused(lines: tuple[LedgerEntryLine, ...]) -> None:
    with pytest.raises(BookingError, match="cannot be sent to Pennylane"):
        entry(*lines)
