"""The simulated ``/api/external/v2``: one middleware in the order Pennylane applies things, and the routes.

Per request: count it, rate-limit it per token, inject the configured faults, authenticate the Bearer
token, check the operation's scope (any one of the scopes the spec's ``security`` list names), run the
handler, then maybe cut the connection after a committed POST.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from outboxd.pennylane_simulator.api_books import add_routes as add_book_routes
from outboxd.pennylane_simulator.api_entries import add_routes as add_entry_routes
from outboxd.pennylane_simulator.api_lettering import add_routes as add_lettering_routes
from outboxd.pennylane_simulator.context import API_PREFIX, SANDBOX, TOKEN, current
from outboxd.pennylane_simulator.faults import drop_connection, inject_before
from outboxd.pennylane_simulator.listing import page, parse_query
from outboxd.pennylane_simulator.shapes import fiscal_year_body
from outboxd.pennylane_simulator.validation import error
from outboxd.pennylane_simulator.world import Sandbox

__all__ = ["SCOPES", "create_api"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# (method, path) -> scopes of which one is enough, from the spec's `security` lists ("ledger" is the
# deprecated catch-all that the 2026 API no longer honours, so it is left out). Empty = any valid token.
SCOPES: dict[tuple[str, str], tuple[str, ...]] = {
    ("GET", "/me"): (),
    ("GET", "/fiscal_years"): ("fiscal_years:readonly",),
    ("GET", "/journals"): ("journals:readonly", "journals:all"),
    ("POST", "/journals"): ("journals:all",),
    ("GET", "/ledger_accounts"): ("ledger_accounts:readonly", "ledger_accounts:all"),
    ("POST", "/ledger_accounts"): ("ledger_accounts:all",),
    ("GET", "/ledger_accounts/{id}"): ("ledger_accounts:readonly", "ledger_accounts:all"),
    ("GET", "/customers"): ("customers:all", "customers:readonly"),
    ("POST", "/individual_customers"): ("customers:all",),
    ("POST", "/company_customers"): ("customers:all",),
    ("GET", "/ledger_entries"): ("ledger_entries:readonly", "ledger_entries:all"),
    ("POST", "/ledger_entries"): ("ledger_entries:all",),
    ("GET", "/ledger_entries/{id}"): ("ledger_entries:readonly", "ledger_entries:all"),
    ("POST", "/ledger_entry_lines/lettering"): ("ledger_entries:all",),
    ("DELETE", "/ledger_entry_lines/lettering"): ("ledger_entries:all",),
    ("GET", "/ledger_entry_lines/{id}/lettered_ledger_entry_lines"): ("ledger_entries:readonly", "ledger_entries:all"),
}


@web.middleware
async def _gate(request: web.Request, handler: Handler) -> web.StreamResponse:
    sandbox = request.app[SANDBOX]
    header = request.headers.get("Authorization", "")
    token = header[7:] if header[:7].lower() == "bearer " else ""
    key = token or "-"
    sandbox.request_count[key] += 1
    headers, refused = sandbox.limiter.check(key)
    if refused is not None:
        sandbox.throttled_count[key] += 1
        return refused
    response = await _answer(request, handler, sandbox, token)
    response.headers.update(headers)
    if request.method == "POST" and response.status < 300:
        if sandbox.faults.drop_after_commit and sandbox.faults.should_drop():
            return drop_connection(request)
        if sandbox.faults.hold_after_commit_ms:
            await asyncio.sleep(sandbox.faults.hold_after_commit_ms / 1000)
    return response


async def _answer(request: web.Request, handler: Handler, sandbox: Sandbox, token: str) -> web.StreamResponse:
    try:
        injected = await inject_before(sandbox.faults)
        if injected is not None:
            return injected
        access = sandbox.tokens.lookup(token) if token else None
        if access is None:
            raise error(401, "Unauthorized: the access token is missing, invalid or expired")
        route = request.match_info.route.resource
        wanted = SCOPES.get((request.method, route.canonical[len(API_PREFIX):])) if route else None
        if wanted is None:
            raise error(404, "Not found")
        if wanted and not any(scope in access.scopes for scope in wanted):
            raise error(403, f"Forbidden: this operation needs one of the scopes {', '.join(wanted)}")
        request[TOKEN] = access
        return await handler(request)
    except web.HTTPException as exc:  # turned into a plain answer so the gate can add its headers
        return web.Response(status=exc.status, body=exc.body, content_type=exc.content_type)


async def me(request: web.Request) -> web.Response:
    call = current(request)
    company = call.company
    return web.json_response({
        "user": {"id": company.id + 1, "first_name": "Camille", "last_name": "Martin",
                 "email": f"compta+{company.id}@example.com", "locale": "fr"},
        "company": {"id": company.id, "name": company.name, "reg_no": company.reg_no},
        "scopes": list(call.access.scopes),
    })


async def fiscal_years(request: web.Request) -> web.Response:
    query = parse_query(request, fields={}, sorts=("id", "start"))
    attrs: dict[str, Callable[[Any], Any]] = {"id": lambda y: y.id, "start": lambda y: y.start}
    return web.json_response(page(current(request).company.fiscal_years, query, attrs, fiscal_year_body))


def create_api(sandbox: Sandbox) -> web.Application:
    """The API as a sub-application, mounted under ``API_PREFIX`` by ``create_app``."""
    api = web.Application(middlewares=[_gate])
    api[SANDBOX] = sandbox
    api.router.add_get("/me", me)
    api.router.add_get("/fiscal_years", fiscal_years)
    add_book_routes(api.router)
    add_entry_routes(api.router)
    add_lettering_routes(api.router)
    return api
