"""What an API handler needs from its request: the sandbox, the caller's token, the API base URL."""

from __future__ import annotations

from aiohttp import web

from outboxd.pennylane_simulator.model import Company
from outboxd.pennylane_simulator.tokens import AccessToken
from outboxd.pennylane_simulator.validation import error
from outboxd.pennylane_simulator.world import Sandbox

__all__ = ["API_PREFIX", "SANDBOX", "TOKEN", "Call", "current", "path_id"]

API_PREFIX = "/api/external/v2"
SANDBOX = web.AppKey("sandbox", Sandbox)
TOKEN = web.RequestKey("token", AccessToken)  # the authenticated caller, set by the API gate


class Call:
    """One authenticated API call: its sandbox, token, company and base URL (for ``url`` fields)."""

    __slots__ = ("access", "base", "company", "sandbox")

    def __init__(self, request: web.Request) -> None:
        self.sandbox: Sandbox = request.app[SANDBOX]
        self.access: AccessToken = request[TOKEN]
        self.company: Company = self.sandbox.companies[self.access.company_id]
        self.base = f"{request.scheme}://{request.host}{API_PREFIX}"


def current(request: web.Request) -> Call:
    return Call(request)


def path_id(request: web.Request) -> int:
    """The ``{id}`` of the path; a non-number is a 404, like an id that does not exist."""
    try:
        return int(request.match_info["id"])
    except ValueError:
        raise error(404, "Not found") from None
