"""After a state restore: every entry Pennylane already holds for a shop, recorded as posted before it resumes.

The dedup rule (``Deliverer.post_once``) records each piece_number before its POST and looks Pennylane up only for
the pieces it has a record of. A state database restored from a backup has no record of the entries posted since,
so the events behind them would be booked again. A reconcile, on a paused and connected shop, lists the entries of
every journal of the shop's Pennylane company (a register's journal may be younger than the backup) dated from
``since`` on, and records each piece_number as posted (``outboxd.store.reconcile``); then nothing is posted twice.
A new record belongs to the open delivery whose event books that piece (its event booked now with the shop's
mapping), so the delivery's detail shows it posted; a piece no open delivery books is recorded without one.

Pennylane filters entries by journal and date only (not by piece_number, and no longer by creation time), so the
date matters: every entry is dated on its event's business date, and without ``since`` the reconcile starts at the
earliest business date of the shop's open deliveries, the oldest entry any of them could post. The Pennylane client
paces itself on the rate limit: about one request per journal and per 100 entries.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import TYPE_CHECKING

from outboxd.contract import parse_event
from outboxd.control.shapes import Reconcile
from outboxd.delivery.deliver import event_row
from outboxd.exceptions import BadRequest, BookingError, ContractError
from outboxd.rules import book
from outboxd.store.reconcile import FoundEntry, Reconciliation, Tally

if TYPE_CHECKING:
    from outboxd.delivery.lane import Lane
    from outboxd.pennylane import PennylaneClient
    from outboxd.store import Store

__all__ = ["reconcile"]

BATCH = 100
"""Found entries recorded per transaction of the state database: a page of Pennylane's list."""


async def reconcile(store: Store, lane: Lane, actor: str, since: dt.date | None) -> Reconcile:
    """Record as posted every piece_number of the company's entries dated ``since`` or later; audited.

    ``{"shop_id", "since", "journals", "entries", "recorded", "confirmed", "known", "duplicates", "not_covered"}``:
    journals scanned, entries seen, pieces newly recorded, pieces the state database had recorded but not seen
    posted (now posted), pieces already known as posted, pieces Pennylane holds more than once, and the open
    deliveries dated before ``since`` (``{"deliveries", "earliest"}``, or None): entries of theirs were not looked for.
    """
    shop_id = lane.shop_id
    if not lane.paused:
        raise BadRequest(
            f"shop {shop_id} is not paused: pause it first (`outboxd ctl pause {shop_id}`), so that none of its "
            "events is posted before Pennylane's entries are recorded, then reconcile"
        )
    if lane.client is None or not lane.connected:
        raise BadRequest(
            f"shop {shop_id} is not connected to Pennylane: connect it first (`outboxd ctl connect {shop_id}`, "
            f"or `outboxd ctl token {shop_id} FILE`), then reconcile"
        )
    reconciliation = Reconciliation(store.db, store.clock)
    if since is None:
        since = (await reconciliation.open_before(shop_id, dt.date.max)).earliest or dt.date.today()
    uncovered = await reconciliation.open_before(shop_id, since)
    owners = await _owners(reconciliation, lane, since)
    journals = await lane.client.journals()
    entries, tally, duplicates = await _scan(lane.client, reconciliation, owners, shop_id, [j.id for j in journals],
                                             since)  # fmt: skip
    result: Reconcile = {
        "shop_id": shop_id, "since": since.isoformat(), "journals": len(journals), "entries": entries,
        "recorded": tally.recorded, "confirmed": tally.confirmed, "known": tally.known,
        "duplicates": sorted(duplicates),
        "not_covered": None if uncovered.earliest is None else
        {"deliveries": uncovered.count, "earliest": uncovered.earliest.isoformat()},
    }  # fmt: skip
    detail = {k: v for k, v in result.items() if k != "shop_id"} | {"duplicates": len(duplicates)}
    await store.audit.append(actor, "shop.reconcile", shop_id=shop_id, detail=detail)
    return result


async def _owners(reconciliation: Reconciliation, lane: Lane, since: dt.date) -> dict[str, int]:
    """piece_number -> the open delivery dated ``since`` or later whose event books it with the shop's mapping now."""
    owners: dict[str, int] = {}
    after = 0
    while batch := await reconciliation.open_since(lane.shop_id, since, after_id=after):
        for delivery in batch:
            try:
                booking = book(parse_event(event_row(delivery)), lane.mapping())
            except (ContractError, BookingError):  # cannot be posted as it stands: its pieces stay without owner
                continue
            owners.update((entry.piece_number, delivery.id) for entry in booking.entries)
        after = batch[-1].id
        await asyncio.sleep(0)  # a long history: let the other lanes run between batches
    return owners


async def _scan(
    client: PennylaneClient, reconciliation: Reconciliation, owners: dict[str, int], shop_id: str,
    journal_ids: list[int], since: dt.date,
) -> tuple[int, Tally, set[str]]:  # fmt: skip
    """Entries seen, what recording their pieces changed, and the pieces seen more than once."""
    entries, tally = 0, Tally()
    seen: set[str] = set()
    duplicates: set[str] = set()
    for journal_id in journal_ids:
        batch: list[FoundEntry] = []
        filters = [("journal_id", "eq", str(journal_id)), ("date", "gteq", since.isoformat())]
        async for item in client.paginate("/ledger_entries", filters=filters):
            entries += 1
            piece = item.get("piece_number")
            if not piece:  # booked by hand without a piece number: not one of ours
                continue
            if piece in seen:
                duplicates.add(piece)
                continue
            seen.add(piece)
            batch.append(FoundEntry(str(piece), int(item["id"]), journal_id, str(item["date"])))
            if len(batch) == BATCH:
                tally += await reconciliation.record_posted(shop_id, batch, owners)
                batch = []
        if batch:
            tally += await reconciliation.record_posted(shop_id, batch, owners)
    return entries, tally, duplicates
