"""What the store hands back: small frozen dataclasses, instants as aware UTC datetimes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal, Protocol

__all__ = [
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
    "Delivery",
    "DeliveryDetail",
    "DeliveryState",
    "EntryState",
    "FailedFilter",
    "ImportedEvent",
    "Journal",
    "OAuthPending",
    "OutboxRow",
    "Revealable",
    "SentEntry",
    "Shop",
    "ShopStats",
]

DeliveryState = Literal["pending", "leased", "delivered", "failed", "discarded", "skipped"]
OPEN_STATES: tuple[DeliveryState, ...] = ("pending", "leased", "failed")
FINAL_STATES: tuple[DeliveryState, ...] = ("delivered", "discarded", "skipped")
AttemptOutcome = Literal["delivered", "retry", "deferred", "failed", "unknown", "skipped"]
EntryState = Literal["recorded", "posted", "unknown"]
ConnectionKind = Literal["oauth", "api_token"]
ConnectionState = Literal["connected", "reconnect_needed", "disconnected"]
BackfillMode = Literal["detailed", "daily"]
BackfillState = Literal["planned", "running", "done", "failed", "cancelled"]


class Revealable(Protocol):
    """A secret wrapper (outboxd.secrets.Secret) that hides its value until asked."""

    def reveal(self) -> str: ...


class Cipher(Protocol):
    """Encrypts secrets at rest (outboxd.secrets.TokenCipher, Fernet); any object with these two methods.

    ``decrypt`` may return the plaintext or a wrapper with ``reveal()``; the store unwraps it.
    """

    def encrypt(self, plaintext: str, /) -> str: ...

    def decrypt(self, ciphertext: str, /) -> str | Revealable: ...


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One row of Kash.Click's outbox table, exactly as stored (payload is the raw JSON text).

    SQLite lets a hostile row hold any type in any column; ``store.admission`` checks before anything relies on
    these types. ``payload`` is None when the reader left a payload over the contract's size in the outbox, and
    ``payload_bytes`` is its size.
    """

    id: int
    event_id: str
    shop_id: str
    event_type: str
    aggregate_id: str
    occurred_at: str
    payload: str
    created_at: str
    payload_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class ImportedEvent:
    """An event that did not come through the outbox (backfill, ``outboxd import``)."""

    event_id: str
    shop_id: str
    event_type: str
    aggregate_id: str
    occurred_at: str
    payload: str


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    outbox_id: int | None
    event_id: str
    shop_id: str
    event_type: str
    aggregate_id: str
    occurred_at: str
    business_date: str | None
    payload: str
    source: Literal["outbox", "import"]
    backfill_id: int | None
    state: DeliveryState
    attempts: int
    next_attempt_at: dt.datetime
    lease_owner: str | None
    lease_until: dt.datetime | None
    last_error_class: str | None
    last_error: str | None
    last_status: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    delivered_at: dt.datetime | None

    @property
    def backfill(self) -> bool:
        return self.backfill_id is not None


@dataclass(frozen=True, slots=True)
class Attempt:
    id: int
    delivery_id: int
    started_at: dt.datetime
    finished_at: dt.datetime
    outcome: AttemptOutcome
    http_status: int | None
    error_class: str | None
    message: str | None
    request_body: str | None
    response_body: str | None


@dataclass(frozen=True, slots=True)
class SentEntry:
    """An entry sent (or about to be) to Pennylane; one found by a reconcile has no delivery and no body hash."""

    id: int
    shop_id: str
    piece_number: str
    delivery_id: int | None
    journal_id: int
    entry_date: str
    state: EntryState
    pennylane_id: int | None
    body_hash: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class DeliveryDetail:
    """A delivery with everything the operator needs to decide: its entries and attempt history."""

    delivery: Delivery
    entries: tuple[SentEntry, ...]
    attempts: tuple[Attempt, ...]


@dataclass(frozen=True, slots=True)
class ShopStats:
    shop_id: str
    pending: int
    leased: int
    failed: int
    delivered: int
    discarded: int
    skipped: int
    delivered_today: int
    oldest_pending_at: dt.datetime | None

    @property
    def depth(self) -> int:
        """Events still to deliver: waiting or in flight (failed ones are counted apart)."""
        return self.pending + self.leased


@dataclass(frozen=True, slots=True)
class FailedFilter:
    """Selects failed deliveries for listing and for bulk retry/discard; None means any."""

    shop_id: str | None = None
    event_type: str | None = None
    error_class: str | None = None
    http_status: int | None = None
    failed_before: dt.datetime | None = None
    failed_after: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Journal:
    code: str
    pennylane_id: int


@dataclass(frozen=True, slots=True)
class Customer:
    customer_id: int
    ledger_account_id: int
    account_number: str | None  # None until something displays it (Pennylane's create answer has only the id)


@dataclass(frozen=True, slots=True)
class Connection:
    """A shop's Pennylane connection; the tokens are plaintext here and ciphertext in the database."""

    shop_id: str
    kind: ConnectionKind
    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: dt.datetime | None
    scopes: tuple[str, ...]
    company_id: int | None
    company_name: str | None
    state: ConnectionState
    updated_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class OAuthPending:
    state: str
    shop_id: str
    code_verifier: str = field(repr=False)
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Shop:
    shop_id: str
    paused: bool
    pause_reason: str | None
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Backfill:
    id: int
    shop_id: str
    start_date: str
    end_date: str | None
    mode: BackfillMode
    state: BackfillState
    total_events: int | None
    imported_events: int
    error: str | None
    created_by: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: dt.datetime
    actor: str
    action: str
    shop_id: str | None
    target: str | None
    detail: str
