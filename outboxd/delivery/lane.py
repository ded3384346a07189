"""A shop's lane: its Pennylane connection, rate limiter, id resolver, mapping, pause state and counters.

Lanes never share anything, so one shop's trouble (a revoked grant, a failed event, a flood of backfill)
never slows another.
"""

from __future__ import annotations

import dataclasses
import time
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
        self._journal_codes: dict[str, str] = {}
        self._mapping: ShopMapping | None = None
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

    def mapping(self) -> ShopMapping:
        """The shop's mapping completed with its latest reference and the journal codes already in use."""
        if self._mapping is None:
            codes = {**self._journal_codes, **self.base_mapping.journals}
            self._mapping = effective_mapping(dataclasses.replace(self.base_mapping, journals=codes), self._reference)
        return self._mapping

    def set_reference(self, reference: ReferenceUpdated | None) -> None:
        self._reference = reference
        self._mapping = None

    def set_journal_codes(self, codes: dict[str, str]) -> None:
        """Codes already given to registers (from the state database): a new register never takes one."""
        self._journal_codes = dict(codes)
        self._mapping = None

    async def journal_id(self, spec: JournalSpec) -> int:
        journal_id = await self.resolver.journal(spec)
        if self._journal_codes.get(spec.register_id) != spec.code:
            self.set_journal_codes({**self._journal_codes, spec.register_id: spec.code})
        return journal_id

    def journal_spec(self, register_id: str) -> JournalSpec:
        mapping = self.mapping()
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
