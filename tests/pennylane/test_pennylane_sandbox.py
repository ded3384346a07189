"""The client against the real simulator over loopback HTTP: OAuth, rotation, every resource, rate limit."""

from __future__ import annotations

import asyncio
import datetime
import json
import time
from collections.abc import AsyncIterator
from types import SimpleNamespace

import aiohttp
import pytest

from outboxd.exceptions import AuthError, PermanentError
from outboxd.pennylane import (
    Address,
    ApiTokenConnection,
    ConnectionState,
    LedgerEntryLine,
    LedgerEntryRequest,
    OAuthApp,
    OAuthConnection,
    PennylaneClient,
    PostedEntry,
    RateLimiter,
    RecordingTrace,
    TokenSet,
)
from outboxd.pennylane_simulator import Company, Sandbox, SandboxHandle, run_sandbox
from outboxd.secrets import Secret

REDIRECT = "http://127.0.0.1:8765/callback"

CLIENT_SECRET = "sandbox-client-secret-1"


@pytest.fixture
async def running() -> AsyncIterator[SandboxHandle]:
    sandbox = Sandbox(rate_limit=None)  # the rate-limit tests below run their own, time-scaled simulator
    sandbox.register_oauth_app("outboxd", CLIENT_SECRET, [REDIRECT])
    async with run_sandbox(sandbox) as handle:
        yield handle


@pytest.fixture
def company(running: SandboxHandle) -> Company:
    return running.sandbox.add_company("Boulangerie Martin")


@pytest.fixture
async def token_posts() -> AsyncIterator[tuple[aiohttp.ClientSession, list[str]]]:
    """A session that records the URL of every POST it sends (to count token endpoint hits)."""
    posted: list[str] = []

    async def on_start(_: aiohttp.ClientSession, __: SimpleNamespace, params: aiohttp.TraceRequestStartParams) -> None:
        if params.method == "POST":
            posted.append(params.url.path)

    tracing = aiohttp.TraceConfig()
    tracing.on_request_start.append(on_start)
    async with aiohttp.ClientSession(trace_configs=[tracing]) as http:
        yield http, posted


def _app(running: SandboxHandle, *, pkce: bool = False) -> OAuthApp:
    return OAuthApp(
        client_id="outboxd",
        client_secret=Secret(CLIENT_SECRET),
        authorize_url=running.authorize_url,
        token_url=running.token_url,
        revoke_url=running.revoke_url,
        redirect_uri=REDIRECT,
        pkce=pkce,
    )


async def _connect(session: aiohttp.ClientSession, running: SandboxHandle, company: Company, pkce: bool) -> TokenSet:
    app = _app(running, pkce=pkce)
    url, state, verifier = app.authorization_request()
    redirect = running.sandbox.approve(url, company.id)
    return await app.exchange_code(session, app.parse_redirect(redirect, state), verifier)


def _client(
    session: aiohttp.ClientSession, running: SandboxHandle, connection: object, **kw: object
) -> PennylaneClient:
    limiter = kw.pop("limiter", None) or RateLimiter()
    return PennylaneClient(session, running.api_url, connection, limiter, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("pkce", [False, True])
async def test_authorize_approve_exchange_me(
    session: aiohttp.ClientSession, running: SandboxHandle, company: Company, pkce: bool
) -> None:
    tokens = await _connect(session, running, company, pkce)

    async def on_rotate(_: TokenSet) -> None:
        return None

    me = await _client(session, running, OAuthConnection(_app(running), tokens, on_rotate)).me()
    assert (me.company_id, me.company_name) == (company.id, "Boulangerie Martin")
    assert "ledger_entries:all" in me.scopes


async def test_fifty_calls_at_expiry_one_refresh_saved_before_use(
    token_posts: tuple[aiohttp.ClientSession, list[str]], running: SandboxHandle, company: Company
) -> None:
    session, posted = token_posts
    tokens = await _connect(session, running, company, pkce=False)
    saved: list[TokenSet] = []

    async def on_rotate(new: TokenSet) -> None:
        await asyncio.sleep(0.01)
        assert running.sandbox.request_count[new.access_token] == 0  # not used before it is saved
        saved.append(new)

    later = time.time() + 86_400  # the connection's clock says the access token is about to expire
    connection = OAuthConnection(_app(running), tokens, on_rotate, clock=lambda: later)
    client = _client(session, running, connection, limiter=RateLimiter(limit=100))
    posted.clear()
    await asyncio.gather(*(client.me() for _ in range(50)))
    assert posted == ["/oauth/token"]
    assert len(saved) == 1
    assert running.sandbox.request_count[saved[0].access_token] == 50
    assert running.sandbox.request_count[tokens.access_token] == 0


async def test_early_expiry_401_fifty_calls_one_refresh(
    token_posts: tuple[aiohttp.ClientSession, list[str]], running: SandboxHandle, company: Company
) -> None:
    session, posted = token_posts
    tokens = await _connect(session, running, company, pkce=False)
    saved: list[TokenSet] = []

    async def on_rotate(new: TokenSet) -> None:
        saved.append(new)

    connection = OAuthConnection(_app(running), tokens, on_rotate)
    client = _client(session, running, connection, limiter=RateLimiter(limit=200))
    running.sandbox.expire_access_tokens()
    posted.clear()
    await asyncio.gather(*(client.me() for _ in range(50)))
    assert posted == ["/oauth/token"]
    assert connection.tokens == saved[0]
    # rotation killed the old pair: refreshing with the old refresh token is refused
    with pytest.raises(AuthError):
        await _app(running).refresh(session, tokens.refresh_token)


async def test_revoked_grant_means_reconnect_needed(
    session: aiohttp.ClientSession, running: SandboxHandle, company: Company
) -> None:
    tokens = await _connect(session, running, company, pkce=False)

    async def on_rotate(_: TokenSet) -> None:
        raise AssertionError("no pair to save")

    connection = OAuthConnection(_app(running), tokens, on_rotate)
    client = _client(session, running, connection)
    running.sandbox.faults.revoke_grants = True
    running.sandbox.expire_access_tokens()
    with pytest.raises(AuthError, match="reconnect needed"):
        await client.me()
    assert connection.state is ConnectionState.RECONNECT_NEEDED


async def test_revoke_kills_the_token(session: aiohttp.ClientSession, running: SandboxHandle, company: Company) -> None:
    tokens = await _connect(session, running, company, pkce=False)
    await _app(running).revoke(session, tokens.access_token)
    client = _client(session, running, ApiTokenConnection(Secret(tokens.access_token)))
    with pytest.raises(AuthError):
        await client.me()


async def test_company_api_token_and_missing_scope(
    session: aiohttp.ClientSession, running: SandboxHandle, company: Company
) -> None:
    full = _client(session, running, ApiTokenConnection(Secret(running.sandbox.issue_api_token(company.id))))
    assert (await full.me()).company_id == company.id
    narrow_token = running.sandbox.issue_api_token(company.id, scopes=("fiscal_years:readonly",))
    narrow = _client(session, running, ApiTokenConnection(Secret(narrow_token)))
    with pytest.raises(PermanentError) as caught:
        await narrow.journals()
    assert caught.value.status == 403
    assert "journals" in caught.value.message


@pytest.fixture
def api(
    session: aiohttp.ClientSession, running: SandboxHandle, company: Company, trace: RecordingTrace
) -> PennylaneClient:
    token = running.sandbox.issue_api_token(company.id)
    limiter = RateLimiter(1000)  # the fixture's simulator has no rate limit; the limiter is tested apart
    return _client(session, running, ApiTokenConnection(Secret(token)), trace=trace, limiter=limiter)


async def test_fiscal_years_and_journals(api: PennylaneClient) -> None:
    years = await api.fiscal_years()
    assert {y.status for y in years} == {"open", "closed"}
    assert all(isinstance(y.start, datetime.date) for y in years)
    created = await api.create_journal("KASH", "Kash.Click ventes")
    codes = {j.code: j for j in await api.journals()}
    assert codes["KASH"] == created
    assert {"VT", "BQ", "OD"} <= set(codes)
    with pytest.raises(PermanentError) as caught:
        await api.create_journal("K1", "digits are not letters")
    assert caught.value.status in (400, 422)


async def test_ledger_accounts(api: PennylaneClient) -> None:
    assert await api.find_ledger_account("999999") is None
    bank = await api.find_ledger_account("512000")
    assert bank is not None
    assert bank.label == "Banque"
    created = await api.create_ledger_account("445712", "TVA collectée 10 %", vat_rate="FR_100")
    assert await api.find_ledger_account("445712") == created
    assert await api.get_ledger_account(created.id) == created


async def test_customers_find_or_create_and_their_411_number(api: PennylaneClient) -> None:
    assert await api.find_customer("kash-c-42") is None
    address = Address("8 rue de la Paix", "75002", "Paris")
    person = await api.create_individual_customer("Jeanne", "Dupont", address, external_reference="kash-c-42")
    found = await api.find_customer("kash-c-42")
    assert found is not None
    assert found.id == person.id
    assert person.ledger_account_id is not None
    account = await api.get_ledger_account(person.ledger_account_id)
    assert account.number.startswith("411")
    firm = await api.create_company_customer(
        "SARL Fournil", address, external_reference="kash-c-43", reg_no="123456789"
    )
    assert firm.id != person.id
    with pytest.raises(PermanentError) as caught:
        await api.create_individual_customer("Jeanne", "Dupont", address, external_reference="kash-c-42")
    assert caught.value.status == 409


async def _entry(api: PennylaneClient, piece: str, day: str, cents: int = 1200) -> LedgerEntryRequest:
    journal = next(j for j in await api.journals() if j.code == "VT")
    cash, sales = await api.find_ledger_account("530000"), await api.find_ledger_account("707000")
    assert cash is not None
    assert sales is not None
    lines = (LedgerEntryLine(cash.id, cents, 0, "Caisse"), LedgerEntryLine(sales.id, 0, cents, "Ventes"))
    return LedgerEntryRequest(datetime.date.fromisoformat(day), f"Ticket {piece}", journal.id, piece, "EUR", lines)


async def test_ledger_entries_create_and_find_by_piece_number(
    api: PennylaneClient, running: SandboxHandle, company: Company
) -> None:
    day = f"{datetime.date.today().year}-03-14"
    entry = await _entry(api, "KC-1-0001", day)
    entry_id = (await api.create_ledger_entry(entry)).id
    found = await api.list_ledger_entries(entry.journal_id, day)
    assert [(e["id"], e["piece_number"]) for e in found] == [(entry_id, "KC-1-0001")]
    assert running.sandbox.trial_balance(company.id)["530000"] == (1200, 0)
    body = entry.body()
    unbalanced = {**body, "ledger_entry_lines": body["ledger_entry_lines"][:1]}  # the typed entry refuses to be built
    with pytest.raises(PermanentError) as caught:
        await api.request("POST", "/ledger_entries", body=unbalanced)
    assert caught.value.status == 422
    assert "balanced" in caught.value.message


async def test_lines_kept_from_the_201_or_read_back_are_lettered_together(api: PennylaneClient) -> None:
    day = datetime.date(datetime.date.today().year, 3, 14)
    journal = next(j for j in await api.journals() if j.code == "VT")
    customer = await api.create_ledger_account("411999", "Clients comptoir")
    cash, sales = await api.find_ledger_account("530000"), await api.find_ledger_account("707000")
    assert cash is not None
    assert sales is not None

    async def post(piece: str, debit: int, credit: int, cents: int) -> PostedEntry:
        lines = (LedgerEntryLine(debit, cents, 0, piece), LedgerEntryLine(credit, 0, cents, piece))
        return await api.create_ledger_entry(LedgerEntryRequest(day, piece, journal.id, piece, "EUR", lines))

    ticket = await post("T-1", customer.id, sales.id, 5008)
    card, coins = await post("PAY-1", cash.id, customer.id, 3000), await post("PAY-2", cash.id, customer.id, 2008)
    assert await api.get_ledger_entry(ticket.id) == ticket
    ids = [entry.line_ids[customer.id][0] for entry in (ticket, card, coins)]
    with pytest.raises(PermanentError) as caught:
        await api.letter_lines(ids[:2])  # 50.08 against 30.00: strategy none refuses it
    assert caught.value.status == 422
    assert sorted(await api.letter_lines(ids)) == sorted(ids)
    assert sorted(await api.letter_lines(ids[::2])) == sorted(ids)  # again: the same group


async def test_pagination_resends_the_filter_on_every_page(api: PennylaneClient, trace: RecordingTrace) -> None:
    day = f"{datetime.date.today().year}-03-15"
    for n in range(5):
        await api.create_ledger_entry(await _entry(api, f"KC-1-{n:04d}", day))
    other_day = await _entry(api, "KC-2-0000", f"{datetime.date.today().year}-03-16")
    await api.create_ledger_entry(other_day)
    journal_id = other_day.journal_id
    trace.exchanges.clear()
    pages = [
        item
        async for item in api.paginate(
            "/ledger_entries", filters=[("journal_id", "eq", str(journal_id)), ("date", "eq", day)], limit=2
        )
    ]
    assert sorted(item["piece_number"] for item in pages) == [f"KC-1-{n:04d}" for n in range(5)]
    lists = [e for e in trace.exchanges if e.path == "/ledger_entries"]
    assert len(lists) == 3
    queries = [json.loads(e.query) for e in lists]
    assert all(q["filter"] == queries[0]["filter"] and '"journal_id"' in q["filter"] for q in queries)
    assert [("cursor" in q) for q in queries] == [False, True, True]


async def test_burst_of_60_stays_under_the_limit_without_a_429(session: aiohttp.ClientSession) -> None:
    sandbox = Sandbox(rate_limit=(25, 1.0))  # Pennylane's 25 per 5 s, time-scaled by 5 to keep the test short
    company = sandbox.add_company("Cave Durand")
    token = sandbox.issue_api_token(company.id)
    async with run_sandbox(sandbox) as handle:
        client = _client(session, handle, ApiTokenConnection(Secret(token)), limiter=RateLimiter(25, 1.0))
        await asyncio.gather(*(client.me() for _ in range(60)))
    assert sandbox.request_count[token] == 60
    assert sandbox.throttled_count[token] == 0
    assert client.limiter.usage().throttled_seconds > 0


async def test_server_429_is_waited_out(session: aiohttp.ClientSession) -> None:
    sandbox = Sandbox(rate_limit=(3, 1.0))
    company = sandbox.add_company("Cave Durand")
    token = sandbox.issue_api_token(company.id)
    async with run_sandbox(sandbox) as handle:
        # our limiter believes in 25/5 s: the server is stricter and answers 429, which we absorb
        client = _client(session, handle, ApiTokenConnection(Secret(token)), limiter=RateLimiter(100, 1.0))
        results = await asyncio.gather(*(client.me() for _ in range(6)))
    assert len(results) == 6
    assert sandbox.throttled_count[token] >= 1
    assert client.limiter.usage().rate_limited == sandbox.throttled_count[token]
