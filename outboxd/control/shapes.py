"""The control API's requests and answers as typed shapes, shared by the daemon's side, the client, ``ctl`` and the
TUI (docs/control-api.md names them). They are what travels as JSON: instants as Unix seconds, amounts as
two-decimal strings, dates as ``YYYY-MM-DD``.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

__all__ = [
    "AccountRole",
    "Attempt",
    "AuditItem",
    "AuditList",
    "Backfill",
    "BackfillEstimate",
    "BackfillMode",
    "BackfillStartRequest",
    "Booking",
    "BookingRequest",
    "BookingSwitch",
    "BulkDiscardRequest",
    "BulkDiscarded",
    "BulkRequest",
    "BulkRetried",
    "Closing",
    "ClosingRow",
    "ClosingSales",
    "Closings",
    "ConnectCompleteRequest",
    "ConnectStart",
    "ConnectTokenRequest",
    "Connection",
    "DaemonInfo",
    "DeliveryDetail",
    "DeliveryRef",
    "DiscardRequest",
    "Discarded",
    "Entry",
    "EntryLine",
    "FailedFilter",
    "FailedItem",
    "FailedList",
    "HeldByReference",
    "LaneConnectionState",
    "Lettering",
    "LetteringLine",
    "Mapping",
    "MappingAccount",
    "MappingJournal",
    "ModeEstimate",
    "NotCovered",
    "PauseRequest",
    "RateLimit",
    "Reconcile",
    "ReconcileRequest",
    "Request",
    "Retried",
    "ShopStatus",
    "Status",
]  # fmt: skip

BackfillMode = Literal["detailed", "daily"]
LaneConnectionState = Literal["connected", "pending", "reconnect_needed", "disconnected"]


# -- requests ---------------------------------------------------------------------------------------------------


class FailedFilter(TypedDict, total=False):
    """Which failed deliveries a listing or a bulk action covers; an absent key matches everything."""

    shop: str
    event_type: str
    error_class: str
    http_status: int
    older_than: float  # seconds since the delivery failed


class Request(TypedDict):
    """Every mutating call names its operator, for the audit log (the daemon puts the socket peer beside it)."""

    actor: str


class PauseRequest(Request):
    reason: str


class ReconcileRequest(Request):
    since: str | None


class ConnectCompleteRequest(Request):
    redirect_url: str


class ConnectTokenRequest(Request):
    token_file: str


class BackfillStartRequest(Request):
    start_date: str
    mode: BackfillMode


class BookingRequest(Request):
    """Book the shop in ``mode`` from the business date ``from_date`` on; the reason goes to the audit log."""

    mode: BackfillMode
    from_date: str
    reason: str


class DiscardRequest(Request):
    reason: str


class BulkRequest(Request):
    filter: FailedFilter
    dry_run: bool


class BulkDiscardRequest(BulkRequest):
    reason: str


# -- shops ------------------------------------------------------------------------------------------------------


class DaemonInfo(TypedDict, total=False):
    """The daemon itself; every key is always sent (not required: a client holds an empty one before its first
    status)."""

    version: str
    pid: int
    started_at: float
    ready: bool
    draining: bool
    config_file: str | None
    redirect_uri: str


class Connection(TypedDict):
    """A shop's Pennylane grant and its lane's live health; never a token."""

    state: LaneConnectionState
    kind: str | None
    company_id: int | None
    company_name: str | None
    scopes: list[str]
    missing_scopes: list[str]
    expires_at: float | None


class RateLimit(TypedDict):
    limit: int
    window: float
    used: int
    waits: int


class HeldByReference(TypedDict):
    """The failed reference snapshot every later event of the shop waits behind."""

    id: int
    waiting: int
    message: str | None


class Backfill(TypedDict):
    """``done`` counts every event settled (delivered, skipped or failed); ``rate`` events per second."""

    id: int
    shop_id: str
    start_date: str
    mode: str
    state: str
    total: int
    done: int
    rate: float
    eta: float | None
    started_at: float | None
    finished_at: float | None


class ShopStatus(TypedDict):
    shop_id: str
    name: str
    paused: bool
    pause_reason: str | None
    connection: Connection
    queue_depth: int
    oldest_pending_age: float | None
    delivered_today: int
    failed: int
    rate_limit: RateLimit
    throughput: list[int]  # deliveries per minute, oldest first
    held_by_reference: HeldByReference | None
    backfill: Backfill | None
    booking: NotRequired[BackfillMode]  # the booking mode of today's register-days


class BookingSwitch(TypedDict):
    """From ``from_date`` on (until the next switch) the shop books in ``mode``."""

    from_date: str
    mode: BackfillMode
    actor: str
    reason: str
    changed_at: str


class Booking(TypedDict):
    """A shop's booking mode: today's, every switch, and the live events waiting for their register's closing."""

    shop_id: str
    mode: BackfillMode
    switches: list[BookingSwitch]
    waiting_for_closing: int


class StatusTotals(TypedDict):
    """Across every shop known, whatever the page: ``matched`` is how many the search matches (what the pages
    go through)."""

    shops: int
    matched: int
    queue_depth: int
    failed: int
    paused: int


class Status(TypedDict):
    daemon: DaemonInfo
    shops: list[ShopStatus]  # one page of the shops the search matches, by shop id
    totals: StatusTotals
    offset: int
    limit: int


class MappingJournal(TypedDict):
    register_id: str
    register_name: str | None
    code: str
    exists: bool


class AccountRole(TypedDict):
    """An account the mapping books on, with its role."""

    role: str
    key: str
    number: str
    label: str
    vat_rate: str | None


class MappingAccount(AccountRole):
    exists: bool  # once the id cache holds it


class Mapping(TypedDict):
    journals: list[MappingJournal]
    accounts: list[MappingAccount]


class ClosingSales(TypedDict):
    expected: str
    booked: str
    difference: str


class ClosingRow(TypedDict):
    method_id: str
    label: str
    expected: str
    delivered: str
    difference: str


class Closing(TypedDict):
    delivery_id: int
    register_id: str
    register_name: str | None
    business_date: str
    z_number: int
    mismatch: bool
    conclusive: bool
    open: int
    sales: ClosingSales
    rows: list[ClosingRow]


class Closings(TypedDict):
    shop_id: str
    since: str
    checked: int
    mismatches: int
    closings: list[Closing]


class NotCovered(TypedDict):
    deliveries: int
    earliest: str


class Reconcile(TypedDict):
    shop_id: str
    since: str
    journals: int
    entries: int
    recorded: int
    confirmed: int
    known: int
    duplicates: list[str]
    not_covered: NotCovered | None


class AuditItem(TypedDict):
    at: float
    actor: str
    action: str
    shop_id: str | None
    target: str | None
    detail: dict[str, Any]


class AuditList(TypedDict):
    items: list[AuditItem]


# -- connections and backfills ----------------------------------------------------------------------------------


class ConnectStart(TypedDict):
    authorize_url: str
    state: str
    redirect_uri: str
    expires_at: float


class ModeEstimate(TypedDict):
    requests: int
    seconds: int


class BackfillEstimate(TypedDict):
    start_date: str
    default_start_date: str
    events: int
    new_customers: int
    modes: dict[str, ModeEstimate]  # by mode: detailed, daily
    refused: str | None


# -- failed deliveries ------------------------------------------------------------------------------------------


class DeliveryRef(TypedDict):
    id: int
    shop_id: str
    event_id: str
    event_type: str
    aggregate_id: str
    business_date: str | None
    error_class: str | None
    http_status: int | None
    message: str | None
    failed_at: float
    age: float
    holds_shop: bool  # the shop's oldest open reference snapshot: every later event of the shop waits


class FailedItem(DeliveryRef):
    attempts: int


class FailedList(TypedDict):
    total: int
    items: list[FailedItem]


class EntryLine(TypedDict):
    account: str
    label: str
    debit: str
    credit: str


class Entry(TypedDict):
    piece_number: str
    journal: str
    date: str
    state: str
    pennylane_id: int | None
    lines: list[EntryLine]


class Attempt(TypedDict):
    at: float
    outcome: str
    http_status: int | None
    error_class: str | None
    message: str | None
    request: str | None
    response: str | None


class LetteringLine(TypedDict):
    piece_number: str
    amount: str
    line_id: int | None
    lettered: bool


class Lettering(TypedDict):
    order_id: str
    state: str
    attempts: int
    next_attempt_at: float | None
    last_error: str | None
    lines: list[LetteringLine]


class DeliveryDetail(DeliveryRef):
    """A delivery with its payload, the entries it books to, its attempt timeline and what waits behind it."""

    state: str
    payload: dict[str, Any]
    entries: list[Entry]
    attempts: list[Attempt]
    lettering: Lettering | None
    blocked: list[int]
    blocked_total: int


class Retried(TypedDict):
    retried: int


class Discarded(TypedDict):
    discarded: int


class BulkRetried(TypedDict):
    matched: int
    retried: int


class BulkDiscarded(TypedDict):
    matched: int
    discarded: int
