"""The lettering's state: an order's customer lines recorded (again: the line id kept), its ticket number, due orders
in their order, lettered lines marked in one unit of writes."""

from __future__ import annotations

import datetime as dt

from store_helpers import FakeClock

from outboxd.store import Store


async def test_an_order_keeps_its_lines_ticket_number_and_state(store: Store, clock: FakeClock) -> None:
    letterings = store.letterings
    await store.db.write_many([
        letterings.order_statement("s1", "o-1", "T-1"),
        *letterings.line_statements("s1", "o-1", "T-1-r1", 5008, 9001),
        *letterings.line_statements("s1", "o-1", "PAY-p-1", -3000, None),
        letterings.order_statement("s2", "o-1", "T-other-shop"),
        *letterings.line_statements("s2", "o-1", "T-1-r1", 100, None),
    ])  # fmt: skip
    assert await letterings.ticket_number("s1", "o-1") == "T-1"
    assert await letterings.ticket_number("s1", "o-2") is None
    await store.db.write_many(letterings.line_statements("s1", "o-1", "T-1-r1", 5008, None))  # again: id kept
    await letterings.set_line_ids("s1", {"PAY-p-1": 9002})
    order = await letterings.get("s1", "o-1")
    assert order is not None
    assert (order.ticket_number, order.state, order.attempts) == ("T-1", "open", 0)
    assert [(ln.piece_number, ln.amount, ln.line_id, ln.lettered, ln.entry_id) for ln in order.lines] == [
        ("PAY-p-1", -3000, 9002, False, None),
        ("T-1-r1", 5008, 9001, False, None),
    ]


async def test_due_orders_come_in_their_order_and_lettering_marks_the_lines(store: Store, clock: FakeClock) -> None:
    letterings = store.letterings
    for n in (1, 2, 3):
        await store.db.write_many(letterings.line_statements("s1", f"o-{n}", f"T-{n}", 100, n))
    now = clock()
    await letterings.mark("s1", "o-2", "due", at=now - dt.timedelta(seconds=5), error="503", attempt=True)
    await letterings.mark("s1", "o-1", "due", at=now - dt.timedelta(seconds=1))
    await letterings.mark("s1", "o-3", "due", at=now + dt.timedelta(seconds=60))
    assert await letterings.due("s1") == ["o-2", "o-1"]
    assert await letterings.due("s2") == []
    await letterings.mark_lettered("s1", "o-2", ["T-2"])
    order = await letterings.get("s1", "o-2")
    assert order is not None
    assert (order.state, order.attempts, order.last_error, order.next_attempt_at) == ("lettered", 2, None, None)
    assert [ln.lettered for ln in order.lines] == [True]
    assert await letterings.due("s1") == ["o-1"]
