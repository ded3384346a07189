"""Lettering in daily booking, on a real state database: a day's entry holds the customer lines of several orders.
Each is recorded with the day's settle by its place in the entry; an order is due once its lines add up to zero;
when the 201 was lost (an unknown outcome: the entry was found by its piece_number), the lines are read back and
each is told from the entry's other lines on the same account by its amount and label, whatever order Pennylane
gives them in. With ``customers = "all"`` a ticket paid within its day is lettered with its payments in the same
entry; a ticket on account is lettered when a later day's entry brings its payment; an unpaid one stays open."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import pytest
from test_delivery_lettering import MARIE, REFERENCE, _order, _payment

from outboxd.contract import Event, OrderRecorded, ReferenceUpdated, parse_event
from outboxd.contract.limits import MAX_LABEL, clean_text
from outboxd.delivery.deliver import Backoff
from outboxd.delivery.lettering import Letterer, find_line, lettering_view
from outboxd.metrics import Metrics
from outboxd.money import format_cents
from outboxd.pennylane import PostedEntry
from outboxd.rules import AccountRef, CustomerAccount, Entry, LedgerAccount, ShopMapping, effective_mapping
from outboxd.rules.daily import DayBooking, book_day
from outboxd.store import ImportedEvent, Store, open_store
from outboxd.store.letterings import LetteringLine

CUSTOMER = 411
ENTRY_IDS = {"J-2026-01-12-r1": 7001, "J-2026-01-14-r1": 7002}


class Client:
    """Pennylane as lettering sees it: an entry read back (its lines reversed: order is not to be relied on), and
    the lettering call."""

    def __init__(self, entries: dict[int, dict[str, Any]]) -> None:
        self.entries = entries
        self.read: list[int] = []
        self.lettered: list[list[int]] = []

    async def get_ledger_entry(self, entry_id: int) -> PostedEntry:
        self.read.append(entry_id)
        body = self.entries[entry_id]
        return PostedEntry.from_api({**body, "ledger_entry_lines": body["ledger_entry_lines"][::-1]})

    async def letter_lines(self, line_ids: Iterable[int]) -> list[int]:
        self.lettered.append(sorted(line_ids))
        return self.lettered[-1]


class Resolver:
    """Every customer line (the customer's own, the counter customer, an order's) on one account; others apart."""

    async def account(self, ref: AccountRef) -> int:
        if isinstance(ref, LedgerAccount) and not ref.number.startswith("411"):
            return int(ref.number)
        return CUSTOMER


class Lane:
    shop_id = "s1"
    runnable = True

    def __init__(self, mapping: ShopMapping, client: Client) -> None:
        self._mapping = mapping
        self.client = client
        self.resolver = Resolver()

    def mapping(self, at: int | None = None) -> ShopMapping:
        return self._mapping


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with open_store(tmp_path / "state.db", owner="test") as opened:
        yield opened


def _events(rows: list[dict[str, Any]]) -> list[Event]:
    return [parse_event({**row, "id": n, "payload": json.dumps(row["payload"])}) for n, row in enumerate(rows, 1)]


def _mapping(customers: str) -> ShopMapping:
    reference = _events([REFERENCE_ROW])[0].payload
    assert isinstance(reference, ReferenceUpdated)
    return effective_mapping(ShopMapping(customers=customers), reference)  # type: ignore[arg-type]


REFERENCE_ROW = {"event_id": "e-ref", "shop_id": "s1", "event_type": "reference.updated", "aggregate_id": "reference",
                 "occurred_at": "2026-01-12T08:00:00+01:00", "payload": REFERENCE}  # fmt: skip
DAY = [
    _order("o-1", "T-000001", "50.08", MARIE), _payment("p-1", "o-1", "cb", "30.00"),
    _payment("p-2", "o-1", "cash", "20.08"),  # paid within the day, in two
    _order("o-2", "T-000002", "80.00", MARIE),  # on account: paid two days later (LATER)
    _order("o-3", "T-000003", "9.99", MARIE),  # never paid
    _order("o-4", "T-000004", "20.00", MARIE), _payment("p-4", "o-4", "cash", "10.00"),
    _payment("p-5", "o-4", "cash", "10.00"),  # two lines alike: same account, amount and label
]  # fmt: skip
LATER = [_payment("p-3", "o-2", "cb", "80.00", days_later=2)]


def _body(entry: Entry, first_id: int) -> dict[str, Any]:
    """``entry`` as Pennylane holds it, its lines numbered from ``first_id`` (customer lines on ``CUSTOMER``)."""
    return {"id": ENTRY_IDS[entry.piece_number], "ledger_entry_lines": [
        {"id": first_id + n, "debit": format_cents(line.debit), "credit": format_cents(line.credit),
         "ledger_account": {"id": CUSTOMER if not isinstance(line.account, LedgerAccount)
                            or line.account.number.startswith("411") else int(line.account.number)},
         "label": clean_text(line.label, MAX_LABEL)}
        for n, line in enumerate(entry.lines)]}  # fmt: skip


async def _settle(store: Store, letterer: Letterer, lane: Lane, booking: DayBooking, created: bool) -> None:
    """What the day's settle writes (its entry posted: found after an unknown outcome when not ``created``), then
    the lettering task's pass over the orders due."""
    (entry,) = booking.entries
    event = ImportedEvent(f"e-{entry.piece_number}", "s1", "order.recorded", "order:x", "2026-01-12T18:00:00Z", "{}")
    await store.deliveries.ingest_rows([event])  # the day's events, as far as its sent entry needs one
    delivery = await store.db.read_one("SELECT max(id) FROM deliveries")
    assert delivery is not None
    await store.entries.record_first("s1", entry.piece_number, delivery[0], 1, entry.date, "-")
    await store.entries.mark_posted("s1", entry.piece_number, ENTRY_IDS[entry.piece_number])
    body = lane.client.entries[ENTRY_IDS[entry.piece_number]]
    posted = {entry.piece_number: PostedEntry.from_api(body)} if created else {}
    numbers = {e.payload.order_id: e.payload.number for e in _events(DAY) if isinstance(e.payload, OrderRecorded)}
    await store.db.write_many(await letterer.day_statements(lane, booking, posted, numbers))  # type: ignore[arg-type]
    for order_id in await store.letterings.due("s1"):
        await letterer.letter(lane, order_id)  # type: ignore[arg-type]


def _line_of(body: dict[str, Any], label: str, amount: str) -> int:
    side = "credit" if amount.startswith("-") else "debit"
    lines = body["ledger_entry_lines"]
    return int(next(ln["id"] for ln in lines if ln["label"] == label and ln[side] == amount.lstrip("-")))


async def _state(store: Store, order_id: str) -> str | None:
    lettering = await store.letterings.get("s1", order_id)
    return None if lettering is None else lettering.state


async def test_with_every_customer_a_day_read_back_after_an_unknown_outcome_is_lettered_line_by_line(
    store: Store,
) -> None:
    mapping = _mapping("all")
    day, later = book_day(_events(DAY), mapping), book_day(_events(LATER), mapping)
    bodies = {7001: _body(day.entries[0], 100), 7002: _body(later.entries[0], 200)}
    client = Client(bodies)
    lane = Lane(mapping, client)
    letterer = Letterer(store, Metrics(), Backoff(0.001, 0.001, 5), random.Random(1))

    await _settle(store, letterer, lane, day, created=False)  # the 201 never came: every line is read back
    body = bodies[7001]

    def ticket(n: int) -> int:
        return _line_of(body, f"Ticket T-00000{n} Marie Dupont", {1: "50.08", 2: "80.00", 4: "20.00"}[n])

    cash = [ln["id"] for ln in body["ledger_entry_lines"] if ln["label"] == "Paiement Espèces ticket T-000004"]
    assert len(cash) == 2  # the two payments of o-4 are alike: each is lettered once
    assert sorted(client.lettered) == sorted([
        sorted([ticket(1), _line_of(body, "Paiement Carte bancaire ticket T-000001", "-30.00"),
                _line_of(body, "Paiement Espèces ticket T-000001", "-20.08")]),
        sorted([ticket(4), *cash]),
    ])  # fmt: skip
    assert client.read == [7001, 7001]  # one read per order lettered
    assert [await _state(store, o) for o in ("o-1", "o-2", "o-3", "o-4")] == ["lettered", "open", "open", "lettered"]

    client.lettered.clear()
    await _settle(store, letterer, lane, later, created=True)  # its line ids come from the 201
    assert client.lettered == [sorted([ticket(2), bodies[7002]["ledger_entry_lines"][0]["id"]])]
    assert client.read == [7001, 7001, 7001]  # o-2's ticket line, read back; the payment's id was in the 201
    assert await _state(store, "o-2") == "lettered"
    assert await _state(store, "o-3") == "open"
    view = lettering_view(await store.letterings.get("s1", "o-2"))  # the delivery's detail (ctl show)
    assert view is not None
    assert view["state"] == "lettered"
    assert [(ln["piece_number"], ln["amount"], ln["lettered"]) for ln in view["lines"]] == [
        ("J-2026-01-12-r1", "80.00", True), ("J-2026-01-14-r1", "-80.00", True)
    ]  # fmt: skip


async def test_on_account_a_ticket_settled_within_its_day_records_nothing_to_letter(store: Store) -> None:
    mapping = _mapping("on_account")
    day = book_day(_events(DAY), mapping)
    client = Client({7001: _body(day.entries[0], 100)})
    letterer = Letterer(store, Metrics(), Backoff(0.001, 0.001, 5), random.Random(1))
    await _settle(store, letterer, Lane(mapping, client), day, created=True)
    assert await _state(store, "o-1") is None  # settled at the counter: no customer line, no lettering
    assert await _state(store, "o-4") is None
    assert [await _state(store, o) for o in ("o-2", "o-3")] == ["open", "open"]
    assert client.lettered == []
    assert isinstance(day.order_accounts["o-2"], CustomerAccount)
    assert day.order_accounts["o-1"] == day.order_accounts["o-2"]  # her account is in the entry: a refund books there


def test_find_line_tells_lines_of_one_account_apart_by_amount_label_and_rank() -> None:
    entry = PostedEntry.from_api({"id": 1, "ledger_entry_lines": [
        {"id": 10, "debit": "5.00", "credit": "0.00", "ledger_account": {"id": 411}, "label": "Ticket T-1"},
        {"id": 11, "debit": "0.00", "credit": "5.00", "ledger_account": {"id": 411}, "label": "Paiement T-1"},
        {"id": 12, "debit": "0.00", "credit": "5.00", "ledger_account": {"id": 411}, "label": "Paiement T-1"},
        {"id": 13, "debit": "0.00", "credit": "5.00", "ledger_account": {"id": 707}, "label": "Paiement T-1"},
    ]})  # fmt: skip
    line = LetteringLine("J-1", -500, None, False, 1, 2, "Paiement T-1")
    assert [find_line(entry, 411, line, rank) for rank in (0, 1, 2)] == [11, 12, None]
    assert find_line(entry, 411, LetteringLine("J-1", 500, None, False, 1, 0, "Ticket T-1"), 0) == 10
    assert find_line(entry, 411, LetteringLine("J-1", 400, None, False, 1, 0, "Ticket T-1"), 0) is None
    assert find_line(entry, 411, LetteringLine("T-1-r1", 500, None, False, 1), 0) == 10  # an entry of one event
