"""The OAuth 2 endpoints: the authorize page a person clicks, token (code and refresh grants), revoke.

The token endpoint answers on both ``/oauth/token`` (the guide) and ``/oauth/oauth/token`` (the spec's
securityScheme). Client credentials are taken from the form or from HTTP Basic (client_secret_basic).
"""

from __future__ import annotations

import base64
import binascii
import html
from importlib import resources
from string import Template
from urllib.parse import urlencode

from aiohttp import web

from outboxd.pennylane_simulator.context import SANDBOX
from outboxd.pennylane_simulator.tokens import ALL_SCOPES, Refusal, TokenPair
from outboxd.pennylane_simulator.world import Sandbox

__all__ = ["AUTHORIZE_PATH", "REVOKE_PATH", "TOKEN_PATH", "add_routes"]

AUTHORIZE_PATH = "/oauth/authorize"
TOKEN_PATH = "/oauth/token"  # noqa: S105 - a URL path, not a secret
SPEC_TOKEN_PATH = "/oauth/oauth/token"  # noqa: S105 - a URL path, not a secret
REVOKE_PATH = "/oauth/revoke"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_FORWARDED = ("client_id", "redirect_uri", "response_type", "scope", "state", "code_challenge",
              "code_challenge_method")


async def authorize_page(request: web.Request) -> web.Response:
    """Pennylane's consent page, reduced to a list of companies with one Authorize button each."""
    sandbox = request.app[SANDBOX]
    query = request.query
    try:
        sandbox.tokens.check_app(query.get("client_id", ""), query.get("redirect_uri", ""))
    except ValueError as exc:
        return web.Response(status=400, text=f"Authorization refused: {exc}")
    hidden = "".join(f'<input type="hidden" name="{name}" value="{html.escape(query[name])}">'
                     for name in _FORWARDED if name in query)
    companies = "".join(
        f'<form class="company" method="post" action="{AUTHORIZE_PATH}">{hidden}'
        f'<input type="hidden" name="company_id" value="{company.id}">'
        f"<span>{html.escape(company.name)} <small>#{company.id}</small></span>"
        f"<button type=\"submit\">Authorize</button></form>"
        for company in sandbox.companies.values()
    ) or "<p>No company in this sandbox.</p>"
    template = Template(resources.files(__package__).joinpath("authorize.html").read_text(encoding="utf-8"))
    page = template.substitute(client_id=html.escape(query["client_id"]), companies=companies,
                               scopes=html.escape(query.get("scope") or " ".join(ALL_SCOPES)))
    return web.Response(text=page, content_type="text/html")


async def authorize_submit(request: web.Request) -> web.Response:
    """The Authorize button: redirect to the app with ``code`` and ``state``."""
    sandbox = request.app[SANDBOX]
    form = await request.post()
    params = {name: str(form[name]) for name in _FORWARDED if name in form}
    try:
        company_id = int(str(form.get("company_id", "")))
        target = sandbox.approve(f"{AUTHORIZE_PATH}?{urlencode(params)}", company_id)
    except ValueError as exc:
        return web.Response(status=400, text=f"Authorization refused: {exc}")
    raise web.HTTPFound(target)


def _client(request: web.Request, form: dict[str, str]) -> tuple[str, str]:
    header = request.headers.get("Authorization", "")
    if header[:6].lower() == "basic ":
        try:
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        return client_id, secret
    return form.get("client_id", ""), form.get("client_secret", "")


def _answer(result: TokenPair | Refusal | None) -> web.Response:
    if isinstance(result, Refusal):
        return web.json_response({"error": result.error}, status=result.status, headers=_NO_STORE)
    if result is None:
        return web.json_response({}, headers=_NO_STORE)
    return web.json_response(result.body(), headers=_NO_STORE)


async def token(request: web.Request) -> web.Response:
    sandbox: Sandbox = request.app[SANDBOX]
    form = {key: str(value) for key, value in (await request.post()).items()}
    client_id, secret = _client(request, form)
    grant = form.get("grant_type", "")
    if grant == "authorization_code":
        if not form.get("code"):
            return _answer(Refusal("invalid_request"))
        return _answer(sandbox.tokens.exchange_code(client_id, secret, form.get("redirect_uri", ""), form["code"],
                                                    form.get("code_verifier", "")))
    if grant == "refresh_token":
        if not form.get("refresh_token"):
            return _answer(Refusal("invalid_request"))
        return _answer(sandbox.tokens.rotate(client_id, secret, form["refresh_token"],
                                             revoked=sandbox.faults.revoke_grants))
    return _answer(Refusal("unsupported_grant_type"))


async def revoke(request: web.Request) -> web.Response:
    sandbox: Sandbox = request.app[SANDBOX]
    form = {key: str(value) for key, value in (await request.post()).items()}
    client_id, secret = _client(request, form)
    return _answer(sandbox.tokens.revoke(client_id, secret, form.get("token", "")))


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get(AUTHORIZE_PATH, authorize_page)
    router.add_post(AUTHORIZE_PATH, authorize_submit)
    router.add_post(TOKEN_PATH, token)
    router.add_post(SPEC_TOKEN_PATH, token)
    router.add_post(REVOKE_PATH, revoke)
