"""Lettering across a kill -9: the payment that completes a ticket is committed in Pennylane, the daemon dies before
the 201 (so the line id it would have kept is lost), and after the restart the payment is found, not posted again,
its line is read back and the ticket is lettered with it; every paid ticket lettered, every group balanced."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from e2e_harness import WorldFactory, booked_pieces, settle, wait_until
from e2e_lettering import lettering_gaps


def _event(kind: str, key: str, order_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"event_id": f"e-{kind}-{key}", "shop_id": "s1", "event_type": kind, "aggregate_id": f"order:{order_id}",
            "occurred_at": "2026-01-05T18:02:11+01:00", "payload": payload}  # fmt: skip


def _lettering_state(state: Path, order_id: str) -> str | None:
    conn = sqlite3.connect(f"file:{state}?mode=ro", uri=True, timeout=5)
    try:
        row = conn.execute("SELECT state FROM letterings WHERE shop_id = 's1' AND order_id = ?", (order_id,)).fetchone()
    finally:
        conn.close()
    return None if row is None else str(row[0])


async def test_a_payment_whose_201_was_lost_in_a_kill_9_is_lettered_after_the_restart(
    make_world: WorldFactory,
) -> None:
    world = await make_world(lease_seconds=600.0)
    rows = world.history("s1", days=1)
    day = next(r["payload"]["business_date"] for r in rows if r["event_type"] == "order.recorded")
    order = _event("order.recorded", "o-k", "o-k", {
        "order_id": "o-k", "number": "T-KILL", "register_id": "r1", "business_date": day, "customer": None,
        "lines": [{"label": "Pain", "quantity": "1", "total_incl_tax": "20.00", "vat_rate": "5.5", "kind": "goods",
                   "chapter": None}], "total_incl_tax": "20.00"})  # fmt: skip
    payment = _event("payment.recorded", "p-k", "o-k", {
        "payment_id": "p-k", "order_id": "o-k", "register_id": "r1", "business_date": day, "method_id": "cash",
        "amount": "20.00"})  # fmt: skip
    world.layout.insert([*rows, order])
    await world.daemon.start_ready()
    await settle(world.state, {"s1": len(rows) + 1}, 30, world.daemon)
    company = world.companies["s1"]

    world.sandbox.faults.update(hold_after_commit_ms=5_000)
    world.layout.insert([payment])

    async def committed() -> bool:
        return "PAY-p-k" in booked_pieces(world.sandbox, company)

    await wait_until(committed, 10)
    world.daemon.kill9()
    world.sandbox.faults.update(hold_after_commit_ms=0)
    await world.daemon.start_ready()
    await settle(world.state, {"s1": len(rows) + 2}, 30, world.daemon)

    async def lettered() -> bool:
        return _lettering_state(world.layout.state, "o-k") == "lettered"

    await wait_until(lettered, 20)
    assert booked_pieces(world.sandbox, company)["PAY-p-k"] == 1

    async def all_lettered() -> bool:  # the history's tickets too, each with its own payments
        return not lettering_gaps(world.sandbox, company, [*rows, order, payment])

    await wait_until(all_lettered, 20)
    assert '"delivery.found_after_unknown_outcome"' in world.daemon.log_path.read_text()
