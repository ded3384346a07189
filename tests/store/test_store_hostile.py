"""Hostile outbox rows through ingestion: none of them raises, each ends as one delivery, refused ones failed.

The rows are written straight into a SQLite outbox with plain sqlite3, as a buggy driver would (bytes bound as a
BLOB, numbers, NULLs in a table whose NOT NULL was lost, text that is not UTF-8, a payload over 1 MB). Before
``store.admission`` a BLOB ``shop_id`` raised TypeError in ``ingest_from`` and stopped the daemon on every start.
The fuzz writes any SQLite value in any column and follows each row through ingestion, the dispatcher's claim
and the contract's parse.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import pytest
from bridge_setup import OUTBOX_COLUMNS, AsText, insert_raw
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outboxd.contract import parse_event
from outboxd.contract.limits import MAX_PAYLOAD_BYTES
from outboxd.contract.row import QUARANTINE_SHOP
from outboxd.delivery.deliver import event_row
from outboxd.exceptions import ContractError
from outboxd.outbox import OutboxSource
from outboxd.store import Delivery, FailedFilter, Store, open_store

LOOSE_OUTBOX = """
CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, event_id, shop_id, event_type, aggregate_id, occurred_at,
  payload, created_at DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')));
"""
"""A producer's table that lost the contract's types and NOT NULLs: any value fits in any column."""
PAYMENT = {"payment_id": "p-1", "order_id": "o-1", "register_id": "r1", "business_date": "2026-03-14",
           "method_id": "cb", "amount": "30.00"}


def good(n: int, shop: str = "s1", order: str = "o-1") -> list[Any]:
    return [f"ev-{n}", shop, "payment.recorded", f"order:{order}", "2026-03-14T18:02:11+01:00",
            json.dumps(PAYMENT | {"order_id": order, "payment_id": f"p-{n}"})]


def write(path: Path, rows: list[list[Any]]) -> list[int]:
    """Rows as a buggy producer writes them into a table that lost its types; their outbox ids."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(LOOSE_OUTBOX)
    finally:
        conn.close()
    return insert_raw(path, rows)


async def ingest_all(store: Store, source: OutboxSource) -> None:
    while await store.deliveries.ingest_from(source, 7) == 7:
        pass


async def deliveries(store: Store) -> dict[int, Delivery]:
    """Every delivery by its outbox id."""
    found = {}
    for (delivery_id,) in await store.db.read("SELECT id FROM deliveries"):
        delivery = await store.deliveries.get(delivery_id)
        assert delivery is not None
        assert delivery.outbox_id is not None
        found[delivery.outbox_id] = delivery
    return found


def check_outcome(delivery: Delivery) -> str:
    """A refused row is failed with a contract error naming its column; any other parses or is a ContractError."""
    if delivery.state == "failed":
        assert delivery.last_error_class == "contract"
        assert str(delivery.last_error).split(":")[0] in OUTBOX_COLUMNS, delivery.last_error
        return "refused"
    try:
        parse_event(event_row(delivery))
    except ContractError:
        return "contract error"
    return "event"


HOSTILE: list[tuple[str, list[Any], str]] = [
    ("blob shop_id", [*good(10)[:1], b"s1", *good(10)[2:]], "shop_id: is a BLOB of 2 bytes, not text"),
    ("integer shop_id", [*good(11)[:1], 42, *good(11)[2:]], "shop_id: is the int 42, not text"),
    ("null shop_id", [*good(12)[:1], None, *good(12)[2:]], "shop_id: is NULL, not text"),
    ("malformed shop_id", [*good(13)[:1], "shop[/]", *good(13)[2:]], "shop_id: 'shop[/]' is not a shop id"),
    ("blob event_id", [b"\x00ev", *good(14)[1:]], "event_id: is a BLOB of 3 bytes, not text"),
    ("float event_type", [*good(15)[:2], 1.5, *good(15)[3:]], "event_type: is the float 1.5, not text"),
    ("blob aggregate_id", [*good(16)[:3], b"order:o-1", *good(16)[4:]], "aggregate_id: is a BLOB of 9 bytes"),
    ("null occurred_at", [*good(17)[:4], None, good(17)[5]], "occurred_at: is NULL, not text"),
    ("blob payload", [*good(18)[:5], b"{}"], "payload: is a BLOB of 2 bytes, not text"),
    ("integer payload", [*good(19)[:5], 7], "payload: is the int 7, not text"),
    ("payload over 1 MB", [*good(20)[:5], json.dumps(PAYMENT | {"x": "y" * MAX_PAYLOAD_BYTES})],
     "payload: is 1,000,"),
    ("event_id not UTF-8", [AsText(b"ev-\xff"), *good(21)[1:]], "event_id: is not valid UTF-8"),
    ("shop_id not UTF-8", [*good(22)[:1], AsText(b"s\xe9"), *good(22)[2:]], "shop_id: is not valid UTF-8"),
    ("payload not UTF-8", [*good(23)[:5], AsText(b'{"a": "\xff"}')], "payload: is not valid UTF-8"),
    ("escape in event_id", ["ev-\x1b[2J", *good(24)[1:]], "event_id: holds the control or bidi character U+001B"),
    ("bidi in shop_id", [*good(25)[:1], "s1\u202e", *good(25)[2:]], "shop_id: holds the control or bidi"),
    ("NUL in payload", [*good(26)[:5], '{"a": 1}\x00'], "payload: holds the raw control character U+0000"),
    # cut by the reader before they are loaded: without the cut, 5 MB each in memory and the exact length here
    ("5 MB event_type", [*good(27)[:2], "x" * 5_000_000, *good(27)[3:]],
     "event_type: is 4,096 characters long or more, more than 120"),
    ("5 MB blob event_id", [b"e" * 5_000_000, *good(28)[1:]], "event_id: is a BLOB of 4,096 bytes or more, not text"),
]


@pytest.mark.parametrize(("name", "values", "error"), HOSTILE, ids=[h[0] for h in HOSTILE])
async def test_a_hostile_row_is_one_failed_delivery_and_the_others_flow(
    store: Store, tmp_path: Path, name: str, values: list[Any], error: str
) -> None:
    outbox = tmp_path / "loose.db"
    before, bad, after = write(outbox, [good(1), values, good(2, shop="s2", order="o-2")])
    async with OutboxSource(outbox) as source:
        await ingest_all(store, source)
        await ingest_all(store, source)  # the cursor moved past it: nothing read twice
    found = await deliveries(store)
    assert sorted(found) == [before, bad, after]
    refused = found[bad]
    assert (refused.state, refused.last_error_class) == ("failed", "contract")
    assert str(refused.last_error).startswith(error), refused.last_error
    assert refused.shop_id == ("s1" if error.split(":")[0] != "shop_id" else QUARANTINE_SHOP)
    assert [found[before].state, found[after].state] == ["pending", "pending"]
    claimed = await store.deliveries.claim_heads({"s1": 5, "s2": 5, QUARANTINE_SHOP: 5})
    assert {d.outbox_id for d in claimed} == {before, after}  # the refused row is not claimed, the others are


async def test_a_quarantined_row_is_never_retried_only_discarded(store: Store, tmp_path: Path) -> None:
    outbox = tmp_path / "loose.db"
    bad, refused = write(outbox, [[*good(1)[:1], b"s1", *good(1)[2:]], [*good(2)[:5], b"{}"]])
    async with OutboxSource(outbox) as source:
        await ingest_all(store, source)
    found = await deliveries(store)
    assert found[bad].shop_id == QUARANTINE_SHOP
    assert await store.queue.retry([found[bad].id], "ops") == 0  # it would wait for ever: it has no shop
    assert await store.queue.retry_matching(FailedFilter(), "ops") == 1  # the other refused row, in shop s1
    assert (await store.deliveries.get(found[bad].id)).state == "failed"  # type: ignore[union-attr]
    assert await store.queue.discard([found[bad].id], "written again by Kash.Click", "ops") == 1
    assert refused != bad


async def test_a_refused_row_of_an_order_holds_that_order_only(store: Store, tmp_path: Path) -> None:
    outbox = tmp_path / "loose.db"
    ids = write(outbox, [[*good(1)[:5], b"{}"], good(2), good(3, order="o-9")])
    async with OutboxSource(outbox) as source:
        await ingest_all(store, source)
    claimed = await store.deliveries.claim_heads({"s1": 5})
    assert [d.outbox_id for d in claimed] == [ids[2]]  # o-1's later payment waits behind its failed row


def _sqlite_value(text: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), st.floats(), text, st.binary(max_size=20),
                     st.binary(max_size=20).map(AsText))  # fmt: skip


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                 max_size=3),
                     max_leaves=8)  # fmt: skip
_COLUMN_VALUES = {
    "event_id": _sqlite_value(st.text(max_size=12)),
    "shop_id": _sqlite_value(st.sampled_from(["s1", "s2", "", "s 1", "-s", "s1\x00", "x" * 65]) | st.text(max_size=5)),
    "event_type": _sqlite_value(st.sampled_from(["payment.recorded", "order.recorded", "nope"])),
    "aggregate_id": _sqlite_value(st.sampled_from(["order:o-1", "reference", "order:\x1b"])),
    "occurred_at": _sqlite_value(st.sampled_from(["2026-03-14T18:02:11+01:00", "2026-03-14", "x"])),
    "payload": _sqlite_value(st.one_of(
        st.just(json.dumps(PAYMENT)),
        st.builds(lambda k, v: json.dumps(PAYMENT | {k: v}), st.sampled_from(sorted(PAYMENT)), _JSON),
        _JSON.map(json.dumps), st.text(max_size=20))),
}


@st.composite
def _rows(draw: st.DrawFn) -> list[list[Any]]:
    """1 to 6 rows; each column either a valid payment's value or any SQLite value."""
    rows = []
    for n in range(draw(st.integers(1, 6))):
        base = good(n, shop=draw(st.sampled_from(["s1", "s2"])))
        rows.append([draw(_COLUMN_VALUES[c]) if draw(st.booleans()) else v
                     for c, v in zip(OUTBOX_COLUMNS, base, strict=True)])
    return rows


async def _fuzz_once(rows: list[list[Any]], directory: Path) -> None:
    outbox = directory / "loose.db"
    ids = write(outbox, rows)
    async with open_store(directory / "state.db", owner="fuzz") as store, OutboxSource(outbox) as source:
        await ingest_all(store, source)
        found = await deliveries(store)
        for outbox_id in set(ids) - found.keys():  # only a repeated event_id (one event) is not stored again
            event_id = rows[ids.index(outbox_id)][0]
            if type(event_id) is AsText:
                event_id = bytes(event_id).decode("utf-8", "surrogateescape")
            assert event_id in {d.event_id for d in found.values()}
        for delivery in found.values():
            check_outcome(delivery)
        shops = {d.shop_id for d in found.values()}
        for delivery in await store.deliveries.claim_heads(dict.fromkeys(shops, 10)):  # the dispatcher's read
            assert check_outcome(delivery) in ("event", "contract error")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=_rows())
def test_fuzz_any_value_in_any_column_ends_as_an_event_or_one_contract_error(rows: list[list[Any]]) -> None:
    with tempfile.TemporaryDirectory(prefix="obx-fuzz-") as directory:
        asyncio.run(_fuzz_once(rows, Path(directory)))
