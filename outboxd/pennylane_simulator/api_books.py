"""Journals, chart of accounts and customers: what the bridge finds or creates before it books entries."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from aiohttp import web

from outboxd.pennylane_simulator.context import current, path_id
from outboxd.pennylane_simulator.listing import page, parse_query
from outboxd.pennylane_simulator.model import Company, LedgerAccount
from outboxd.pennylane_simulator.shapes import account_body, customer_body, journal_body
from outboxd.pennylane_simulator.validation import STR, Schema, check, detailed, error, read_json

__all__ = ["VAT_RATES", "add_routes"]

# The spec's enum for a ledger account's vat_rate (the French ones, the cross-border codes and the specials).
VAT_RATES = frozenset({
    "FR_1_05", "FR_1_75", "FR_09", "FR_21", "FR_40", "FR_50", "FR_55", "FR_60", "FR_65", "FR_85", "FR_92",
    "FR_100", "FR_130", "FR_15_385", "FR_160", "FR_196", "FR_200", "MC_09", "MC_21", "MC_55", "MC_85",
    "MC_100", "MC_200", "exempt", "intracom_21", "intracom_55", "intracom_85", "intracom_100", "crossborder",
    "extracom", "FR_85_construction", "FR_100_construction", "FR_200_construction", "any", "mixed",
    "AD_10", "AD_45", "AD_95", "AT_100", "AT_130", "AT_190", "AT_200", "BE_60", "BE_120", "BE_210", "BG_90",
    "BG_200", "CH_25", "CH_37", "CH_77", "CH_26", "CH_38", "CH_81", "CY_30", "CY_50", "CY_80", "CY_90",
    "CY_190", "CZ_100", "CZ_120", "CZ_150", "CZ_210", "DE_70", "DE_190", "DK_250", "EE_90", "EE_200",
    "EE_220", "EE_240", "ES_40", "ES_70", "ES_100", "ES_210", "FI_100", "FI_135", "FI_140", "FI_240",
    "FI_255", "GB_50", "GB_200", "GR_60", "GR_130", "GR_170", "GR_240", "GR_40", "HR_50", "HR_130", "HR_250",
    "HU_50", "HU_180", "HU_270", "IE_48", "IE_90", "IE_135", "IE_210", "IE_230", "IT_40", "IT_50", "IT_100",
    "IT_220", "LT_50", "LT_90", "LT_120", "LT_210", "LU_30", "LU_70", "LU_80", "LU_120", "LU_130", "LU_140",
    "LU_160", "LU_170", "LV_50", "LV_120", "LV_210", "MT_50", "MT_70", "MT_120", "MT_180", "MU_150", "NL_90",
    "NL_210", "PL_50", "PL_80", "PL_230", "PT_60", "PT_130", "PT_160", "PT_180", "PT_220", "PT_230", "RO_50",
    "RO_90", "RO_110", "RO_190", "RO_210", "SE_60", "SE_120", "SE_250", "SI_50", "SI_95", "SI_220", "SK_100",
    "SK_190", "SK_200", "SK_230", "SK_50", "NO_120", "NO_150", "NO_250",
})
COUNTRIES = ("AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT",
             "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "GB", "MC", "CH", "AD", "MU", "NO", "XK",
             "any")
_JOURNAL_CODE = re.compile(r"[A-Za-z]{2,5}")
_ACCOUNT_NUMBER = re.compile(r"[0-9][0-9A-Za-z]{0,19}")
_ALL = frozenset({"eq", "not_eq", "lt", "lteq", "gt", "gteq", "in", "not_in"})

JOURNAL: Schema = {"type": "object", "required": ["code", "label"], "properties": {"code": STR, "label": STR}}
ACCOUNT: Schema = {"type": "object", "required": ["number", "label"], "properties": {
    "number": STR, "label": STR, "vat_rate": {"type": "string", "enum": VAT_RATES},
    "country_alpha2": {"type": "string", "enum": frozenset(COUNTRIES)}}}
_ADDRESS: Schema = {"type": "object", "required": ["address", "postal_code", "city", "country_alpha2"],
                    "properties": {"address": STR, "postal_code": STR, "city": STR, "country_alpha2": STR}}
_NULLABLE = {"type": "string", "nullable": True}
_CUSTOMER_COMMON: dict[str, Schema] = {
    "phone": STR, "billing_address": _ADDRESS, "delivery_address": _ADDRESS, "recipient": STR,
    "payment_conditions": {"type": "string", "enum": ["upon_receipt", "custom", "7_days", "15_days", "30_days",
                                                      "30_days_end_of_month", "45_days", "45_days_end_of_month",
                                                      "60_days"]},
    "billing_iban": _NULLABLE, "reference": _NULLABLE, "notes": _NULLABLE,
    "ledger_account": {"type": "object", "nullable": True, "required": ["number"], "properties": {"number": STR}},
    "emails": {"type": "array", "items": STR}, "external_reference": STR,
    "billing_language": {"type": "string", "enum": ["fr_FR", "en_GB", "de_DE"]},
}
_NAME: Schema = {"type": "string", "maxLength": 1000}
INDIVIDUAL: Schema = {"type": "object", "required": ["first_name", "last_name", "billing_address"],
                      "properties": {**_CUSTOMER_COMMON, "first_name": _NAME, "last_name": _NAME}}
COMPANY: Schema = {"type": "object", "required": ["name", "billing_address"],
                   "properties": {**_CUSTOMER_COMMON, "name": STR, "vat_number": STR, "reg_no": STR}}


async def list_journals(request: web.Request) -> web.Response:
    query = parse_query(request, fields={"type": ("str", frozenset({"eq", "not_eq", "in", "not_in"}))})
    attrs: dict[str, Callable[[Any], Any]] = {"id": lambda j: j.id, "type": lambda j: j.type}
    return web.json_response(page(current(request).company.journals.values(), query, attrs, journal_body))


async def create_journal(request: web.Request) -> web.Response:
    body = await read_json(request)
    check(body, JOURNAL)
    company = current(request).company
    if not _JOURNAL_CODE.fullmatch(body["code"]):
        raise error(422, f"Code {body['code']!r} must be 2 to 5 letters")
    if any(code.upper() == body["code"].upper() for code in company.journal_codes):
        raise error(422, f"Code {body['code']!r} has already been taken")
    if not body["label"].strip():
        raise error(422, "Label can't be blank")
    return web.json_response(journal_body(company.add_journal(body["code"], body["label"])), status=201)


async def list_accounts(request: web.Request) -> web.Response:
    query = parse_query(request, max_limit=1000, fields={
        "id": ("int", _ALL), "number": ("str", frozenset({"eq", "start_with", "in"})),
        "enabled": ("bool", frozenset({"eq"}))})
    company = current(request).company
    number = query.value("number")
    items: Any = company.accounts.values()
    if number is not None:  # the bridge's usual lookup: one dict access
        found = company.account_numbers.get(number)
        items = [] if found is None else [company.accounts[found]]
    attrs: dict[str, Callable[[Any], Any]] = {"id": lambda a: a.id, "number": lambda a: a.number,
                                              "enabled": lambda a: True}
    return web.json_response(page(items, query, attrs, account_body))


async def read_account(request: web.Request) -> web.Response:
    company = current(request).company
    account = company.accounts.get(path_id(request))
    if account is None:
        raise error(404, "Ledger account not found")
    return web.json_response(account_body(account))


async def create_account(request: web.Request) -> web.Response:
    body = await read_json(request)
    check(body, ACCOUNT)
    call = current(request)
    account = _new_account(call.company, body["number"], body["label"], body.get("vat_rate", ""),
                           body.get("country_alpha2", "FR"))
    if account.number.startswith("411"):  # Pennylane creates the matching company customer
        call.company.add_customer("company", account.label, account)
    return web.json_response(account_body(account), status=201)


def _new_account(company: Company, number: str, label: str, vat_rate: str = "", country: str = "FR") -> LedgerAccount:
    if not _ACCOUNT_NUMBER.fullmatch(number):
        raise detailed("Validation failed: Number is invalid", {"number": ["is invalid"]})
    if number in company.account_numbers:
        raise error(422, f"Number {number} has already been taken")
    if not label.strip():
        raise error(422, "Label can't be blank")
    return company.add_account(number, label, vat_rate, country)


async def list_customers(request: web.Request) -> web.Response:
    text = ("str", frozenset({"eq", "not_eq", "in", "not_in", "start_with"}))
    query = parse_query(request, fields={
        "id": ("int", _ALL), "customer_type": ("str", frozenset({"eq", "not_eq"})),
        "ledger_account_id": ("int", frozenset({"eq", "not_eq"})), "name": ("str", frozenset({"start_with", "eq"})),
        "external_reference": text, "reg_no": ("str", frozenset({"eq", "not_eq", "in", "not_in"}))})
    call = current(request)
    reference = query.value("external_reference")
    items: Any = call.company.customers.values()
    if reference is not None:
        found = call.company.customer_refs.get(reference)
        items = [] if found is None else [call.company.customers[found]]
    attrs: dict[str, Callable[[Any], Any]] = {
        "id": lambda c: c.id, "customer_type": lambda c: c.kind, "ledger_account_id": lambda c: c.ledger_account_id,
        "name": lambda c: c.name, "external_reference": lambda c: c.external_reference,
        "reg_no": lambda c: c.fields.get("reg_no", "")}
    return web.json_response(page(items, query, attrs, lambda c: customer_body(c, call.base, with_type=True),
                                  legacy_keys=False))


async def create_individual(request: web.Request) -> web.Response:
    return await _create_customer(request, "individual", INDIVIDUAL)


async def create_company(request: web.Request) -> web.Response:
    return await _create_customer(request, "company", COMPANY)


async def _create_customer(request: web.Request, kind: str, schema: Schema) -> web.Response:
    body = await read_json(request)
    check(body, schema)
    call = current(request)
    company = call.company
    reference = body.get("external_reference", "")
    if reference and reference in company.customer_refs:
        raise error(409, f"A customer with external_reference {reference!r} already exists")
    name = body["name"] if kind == "company" else f"{body['first_name']} {body['last_name']}".strip()
    if not name:
        raise detailed("Validation failed: Name can't be blank", {"name": ["can't be blank"]})
    wanted = (body.get("ledger_account") or {}).get("number")
    if wanted and wanted in company.account_numbers:
        raise error(422, f"Ledger account {wanted} is already used")
    account = _new_account(company, wanted or company.next_customer_account_number(), name)
    customer = company.add_customer(kind, name, account, external_reference=reference,
                                    first_name=body.get("first_name", ""), last_name=body.get("last_name", ""),
                                    fields=body)
    return web.json_response(customer_body(customer, call.base, with_type=False), status=201)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/journals", list_journals)
    router.add_post("/journals", create_journal)
    router.add_get("/ledger_accounts", list_accounts)
    router.add_post("/ledger_accounts", create_account)
    router.add_get("/ledger_accounts/{id}", read_account)
    router.add_get("/customers", list_customers)
    router.add_post("/individual_customers", create_individual)
    router.add_post("/company_customers", create_company)
