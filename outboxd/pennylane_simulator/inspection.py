"""``/_sandbox``: what tests, benchmarks and the demo read (entries, trial balance, counters) and the
run-time fault switchboard. Not part of Pennylane's API: no token, no rate limit, no faults.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from outboxd.exceptions import ConfigError
from outboxd.money import format_cents
from outboxd.pennylane_simulator.context import SANDBOX, path_id
from outboxd.pennylane_simulator.model import Company, Entry
from outboxd.pennylane_simulator.validation import error, read_json
from outboxd.pennylane_simulator.world import Sandbox

__all__ = ["INSPECT_PREFIX", "add_routes"]

INSPECT_PREFIX = "/_sandbox"


def _company(request: web.Request) -> tuple[Sandbox, Company]:
    sandbox = request.app[SANDBOX]
    company = sandbox.companies.get(path_id(request))
    if company is None:
        raise error(404, "No such company")
    return sandbox, company


def entry_view(entry: Entry, company: Company) -> dict[str, Any]:
    """One entry as a person reads it: journal code, account numbers, amounts as strings."""
    return {
        "id": entry.id, "journal": company.journals[entry.journal_id].code, "date": entry.date,
        "label": entry.label, "piece_number": entry.piece_number, "created_at": entry.created_at,
        "lines": [{"account": company.accounts[line.ledger_account_id].number, "label": line.label,
                   "debit": format_cents(line.debit), "credit": format_cents(line.credit)} for line in entry.lines],
    }


async def companies(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX]
    return web.json_response([
        {"id": c.id, "name": c.name, "reg_no": c.reg_no, "entries": len(c.entries), "customers": len(c.customers),
         "journals": {j.code: j.id for j in c.journals.values()},
         "fiscal_years": [{"start": y.start, "finish": y.finish, "status": y.status} for y in c.fiscal_years]}
        for c in sandbox.companies.values()
    ])


async def entries(request: web.Request) -> web.Response:
    _, company = _company(request)
    return web.json_response([entry_view(entry, company) for entry in company.entries.values()])


async def trial_balance(request: web.Request) -> web.Response:
    sandbox, company = _company(request)
    balance = sandbox.trial_balance(company.id)
    total_debit = sum(debit for debit, _ in balance.values())
    total_credit = sum(credit for _, credit in balance.values())
    return web.json_response({
        "accounts": {number: {"debit": format_cents(debit), "credit": format_cents(credit)}
                     for number, (debit, credit) in balance.items()},
        "total_debit": format_cents(total_debit), "total_credit": format_cents(total_credit),
        "balanced": total_debit == total_credit,
    })


async def stats(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX]
    per_token = []
    for token, count in sandbox.request_count.items():
        access = sandbox.tokens.access.get(token)
        per_token.append({"token": f"{token[:12]}…" if len(token) > 12 else token,
                          "company_id": access.company_id if access else None,
                          "requests": count, "throttled": sandbox.throttled_count[token]})
    return web.json_response({
        "requests": sum(sandbox.request_count.values()), "throttled": sum(sandbox.throttled_count.values()),
        "entries": sum(len(c.entries) for c in sandbox.companies.values()), "tokens": per_token,
    })


async def show_faults(request: web.Request) -> web.Response:
    return web.json_response(request.app[SANDBOX].faults.snapshot())


async def set_faults(request: web.Request) -> web.Response:
    """Change knobs by name; ``{"expire_tokens": true}`` expires every OAuth access token now."""
    sandbox = request.app[SANDBOX]
    body = await read_json(request)
    if not isinstance(body, dict):
        raise error(400, "expected a JSON object of fault knobs")
    expired = sandbox.expire_access_tokens() if body.pop("expire_tokens", False) else 0
    try:
        sandbox.faults.update(**body)
    except ConfigError as exc:
        raise error(400, str(exc)) from exc
    return web.json_response({**sandbox.faults.snapshot(), "expired_tokens": expired})


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get(f"{INSPECT_PREFIX}/companies", companies)
    router.add_get(f"{INSPECT_PREFIX}/companies/{{id}}/entries", entries)
    router.add_get(f"{INSPECT_PREFIX}/companies/{{id}}/trial_balance", trial_balance)
    router.add_get(f"{INSPECT_PREFIX}/stats", stats)
    router.add_get(f"{INSPECT_PREFIX}/faults", show_faults)
    router.add_post(f"{INSPECT_PREFIX}/faults", set_faults)
