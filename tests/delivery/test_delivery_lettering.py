"""Lettering through the real daemon against the simulator: split payments, a refund against its credit note, a
payment days later and a ticket paid by halves are lettered once they add up, an unpaid ticket stays open; under
faults (503s, connections cut after the commit) every entry is posted once and every group balances."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from daemon_bench import Bench, bench, until

from outboxd.control.text import delivery_text
from outboxd.store import Store

pytestmark = pytest.mark.timeout(90)

DAY = dt.date(dt.date.today().year, 1, 12)
REFERENCE = {"registers": [{"id": "r1", "name": "Caisse 1"}],
             "payment_methods": [{"id": "cash", "label": "Espèces", "kind": "cash"},
                                 {"id": "cb", "label": "Carte bancaire", "kind": "card"}],
             "vat_rates": [{"rate": "20"}], "chapters": [], "chapters_enabled": False}  # fmt: skip
MARIE = {"id": "c-77", "type": "individual", "first_name": "Marie", "last_name": "Dupont", "name": None,
         "email": None, "vat_number": None, "reg_no": None, "address": None}  # fmt: skip


def _row(kind: str, aggregate: str, payload: dict[str, Any], key: str) -> dict[str, Any]:
    return {"event_id": f"e-{kind}-{key}", "shop_id": "s1", "event_type": kind, "aggregate_id": aggregate,
            "occurred_at": "2026-01-12T18:02:11+01:00", "payload": payload}  # fmt: skip


def _order(order_id: str, number: str, total: str, customer: dict[str, Any] | None = None) -> dict[str, Any]:
    return _row("order.recorded", f"order:{order_id}", {
        "order_id": order_id, "number": number, "register_id": "r1", "business_date": DAY.isoformat(),
        "customer": customer, "total_incl_tax": total,
        "lines": [{"label": "Article", "quantity": "1", "total_incl_tax": total, "vat_rate": "20", "kind": "goods",
                   "chapter": None}]}, order_id)  # fmt: skip


def _payment(payment_id: str, order_id: str, method: str, amount: str, days_later: int = 0) -> dict[str, Any]:
    day = (DAY + dt.timedelta(days=days_later)).isoformat()
    return _row("payment.recorded", f"order:{order_id}", {
        "payment_id": payment_id, "order_id": order_id, "register_id": "r1", "business_date": day,
        "method_id": method, "amount": amount}, payment_id)  # fmt: skip


FIRST = [
    _row("reference.updated", "reference", REFERENCE, "1"),
    _order("o-1", "T-000001", "50.08", MARIE), _payment("p-1", "o-1", "cb", "30.00"),
    _payment("p-2", "o-1", "cash", "20.08"),  # split payment
    _order("o-2", "A-000001", "-12.50"), _payment("p-3", "o-2", "cash", "-12.50"),  # a refund against a credit note
    _order("o-3", "T-000002", "80.00", MARIE),  # bought on account: paid days later (LATER)
    _order("o-4", "T-000003", "9.99", MARIE),  # never paid: stays open
    _order("o-5", "T-000004", "20.00"), _payment("p-5", "o-5", "cb", "10.00"),  # half paid now, half later
]
LATER = [_payment("p-4", "o-3", "cb", "80.00", days_later=5), _payment("p-6", "o-5", "cash", "10.00", days_later=2)]


async def _settled(store: Store, count: int) -> bool:
    stats = await store.queue.stats("s1")
    return bool(stats) and stats[0].delivered + stats[0].failed >= count


async def _state(store: Store, order_id: str) -> str | None:
    lettering = await store.letterings.get("s1", order_id)
    return None if lettering is None else lettering.state


def _groups(b: Bench) -> dict[str, frozenset[str]]:
    """Per piece_number of a customer line in the simulator, the piece_numbers of the lines lettered with it."""
    company = b.sandbox.companies[b.companies["s1"]]
    piece = {line_id: entry.piece_number for line_id, (entry, _) in company.lines.items()}
    return {piece[line]: frozenset(piece[other] for other in group) for line, group in company.lettering.items()}


def _balanced(b: Bench) -> bool:
    company = b.sandbox.companies[b.companies["s1"]]
    groups = set(company.lettering.values())
    return all(sum(company.lines[i][1].debit - company.lines[i][1].credit for i in g) == 0 for g in groups)


async def _run(b: Bench) -> None:
    assert b.daemon is not None
    store = b.daemon.store
    b.insert(FIRST)
    await until(lambda: _settled(store, len(FIRST)), 40, "the first events delivered")
    await until(lambda: _state(store, "o-2"), 20, "the credit note's lettering recorded")
    b.insert(LATER)
    await until(lambda: _settled(store, len(FIRST) + len(LATER)), 40, "the later payments delivered")

    async def lettered() -> bool:
        return all([await _state(store, o) == "lettered" for o in ("o-1", "o-2", "o-3", "o-5")])

    await until(lettered, 40, "every paid ticket lettered")
    assert not await store.queue.failed()
    assert await _state(store, "o-4") == "open"
    groups = _groups(b)
    assert groups["T-000001-r1"] == {"T-000001-r1", "PAY-p-1", "PAY-p-2"}
    assert groups["A-000001-r1"] == {"A-000001-r1", "PAY-p-3"}
    assert groups["T-000002-r1"] == {"T-000002-r1", "PAY-p-4"}
    assert groups["T-000004-r1"] == {"T-000004-r1", "PAY-p-5", "PAY-p-6"}
    assert "T-000003-r1" not in groups
    assert _balanced(b)
    pieces = [entry.piece_number for entry in b.sandbox.entries(b.companies["s1"])]
    assert len(pieces) == len(set(pieces)), "an entry was posted twice"
    labels = {entry.piece_number: entry.label for entry in b.sandbox.entries(b.companies["s1"])}
    assert labels["PAY-p-4"] == "Paiement Carte bancaire ticket T-000002"
    assert labels["PAY-p-3"] == "Remboursement Espèces ticket A-000001"


async def test_paid_tickets_are_lettered_and_an_unpaid_one_stays_open(tmp_path: Path) -> None:
    async with bench(tmp_path) as b:
        await _run(b)
        detail = await b.client.delivery(2)  # o-1's ticket (the reference is delivery 1)
        assert detail["lettering"]["state"] == "lettered"
        assert [line["piece_number"] for line in detail["lettering"]["lines"]] == ["PAY-p-1", "PAY-p-2", "T-000001-r1"]
        shown = delivery_text(detail)  # what ctl show and the dashboard print
        assert "── lettering ──" in shown
        assert "order o-1: lettered (" in shown


async def test_under_faults_every_paid_ticket_is_lettered_once_and_balanced(tmp_path: Path) -> None:
    async with bench(tmp_path) as b:
        b.sandbox.faults.update(fail_rate=0.15, drop_after_commit=0.15, seed=5)
        await _run(b)
        assert b.daemon is not None
        assert sum(b.daemon.metrics.counters.get("outboxd_retries_total", {}).values()) > 0  # faults were met
