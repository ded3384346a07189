"""Pennylane ids for what an entry points at: journals, ledger accounts, customers, an order's account.

Each lookup goes memory -> state database -> Pennylane (find, else create), so steady state costs no request.
One lock per key keeps two aggregates of a shop from creating the same customer or account twice; a 409/422
on create means someone else created it first, so we find it again. A ledger account missing here is looked up
with every other account of the shop's chart not known yet, in one ``number in`` list: a fresh shop's first tickets
then cost one lookup, plus one create per account they book on that Pennylane lacks (accounts are created on first
use, never the whole kind x rate grid), instead of a lookup per account.
A new customer costs its find and its create: its 411 number is read only when something displays it. A daily
backfill first asks for a day's unknown customers in ``external_reference in`` lists (``prefetch_customers``), so
each new one costs its create alone. Should Pennylane refuse an ``in`` list, ``eq`` lookups one by one take over.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

from outboxd.contract import Customer
from outboxd.exceptions import BookingError, PermanentError
from outboxd.pennylane import Address, CreatedCustomer, PennylaneClient
from outboxd.rules import AccountRef, CustomerAccount, JournalSpec, LedgerAccount, OrderCustomerAccount, ShopMapping
from outboxd.rules.accounts import required_accounts
from outboxd.store import Store

__all__ = ["Resolver"]

Found = TypeVar("Found")


class Resolver:
    """Id resolution for one shop's Pennylane company."""

    def __init__(
        self,
        shop_id: str,
        client: PennylaneClient,
        store: Store,
        *,
        mapping: Callable[[], ShopMapping] | None = None,
    ) -> None:
        """``mapping``: the shop's current mapping, whose chart is looked up with any account missing here."""
        self.shop_id = shop_id
        self.client = client
        self.store = store
        self._mapping = mapping
        self._journals: dict[str, int] = {}
        self._accounts: dict[str, int] = {}
        self._absent: set[str] = set()  # numbers a chart lookup did not find: asked for, they are created at once
        self._refused: set[str] = set()  # what Pennylane refused an ``in`` list for (see _listed)
        self._customers: dict[str, int] = {}
        self._absent_customers: set[str] = set()  # references a prefetch did not find: asked for, created at once
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def journal(self, spec: JournalSpec) -> int:
        if (known := self._journals.get(spec.register_id)) is not None:
            return known
        async with self._locks["journal:" + spec.register_id]:
            stored = await self.store.caches.journal(self.shop_id, spec.register_id)
            if stored is None:
                journal_id = await self._find_or_create_journal(spec)
                await self.store.caches.save_journal(self.shop_id, spec.register_id, spec.code, journal_id)
            else:
                journal_id = stored.pennylane_id
            self._journals[spec.register_id] = journal_id
            return journal_id

    async def _find_or_create_journal(self, spec: JournalSpec) -> int:
        for journal in await self.client.journals():
            if journal.code == spec.code:
                return journal.id
        return (await self.client.create_journal(spec.code, spec.label)).id

    async def account(self, ref: AccountRef) -> int:
        if isinstance(ref, LedgerAccount):
            return await self._ledger_account(ref)
        if isinstance(ref, CustomerAccount):
            return await self._customer_account(ref)
        return await self._order_account(ref)

    async def _ledger_account(self, ref: LedgerAccount) -> int:
        if (known := self._accounts.get(ref.number)) is not None:
            return known
        async with self._locks["account:" + ref.number]:
            account_id = await self.store.caches.ledger_account(self.shop_id, ref.number)
            if account_id is None:
                account_id = await self._find_or_create_account(ref)
                await self.store.caches.save_ledger_account(self.shop_id, ref.number, account_id)
            self._accounts[ref.number] = account_id
            return account_id

    async def _find_or_create_account(self, ref: LedgerAccount) -> int:
        if ref.number in self._absent:
            self._absent.discard(ref.number)
        elif (found_id := await self._look_up_chart(ref.number)) is not None:
            return found_id
        try:
            return (await self.client.create_ledger_account(ref.number, ref.label, ref.vat_rate)).id
        except PermanentError as exc:
            if exc.status not in (409, 422):
                raise
            found = await self.client.find_ledger_account(ref.number)
            if found is None:
                raise
            return found.id

    async def _look_up_chart(self, number: str) -> int | None:
        """``number``'s id, looked up with the chart's other unknown accounts, which are cached on the way."""
        known = await self.store.caches.ledger_accounts(self.shop_id)
        numbers = {number} | {a.number for a in self._chart() if a.number not in known and a.number not in self._absent}
        found = None if len(numbers) == 1 else await self._listed("accounts", self.client.find_ledger_accounts, numbers)
        if found is None:
            single = await self.client.find_ledger_account(number)
            return None if single is None else single.id
        for other, account in found.items():
            if other != number and other not in self._accounts:
                await self.store.caches.save_ledger_account(self.shop_id, other, account.id)
                self._accounts[other] = account.id
        self._absent |= numbers - found.keys() - {number}
        return found[number].id if number in found else None

    async def _listed(
        self, what: str, find: Callable[[set[str]], Awaitable[dict[str, Found]]], keys: set[str]
    ) -> dict[str, Found] | None:
        """``find(keys)``, the ``in`` lists of a lookup, or None once Pennylane refused such a list for ``what``.

        How Pennylane wants an ``in`` value is not documented: if it refuses the list (400/422), this resolver
        goes back to one ``eq`` lookup per key, as before, rather than fail the shop's deliveries.
        """
        if what in self._refused:
            return None
        try:
            return await find(keys)
        except PermanentError as exc:
            if exc.status not in (400, 422):
                raise
            self._refused.add(what)
            return None

    def _chart(self) -> tuple[LedgerAccount, ...]:
        """Every account the shop's mapping can book on (none when the mapping is not given or not usable)."""
        if self._mapping is None:
            return ()
        mapping = self._mapping()
        try:
            return required_accounts(mapping, mapping.vat_rates)
        except BookingError:
            return ()

    async def _customer_account(self, ref: CustomerAccount) -> int:
        key = ref.external_reference
        if (known := self._customers.get(key)) is not None:
            return known
        async with self._locks["customer:" + key]:
            try:
                stored = await self.store.caches.customer(self.shop_id, key)
                if stored is not None:
                    account_id = stored.ledger_account_id
                else:
                    customer_id, account_id = await self._find_or_create_customer(ref)
                    await self.store.caches.save_customer(self.shop_id, key, customer_id, account_id)
                self._customers[key] = account_id
            finally:  # absent until known, so that a prefetch meanwhile skips it; after a failure, found first
                self._absent_customers.discard(key)
            return account_id

    async def prefetch_customers(self, external_references: Iterable[str]) -> None:
        """Look up the customers not known here, 100 per request: those found are cached, the others are created
        without a find when asked for. One prefetch at a time, so that two never ask for the same customer."""
        async with self._locks["prefetch:customers"]:
            wanted = set()
            for key in set(external_references) - self._customers.keys() - self._absent_customers:
                if await self.store.caches.customer(self.shop_id, key) is None:
                    wanted.add(key)
            found = await self._listed("customers", self.client.find_customers, wanted) if wanted else None
            if found is None:
                return
            for key, customer in found.items():
                if customer.ledger_account_id is not None and key not in self._customers:
                    await self.store.caches.save_customer(self.shop_id, key, customer.id, customer.ledger_account_id)
                    self._customers[key] = customer.ledger_account_id
            self._absent_customers |= wanted - found.keys()

    async def read_customer_number(self, external_reference: str, ledger_account_id: int) -> str:
        """A booked customer's 411 number, read from Pennylane for display and cached: one request per customer."""
        number = (await self.client.get_ledger_account(ledger_account_id)).number
        await self.store.caches.save_customer_number(self.shop_id, external_reference, number)
        return number

    async def _find_or_create_customer(self, ref: CustomerAccount) -> tuple[int, int]:
        absent = ref.external_reference in self._absent_customers
        found = None if absent else await self.client.find_customer(ref.external_reference)
        if found is None:
            try:
                created = await self._create_customer(ref.external_reference, ref.customer)
            except PermanentError as exc:
                if exc.status != 409:
                    raise
                found = await self.client.find_customer(ref.external_reference)
                if found is None:
                    raise
            else:
                if created.ledger_account_id is not None:
                    return created.id, created.ledger_account_id
                found = await self.client.find_customer(ref.external_reference)
        if found is None or found.ledger_account_id is None:
            raise PermanentError(f"customer {ref.external_reference} has no ledger account in Pennylane")
        return found.id, found.ledger_account_id

    async def _create_customer(self, external_reference: str, customer: Customer) -> CreatedCustomer:
        """Pennylane requires a billing address; a POS customer may have none, so its parts may stay empty."""
        where = customer.address
        address = Address(
            (where.address if where else None) or "",
            (where.postal_code if where else None) or "",
            (where.city if where else None) or "",
            (where.country_alpha2 if where else None) or "FR",
        )
        emails = [customer.email] if customer.email else []
        if customer.type == "company":
            return await self.client.create_company_customer(
                customer.name or customer.id,
                address,
                external_reference=external_reference,
                vat_number=customer.vat_number,
                reg_no=customer.reg_no,
                emails=emails,
            )
        return await self.client.create_individual_customer(
            customer.first_name or "",
            customer.last_name or customer.id,
            address,
            external_reference=external_reference,
            emails=emails,
        )

    async def _order_account(self, ref: OrderCustomerAccount) -> int:
        account_id = await self.store.caches.order_account(self.shop_id, ref.order_id)
        if account_id is None:
            raise BookingError(
                f"order {ref.order_id}",
                "its ticket was never booked (skipped before the backfill start, or discarded), so the payment "
                "has no customer account to credit",
                "book the order first, or discard this payment with a reason",
            )
        return account_id
