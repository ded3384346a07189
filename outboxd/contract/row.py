"""An outbox row's columns, checked before anything reads its payload: what ingestion may store as it is.

SQLite lets any column hold any type, so a driver that binds bytes writes a BLOB ``shop_id``, and a NULL or a
number can sit where text belongs. Such a row must neither stop the bridge nor vanish: ingestion stores it as
one failed delivery, whose error names the column and the fix. It lands in its own shop when its ``shop_id`` is
usable, else in ``QUARANTINE_SHOP``, a name no real shop can have; a column that cannot be stored is replaced
(``!row-<id>`` for the ``event_id`` and the ``aggregate_id``, so it orders and blocks nothing else).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from outboxd.contract.limits import (
    MAX_COLUMN_READ,
    MAX_ID,
    MAX_PAYLOAD_BYTES,
    SHOP_ID,
    SHOP_ID_RULE,
    is_utf8,
    unsafe_char,
)
from outboxd.exceptions import ContractError

__all__ = ["QUARANTINE_SHOP", "RESERVED_PREFIX", "Admitted", "admit", "column_problem"]

QUARANTINE_SHOP = "_quarantine"
"""Where a row whose ``shop_id`` is unusable is stored (failed): not a shop id, so never a configured shop."""
RESERVED_PREFIX = "!"
"""``event_id``s beginning with it are the bridge's names for rows it could not read (``!row-<outbox id>``)."""
_MAX_COLUMN = MAX_ID + 20  # an aggregate_id is "register:" or "order:" and an id
_OR_MORE = " or more"  # a column that long was cut by the reader before it was loaded (MAX_COLUMN_READ)
_COLUMNS = ("shop_id", "event_id", "event_type", "aggregate_id", "occurred_at")


@dataclass(frozen=True, slots=True)
class Admitted:
    """A row's text columns and payload as ingestion stores them, and why the row was refused (None: it goes on
    to delivery)."""

    columns: dict[str, str]
    error: ContractError | None


def _kind(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bytes | bytearray | memoryview):
        return f"a BLOB of {len(value):,} bytes{_OR_MORE if len(value) >= MAX_COLUMN_READ else ''}"
    return f"the {type(value).__name__} {value!r}" if isinstance(value, int | float) else type(value).__name__


def column_problem(name: str, value: Any) -> ContractError | None:
    """What is wrong with one text column of a row (``shop_id``, ``event_id``...), or None."""
    if type(value) is str and value.isascii() and value.isprintable() and 0 < len(value) <= _MAX_COLUMN:
        # the common row, checked in C: no control character can hide in printable ASCII
        if name == "shop_id":
            if SHOP_ID.fullmatch(value):
                return None
        elif name != "event_id" or not value.startswith(RESERVED_PREFIX):
            return None
    fix = f"write {name} as TEXT (bind a str, not bytes or a number)"
    if type(value) is not str:
        return ContractError(name, f"is {_kind(value)}, not text", fix)
    if not value:
        return ContractError(name, "is empty", fix)
    if not is_utf8(value):
        return ContractError(name, "is not valid UTF-8", "write UTF-8 text")
    if (char := unsafe_char(value)) is not None:
        return ContractError(name, f"holds the control or bidi character {char}", "write printable text")
    if name == "shop_id" and not SHOP_ID.fullmatch(value):
        return ContractError(name, f"{value[:80]!r} is not a shop id", SHOP_ID_RULE)
    if len(value) > _MAX_COLUMN:
        more = _OR_MORE if len(value) >= MAX_COLUMN_READ else ""
        return ContractError(name, f"is {len(value):,} characters long{more}, more than {_MAX_COLUMN}",
                             f"send at most {_MAX_COLUMN} characters")
    if name == "event_id" and value.startswith(RESERVED_PREFIX):
        return ContractError(name, f"begins with {RESERVED_PREFIX!r}, which the bridge keeps for its own names",
                             "use a UUID or a ULID")
    return None


def _payload_problem(payload: Any, size: int | None) -> ContractError | None:
    if size is not None and size > MAX_PAYLOAD_BYTES:
        return ContractError("payload", f"is {size:,} bytes, more than {MAX_PAYLOAD_BYTES:,}",
                             "send the event's own fields only; a ticket has at most 1,000 lines")
    if type(payload) is not str:
        return ContractError("payload", f"is {_kind(payload)}, not text", "write the JSON object as TEXT")
    if not is_utf8(payload):
        return ContractError("payload", "is not valid UTF-8", "write the JSON object as UTF-8 text")
    if "\x00" in payload:  # never valid JSON, and a PostgreSQL state database cannot store it
        return ContractError("payload", "holds the raw control character U+0000 (NUL)",
                             "let a JSON library serialize the object (it escapes it)")
    return None


def admit(outbox_id: int, columns: dict[str, Any], payload: Any, payload_bytes: int | None) -> Admitted:
    """The row as ingestion stores it: unchanged when its columns are usable, else made storable, with the error.

    ``payload`` is None when the reader left an oversized one in the outbox; ``payload_bytes`` is its size.
    """
    problems = {name: column_problem(name, columns.get(name)) for name in _COLUMNS}
    unreadable = _payload_problem(payload, payload_bytes)
    error = next((p for p in problems.values() if p is not None), None) or unreadable
    own = f"{RESERVED_PREFIX}row-{outbox_id}"

    def usable(name: str, instead: str) -> str:
        return instead if problems[name] is not None else str(columns[name])

    if error is None:
        return Admitted({**columns, "payload": payload}, None)
    return Admitted({
        "event_id": usable("event_id", own), "shop_id": usable("shop_id", QUARANTINE_SHOP),
        "event_type": usable("event_type", ""),
        "aggregate_id": usable("aggregate_id", own) if problems["shop_id"] is None else own,
        "occurred_at": usable("occurred_at", ""), "payload": payload if unreadable is None else "",
    }, error)  # fmt: skip
