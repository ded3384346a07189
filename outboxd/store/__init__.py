"""The state database: migrations, deliveries, attempts, id caches, connections, backfills, audit.

What it copies comes from Kash.Click's outbox through the ``EventSource`` protocol (the readers: ``outboxd.outbox``).

Callers import from here; the modules underneath are the store's insides. See docs/state-store.md.
"""

from outboxd.store._db import Database
from outboxd.store.closings import DeliveredClosing
from outboxd.store.deliveries import EventSource
from outboxd.store.lanes import LaneOwnership, ShopPause
from outboxd.store.lock import hold_state_lock
from outboxd.store.migrate import apply_migrations, known_migrations
from outboxd.store.models import (
    FINAL_STATES,
    OPEN_STATES,
    Attempt,
    AttemptOutcome,
    AuditEntry,
    Backfill,
    BackfillMode,
    BackfillState,
    Cipher,
    Connection,
    ConnectionKind,
    ConnectionState,
    Customer,
    Delivery,
    DeliveryDetail,
    DeliveryState,
    EntryState,
    FailedFilter,
    ImportedEvent,
    Journal,
    OAuthPending,
    OutboxRow,
    SentEntry,
    Shop,
    ShopStats,
)
from outboxd.store.opening import open_store
from outboxd.store.store import DEFAULT_LEASE, Store

__all__ = [
    "DEFAULT_LEASE",
    "FINAL_STATES",
    "OPEN_STATES",
    "Attempt",
    "AttemptOutcome",
    "AuditEntry",
    "Backfill",
    "BackfillMode",
    "BackfillState",
    "Cipher",
    "Connection",
    "ConnectionKind",
    "ConnectionState",
    "Customer",
    "Database",
    "DeliveredClosing",
    "Delivery",
    "DeliveryDetail",
    "DeliveryState",
    "EntryState",
    "EventSource",
    "FailedFilter",
    "ImportedEvent",
    "Journal",
    "LaneOwnership",
    "OAuthPending",
    "OutboxRow",
    "SentEntry",
    "Shop",
    "ShopPause",
    "ShopStats",
    "Store",
    "apply_migrations",
    "hold_state_lock",
    "known_migrations",
    "open_store",
]
