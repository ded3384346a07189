"""piece_number: the deterministic name of every generated entry, how the daemon finds it again in Pennylane.

Pennylane keeps no idempotency key, so the daemon stores the piece_number before posting and, after an unknown
outcome, looks for it among the entries of the journal and date. It must therefore be the same every time the
event is booked, unique within the Pennylane company, and readable by an accountant:

    order     <prefix><ticket number>-<register>       T-000482-r1
    payment   <prefix>PAY-<payment id>                  PAY-p-9981
    closing   <prefix>Z<z number>-<register>            Z452-r1
    cash gap  <prefix>Z<z number>-<register>-ECART-<method id>   Z452-r1-ECART-cash
    day       <prefix>J-<business date>-<register>[-<part>]     J-2026-03-14-r1 (a backfill booked per day)

The prefix (``mapping.piece_number.prefix``, empty by default) tells shops apart when several share one company.
Pennylane's field is a free string; longer than 64 characters, the tail is replaced by a short hash.
"""

from __future__ import annotations

import datetime as dt
import hashlib

__all__ = ["MAX_PIECE_NUMBER", "closing_piece", "day_piece", "difference_piece", "order_piece", "payment_piece"]

MAX_PIECE_NUMBER = 64


def _bounded(text: str) -> str:
    if len(text) <= MAX_PIECE_NUMBER:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    return f"{text[: MAX_PIECE_NUMBER - 11]}~{digest}"


def order_piece(prefix: str, ticket_number: str, register_id: str) -> str:
    """A ticket (or credit note) by its printed number, with its register in case numbering is per register."""
    return _bounded(f"{prefix}{ticket_number}-{register_id}")


def payment_piece(prefix: str, payment_id: str) -> str:
    """A payment or refund by the producer's payment id (unique within the shop)."""
    return _bounded(f"{prefix}PAY-{payment_id}")


def closing_piece(prefix: str, z_number: int, register_id: str) -> str:
    """A register closing by its Z number; Z numbers count per register."""
    return _bounded(f"{prefix}Z{z_number}-{register_id}")


def difference_piece(prefix: str, z_number: int, register_id: str, method_id: str) -> str:
    """The cash-difference entry of one payment method at one closing."""
    return _bounded(f"{prefix}Z{z_number}-{register_id}-ECART-{method_id}")


def day_piece(prefix: str, day: dt.date, register_id: str, part: int | None = None) -> str:
    """``J-2026-03-14-r1`` for a day in one entry, ``J-2026-03-14-r1-2`` for its second part."""
    suffix = "" if part is None else f"-{part}"
    return _bounded(f"{prefix}J-{day.isoformat()}-{register_id}{suffix}")
