"""The JSON each resource takes in Pennylane's answers, key for key as the spec's response schemas say.

Pennylane shapes one entry three ways (created, read, listed); keeping them here makes the contract
tests point at one module when the spec moves. ``base`` is the API root URL, for the ``url`` fields.
"""

from __future__ import annotations

from typing import Any

from outboxd.money import format_cents
from outboxd.pennylane_simulator.model import Company, Customer, Entry, FiscalYear, Journal, LedgerAccount

__all__ = [
    "account_body",
    "customer_body",
    "entry_created",
    "entry_item",
    "entry_read",
    "fiscal_year_body",
    "journal_body",
]


def fiscal_year_body(year: FiscalYear) -> dict[str, Any]:
    return {"id": year.id, "start": year.start, "finish": year.finish, "status": year.status,
            "created_at": year.created_at, "updated_at": year.created_at}


def journal_body(journal: Journal) -> dict[str, Any]:
    return {"id": journal.id, "code": journal.code, "label": journal.label, "type": journal.type}


def account_body(account: LedgerAccount) -> dict[str, Any]:
    return {
        "id": account.id, "number": account.number, "label": account.label, "vat_rate": account.vat_rate,
        "country_alpha2": account.country_alpha2, "enabled": True, "type": _account_type(account.number),
        "letterable": account.number.startswith(("401", "411")),
        "created_at": account.created_at, "updated_at": account.created_at,
    }


def _account_type(number: str) -> str:
    if number.startswith("411"):
        return "customer"
    if number.startswith("401"):
        return "supplier"
    return "general"


def customer_body(customer: Customer, base: str, *, with_type: bool) -> dict[str, Any]:
    """``with_type``: list items carry ``customer_type``, creation answers do not."""
    fields = customer.fields
    address = fields.get("billing_address") or {"address": "", "postal_code": "", "city": "", "country_alpha2": "FR"}
    body: dict[str, Any] = {
        "id": customer.id, "name": customer.name,
        "billing_iban": fields.get("billing_iban"), "payment_conditions": fields.get("payment_conditions", "30_days"),
        "recipient": fields.get("recipient", ""), "phone": fields.get("phone", ""),
        "reference": fields.get("reference"), "notes": fields.get("notes"),
    }
    if customer.kind == "individual":
        body.update(first_name=customer.first_name, last_name=customer.last_name)
    else:
        body.update(vat_number=fields.get("vat_number", ""), reg_no=fields.get("reg_no", ""))
    url = f"{base}/customers/{customer.id}"
    body.update(
        ledger_account={"id": customer.ledger_account_id}, emails=list(fields.get("emails", [])),
        billing_address=address, delivery_address=fields.get("delivery_address") or address,
        created_at=customer.created_at, updated_at=customer.created_at,
        external_reference=customer.external_reference,
        billing_language=fields.get("billing_language", "fr_FR"),
        mandates={"url": f"{url}/mandates"}, pro_account_mandates={"url": f"{url}/pro_account_mandates"},
        contacts={"url": f"{url}/contacts"},
    )
    if with_type:
        body["customer_type"] = customer.kind
    return body


def _common(entry: Entry, base: str) -> dict[str, Any]:
    return {
        "id": entry.id, "label": entry.label, "piece_number": entry.piece_number, "date": entry.date,
        "due_date": entry.due_date, "invoice_number": None,
        "journal": {"id": entry.journal_id, "url": f"{base}/journals/{entry.journal_id}"},
        "categories": [], "attachment": None,
    }


def _lines(entry: Entry, company: Company, base: str, *, with_account_id: bool) -> list[dict[str, Any]]:
    lines = []
    for line in entry.lines:
        number = company.accounts[line.ledger_account_id].number
        body: dict[str, Any] = {"id": line.id, "debit": format_cents(line.debit), "credit": format_cents(line.credit)}
        if with_account_id:
            body["ledger_account_id"] = line.ledger_account_id
        body["ledger_account"] = {"id": line.ledger_account_id, "number": number,
                                  "url": f"{base}/ledger_accounts/{line.ledger_account_id}"}
        body["label"] = line.label
        lines.append(body)
    return lines


def entry_created(entry: Entry, company: Company, base: str) -> dict[str, Any]:
    """The 201 of ``POST /ledger_entries``."""
    return {**_common(entry, base), "journal_id": entry.journal_id, "ledger_attachment_filename": None,
            "ledger_attachment_id": None,
            "ledger_entry_lines": _lines(entry, company, base, with_account_id=True)}


def entry_read(entry: Entry, company: Company, base: str) -> dict[str, Any]:
    """The 200 of ``GET /ledger_entries/{id}``."""
    return {**_common(entry, base), "created_at": entry.created_at, "updated_at": entry.created_at,
            "ledger_entry_lines": _lines(entry, company, base, with_account_id=False)}


def entry_item(entry: Entry, base: str) -> dict[str, Any]:
    """One item of ``GET /ledger_entries``: no lines, but ``piece_number`` (what the bridge looks for)."""
    return {**_common(entry, base), "created_at": entry.created_at, "updated_at": entry.created_at,
            "journal_id": entry.journal_id, "ledger_attachment_filename": None}
