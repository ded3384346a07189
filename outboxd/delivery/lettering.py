"""Lettering (lettrage), a step of its own after delivery: once a ticket's payments add up to it, its customer line
and theirs are lettered together in Pennylane, so a customer account shows only what is really owed.

Each delivered ticket or payment records its customer line in the unit of writes that settles it
(``line_statements``): the line id from the 201, or none when the entry was found after an unknown outcome (it is
read back with ``GET /ledger_entries/{id}`` when needed). Then ``letter`` looks at the order: when its lines add
up to zero and one is not lettered yet, it letters them all (strategy ``none``). Lettering lines already lettered
together changes nothing, so a crash anywhere is mended by the next try. A failure never fails the delivery: the
order is due again after a backoff (``run`` retries what is due), or failed with the reason once Pennylane refuses
it or the attempts are spent; the delivery's detail shows where it stands (``lettering_view``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import structlog

from outboxd.contract import Event, OrderRecorded, PaymentRecorded
from outboxd.control.shapes import Lettering as LetteringShape
from outboxd.exceptions import AuthError, PermanentError, RetryableError, UnknownOutcomeError
from outboxd.money import format_cents
from outboxd.rules import Booking, OrderCustomerAccount

if TYPE_CHECKING:
    from outboxd.delivery.deliver import Backoff
    from outboxd.delivery.lane import Lane
    from outboxd.metrics import Metrics
    from outboxd.pennylane import PostedEntry
    from outboxd.store import Store
    from outboxd.store.letterings import Lettering, LetteringLine

__all__ = ["RETRY_TICK", "Letterer", "lettering_view", "to_letter"]

log = structlog.get_logger("outboxd.lettering")

RETRY_TICK = 1.0
"""Seconds between two looks for orders due for lettering again."""


def to_letter(lines: tuple[LetteringLine, ...]) -> tuple[LetteringLine, ...]:
    """The lines to letter now: all of the order's, once they add up to zero and one of them is not lettered yet."""
    if len(lines) < 2 or sum(line.amount for line in lines) != 0 or all(line.lettered for line in lines):
        return ()
    return lines


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
        (lettering on). ``created``: the entry just posted (None when it was posted or found before);
        ``customer_account``: the ticket's customer account, when the event is a ticket."""
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
        return [*statements, *letterings.line_statements(shop, payload.order_id, piece, amount, line_id)]

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
            await self.store.letterings.mark_lettered(shop, order_id, [line.piece_number for line in lines])
            self.metrics.inc("outboxd_letterings_total", shop=shop)
            bound.debug("lettering.done", lines=len(ids))

    async def _line_ids(self, lane: Lane, order_id: str, lines: tuple[LetteringLine, ...]) -> list[int]:
        """The lines' Pennylane ids; those not kept from the 201 are read back from their entries."""
        missing = {line.piece_number: line.entry_id for line in lines if line.line_id is None}
        found: dict[str, int] = {}
        if missing:
            if lane.client is None or None in missing.values():
                raise RetryableError(f"order {order_id}: an entry to letter is not posted or the shop not connected")
            account = await lane.resolver.account(OrderCustomerAccount(order_id))
            for piece, entry_id in missing.items():
                assert entry_id is not None
                ids = (await lane.client.get_ledger_entry(entry_id)).line_ids.get(account, ())
                if not ids:
                    raise PermanentError(f"entry {piece} has no line on the customer account: it cannot be lettered")
                found[piece] = ids[0]
            await self.store.letterings.set_line_ids(lane.shop_id, found)
        return [line.line_id if line.line_id is not None else found[line.piece_number] for line in lines]

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
