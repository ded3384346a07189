"""The SQLite dialect of the shared store groups, rewritten once per statement text for PostgreSQL.

The groups (entries, queue, caches, connections, shops, backfills, audit) write portable SQL with ``?`` or
``:name`` parameters; the few SQLite forms they use are mapped here, in one place, instead of an if/else in each
group. Statements that need another plan in PostgreSQL (ingestion, claims) live in ``pg/deliveries.py``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

from outboxd.exceptions import StoreError

__all__ = ["translate"]

# INSERT OR REPLACE needs the conflict target in PostgreSQL: the primary key of each table the groups replace into.
_KEYS = {
    "journals": ("shop_id", "register_id"),
    "ledger_accounts": ("shop_id", "number"),
    "customers": ("shop_id", "external_reference"),
    "order_accounts": ("shop_id", "order_id"),
    "connections": ("shop_id",),
}
_TOKEN = re.compile(r"'(?:[^']|'')*'|\?|(?<!:):([A-Za-z_]\w*)")
_REPLACE = re.compile(r"INSERT OR REPLACE INTO (\w+) \(([^)]*)\)", re.IGNORECASE)
_JSON = re.compile(r"json_extract\(([\w.$]+), '\$\.(\w+)'\)")
_PAIR = re.compile(r"\b(max|min)\(([^(),]+),([^(),]+)\)", re.IGNORECASE)
_BOOL_HEAD = "SET head = ("
# The operator actions pass their ids as one JSON array.
_ID_LIST = re.compile(r"SELECT value FROM json_each\((:\w+|\?)\)")
_UPSERT = re.compile(r"INSERT INTO (\w+) \(([^)]*)\).* ON CONFLICT \([^)]*\) DO UPDATE SET ", re.DOTALL)
# "(:p IS NULL OR col = :p)": PostgreSQL types a parameter where it first meets it, and IS NULL says nothing.
_OPTIONAL = re.compile(r"\((:\w+|\?) IS NULL OR ([^()]+)\)")


def translate(sql: str, params: Sequence[Any] | Mapping[str, Any]) -> tuple[str, list[Any]]:
    """PostgreSQL text and positional arguments for one SQLite statement and its parameters."""
    text, names = _rewrite(sql)
    if isinstance(params, Mapping):
        try:
            return text, [params[name] for name in names]
        except KeyError as exc:
            raise StoreError(f"state database: no value for parameter {exc}") from exc
    return text, list(params)


@functools.lru_cache(maxsize=512)
def _rewrite(sql: str) -> tuple[str, tuple[str, ...]]:
    names: list[str] = []
    count = 0

    def number(match: re.Match[str]) -> str:
        nonlocal count
        token = match[0]
        if token.startswith("'"):
            return token
        if token == "?":  # noqa: S105 (a placeholder, not a password)
            count += 1
            return f"${count}"
        if match[1] not in names:
            names.append(match[1])
        return f"${names.index(match[1]) + 1}"

    text = _ID_LIST.sub(r"SELECT value::bigint FROM jsonb_array_elements_text(\1::jsonb) AS ids(value)", sql)
    text = _TOKEN.sub(number, _OPTIONAL.sub(r"(\2 OR \1 IS NULL)", text))
    if match := _UPSERT.search(text):
        text = text[: match.end()] + _qualified(text[match.end() :], match[1], match[2])
    text = _JSON.sub(r"(\1::jsonb ->> '\2')", text)
    text = _PAIR.sub(lambda m: f"{'GREATEST' if m[1].lower() == 'max' else 'LEAST'}({m[2]},{m[3]})", text)
    if re.search(r"INSERT OR IGNORE", text, re.IGNORECASE):
        text = _on_conflict(re.sub(r"INSERT OR IGNORE", "INSERT", text, flags=re.IGNORECASE), "DO NOTHING")
    elif match := _REPLACE.search(text):
        table, columns = match[1], [c.strip() for c in match[2].split(",")]
        keys = _KEYS.get(table)
        if keys is None:
            raise StoreError(f"state database: INSERT OR REPLACE into {table} has no PostgreSQL conflict target")
        update = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c not in keys)
        text = _on_conflict(text.replace(match[0], f"INSERT INTO {table} ({match[2]})"),
                            f"({', '.join(keys)}) DO UPDATE SET {update}")  # fmt: skip
    if _BOOL_HEAD in text:
        text = _int_of_bool(text)
    return text, tuple(names)


def _qualified(update: str, table: str, columns: str) -> str:
    """In DO UPDATE, SQLite reads a bare column as the target row's; PostgreSQL wants ``table.column``."""
    names = "|".join(c.strip() for c in columns.split(","))
    bare = re.compile(rf"(?<![\w.$'])({names})\b(?!\s*\()")
    assignments, where, condition = update.partition(" WHERE ")
    parts = []
    for assignment in assignments.split(", "):
        target, equals, value = assignment.partition("=")
        parts.append(target + equals + bare.sub(rf"{table}.\1", value))
    return ", ".join(parts) + where + bare.sub(rf"{table}.\1", condition)


def _on_conflict(text: str, action: str) -> str:
    at = text.upper().find(" RETURNING ")
    clause = f" ON CONFLICT {action}"
    return text + clause if at < 0 else text[:at] + clause + text[at:]


def _int_of_bool(text: str) -> str:
    """``SET head = (<boolean>)`` stores 0/1 in SQLite; PostgreSQL needs the cast to the integer column."""
    start = text.index(_BOOL_HEAD) + len(_BOOL_HEAD) - 1
    depth = 0
    for at in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[at], 0)
        if depth == 0:
            return text[: at + 1] + "::int" + text[at + 1 :]
    return text
