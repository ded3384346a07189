"""What Pennylane refuses, and how it says so: every case the bridge must classify correctly."""

from __future__ import annotations

from typing import Any

import pytest
from sandbox_helpers import Api, entry_body

from outboxd.pennylane_simulator import Company


async def test_a_balanced_entry_is_stored_with_its_piece_number(api: Api, company: Company) -> None:
    status, body = await api.post("/ledger_entries", entry_body(company, amount="19.99"))
    assert status == 201
    assert body["piece_number"] == "KC-1-0001"
    assert [(line["debit"], line["credit"]) for line in body["ledger_entry_lines"]] == [("19.99", "0.00"),
                                                                                       ("0.00", "19.99")]
    assert api.handle.sandbox.trial_balance(company.id) == {"530000": (1999, 0), "707000": (0, 1999)}
    status, read = await api.get(f"/ledger_entries/{body['id']}")
    assert (status, read["ledger_entry_lines"][0]["ledger_account"]["number"]) == (200, "530000")


async def test_unbalanced_lines_answer_the_documented_422(api: Api, company: Company) -> None:
    body = entry_body(company)
    body["ledger_entry_lines"][1]["credit"] = "11.99"
    assert await api.post("/ledger_entries", body) == (422, {"error": "Entry lines are not balanced", "status": 422})
    assert api.handle.sandbox.entries(company.id) == []


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        (lambda b: b["ledger_entry_lines"][0].update(debit=12.0), "ledger_entry_lines[0].debit", "ValidateError"),
        (lambda b: b.update(reference="x"), "reference", "NotExistPropertyDefinition"),
        (lambda b: b["ledger_entry_lines"][0].pop("credit"), "ledger_entry_lines[0].credit", "NotExistRequiredKey"),
        (lambda b: b.pop("label"), "label", "NotExistRequiredKey"),
        (lambda b: b.update(ledger_entry_lines=[]), "ledger_entry_lines", "LessThanMinItems"),
        (lambda b: b.update(ledger_entry_lines=b["ledger_entry_lines"] * 501), "ledger_entry_lines",
         "MoreThanMaxItems"),
        (lambda b: b.update(date="14/03/2026"), "date", "InvalidDateFormat"),
        (lambda b: b.update(journal_id="12"), "journal_id", "ValidateError"),
    ],
    ids=["float-amount", "unknown-key", "missing-credit", "missing-label", "no-lines", "1002-lines", "bad-date",
         "string-journal-id"],
)
async def test_schema_violations_are_400_naming_the_field(
    api: Api, company: Company, change: Any, field: str, code: str
) -> None:
    body = entry_body(company)
    change(body)
    status, answer = await api.post("/ledger_entries", body)
    assert status == 400
    assert (answer["field"], answer["code"]) == (field, code)


def freeze_the_entry_year(body: dict[str, Any], company: Company) -> None:
    """The open year holding the entry's date, frozen (as while its closing is prepared): nothing is booked in it."""
    year = company.open_year_for(body["date"])
    assert year is not None
    year.status = "frozen"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda b, c: b["ledger_entry_lines"][0].update(debit="12.001"), "at most 2 decimals"),
        (lambda b, c: b["ledger_entry_lines"][0].update(debit="-12.00"), "positive"),
        (lambda b, c: b.update(journal_id=1), "Journal 1 not found"),
        (lambda b, c: b["ledger_entry_lines"][0].update(ledger_account_id=1), "Ledger account 1 not found"),
        (lambda b, c: b.update(date="2025-12-31"), "not in an open fiscal year"),
        (freeze_the_entry_year, "not in an open fiscal year"),
        (lambda b, c: b.update(date="2027-01-01"), "not in an open fiscal year"),
    ],
    ids=["3-decimals", "negative", "unknown-journal", "unknown-account", "closed-year", "frozen-year", "no-year"],
)
async def test_business_rules_are_422(api: Api, company: Company, change: Any, words: str) -> None:
    body = entry_body(company)
    change(body, company)
    status, answer = await api.post("/ledger_entries", body)
    assert status == 422
    assert words in answer["error"]


async def test_accounts_of_another_company_do_not_exist_here(api: Api, company: Company) -> None:
    other = api.handle.sandbox.add_company("Cave Durand")
    body = entry_body(company)
    body["journal_id"] = other.journal_codes["VT"]
    assert (await api.post("/ledger_entries", body))[0] == 422


@pytest.mark.parametrize("code", ["A", "ABCDEF", "K1", "VT", "vt"])
async def test_journal_codes_are_2_to_5_letters_and_unique(api: Api, code: str) -> None:
    status, body = await api.post("/journals", {"code": code, "label": "Caisse 1"})
    assert status == 422
    assert body["status"] == 422


async def test_journal_creation(api: Api) -> None:
    status, body = await api.post("/journals", {"code": "KCA", "label": "Caisse A"})
    assert (status, body["code"], body["label"]) == (201, "KCA", "Caisse A")


async def test_ledger_accounts_vat_rate_enum_unique_number_and_411_customer(api: Api, company: Company) -> None:
    status, body = await api.post("/ledger_accounts", {"number": "44571200", "label": "TVA 20", "vat_rate": "FR_20"})
    assert (status, body["field"], body["code"]) == (400, "vat_rate", "NotEnumInclude")
    status, body = await api.post("/ledger_accounts", {"number": "44571200", "label": "TVA 20", "vat_rate": "FR_200"})
    assert (status, body["vat_rate"]) == (201, "FR_200")
    assert (await api.post("/ledger_accounts", {"number": "44571200", "label": "again"}))[0] == 422
    status, body = await api.post("/ledger_accounts", {"number": "TVA", "label": "letters"})
    assert (status, body["error"], body["details"]) == (422, "unprocessable_entity", {"number": ["is invalid"]})
    customers = len(company.customers)
    assert (await api.post("/ledger_accounts", {"number": "4119999", "label": "Client Dupont"}))[0] == 201
    assert len(company.customers) == customers + 1


def address() -> dict[str, str]:
    return {"address": "1 rue de la Paix", "postal_code": "75002", "city": "Paris", "country_alpha2": "FR"}


async def test_customers_get_sequential_411_accounts_and_unique_external_references(api: Api) -> None:
    first = {"first_name": "Marie", "last_name": "Dupont", "billing_address": address(),
             "external_reference": "kashclick:s1:c1"}
    status, created = await api.post("/individual_customers", first)
    assert status == 201
    _, account = await api.get(f"/ledger_accounts/{created['ledger_account']['id']}")
    status, second = await api.post("/company_customers", {"name": "SARL Dupont", "billing_address": address(),
                                                           "external_reference": "kashclick:s1:c2"})
    _, account2 = await api.get(f"/ledger_accounts/{second['ledger_account']['id']}")
    assert (account["number"], account2["number"]) == ("4110001", "4110002")
    status, body = await api.post("/individual_customers", first)
    assert (status, body["status"]) == (409, 409)
    flt = '[{"field":"external_reference","operator":"eq","value":"kashclick:s1:c1"}]'
    status, found = await api.get("/customers", params={"filter": flt})
    assert [(c["id"], c["customer_type"]) for c in found["items"]] == [(created["id"], "individual")]


async def test_ledger_entries_cannot_be_filtered_on_piece_number(api: Api) -> None:
    flt = '[{"field":"piece_number","operator":"eq","value":"KC-1"}]'
    status, body = await api.get("/ledger_entries", params={"filter": flt})
    assert (status, body["field"]) == (400, "filter")


async def test_unknown_ids_are_404(api: Api) -> None:
    assert (await api.get("/ledger_entries/1"))[0] == 404
    assert (await api.get("/ledger_accounts/nope"))[0] == 404


async def test_a_name_longer_than_the_spec_allows_is_a_422(api: Api) -> None:
    body = {"first_name": "Marie", "last_name": "D" * 1001, "billing_address": address(),
            "external_reference": "kashclick:s1:long"}
    status, answer = await api.post("/individual_customers", body)
    assert (status, answer["details"]) == (422, {"last_name": ["is too long (maximum is 1000 characters)"]})
    body["last_name"] = "D" * 1000
    assert (await api.post("/individual_customers", body))[0] == 201
