"""A JSONL file of outbox rows read against the contract, line by line: ``enqueue`` and ``import`` share it.

Whatever a line holds (bytes that are not UTF-8, JSON nested 100,000 deep, numbers of 5,000 digits, a payload over
the contract's size), it ends as the checked row or as one reason naming the field, never as a traceback. The
file is read with ``errors="surrogateescape"`` (``open_lines``), so an undecodable line is reported, not fatal.
"""

from __future__ import annotations

import io
import json
import sys
from typing import IO, Any

from outboxd.contract import Event, parse_event
from outboxd.contract.limits import MAX_PAYLOAD_BYTES, is_utf8
from outboxd.exceptions import ContractError
from outboxd.outbox import payload_text

__all__ = ["checked_row", "open_lines", "stdin_lines"]


def open_lines(path: str) -> IO[str]:
    """The file as text lines; bytes that are not UTF-8 are kept escaped, for ``checked_row`` to refuse."""
    return open(path, encoding="utf-8", errors="surrogateescape")


def stdin_lines() -> IO[str]:
    """Standard input, read as ``open_lines`` reads a file."""
    if isinstance(sys.stdin, io.TextIOWrapper):
        sys.stdin.reconfigure(errors="surrogateescape")
    return sys.stdin


def checked_row(line: str) -> tuple[dict[str, Any], Event]:
    """One line as an outbox row the contract accepts, and its event: a ContractError naming the field, or a
    ValueError whose message says why the line cannot be read at all."""
    if not is_utf8(line):
        raise ValueError("not valid UTF-8 (write the file in UTF-8)")
    try:
        row = json.loads(line)
    except ValueError as exc:
        raise ValueError(f"not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise ValueError("not readable: objects or arrays nested too deep (send the contract's fields)") from exc
    if not isinstance(row, dict):
        raise ContractError("(row)", "is not a JSON object", "write one JSON object per line")
    event = parse_event(row)
    size = len(payload_text(row["payload"]).encode("utf-8"))
    if size > MAX_PAYLOAD_BYTES:
        raise ContractError("payload", f"is {size:,} bytes, more than {MAX_PAYLOAD_BYTES:,}",
                            "send the event's own fields only")
    return row, event
