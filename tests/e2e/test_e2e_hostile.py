"""A corpus of hostile rows written straight into the outbox, on ``outboxd run`` (a real process) and the simulator.

What a buggy driver or an attacker writes: non-text columns, bad shop ids, JSON nested 100,000 deep, amounts of
30 and 5,000 digits, a payload over 1 MB, control characters, tickets of 40,000 and 1,001 lines. The daemon never
exits; each bad row is one failed delivery, class ``contract``, whose message names the column or the field; both
shops' good events are delivered meanwhile, exactly once; and what reaches Pennylane is clean and within its limits.
"""

from __future__ import annotations

import copy
import json
import sqlite3
import uuid
from typing import Any

import pytest
from bridge_setup import OUTBOX_COLUMNS, AsText, insert_raw
from e2e_harness import SHOPS, World, WorldFactory, assert_exact, settle, wait_until

from outboxd.contract.limits import MAX_LABEL, MAX_PAYLOAD_BYTES, clean_text
from outboxd.contract.row import QUARANTINE_SHOP

pytestmark = pytest.mark.timeout(120)

def _order(base: dict[str, Any], n: int, **payload: Any) -> dict[str, Any]:
    """A copy of a good order of the shop under a new order id (its own aggregate, blocking nothing else)."""
    row = copy.deepcopy(base)
    order_id = f"h-{n}"
    row.update(event_id=str(uuid.uuid4()), aggregate_id=f"order:{order_id}")
    row["payload"].update({"order_id": order_id, "number": f"H-{n:06d}"} | payload)
    return row


def _payment(base: dict[str, Any], n: int, **payload: Any) -> dict[str, Any]:
    row = copy.deepcopy(base)
    row.update(event_id=str(uuid.uuid4()), aggregate_id=f"order:h-{n}")
    row["payload"].update(order_id=f"h-{n}", payment_id=f"hp-{n}", **payload)
    return row


def _values(row: dict[str, Any], **columns: Any) -> list[Any]:
    row = {**row, "payload": json.dumps(row["payload"])} | columns
    return [row[c] for c in OUTBOX_COLUMNS]


def _corpus(rows: list[dict[str, Any]]) -> list[tuple[list[Any], str, str]]:
    """(column values, shop the failure lands in, start of its message) for each hostile row."""
    order = next(r for r in rows if r["event_type"] == "order.recorded" and r["payload"]["customer"] is None)
    payment = next(r for r in rows if r["event_type"] == "payment.recorded")
    line = order["payload"]["lines"][0]
    huge = json.dumps(order["payload"])[:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    lines_40k = {"lines": [line] * 40_000, "vat_breakdown": None}
    return [
        (_values(_order(order, 1), shop_id=b"s1"), QUARANTINE_SHOP, "shop_id: is a BLOB of 2 bytes, not text"),
        (_values(_order(order, 2), shop_id="shop[/]"), QUARANTINE_SHOP, "shop_id: 'shop[/]' is not a shop id"),
        (_values(_order(order, 3), shop_id="s1\x1b[31m"), QUARANTINE_SHOP, "shop_id: holds the control or bidi"),
        (_values(_order(order, 4), event_id=b"\x00\x01"), "s1", "event_id: is a BLOB of 2 bytes, not text"),
        (_values(_order(order, 5), event_id="ev\r\n5"), "s1", "event_id: holds the control or bidi character"),
        (_values(_order(order, 6), aggregate_id=AsText(b"order:h-\xff")), "s1", "aggregate_id: is not valid UTF-8"),
        (_values(_order(order, 7), payload=b"{}"), "s1", "payload: is a BLOB of 2 bytes, not text"),
        (_values(_order(order, 8), payload=huge), "s1", "payload: nests objects or arrays more than 20 deep"),
        (_values(_order(order, 9, total_incl_tax="9" * 5000)), "s1", "payload.total_incl_tax: '999"),
        (_values(_payment(payment, 10, amount="1" * 30 + ".00")), "s1", "payload.amount: '111"),
        (_values(_order(order, 11, note="n" * MAX_PAYLOAD_BYTES)), "s1", "payload: is 1,0"),
        (_values(_order(order, 12, number="H-12\x1b]0;pwned\x07")), "s1", "payload.number: holds the control or"),
        (_values(_payment(payment, 13, register_id="r1\u202e")), "s1", "payload.register_id: holds the control"),
        (_values(_order(order, 14, **lines_40k)), "s1", "payload: is "),  # 40,000 lines: over 1 MB before counted
        (_values(_order(order, 15, lines=[line] * 1001, vat_breakdown=None)), "s1",
         "payload.lines: has 1,001 items, more than 1000"),
    ]


def stored_errors(world: World, ids: list[int]) -> list[str | None]:
    return [outcome[0][3] for outcome in _outcomes(world, ids).values()]


def _outcomes(world: World, ids: list[int]) -> dict[int, list[tuple[str, str, str | None, str | None]]]:
    conn = sqlite3.connect(f"file:{world.layout.state}?mode=ro", uri=True, timeout=5)
    try:
        found: dict[int, list[tuple[str, str, str | None, str | None]]] = {i: [] for i in ids}
        marks = ", ".join("?" * len(ids))
        sql = f"SELECT outbox_id, shop_id, state, last_error_class, last_error FROM deliveries WHERE outbox_id IN ({marks})"  # noqa: S608, E501
        for outbox_id, shop, state, error_class, message in conn.execute(sql, ids):
            found[outbox_id].append((shop, state, error_class, message))
        return found
    finally:
        conn.close()


async def test_hostile_rows_fail_alone_while_both_shops_deliver(make_world: WorldFactory) -> None:
    world = await make_world()
    good = {shop: world.history(shop, days=2, seed=n) for n, shop in enumerate(SHOPS)}
    corpus = _corpus(good["s1"])
    dirty = _order(next(r for r in good["s1"] if r["event_type"] == "order.recorded"), 99)
    dirty["payload"]["lines"][0]["label"] = "T-shirt\x1b[2J\u202e rouge\r\n"
    dirty["payload"]["customer"] = {"id": "c-long", "type": "individual", "first_name": "Marie\x00",
                                    "last_name": "D" * 1000, "address": None}  # fmt: skip
    half = len(good["s1"]) // 2
    world.layout.insert(good["s1"][:half])
    world.layout.insert(good["s2"])
    ids = insert_raw(world.layout.outbox, [values for values, _, _ in corpus])
    world.layout.insert([dirty, *good["s1"][half:]])
    await world.daemon.start_ready()

    s1_good = [*good["s1"], dirty]
    await settle(world.state, {"s1": len(s1_good) + 12, "s2": len(good["s2"])}, 90, world.daemon)

    async def all_refused() -> bool:
        return all(outcome and outcome[0][1] == "failed" for outcome in _outcomes(world, ids).values())

    await wait_until(all_refused, 30, "every hostile row failed")
    assert world.daemon.proc is not None
    assert world.daemon.proc.poll() is None, world.daemon.log_tail()  # it never exited
    for (_, shop, message), outcome in zip(corpus, _outcomes(world, ids).values(), strict=True):
        ((landed, state, error_class, stored),) = outcome  # exactly one delivery per row
        assert (landed, state, error_class) == (shop, "failed", "contract"), stored
        assert str(stored).startswith(message), stored
    for shop, rows in (("s1", s1_good), ("s2", good["s2"])):
        assert world.state.counts(shop)["delivered"] == len(rows)
        assert_exact(world.sandbox, world.companies[shop], world.expected(shop, rows))
    logged = [json.loads(line) for line in world.daemon.log_path.read_text().splitlines() if line.startswith("{")]
    refused = {entry["outbox_id"] for entry in logged if entry["event"] == "outbox.row_refused"}
    assert refused == {*ids[:7], ids[10], ids[13]}  # the rows refused before their payload was parsed
    async with world.control() as client:  # what the operator sees: each one listed, and shown in detail
        listed = await client.failed(limit=100)
        shown = [await client.delivery(int(item["id"])) for item in listed["items"]]
    assert listed["total"] == len(corpus)
    assert sorted(str(d["message"]) for d in shown) == sorted(str(m) for m in stored_errors(world, ids))
    entries = world.sandbox.entries(world.companies["s1"])
    labels = [e.label for e in entries] + [line.label for e in entries for line in e.lines]
    assert all(label.isprintable() and len(label) <= MAX_LABEL for label in labels)
    assert clean_text(f"Ticket H-000099 Marie {'D' * 1000}", MAX_LABEL) in labels  # cut, with its ellipsis
