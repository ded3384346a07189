"""Lettering (lettrage) of ledger entry lines, as the spec describes it.

``POST /ledger_entry_lines/lettering`` letters the lines given together, with the groups they already belong to
(A+B lettered, then [A, C]: A+B+C), so lettering the same lines again changes nothing; the lines must be of one
ledger account, and with ``unbalanced_lettering_strategy: none`` a group whose debits and credits differ is
refused (422). ``DELETE`` with the same body takes the lines out of their groups (a group left with one line is
no group). ``GET /ledger_entry_lines/{id}/lettered_ledger_entry_lines`` lists the lines of a line's group.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from outboxd.money import format_cents
from outboxd.pennylane_simulator.context import current, path_id
from outboxd.pennylane_simulator.listing import page, parse_query
from outboxd.pennylane_simulator.model import Company
from outboxd.pennylane_simulator.validation import INT, Schema, check, error, read_json

__all__ = ["add_routes", "letter", "unletter"]


def _body(min_items: int) -> Schema:
    return {"type": "object", "required": ["unbalanced_lettering_strategy", "ledger_entry_lines"], "properties": {
        "unbalanced_lettering_strategy": {"type": "string", "enum": ["none", "partial"]},
        "ledger_entry_lines": {"type": "array", "minItems": min_items, "items": {
            "type": "object", "required": ["id"], "properties": {"id": INT}}}}}  # fmt: skip


def _line_ids(company: Company, body: dict[str, Any]) -> list[int]:
    ids = list(dict.fromkeys(item["id"] for item in body["ledger_entry_lines"]))
    for line_id in ids:
        if line_id not in company.lines:
            raise error(404, f"Ledger entry line {line_id} not found")
    return ids


def letter(company: Company, ids: list[int], strategy: str) -> frozenset[int]:
    """The new group: the lines and every line already lettered with one of them. Raises the 422s."""
    group = frozenset().union(*(company.lettering.get(line_id, frozenset({line_id})) for line_id in ids))
    accounts = {company.lines[line_id][1].ledger_account_id for line_id in group}
    if len(accounts) > 1:
        raise error(422, "Ledger entry lines must belong to the same ledger account to be lettered together")
    debit = sum(company.lines[line_id][1].debit for line_id in group)
    credit = sum(company.lines[line_id][1].credit for line_id in group)
    if strategy == "none" and debit != credit:
        raise error(422, f"Lettering is not balanced: debit {format_cents(debit)}, credit {format_cents(credit)}")
    company.lettering.update(dict.fromkeys(group, group))
    return group


def unletter(company: Company, ids: list[int]) -> None:
    for line_id in ids:
        rest = company.lettering.pop(line_id, frozenset()) - {line_id}
        for other in rest:
            if len(rest) > 1:
                company.lettering[other] = rest
            else:
                company.lettering.pop(other, None)


async def post_lettering(request: web.Request) -> web.Response:
    body = await read_json(request)
    check(body, _body(2))
    company = current(request).company
    group = letter(company, _line_ids(company, body), body["unbalanced_lettering_strategy"])
    return web.json_response([{"id": line_id} for line_id in sorted(group)])


async def delete_lettering(request: web.Request) -> web.Response:
    body = await read_json(request)
    check(body, _body(1))
    company = current(request).company
    unletter(company, _line_ids(company, body))
    return web.Response(status=204)


async def lettered_lines(request: web.Request) -> web.Response:
    call = current(request)
    company, base = call.company, call.base
    line_id = path_id(request)
    if line_id not in company.lines:
        raise error(404, "Ledger entry line not found")
    query = parse_query(request, fields={}, sorts=("id",))
    group = sorted(company.lettering.get(line_id, frozenset()))

    def render(other: int) -> dict[str, Any]:
        entry, line = company.lines[other]
        account = company.accounts[line.ledger_account_id]
        return {
            "id": line.id, "debit": format_cents(line.debit), "credit": format_cents(line.credit),
            "label": line.label, "categories": [],
            "ledger_account": {"id": account.id, "number": account.number,
                               "url": f"{base}/ledger_accounts/{account.id}"},
            "journal": {"id": entry.journal_id, "url": f"{base}/journals/{entry.journal_id}"},
            "date": entry.date, "ledger_entry": {"id": entry.id},
            "lettered_ledger_entry_lines": {
                "ids": group, "url": f"{base}/ledger_entry_lines/{line.id}/lettered_ledger_entry_lines"},
            "created_at": entry.created_at, "updated_at": entry.created_at,
        }  # fmt: skip

    return web.json_response(page(group, query, {"id": lambda i: i}, render))


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post("/ledger_entry_lines/lettering", post_lettering)
    router.add_delete("/ledger_entry_lines/lettering", delete_lettering)
    router.add_get("/ledger_entry_lines/{id}/lettered_ledger_entry_lines", lettered_lines)
