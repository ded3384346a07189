"""Ledger entries: the booking itself, and the lookups the bridge makes after an unknown outcome."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from outboxd.pennylane_simulator.context import current, path_id
from outboxd.pennylane_simulator.listing import page, parse_query
from outboxd.pennylane_simulator.model import Company, Entry, Line
from outboxd.pennylane_simulator.shapes import entry_created, entry_item, entry_read
from outboxd.pennylane_simulator.validation import DATE, INT, STR, Schema, amount_cents, check, error, read_json

__all__ = ["ENTRY", "add_routes", "book"]

MAX_LINES = 1000
LINE: Schema = {"type": "object", "required": ["debit", "credit", "ledger_account_id"], "properties": {
    "debit": STR, "credit": STR, "ledger_account_id": INT, "label": STR}}
ENTRY: Schema = {"type": "object", "required": ["date", "label", "journal_id", "ledger_entry_lines"], "properties": {
    "date": DATE, "due_date": {**DATE, "nullable": True}, "label": STR, "journal_id": INT,
    "ledger_attachment_id": INT, "file_attachment_id": INT, "currency": STR, "piece_number": STR,
    "ledger_entry_lines": {"type": "array", "minItems": 1, "maxItems": MAX_LINES, "items": LINE}}}
_COMPARE = frozenset({"eq", "not_eq", "lt", "lteq", "gt", "gteq"})
FIELDS = {"id": ("int", _COMPARE | {"in", "not_in"}), "date": ("str", _COMPARE),
          "journal_id": ("int", _COMPARE | {"in", "not_in"})}


def book(company: Company, body: dict[str, Any], next_id: Callable[[], int], now: str) -> Entry:
    """Check a schema-valid entry against the company's books, then store it. Raises the 422 Pennylane sends."""
    if body["journal_id"] not in company.journals:
        raise error(422, f"Journal {body['journal_id']} not found")
    lines = []
    for index, raw in enumerate(body["ledger_entry_lines"]):
        if raw["ledger_account_id"] not in company.accounts:
            raise error(422, f"Ledger account {raw['ledger_account_id']} not found")
        field = f"ledger_entry_lines[{index}]"
        debit = amount_cents(raw["debit"], f"{field}.debit")
        credit = amount_cents(raw["credit"], f"{field}.credit")
        lines.append(Line(0, raw["ledger_account_id"], debit, credit, raw.get("label", body["label"])))
    if sum(line.debit for line in lines) != sum(line.credit for line in lines):
        raise error(422, "Entry lines are not balanced")
    if company.open_year_for(body["date"]) is None:
        raise error(422, f"The date {body['date']} is not in an open fiscal year")
    entry = Entry(next_id(), body["journal_id"], body["date"], body["label"], body.get("piece_number"),
                  body.get("currency", "EUR"), body.get("due_date"), lines, now)
    for line in lines:
        line.id = next_id()
    company.add_entry(entry)
    return entry


async def create_entry(request: web.Request) -> web.Response:
    body = await read_json(request)
    check(body, ENTRY)
    call = current(request)
    entry = book(call.company, body, call.sandbox.next_id, call.sandbox.now_iso())
    return web.json_response(entry_created(entry, call.company, call.base), status=201)


async def list_entries(request: web.Request) -> web.Response:
    query = parse_query(request, fields=FIELDS, sorts=("id", "date"))
    call = current(request)
    company = call.company
    journal_id, date = query.value("journal_id"), query.value("date")
    items: Any = company.entries.values()
    if journal_id is not None and date is not None:  # the bridge's dedup lookup: one index access
        items = [company.entries[i] for i in company.entries_by_day.get((journal_id, date), ())]
    attrs: dict[str, Callable[[Any], Any]] = {"id": lambda e: e.id, "date": lambda e: e.date,
                                              "journal_id": lambda e: e.journal_id}
    return web.json_response(page(items, query, attrs, lambda e: entry_item(e, call.base)))


async def read_entry(request: web.Request) -> web.Response:
    call = current(request)
    entry = call.company.entries.get(path_id(request))
    if entry is None:
        raise error(404, "Ledger entry not found")
    return web.json_response(entry_read(entry, call.company, call.base))


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/ledger_entries", list_entries)
    router.add_post("/ledger_entries", create_entry)
    router.add_get("/ledger_entries/{id}", read_entry)
