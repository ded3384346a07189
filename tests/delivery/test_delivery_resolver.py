"""The resolver's requests against the real simulator: a new customer costs 2, a fresh shop's chart one lookup.

Counts are the simulator's own (``sandbox.request_count``), so a request added anywhere on these paths fails them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from outboxd.contract import Customer
from outboxd.delivery.resolver import Resolver
from outboxd.exceptions import PermanentError
from outboxd.pennylane import ApiTokenConnection, PennylaneClient, RateLimiter
from outboxd.pennylane_simulator import Company, Sandbox, run_sandbox
from outboxd.rules import CustomerAccount, LedgerAccount, ShopMapping
from outboxd.rules.accounts import required_accounts
from outboxd.secrets import Secret
from outboxd.store import Store, open_store

SHOP = "shop-1"


@dataclass
class World:
    sandbox: Sandbox
    company: Company
    token: str
    client: PennylaneClient
    store: Store
    session: aiohttp.ClientSession
    api_url: str

    def requests(self) -> int:
        return self.sandbox.request_count[self.token]

    def resolver(self, mapping: ShopMapping | None = None) -> Resolver:
        return Resolver(SHOP, self.client, self.store, mapping=None if mapping is None else lambda: mapping)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    sandbox = Sandbox(rate_limit=None)
    company = sandbox.add_company("Boulangerie Martin")
    token = sandbox.issue_api_token(company.id)
    async with (
        run_sandbox(sandbox) as handle,
        aiohttp.ClientSession() as session,
        open_store(tmp_path / "state.db", owner="test") as store,
    ):
        client = PennylaneClient(session, handle.api_url, ApiTokenConnection(Secret(token)), RateLimiter(1000))
        yield World(sandbox, company, token, client, store, session, handle.api_url)


def _customer_ref(n: int) -> CustomerAccount:
    customer = Customer(f"c-{n}", "individual", "Marie", "Dupont", None, None, None, None, None)
    return CustomerAccount(f"kashclick:{SHOP}:c-{n}", customer)


async def test_a_new_customer_costs_a_find_and_a_create_and_its_number_is_read_only_for_display(world: World) -> None:
    resolver = world.resolver()
    ref = _customer_ref(1)
    account_id = await resolver.account(ref)
    assert world.requests() == 2  # was 3: GET /ledger_accounts/{id} only to store the 411 number
    cached = await world.store.caches.customer(SHOP, ref.external_reference)
    assert cached is not None
    assert (cached.ledger_account_id, cached.account_number) == (account_id, None)
    assert await world.resolver().account(ref) == account_id  # a restart: from the state database
    assert world.requests() == 2
    number = await resolver.read_customer_number(ref.external_reference, account_id)
    assert number == world.company.accounts[account_id].number
    assert number.startswith("411")
    assert world.requests() == 3
    cached = await world.store.caches.customer(SHOP, ref.external_reference)
    assert cached is not None
    assert cached.account_number == number


async def test_a_customer_known_in_pennylane_but_not_here_costs_one_find(world: World) -> None:
    ref = _customer_ref(2)
    account_id = await world.resolver().account(ref)
    await world.store.caches.forget_shop(SHOP)
    before = world.requests()
    assert await world.resolver().account(ref) == account_id
    assert world.requests() - before == 1


async def _resolve_chart(resolver: Resolver, chart: tuple[LedgerAccount, ...]) -> dict[str, int]:
    return {account.number: await resolver.account(account) for account in chart}  # as Deliverer.prepare does


async def test_a_fresh_shops_chart_is_one_lookup_plus_one_create_per_missing_account(world: World) -> None:
    mapping = ShopMapping()
    chart = required_accounts(mapping, mapping.vat_rates)
    present = {a.number for a in chart} & set(world.company.account_numbers)
    missing = len(chart) - len(present)
    assert present
    assert missing

    ids = await _resolve_chart(world.resolver(mapping), chart)

    assert world.requests() == 1 + missing  # per account before: len(chart) lookups + missing creates
    assert ids == {a.number: world.company.account_numbers[a.number] for a in chart}
    assert await world.store.caches.ledger_accounts(SHOP) == ids
    before = world.requests()
    assert await _resolve_chart(world.resolver(mapping), chart) == ids  # a restart: from the state database
    assert world.requests() == before


async def test_without_the_mapping_each_account_is_looked_up_alone(world: World) -> None:
    """The cost before the chart lookup (and of any account outside the chart): a lookup, then a create."""
    mapping = ShopMapping()
    chart = required_accounts(mapping, mapping.vat_rates)
    missing = len([a for a in chart if a.number not in world.company.account_numbers])
    await _resolve_chart(world.resolver(), chart)
    assert world.requests() == len(chart) + missing


async def test_an_account_created_by_someone_else_after_the_lookup_is_found_again(world: World) -> None:
    """The lookup said "absent", someone created it since: the create's 422 leads to a find, no duplicate."""
    mapping = ShopMapping()
    chart = required_accounts(mapping, mapping.vat_rates)
    first, *rest = [a for a in chart if a.number not in world.company.account_numbers]
    resolver = world.resolver(mapping)
    await resolver.account(first)
    late = rest[0]
    theirs = world.company.add_account(late.number, "created meanwhile", "", "FR").id
    before = world.requests()
    assert await resolver.account(late) == theirs
    assert world.requests() - before == 2  # the refused create, then the find
    assert [a.number for a in world.company.accounts.values()].count(late.number) == 1


class RefusesLists(PennylaneClient):
    """A Pennylane that wants the ``in`` value in another shape (the spec does not say which): 400 on a list."""

    lists = 0

    async def find_ledger_accounts(self, numbers: object) -> dict[str, object]:  # type: ignore[override]
        self.lists += 1
        raise PermanentError("GET /ledger_accounts: HTTP 400 filter value is invalid", status=400)


async def test_a_refused_number_in_list_falls_back_to_one_lookup_per_account_once(world: World) -> None:
    client = RefusesLists(world.session, world.api_url, world.client.connection, world.client.limiter)
    resolver = Resolver(SHOP, client, world.store, mapping=ShopMapping)
    chart = required_accounts(ShopMapping(), ShopMapping().vat_rates)
    missing = len([a for a in chart if a.number not in world.company.account_numbers])
    ids = await _resolve_chart(resolver, chart)
    assert ids == {a.number: world.company.account_numbers[a.number] for a in chart}
    assert client.lists == 1  # refused once, not asked again
    assert world.requests() == len(chart) + missing


async def test_the_chart_lookup_is_split_into_lists_of_100_numbers(world: World) -> None:
    numbers = [f"6{n:05d}" for n in range(250)]
    for number in numbers[::50]:
        world.company.add_account(number, "charge", "", "FR")
    found = await world.client.find_ledger_accounts(numbers)
    assert sorted(found) == numbers[::50]
    assert world.requests() == 3


async def _resolve_customers(resolver: Resolver, refs: list[CustomerAccount]) -> list[int]:
    await resolver.prefetch_customers(ref.external_reference for ref in refs)  # as the daily backfill does
    return [await resolver.account(ref) for ref in refs]


async def test_prefetched_new_customers_cost_their_create_and_one_lookup_per_100(world: World) -> None:
    refs = [_customer_ref(n) for n in range(150)]
    ids = await _resolve_customers(world.resolver(), refs)
    assert world.requests() == 150 + 2  # was 2 x 150: a find and a create each
    assert ids == [world.company.customers[world.company.customer_refs[r.external_reference]].ledger_account_id
                   for r in refs]  # fmt: skip
    before = world.requests()
    assert await _resolve_customers(world.resolver(), refs) == ids  # a restart: all in the state database
    assert world.requests() == before


async def test_prefetched_customers_known_in_pennylane_are_cached_not_created(world: World) -> None:
    known = [_customer_ref(n) for n in range(30)]
    ids = [await world.resolver().account(ref) for ref in known]
    await world.store.caches.forget_shop(SHOP)
    new = [_customer_ref(n) for n in range(30, 50)]
    before, customers = world.requests(), len(world.company.customers)
    resolver = world.resolver()
    assert (await _resolve_customers(resolver, known + new))[:30] == ids
    assert world.requests() - before == 1 + 20  # one lookup, the new ones' creates
    assert len(world.company.customers) - customers == 20
    cached = await world.store.caches.customer(SHOP, known[0].external_reference)
    assert cached is not None
    assert cached.ledger_account_id == ids[0]


async def test_a_customer_created_by_someone_else_after_the_prefetch_is_found_again(world: World) -> None:
    resolver = world.resolver()
    ref = _customer_ref(7)
    await resolver.prefetch_customers([ref.external_reference])
    company = world.company  # the accountant creates it in Pennylane meanwhile
    account = company.add_account(company.next_customer_account_number(), "Marie Dupont", "", "FR")
    theirs = company.add_customer("individual", "Marie Dupont", account, external_reference=ref.external_reference)
    before = world.requests()  # what the prefetch made is not counted
    assert await resolver.account(ref) == theirs.ledger_account_id
    assert world.requests() - before == 2  # the refused create (409), then the find
    assert list(world.company.customer_refs).count(ref.external_reference) == 1


class RefusesCustomerLists(PennylaneClient):
    """A Pennylane that refuses the ``in`` list: sent with an operator the simulator does not know, a real 400."""

    async def find_customers(self, external_references: object) -> dict[str, object]:  # type: ignore[override]
        filters = [("external_reference", "in_list", sorted(external_references))]  # type: ignore[call-overload]
        return {item["id"]: item async for item in self.paginate("/customers", filters=filters)}


async def test_a_refused_customer_in_list_falls_back_to_a_find_per_customer_once(world: World) -> None:
    client = RefusesCustomerLists(world.session, world.api_url, world.client.connection, world.client.limiter)
    resolver = Resolver(SHOP, client, world.store)
    refs = [_customer_ref(n) for n in range(5)]
    await _resolve_customers(resolver, refs)
    assert world.requests() == 1 + 2 * 5  # the refused list, then a find and a create each
    await _resolve_customers(resolver, [_customer_ref(n) for n in range(5, 8)])
    assert world.requests() == 1 + 2 * 8  # not asked again
    assert len(world.company.customer_refs) == 8


async def test_long_customer_references_are_asked_in_shorter_lists_to_keep_the_url_short(world: World) -> None:
    refs = [f"kashclick:{'5' * 36}:{n:036d}" for n in range(100)]  # shop and customer as UUIDs: ~96 encoded each
    account = world.company.add_account(world.company.next_customer_account_number(), "Dupont", "", "FR")
    for ref in refs[::10]:
        world.company.add_customer("individual", "Marie Dupont", account, external_reference=ref)
    found = await world.client.find_customers(refs)
    assert sorted(found) == refs[::10]
    assert world.requests() == 3  # 40 + 40 + 20 references, ~4 kB of URL each
