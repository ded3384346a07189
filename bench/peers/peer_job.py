"""The task both peers run for one outbox row: parse (outboxd.contract), book (outboxd.rules), find or create what
the entries point at, post each entry. The queue library around it decides retries, ordering and recovery.

Written as the team would, once, for either library: ids learnt from Pennylane are kept in the queue's own store
(``Ids``: a Redis hash or a PostgreSQL table) behind an in-process dict, so a restarted worker does not find them
again. What it does not have is the bridge's dedup: a retried job posts its entries again, whatever the first try
did. Per-aggregate ordering is the library's business; across aggregates, a shop's events wait (``NotYet``) for
its reference snapshot, and a payment for its order's customer account.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol

from peer_http import Pennylane

from outboxd.contract import Customer, OrderRecorded, ReferenceUpdated, parse_event, parse_payload
from outboxd.delivery.deliver import ledger_entry
from outboxd.rules import (
    AccountRef,
    Booking,
    CustomerAccount,
    Entry,
    JournalSpec,
    LedgerAccount,
    OrderCustomerAccount,
    ShopMapping,
    book,
    effective_mapping,
)
from outboxd.rules.journals import journal_for


class NotYet(Exception):
    """What this event needs is delivered by another job that has not run yet: try again a little later."""


class Ids(Protocol):
    """Where a peer keeps Pennylane ids and the shop's reference: ``kind`` is journal, account, customer, order or
    reference."""

    async def get(self, shop: str, kind: str, key: str) -> str | None: ...

    async def put(self, shop: str, kind: str, key: str, value: str) -> None: ...


@dataclass
class Shop:
    """A worker's memory of one shop: its API, its mapping and the ids already known."""

    api: Pennylane
    known: dict[tuple[str, str], str] = field(default_factory=dict)
    mapping: tuple[str, ShopMapping] | None = None


async def deliver(row: dict[str, Any], shop: Shop, ids: Ids) -> int:
    """Book one outbox row into Pennylane; the number of entries posted."""
    event = parse_event(row)
    shop_id = event.shop_id
    reference = isinstance(event.payload, ReferenceUpdated)
    booking = book(event, ShopMapping() if reference else await _mapping(shop, ids, shop_id))
    for journal in booking.journals:
        await _journal(shop, ids, shop_id, journal)
    for account in booking.accounts:
        await _account(shop, ids, shop_id, account)
    if reference:  # stored once its chart exists: the shop's other events wait for it
        text = row["payload"] if isinstance(row["payload"], str) else json.dumps(row["payload"])
        await _put(shop, ids, shop_id, "reference", "", text)
    for entry in booking.entries:
        await _post(shop, ids, shop_id, entry)
    if isinstance(event.payload, OrderRecorded) and booking.entries:
        account = await _account(shop, ids, shop_id, _customer_side(booking, shop.mapping))
        await _put(shop, ids, shop_id, "order", event.payload.order_id, str(account))
    return len(booking.entries)


async def _get(shop: Shop, ids: Ids, shop_id: str, kind: str, key: str) -> str | None:
    if (known := shop.known.get((kind, key))) is not None:
        return known
    stored = await ids.get(shop_id, kind, key)
    if stored is not None:
        shop.known[(kind, key)] = stored
    return stored


async def _put(shop: Shop, ids: Ids, shop_id: str, kind: str, key: str, value: str) -> None:
    await ids.put(shop_id, kind, key, value)
    shop.known[(kind, key)] = value


async def _mapping(shop: Shop, ids: Ids, shop_id: str) -> ShopMapping:
    text = await _get(shop, ids, shop_id, "reference", "")
    if text is None:
        raise NotYet(f"shop {shop_id}: its reference snapshot is not delivered yet")
    if shop.mapping is None or shop.mapping[0] != text:
        reference = parse_payload("reference.updated", json.loads(text))
        assert isinstance(reference, ReferenceUpdated)
        shop.mapping = (text, effective_mapping(ShopMapping(), reference))
    return shop.mapping[1]


async def _journal(shop: Shop, ids: Ids, shop_id: str, spec: JournalSpec) -> int:
    if (known := await _get(shop, ids, shop_id, "journal", spec.code)) is not None:
        return int(known)
    journal_id = await shop.api.journal_id(spec.code, spec.label)
    await _put(shop, ids, shop_id, "journal", spec.code, str(journal_id))
    return journal_id


async def _account(shop: Shop, ids: Ids, shop_id: str, ref: AccountRef) -> int:
    if isinstance(ref, OrderCustomerAccount):
        if (known := await _get(shop, ids, shop_id, "order", ref.order_id)) is None:
            raise NotYet(f"order {ref.order_id}: its ticket is not booked yet")
        return int(known)
    kind, key = ("account", ref.number) if isinstance(ref, LedgerAccount) else ("customer", ref.external_reference)
    if (known := await _get(shop, ids, shop_id, kind, key)) is not None:
        return int(known)
    if isinstance(ref, LedgerAccount):
        account_id = await shop.api.account_id(ref.number, ref.label, ref.vat_rate)
    else:
        account_id = await shop.api.customer_account_id(key, *_customer_body(ref.customer))
    await _put(shop, ids, shop_id, kind, key, str(account_id))
    return account_id


def _customer_body(customer: Customer) -> tuple[str, dict[str, Any]]:
    where = customer.address
    address = {
        "address": (where.address if where else None) or "",
        "postal_code": (where.postal_code if where else None) or "",
        "city": (where.city if where else None) or "",
        "country_alpha2": (where.country_alpha2 if where else None) or "FR",
    }
    extra = {"emails": [customer.email]} if customer.email else {}
    if customer.type == "company":
        return "company", {"name": customer.name or customer.id, "billing_address": address, **extra}
    return "individual", {"first_name": customer.first_name or "", "last_name": customer.last_name or customer.id,
                          "billing_address": address, **extra}  # fmt: skip


def _customer_side(booking: Booking, mapping: tuple[str, ShopMapping] | None) -> AccountRef:
    """The account the ticket's customer side is on (its own 411, or the counter customer): payments credit it."""
    counter = mapping[1].counter_customer if mapping else ""
    for line in booking.entries[0].lines:
        if isinstance(line.account, CustomerAccount) or (
            isinstance(line.account, LedgerAccount) and line.account.number == counter
        ):
            return line.account
    raise AssertionError("an order entry always has a customer line")


async def _post(shop: Shop, ids: Ids, shop_id: str, entry: Entry) -> int:
    mapping = await _mapping(shop, ids, shop_id)
    spec = journal_for(entry.register_id, mapping.registers.get(entry.register_id), mapping.journals)
    accounts = {line.account: await _account(shop, ids, shop_id, line.account) for line in entry.lines}
    journal_id = await _journal(shop, ids, shop_id, spec)
    return await shop.api.post_entry(ledger_entry(entry, journal_id, accounts).body())
