"""The lettering step's own states on a real state database: a retryable failure leaves the order due after a
backoff (then lettered), Pennylane's refusal fails it with the reason, an order whose lines do not add up stays
open, the attempts are spent into failed, and an order whose lettering a crash stopped after its delivery's settle is
lettered by the lettering task."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import pytest
from bridge_setup import wait_until

from outboxd.contract import Event, ReferenceUpdated, parse_event
from outboxd.delivery.deliver import Backoff
from outboxd.delivery.lettering import AFTER_DELIVERY, Letterer
from outboxd.exceptions import PermanentError, RetryableError
from outboxd.metrics import Metrics
from outboxd.pennylane import PostedEntry
from outboxd.rules import ShopMapping, book, effective_mapping
from outboxd.shop_simulator.catalog import reference as reference_payload
from outboxd.store import Store, open_store

ACCOUNT = 411


class Client:
    """Pennylane's lettering call, answering each call with the next of ``answers`` (an exception or None)."""

    def __init__(self, *answers: Exception | None) -> None:
        self.answers = list(answers)
        self.calls: list[list[int]] = []

    async def letter_lines(self, line_ids: Iterable[int]) -> list[int]:
        self.calls.append(list(line_ids))
        answer = self.answers.pop(0)
        if answer is not None:
            raise answer
        return self.calls[-1]


class Resolver:
    async def account(self, ref: Any) -> int:
        return ACCOUNT


class Lane:
    shop_id = "s1"
    runnable = True

    def __init__(self, client: Client) -> None:
        self.client = client
        self.resolver = Resolver()

    def mapping(self) -> ShopMapping:
        return ShopMapping()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with open_store(tmp_path / "state.db", owner="test") as opened:
        yield opened


async def _order(store: Store, order_id: str, *amounts: int) -> None:
    statements = [store.letterings.order_statement("s1", order_id, f"T-{order_id}")]
    for n, amount in enumerate(amounts):
        statements += store.letterings.line_statements("s1", order_id, f"{order_id}-{n}", amount, 100 + n)
    await store.db.write_many(statements)


def _letterer(store: Store, attempts: int = 5) -> Letterer:
    return Letterer(store, Metrics(), Backoff(0.001, 0.001, attempts), random.Random(1))


async def _state(store: Store, order_id: str) -> tuple[str, int, str | None]:
    lettering = await store.letterings.get("s1", order_id)
    assert lettering is not None
    return lettering.state, lettering.attempts, lettering.last_error


async def test_a_retryable_failure_is_due_again_then_lettered(store: Store) -> None:
    await _order(store, "o-1", 5008, -3000, -2008)
    client = Client(RetryableError("try later", status=503), None)
    letterer = _letterer(store)
    await letterer.letter(Lane(client), "o-1")  # type: ignore[arg-type]
    assert await _state(store, "o-1") == ("due", 1, "try later")
    await letterer.letter(Lane(client), "o-1")  # type: ignore[arg-type]
    assert await _state(store, "o-1") == ("lettered", 2, None)
    assert client.calls == [[100, 101, 102], [100, 101, 102]]


async def test_a_refusal_fails_with_the_reason_and_an_unpaid_order_stays_open(store: Store) -> None:
    await _order(store, "o-2", 1000, -1000)
    await _order(store, "o-3", 1000, -400)
    client = Client(PermanentError("Entry lines are not balanced", status=422))
    letterer = _letterer(store)
    await letterer.letter(Lane(client), "o-2")  # type: ignore[arg-type]
    await letterer.letter(Lane(client), "o-3")  # type: ignore[arg-type]
    assert await _state(store, "o-2") == ("failed", 1, "Entry lines are not balanced")
    assert await _state(store, "o-3") == ("open", 0, None)
    assert len(client.calls) == 1


async def test_the_attempts_are_spent_into_failed(store: Store) -> None:
    await _order(store, "o-4", 700, -700)
    client = Client(RetryableError("reset"), RetryableError("reset"))
    letterer = _letterer(store, attempts=2)
    for _ in range(2):
        await letterer.letter(Lane(client), "o-4")  # type: ignore[arg-type]
    state, attempts, error = await _state(store, "o-4")
    assert (state, attempts) == ("failed", 2)
    assert error is not None
    assert error.startswith("gave up after 2 attempts")


async def test_a_line_after_the_lettering_opens_the_order_until_it_adds_up_again(store: Store) -> None:
    await _order(store, "o-5", 2000, -2000)
    client = Client(None, None)
    letterer = _letterer(store)
    await letterer.letter(Lane(client), "o-5")  # type: ignore[arg-type]
    assert await _state(store, "o-5") == ("lettered", 1, None)
    await store.db.write_many(store.letterings.line_statements("s1", "o-5", "o-5-refund", 500, 200))  # money back
    await letterer.letter(Lane(client), "o-5")  # type: ignore[arg-type]
    assert await _state(store, "o-5") == ("open", 1, None)
    await store.db.write_many(store.letterings.line_statements("s1", "o-5", "o-5-credit", -500, 201))  # its credit note
    await letterer.letter(Lane(client), "o-5")  # type: ignore[arg-type]
    assert await _state(store, "o-5") == ("lettered", 2, None)
    assert client.calls[-1] == [100, 101, 201, 200]  # the lines lettered before come along: the group grows


def _event(event_type: str, aggregate_id: str, payload: dict[str, Any]) -> Event:
    return parse_event({"event_id": f"e-{aggregate_id}-{event_type}", "shop_id": "s1", "event_type": event_type,
                        "aggregate_id": aggregate_id, "occurred_at": "2026-03-14T10:00:00+01:00", "payload": payload})


async def test_an_order_paid_by_a_delivery_whose_lettering_a_crash_stopped_is_lettered_by_the_task(
    tmp_path: Path,
) -> None:
    """The payment's settle is committed, the daemon dies before ``after_delivery`` letters the order: the settle's
    own writes made it due, so the lettering task of the next process letters it (it stayed open for ever)."""
    now = [dt.datetime(2026, 3, 14, 17, 0, tzinfo=dt.UTC)]
    reference = _event("reference.updated", "reference", reference_payload(1))
    assert isinstance(reference.payload, ReferenceUpdated)
    mapping = effective_mapping(ShopMapping(), reference.payload)
    line = {"label": "Pain", "quantity": "1", "total_incl_tax": "20.00", "vat_rate": "5.5", "kind": "goods",
            "chapter": None}  # fmt: skip
    ticket = _event("order.recorded", "order:o-1", {"order_id": "o-1", "number": "T-1", "register_id": "r1",
                    "business_date": "2026-03-14", "customer": None, "total_incl_tax": "20.00", "lines": [line]})
    payment = _event("payment.recorded", "order:o-1", {"payment_id": "p-1", "order_id": "o-1", "register_id": "r1",
                     "business_date": "2026-03-14", "method_id": "cash", "amount": "20.00"})  # fmt: skip
    client = Client(None)
    lane = Lane(client)
    async with open_store(tmp_path / "state.db", owner="test", clock=lambda: now[0]) as store:
        letterer = _letterer(store)
        for n, event in enumerate((ticket, payment)):
            posted = PostedEntry(n + 1, {ACCOUNT: (100 + n,)})
            statements = await letterer.line_statements(lane, event, book(event, mapping), posted, ACCOUNT)  # type: ignore[arg-type]
            await store.db.write_many(statements)  # the settle; then the kill, before after_delivery
        assert (await store.letterings.get("s1", "o-1")).state == "due"  # type: ignore[union-attr]
        assert await store.letterings.due("s1") == []  # the delivery's own lettering comes first
        now[0] += dt.timedelta(seconds=AFTER_DELIVERY)
        assert await store.letterings.due("s1") == ["o-1"]
        task = asyncio.create_task(letterer.run({"s1": lane}, lambda shop: True, tick=0.01))  # type: ignore[dict-item]

        async def lettered() -> bool:
            return (await _state(store, "o-1"))[0] == "lettered"

        try:
            await wait_until(lettered, 10, "o-1 lettered by the task")
        finally:
            task.cancel()
        assert [sorted(call) for call in client.calls] == [[100, 101]]
