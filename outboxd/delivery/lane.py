"""A shop's lane: its Pennylane connection, rate limiter, id resolver, mapping, pause state and counters.

Lanes never share anything, so one shop's trouble (a revoked grant, a failed event, a flood of backfill)
never slows another.
"""

from __future__ import annotations

import dataclasses
import time
from bisect import bisect_left
from collections import deque

from outboxd.contract import ReferenceUpdated
from outboxd.delivery.resolver import Resolver
from outboxd.pennylane import ConnectionState, PennylaneClient
from outboxd.rules import JournalSpec, ShopMapping, effective_mapping
from outboxd.rules.journals import journal_for

__all__ = ["Lane"]

THROUGHPUT_MINUTES = 30


class Lane:
    """Everything the daemon knows about one shop while it runs."""

    def __init__(self, shop_id: str, mapping: ShopMapping, *, concurrency: int) -> None:
        self.shop_id = shop_id
        self.base_mapping = mapping
        self.concurrency = concurrency
        self._reference: ReferenceUpdated | None = None
        """The latest reference snapshot."""
        self._references: list[tuple[int, ReferenceUpdated]] = []
        """Every snapshot known by its outbox id, oldest first."""
        self._journal_codes: dict[str, str] = {}
        self._mappings: dict[int, ShopMapping] = {}
        """Mappings built, by the ``id()`` of their reference."""
        self.client: PennylaneClient | None = None
        self.resolver: Resolver
        self.paused = False
        self.pause_reason = ""
        self.reconnect_reason = ""
        self.in_flight: set[int] = set()
        self.per_minute: deque[tuple[int, int]] = deque(maxlen=THROUGHPUT_MINUTES)

    # -- state ------------------------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self.client is not None and self.client.connection.state is ConnectionState.CONNECTED

    @property
    def runnable(self) -> bool:
        return self.connected and not self.paused

    @property
    def free(self) -> int:
        return max(0, self.concurrency - len(self.in_flight)) if self.runnable else 0

    def connect(self, client: PennylaneClient, resolver: Resolver) -> None:
        self.client = client
        self.resolver = resolver
        self.reconnect_reason = ""

    def disconnect(self) -> None:
        self.client = None

    def reconnect_needed(self, reason: str) -> None:
        self.reconnect_reason = reason

    # -- accounting -------------------------------------------------------------------------------------------

    def mapping(self, at: int | None = None) -> ShopMapping:
        """The shop's mapping completed with the journal codes already in use and the reference in force at outbox id
        ``at``: the latest snapshot with a smaller id (the oldest known for an event older than all), so an event
        that waited while a newer snapshot was applied books as of its time. ``at`` None: the latest snapshot."""
        reference = self._reference if at is None else self._reference_at(at)
        mapping = self._mappings.get(id(reference))
        if mapping is None:
            codes = {**self._journal_codes, **self.base_mapping.journals}
            mapping = effective_mapping(dataclasses.replace(self.base_mapping, journals=codes), reference)
            self._mappings[id(reference)] = mapping
        return mapping

    def _reference_at(self, at: int) -> ReferenceUpdated | None:
        if not self._references:
            return self._reference
        index = bisect_left(self._references, at, key=lambda known: known[0])
        return self._references[max(index - 1, 0)][1]

    def set_reference(self, reference: ReferenceUpdated, outbox_id: int | None = None) -> None:
        """A snapshot applied, at ``outbox_id`` in the outbox (None: from elsewhere, an import: the latest)."""
        if outbox_id is None or not self._references or outbox_id >= self._references[-1][0]:
            self._reference = reference
        if outbox_id is not None:
            index = bisect_left(self._references, outbox_id, key=lambda known: known[0])
            if index < len(self._references) and self._references[index][0] == outbox_id:
                self._references[index] = (outbox_id, reference)
            else:
                self._references.insert(index, (outbox_id, reference))
        self._mappings.clear()

    def set_journal_codes(self, codes: dict[str, str]) -> None:
        """Codes already given to registers (from the state database): a new register never takes one."""
        self._journal_codes = dict(codes)
        self._mappings.clear()

    async def journal_id(self, spec: JournalSpec) -> int:
        journal_id = await self.resolver.journal(spec)
        if self._journal_codes.get(spec.register_id) != spec.code:
            self.set_journal_codes({**self._journal_codes, spec.register_id: spec.code})
        return journal_id

    def journal_spec(self, register_id: str, at: int | None = None) -> JournalSpec:
        mapping = self.mapping(at)
        return journal_for(register_id, mapping.registers.get(register_id), mapping.journals)

    # -- counters ---------------------------------------------------------------------------------------------

    def delivered(self, now: float | None = None) -> None:
        minute = int((now if now is not None else time.time()) // 60)
        if self.per_minute and self.per_minute[-1][0] == minute:
            self.per_minute[-1] = (minute, self.per_minute[-1][1] + 1)
        else:
            self.per_minute.append((minute, 1))

    def throughput(self, now: float | None = None) -> list[int]:
        """Deliveries per minute over the last 30 minutes, oldest first (zeros included)."""
        current = int((now if now is not None else time.time()) // 60)
        counts = dict(self.per_minute)
        return [counts.get(minute, 0) for minute in range(current - THROUGHPUT_MINUTES + 1, current + 1)]
