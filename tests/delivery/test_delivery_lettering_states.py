"""The lettering step's own states on a real state database: a retryable failure leaves the order due after a
backoff (then lettered), Pennylane's refusal fails it with the reason, an order whose lines do not add up stays
open, and the attempts are spent into failed."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import pytest

from outboxd.delivery.deliver import Backoff
from outboxd.delivery.lettering import Letterer
from outboxd.exceptions import PermanentError, RetryableError
from outboxd.metrics import Metrics
from outboxd.rules import ShopMapping
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
