"""The contract's bounds, written once: what a row may hold, and how free text is made safe to send and show.

A producer bug or a hostile row must end as one contract error naming the field, never as an exception deep
in the bridge (a ``RecursionError``, an ``int()`` of 5,000 digits) nor as bytes that reach Pennylane or a
terminal unchanged. docs/outbox-contract.md ("Limits") lists these values for Kash.Click's developers.
"""

from __future__ import annotations

import re

__all__ = [
    "MAX_AMOUNT_DIGITS",
    "MAX_COLUMN_READ",
    "MAX_DEPTH",
    "MAX_ID",
    "MAX_ITEMS",
    "MAX_LABEL",
    "MAX_PAYLOAD_BYTES",
    "MAX_TEXT",
    "SHOP_ID",
    "SHOP_ID_RULE",
    "clean_text",
    "is_utf8",
    "unsafe_char",
]

MAX_PAYLOAD_BYTES = 1_000_000
"""The payload's size in bytes (UTF-8), measured in SQL before the row is loaded."""
MAX_COLUMN_READ = 4096
"""Bytes of an outbox column other than the payload read at most: a longer value is cut in SQL before it is loaded
(no column may be that long, so the row is refused all the same, and a huge one never reaches memory)."""
MAX_DEPTH = 20
"""Nesting of objects and arrays in a payload; the contract's own payloads go 3 deep."""
MAX_AMOUNT_DIGITS = 12
"""Digits before the decimal point of an amount (and of ``z_number``): up to 999,999,999,999.99."""
MAX_ID = 100
"""Characters of an id, an ``event_id`` or a ticket ``number``."""
MAX_TEXT = 1000
"""Characters of a label, a name, an e-mail or an address part in a payload: the spec's ``maxLength`` of a
customer's first and last names, so that a name always fits when the customer is created in Pennylane."""
MAX_ITEMS = 1000
"""Items of any array of a payload: ticket lines, discounts, receipts, registers, payment methods..."""
MAX_LABEL = 250
"""Characters of an entry's label and of its lines' labels as sent to Pennylane (cut with an ellipsis)."""

SHOP_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
"""A shop id, in the outbox as in the configuration's ``[shops."<shop_id>"]``."""
SHOP_ID_RULE = "a shop id is 1 to 64 letters, digits or _ . : - (as Kash.Click sends it)"

# C0 and C1 controls (NUL, ESC, CR, LF, TAB...), DEL, the bidirectional marks and overrides that reorder what a
# terminal or a web page shows, the line and paragraph separators, and lone surrogates (text that was not UTF-8).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")
_SPACES = re.compile(r"\s+")


def is_utf8(text: str) -> bool:
    """False for text read from bytes that were not UTF-8 (decoded with ``surrogateescape``): it cannot be stored."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")  # in C: faster than a search for the escapes, which it refuses
    except UnicodeEncodeError:
        return False
    return True


def unsafe_char(text: str) -> str | None:
    """The first control, bidi or undecodable character of ``text`` as ``U+001B``, or None when there is none."""
    found = _UNSAFE.search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"


def clean_text(text: str, limit: int) -> str:
    """Free text made safe to send and show: each run of unsafe characters and spaces becomes one space, the ends
    are trimmed, and the result is cut to ``limit`` characters (an ellipsis marks a cut)."""
    if text.isprintable() and "  " not in text and len(text) <= limit and text == text.strip():
        return text
    cleaned = _SPACES.sub(" ", _UNSAFE.sub(" ", text)).strip()
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1].rstrip() + "…"
