"""OAuth as Pennylane runs it: the authorize page, code exchange (with PKCE), rotation that kills the old
pair at once, invalid_grant, revoke, expiry (real and early), and company API tokens."""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import pytest
from sandbox_helpers import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, Api, FakeClock, code_of, exchange

from outboxd.pennylane_simulator import Company, SandboxHandle


def authorize_url(running: SandboxHandle, **extra: str) -> str:
    query = {"client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "response_type": "code",
             "scope": "ledger_entries:all journals:all", "state": "xyz", **extra}
    return f"{running.authorize_url}?{urlencode(query)}"


async def test_a_person_authorizes_on_the_page_and_the_code_buys_a_24h_pair(
    session: aiohttp.ClientSession, running: SandboxHandle, company: Company
) -> None:
    async with session.get(authorize_url(running)) as page:
        html = await page.text()
    assert page.status == 200
    assert "Boulangerie Martin" in html
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', html))
    assert fields["company_id"] == str(company.id)
    async with session.post(running.authorize_url, data=fields, allow_redirects=False) as answer:
        location = answer.headers["Location"]
    assert answer.status == 302
    assert location.startswith(REDIRECT_URI)
    assert parse_qs(urlsplit(location).query)["state"] == ["xyz"]
    status, pair = await exchange(session, running.token_url, grant_type="authorization_code",
                                  code=code_of(location), redirect_uri=REDIRECT_URI)
    assert status == 200
    assert pair["expires_in"] == 86400
    assert pair["scope"] == "ledger_entries:all journals:all"
    me = Api(session, running, str(pair["access_token"]))
    assert (await me.get("/me"))[1]["company"]["id"] == company.id


async def test_refresh_rotates_and_kills_the_old_pair_at_once(
    session: aiohttp.ClientSession, running: SandboxHandle, company: Company
) -> None:
    redirect = running.sandbox.approve(authorize_url(running), company.id)
    _, first = await exchange(session, running.token_url, grant_type="authorization_code", code=code_of(redirect),
                              redirect_uri=REDIRECT_URI)
    status, second = await exchange(session, running.token_url, grant_type="refresh_token",
                                    refresh_token=str(first["refresh_token"]))
    assert status == 200
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert (await Api(session, running, str(first["access_token"])).get("/me"))[0] == 401
    assert (await Api(session, running, str(second["access_token"])).get("/me"))[0] == 200
    status, refused = await exchange(session, running.token_url, grant_type="refresh_token",
                                     refresh_token=str(first["refresh_token"]))
    assert (status, refused) == (400, {"error": "invalid_grant"})


async def test_pkce_s256_needs_the_verifier(
    session: aiohttp.ClientSession, running: SandboxHandle, company: Company
) -> None:
    verifier = "v" * 50
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    url = authorize_url(running, code_challenge=challenge, code_challenge_method="S256")
    without = code_of(running.sandbox.approve(url, company.id))
    status, body = await exchange(session, running.token_url, grant_type="authorization_code", code=without,
                                  redirect_uri=REDIRECT_URI, code_verifier="wrong")
    assert (status, body) == (400, {"error": "invalid_grant"})
    good = code_of(running.sandbox.approve(url, company.id))
    status, _ = await exchange(session, running.token_url, grant_type="authorization_code", code=good,
                               redirect_uri=REDIRECT_URI, code_verifier=verifier)
    assert status == 200


async def test_a_code_works_once_and_only_with_the_right_client(
    session: aiohttp.ClientSession, running: SandboxHandle, company: Company
) -> None:
    code = code_of(running.sandbox.approve(authorize_url(running), company.id))
    status, body = await exchange(session, running.token_url, grant_type="authorization_code", code=code,
                                  redirect_uri=REDIRECT_URI, client_secret="wrong")
    assert (status, body) == (401, {"error": "invalid_client"})
    code = code_of(running.sandbox.approve(authorize_url(running), company.id))
    spec_path = running.base_url + "/oauth/oauth/token"  # the spec's token URL works too
    assert (await exchange(session, spec_path, grant_type="authorization_code", code=code,
                           redirect_uri=REDIRECT_URI))[0] == 200
    status, body = await exchange(session, spec_path, grant_type="authorization_code", code=code,
                                  redirect_uri=REDIRECT_URI)
    assert (status, body) == (400, {"error": "invalid_grant"})


async def test_client_secret_basic_is_accepted(
    session: aiohttp.ClientSession, running: SandboxHandle, company: Company
) -> None:
    code = code_of(running.sandbox.approve(authorize_url(running), company.id))
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    async with session.post(running.token_url, headers={"Authorization": f"Basic {basic}"}, data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}) as response:
        assert response.status == 200


def test_approve_refuses_an_unregistered_redirect(running: SandboxHandle, company: Company) -> None:
    with pytest.raises(ValueError, match="redirect_uri"):
        running.sandbox.approve(authorize_url(running, redirect_uri="http://evil.example/cb"), company.id)


async def test_tokens_expire_after_24h_and_early_expiry_kills_them_sooner(
    session: aiohttp.ClientSession, running: SandboxHandle, company: Company, clock: FakeClock
) -> None:
    redirect = running.sandbox.approve(authorize_url(running), company.id)
    _, pair = await exchange(session, running.token_url, grant_type="authorization_code", code=code_of(redirect),
                             redirect_uri=REDIRECT_URI)
    api = Api(session, running, str(pair["access_token"]))
    clock.advance(86_399)
    assert (await api.get("/me"))[0] == 200
    clock.advance(2)
    status, body = await api.get("/me")
    assert status == 401
    assert body["status"] == 401
    _, pair = await exchange(session, running.token_url, grant_type="refresh_token",
                             refresh_token=str(pair["refresh_token"]))
    api.token = str(pair["access_token"])
    async with session.post(running.base_url + "/_sandbox/faults", json={"expire_tokens": True}) as answer:
        assert (await answer.json())["expired_tokens"] == 1
    assert (await api.get("/me"))[0] == 401
    running.sandbox.faults.access_token_ttl = 10  # early expiry: alive for 10 s though expires_in says 86400
    _, pair = await exchange(session, running.token_url, grant_type="refresh_token",
                             refresh_token=str(pair["refresh_token"]))
    assert pair["expires_in"] == 86400
    api.token = str(pair["access_token"])
    assert (await api.get("/me"))[0] == 200
    clock.advance(11)
    assert (await api.get("/me"))[0] == 401


async def test_revoked_grant_and_revoke_endpoint(
    session: aiohttp.ClientSession, running: SandboxHandle, company: Company
) -> None:
    redirect = running.sandbox.approve(authorize_url(running), company.id)
    _, pair = await exchange(session, running.token_url, grant_type="authorization_code", code=code_of(redirect),
                             redirect_uri=REDIRECT_URI)
    running.sandbox.faults.revoke_grants = True
    status, body = await exchange(session, running.token_url, grant_type="refresh_token",
                                  refresh_token=str(pair["refresh_token"]))
    assert (status, body) == (400, {"error": "invalid_grant"})
    running.sandbox.faults.revoke_grants = False
    redirect = running.sandbox.approve(authorize_url(running), company.id)
    _, pair = await exchange(session, running.token_url, grant_type="authorization_code", code=code_of(redirect),
                             redirect_uri=REDIRECT_URI)
    status, _ = await exchange(session, running.revoke_url, token=str(pair["access_token"]))
    assert status == 200
    assert (await Api(session, running, str(pair["access_token"])).get("/me"))[0] == 401
    status, body = await exchange(session, running.token_url, grant_type="refresh_token",
                                  refresh_token=str(pair["refresh_token"]))
    assert (status, body) == (400, {"error": "invalid_grant"})


async def test_scopes_are_enforced_per_operation(
    session: aiohttp.ClientSession, running: SandboxHandle, company: Company
) -> None:
    narrow = Api(session, running, running.sandbox.issue_api_token(company.id, scopes=["ledger_entries:all"]))
    assert (await narrow.get("/me"))[1]["scopes"] == ["ledger_entries:all"]
    status, body = await narrow.get("/journals")
    assert status == 403
    assert "journals:all" in body["error"]
    assert (await narrow.get("/ledger_entries"))[0] == 200
    readonly = Api(session, running, running.sandbox.issue_api_token(company.id, scopes=["journals:readonly"]))
    assert (await readonly.get("/journals"))[0] == 200
    assert (await readonly.post("/journals", {"code": "KC", "label": "Caisse"}))[0] == 403


async def test_missing_or_unknown_token_is_a_json_401(api: Api) -> None:
    for token in ("", "sbx_at_nope"):
        status, body = await api.get("/me", token=token)
        assert status == 401
        assert body["status"] == 401
