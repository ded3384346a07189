"""Lettering (lettrage), a step of its own after delivery: once a ticket's payments add up to it, its customer line
and theirs are lettered together in Pennylane, so a customer account shows only what is really owed.

Each delivered ticket or payment records its customer line in the unit of writes that settles it
(``line_statements``): the line id from the 201, or none when the entry was found after an unknown outcome (it is
read back with ``GET /ledger_entries/{id}`` when needed). Then ``letter`` looks at the order: when its lines add
up to zero and one is not lettered yet, it letters them all (strategy ``none``). Lettering lines already lettered
together changes nothing, so a crash anywhere is mended by the next try. A failure never fails the delivery: the
order is due again after a backoff (``run`` retries what is due), or failed with the reason once Pennylane refuses
it or the attempts are spent; the delivery's detail shows where it stands (``lettering_view``).

A register-day booked as one entry (daily booking) records every customer line of its entries with the day's
settle (``day_statements``), each by its place in the entry and its label, and in the same unit of writes makes
due the orders whose lines now add up to zero: the lettering task (``run``) letters them within a second, and after
a crash too, without holding up the next day. A ticket on account is lettered once its payments of later days add
up to it; with ``customers = "all"``, a ticket paid within its day is lettered with its payments in the same entry.
A line whose id was not kept is told from the entry's other lines on its account by amount and label (``find_line``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import structlog

from outboxd.contract import Event, OrderRecorded, PaymentRecorded
from outboxd.contract.limits import MAX_LABEL, clean_text
from outboxd.control.shapes import Lettering as LetteringShape
from outboxd.exceptions import AuthError, PermanentError, RetryableError, UnknownOutcomeError
from outboxd.money import format_cents
from outboxd.rules import Booking, OrderCustomerAccount
from outboxd.rules.daily import DayBooking
from outboxd.store.letterings import LetteringLine

if TYPE_CHECKING:
    from outboxd.delivery.deliver import Backoff
    from outboxd.delivery.lane import Lane
    from outboxd.metrics import Metrics
    from outboxd.pennylane import PostedEntry
    from outboxd.store import Store
    from outboxd.store.letterings import Lettering

__all__ = ["AFTER_DELIVERY", "RETRY_TICK", "Letterer", "find_line", "lettering_view", "to_letter"]

log = structlog.get_logger("outboxd.lettering")

RETRY_TICK = 1.0
"""Seconds between two looks for orders due for lettering again."""
AFTER_DELIVERY = 10.0
"""Seconds an order whose lines a delivery made add up to zero is left to the lettering that follows that delivery
(``after_delivery``) before the lettering task takes it: only a crash in between leaves it to the task."""


def to_letter(lines: tuple[LetteringLine, ...]) -> tuple[LetteringLine, ...]:
    """The lines to letter now: all of the order's, once they add up to zero and one of them is not lettered yet."""
    if len(lines) < 2 or sum(line.amount for line in lines) != 0 or all(line.lettered for line in lines):
        return ()
    return lines


def find_line(entry: PostedEntry, account_id: int, line: LetteringLine, rank: int) -> int | None:
    """The id of ``line`` among the lines Pennylane holds for ``entry``: the entry's only line on the account when
    the line has no label (an entry of one event), else the ``rank``-th line on the account with its amount and label
    (lines alike in all three are the same order's, so which of them is which does not matter)."""
    if line.label is None:
        ids = entry.line_ids.get(account_id, ())
        return ids[0] if ids else None
    alike = [p.id for p in entry.lines if (p.account_id, p.amount, p.label) == (account_id, line.amount, line.label)]
    return alike[rank] if rank < len(alike) else None


def _ranks(lines: Iterable[LetteringLine]) -> dict[tuple[str, int], int]:
    """Each line's rank among the lines of its entry with its amount and label (``lines``: one order's)."""
    seen: Counter[tuple[str, int, str | None]] = Counter()
    ranks = {}
    for line in sorted(lines, key=lambda ln: ln.key):
        alike = (line.piece_number, line.amount, line.label)
        ranks[line.key] = seen[alike]
        seen[alike] += 1
    return ranks


def lettering_view(lettering: Lettering | None) -> LetteringShape | None:
    """The order's lettering as the delivery's detail shows it (None: nothing recorded)."""
    if lettering is None:
        return None
    return {
        "order_id": lettering.order_id, "state": lettering.state, "attempts": lettering.attempts,
        "next_attempt_at": lettering.next_attempt_at.timestamp() if lettering.next_attempt_at else None,
        "last_error": lettering.last_error,
        "lines": [{"piece_number": ln.piece_number, "amount": format_cents(ln.amount), "line_id": ln.line_id,
                   "lettered": ln.lettered} for ln in lettering.lines],
    }  # fmt: skip


def _order_id(event: Event) -> str | None:
    payload = event.payload
    return payload.order_id if isinstance(payload, OrderRecorded | PaymentRecorded) else None


class Letterer:
    """The lettering step of every lane; ``run`` is the daemon's task that retries what is due."""

    def __init__(self, store: Store, metrics: Metrics, backoff: Backoff, rng: random.Random) -> None:
        self.store = store
        self.metrics = metrics
        self.backoff = backoff
        self.rng = rng

    async def ticket_number(self, shop_id: str, event: Event) -> str | None:
        """For a payment, the number of the ticket it pays, when its order was delivered here."""
        payload = event.payload
        if not isinstance(payload, PaymentRecorded):
            return None
        return await self.store.letterings.ticket_number(shop_id, payload.order_id)

    async def line_statements(
        self, lane: Lane, event: Event, booking: Booking, created: PostedEntry | None, customer_account: int | None
    ) -> list[tuple[str, Any]]:
        """What to write with the settled delivery: a ticket's number, and the customer line of a ticket or payment
        with its order due once its lines add up to zero (lettering on: a crash before ``after_delivery`` letters it
        leaves it to the lettering task). ``created``: the entry just posted (None when it was posted or found
        before); ``customer_account``: the ticket's customer account, when the event is a ticket."""
        payload = event.payload
        if not booking.entries or not isinstance(payload, OrderRecorded | PaymentRecorded):
            return []
        shop, letterings = lane.shop_id, self.store.letterings
        statements = []
        if isinstance(payload, OrderRecorded):
            statements.append(letterings.order_statement(shop, payload.order_id, payload.number))
            amount = payload.total_incl_tax
        else:
            amount = -payload.amount
        if not lane.mapping().lettering:
            return statements
        if customer_account is None:
            customer_account = await lane.resolver.account(OrderCustomerAccount(payload.order_id))
        ids = created.line_ids.get(customer_account, ()) if created is not None else ()
        line_id, piece = (ids[0] if ids else None), booking.entries[-1].piece_number
        return [*statements, *letterings.line_statements(shop, payload.order_id, piece, amount, line_id),
                letterings.due_statement(shop, payload.order_id, after=AFTER_DELIVERY)]

    async def day_statements(
        self, lane: Lane, booking: DayBooking, created: Mapping[str, PostedEntry], numbers: Mapping[str, str]
    ) -> list[tuple[str, Any]]:
        """What to write with a settled register-day: the row of each order with a customer line in its entries
        (with its ticket number, from ``numbers``), and, lettering on, each such line and the order due if its lines
        add up to zero. ``created``: the day's entries posted now, by piece_number (their lines' ids); an entry
        posted before has its lines read back when it is lettered."""
        shop, letterings = lane.shop_id, self.store.letterings
        orders = dict.fromkeys(line.order_id for line in booking.customer_lines)
        statements = [letterings.order_statement(shop, order_id, numbers.get(order_id)) for order_id in orders]
        if not lane.mapping().lettering:
            return statements
        entries = {entry.piece_number: entry for entry in booking.entries}
        lines: list[tuple[str, LetteringLine, int]] = []  # (order_id, line, its account's id)
        for at in booking.customer_lines:
            booked = entries[at.piece_number].lines[at.index]
            label = clean_text(booked.label, MAX_LABEL)  # as Pennylane holds it
            line = LetteringLine(at.piece_number, booked.debit - booked.credit, None, False, None, at.index, label)
            lines.append((at.order_id, line, await lane.resolver.account(booked.account)))
        ranks = {order_id: _ranks(ln for o, ln, _ in lines if o == order_id) for order_id in orders}
        for order_id, line, account_id in lines:
            posted = created.get(line.piece_number)
            line_id = None if posted is None else find_line(posted, account_id, line, ranks[order_id][line.key])
            statements.append(letterings.line_statement(shop, order_id, line.piece_number, line.amount, line_id,
                                                        line_no=line.line_no, label=line.label))  # fmt: skip
        return [*statements, *(letterings.due_statement(shop, order_id) for order_id in orders)]

    async def after_delivery(self, lane: Lane, event: Event) -> None:
        """Letter the order of a ticket or payment just delivered, if it is due; never fails the delivery."""
        order_id = _order_id(event)
        if order_id is None or not lane.mapping().lettering:
            return
        try:
            await self.letter(lane, order_id)
        except Exception:  # the state database failing here: the order's state is unchanged, run() tries again
            log.exception("lettering.crashed", shop=lane.shop_id, order_id=order_id)

    async def letter(self, lane: Lane, order_id: str) -> None:
        """Letter the order if it is due. Never raises (but CancelledError): its state says what happened."""
        shop = lane.shop_id
        bound = log.bind(shop=shop, order_id=order_id)
        lettering = await self.store.letterings.get(shop, order_id)
        if lettering is None or lettering.state == "failed":
            return
        lines = to_letter(lettering.lines)
        if not lines:  # nothing to letter: open again if it was due, or lettered and a line came since (a refund)
            behind = lettering.state == "lettered" and not all(line.lettered for line in lettering.lines)
            if lettering.state == "due" or behind:
                await self.store.letterings.mark(shop, order_id, "open")
            return
        try:
            ids = await self._line_ids(lane, order_id, lines)
            if lane.client is None:
                raise RetryableError(f"shop {shop} is not connected to Pennylane")
            await lane.client.letter_lines(ids)
        except (RetryableError, UnknownOutcomeError, AuthError) as exc:
            await self._again(lettering, shop, exc.message, bound)
        except PermanentError as exc:
            await self.store.letterings.mark(shop, order_id, "failed", error=exc.message, attempt=True)
            bound.error("lettering.failed", reason=exc.message, status=exc.status)
        except Exception as exc:  # a bug: keep the order due, say so loudly
            bound.exception("lettering.crashed")
            await self._again(lettering, shop, f"{type(exc).__name__}: {exc}", bound)
        else:
            await self.store.letterings.mark_lettered(shop, order_id, [line.key for line in lines])
            self.metrics.inc("outboxd_letterings_total", shop=shop)
            bound.debug("lettering.done", lines=len(ids))

    async def _line_ids(self, lane: Lane, order_id: str, lines: tuple[LetteringLine, ...]) -> list[int]:
        """The lines' Pennylane ids; those not kept from the 201 are read back from their entries (one read each)."""
        missing = [line for line in lines if line.line_id is None]
        found: dict[tuple[str, int], int] = {}
        if missing:
            if lane.client is None or any(line.entry_id is None for line in missing):
                raise RetryableError(f"order {order_id}: an entry to letter is not posted or the shop not connected")
            account = await lane.resolver.account(OrderCustomerAccount(order_id))
            ranks = _ranks(lines)
            entries: dict[int, PostedEntry] = {}
            for line in missing:
                assert line.entry_id is not None
                if line.entry_id not in entries:
                    entries[line.entry_id] = await lane.client.get_ledger_entry(line.entry_id)
                line_id = find_line(entries[line.entry_id], account, line, ranks[line.key])
                if line_id is None:
                    raise PermanentError(
                        f"entry {line.piece_number} has no line of {format_cents(line.amount)} on the customer "
                        f"account{f' labelled {line.label!r}' if line.label else ''}: it cannot be lettered"
                    )
                found[line.key] = line_id
            await self.store.letterings.set_line_ids(lane.shop_id, found)
        return [line.line_id if line.line_id is not None else found[line.key] for line in lines]

    async def _again(self, lettering: Lettering, shop: str, reason: str, bound: Any) -> None:
        if lettering.attempts + 1 >= self.backoff.max_attempts:
            reason = f"gave up after {lettering.attempts + 1} attempts: {reason}"
            await self.store.letterings.mark(shop, lettering.order_id, "failed", error=reason, attempt=True)
            bound.error("lettering.failed", reason=reason)
            return
        at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.backoff.delay(lettering.attempts, self.rng))
        await self.store.letterings.mark(shop, lettering.order_id, "due", at=at, error=reason, attempt=True)
        bound.warning("lettering.retry", reason=reason)

    async def run(self, lanes: Mapping[str, Lane], owns: Callable[[str], bool], tick: float = RETRY_TICK) -> None:
        """Letter again, shop by shop, what is due: orders whose last try failed and whose backoff has passed."""
        while True:
            try:  # the shops with an order due: thousands of shops may be known, a few have one due
                due = sorted(await self.store.letterings.due_shops())
            except Exception:  # the state database failing: the next tick tries again
                log.exception("lettering.crashed")
                due = []
            for shop_id in due:
                lane = lanes.get(shop_id)
                if lane is None or not (lane.runnable and owns(shop_id) and lane.mapping().lettering):
                    continue
                try:
                    for order_id in await self.store.letterings.due(shop_id):
                        await self.letter(lane, order_id)
                except Exception:  # the state database failing: what is due stays due, the next tick tries again
                    log.exception("lettering.crashed", shop=shop_id)
            await asyncio.sleep(tick)
