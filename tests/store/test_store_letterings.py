"""The lettering's state: an order's customer lines recorded (again: the line id kept), its ticket number, due orders
in their order, lettered lines marked in one unit of writes; the lines of several orders in one day's entry, each
by its place in the entry, an order made due only once its lines add up to zero; lines recorded before migration
0012 kept as the only customer line of their entry."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import aiosqlite
from store_helpers import FakeClock, sqlite_only

from outboxd.store import Store, known_migrations, open_store
from outboxd.store.migrate import apply_migrations


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
    await letterings.set_line_ids("s1", {("PAY-p-1", 0): 9002})
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
    await letterings.mark_lettered("s1", "o-2", [("T-2", 0)])
    order = await letterings.get("s1", "o-2")
    assert order is not None
    assert (order.state, order.attempts, order.last_error, order.next_attempt_at) == ("lettered", 2, None, None)
    assert [ln.lettered for ln in order.lines] == [True]
    assert await letterings.due("s1") == ["o-1"]


async def test_a_days_entry_holds_lines_of_several_orders_each_by_its_place(store: Store, clock: FakeClock) -> None:
    letterings, day = store.letterings, "J-2026-01-05-r1"
    await store.register_days.deliver_day([], also=[  # as a day's settle writes them, in its transaction
        letterings.order_statement("s1", "o-1", "T-1"), letterings.order_statement("s1", "o-2", "T-2"),
        letterings.line_statement("s1", "o-1", day, 8000, 501, line_no=0, label="Ticket T-1 Marie Dupont"),
        letterings.line_statement("s1", "o-2", day, 999, None, line_no=1, label="Ticket T-2 Marie Dupont"),
        letterings.line_statement("s1", "o-2", day, -500, 503, line_no=2, label="Paiement Espèces ticket T-2"),
        letterings.due_statement("s1", "o-1"), letterings.due_statement("s1", "o-2"),  # neither adds up to zero
    ])  # fmt: skip
    assert await letterings.due("s1") == []
    await store.db.write_many([
        letterings.line_statement("s1", "o-1", "J-2026-01-09-r1", -8000, None, line_no=4, label="Paiement o-1"),
        letterings.due_statement("s1", "o-1"),  # paid four days later: due
    ])  # fmt: skip
    assert await letterings.due("s1") == ["o-1"]
    await letterings.set_line_ids("s1", {("J-2026-01-09-r1", 4): 777})
    await letterings.mark_lettered("s1", "o-1", [(day, 0), ("J-2026-01-09-r1", 4)])
    one, two = await letterings.get("s1", "o-1"), await letterings.get("s1", "o-2")
    assert one is not None
    assert two is not None
    assert [(ln.key, ln.line_id, ln.lettered) for ln in one.lines] == [
        ((day, 0), 501, True), (("J-2026-01-09-r1", 4), 777, True)
    ]  # fmt: skip
    assert one.state == "lettered"
    assert [(ln.key, ln.amount, ln.label, ln.lettered) for ln in two.lines] == [
        ((day, 1), 999, "Ticket T-2 Marie Dupont", False), ((day, 2), -500, "Paiement Espèces ticket T-2", False)
    ]  # fmt: skip
    assert two.state == "open"


@sqlite_only
async def test_lines_recorded_before_migration_12_are_their_entrys_only_line(state_path: Path) -> None:
    before = [m for m in known_migrations() if m.version < 12]
    async with aiosqlite.connect(state_path) as conn:
        await apply_migrations(conn, before)
        await conn.execute("INSERT INTO lettering_lines (shop_id, order_id, piece_number, line_id, amount, lettered) "
                           "VALUES ('s1', 'o-1', 'T-1-r1', 9001, 5008, 1)")  # fmt: skip
        await conn.commit()
    async with open_store(state_path, owner="t") as store:
        order = await store.letterings.get("s1", "o-1")
        assert order is None  # no order row: lines alone are not an order
        await store.db.write_many([store.letterings.order_statement("s1", "o-1", "T-1")])
        order = await store.letterings.get("s1", "o-1")
    assert order is not None
    (line,) = order.lines
    assert (line.key, line.label, line.line_id, line.amount, line.lettered) == (("T-1-r1", 0), None, 9001, 5008, True)
    with sqlite3.connect(state_path) as raw:
        assert raw.execute("SELECT count(*) FROM pragma_index_list('lettering_lines')").fetchone()[0] == 2
