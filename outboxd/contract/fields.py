"""Field readers shared by the payload parsers (the contract's own: not exported by ``outboxd.contract``): each
reads one key, checks it, and names the field on error.

``where`` is the path of the object being read (``payload.lines[2]``); the field path is only built when
something is wrong, which keeps the happy path fast. Every failure is a ``ContractError(field, problem, fix)``.
Ids are refused when they hold a control or bidi character; free text (labels, names) is cleaned instead
(``limits.clean_text``); both are bounded in length, as arrays are in items (``outboxd.contract.limits``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NoReturn

from outboxd.contract.limits import MAX_AMOUNT_DIGITS, MAX_ID, MAX_ITEMS, MAX_TEXT, clean_text, unsafe_char
from outboxd.exceptions import ContractError
from outboxd.money import parse_rate

__all__ = [
    "AMOUNT_FIX",
    "amount",
    "business_date",
    "fail",
    "ident",
    "integer",
    "items",
    "label",
    "obj",
    "one_of",
    "opt_obj",
    "opt_str",
    "path",
    "rate",
    "shown",
    "text",
    "timestamp",
]

_MISSING: Any = object()
_AMOUNT = re.compile(rf"-?(0|[1-9][0-9]{{0,{MAX_AMOUNT_DIGITS - 1}}})(\.[0-9]{{1,2}})?")
_RATES = MappingProxyType({"20": 200, "10": 100, "5.5": 55, "2.1": 21, "0": 0, "8.5": 85, "13": 130})
_DECIMAL = re.compile(r"-?([0-9]+)(\.[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})")
_JSON_TYPES = {str: "a string", int: "a number", float: "a number", bool: "a boolean", dict: "an object",
               list: "an array", type(None): "null"}
AMOUNT_FIX = 'send a JSON string with at most 2 decimals, e.g. "12.50"'


def path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def fail(field: str, problem: str, fix: str = "") -> NoReturn:
    raise ContractError(field, problem, fix)


def _got(value: Any) -> str:
    if value is _MISSING:
        return "is missing"
    return f"must not be {_JSON_TYPES.get(type(value), type(value).__name__)}"


def shown(value: Any, room: int = 40) -> str:
    """A value quoted for an error message: escaped by ``repr``, and cut when long (a message is read, and logged)."""
    if type(value) is str and len(value) > room:
        return f"{value[:room]!r}... ({len(value):,} characters)"
    if type(value) is int and value.bit_length() > 64:
        return f"an integer of {value.bit_length():,} bits"
    return repr(value)


def ident(data: Mapping[str, Any], key: str, where: str) -> str:
    """A required id (or ticket number): 1 to ``MAX_ID`` characters, none of them a control or bidi character."""
    value = data.get(key, _MISSING)
    if type(value) is str and value and len(value) <= MAX_ID and (value.isprintable() or unsafe_char(value) is None):
        return value
    fix = f'send "{key}" as a JSON string of 1 to {MAX_ID} printable characters'
    if type(value) is not str:
        fail(path(where, key), _got(value) + ", it must be a non-empty string", fix)
    if not value:
        fail(path(where, key), "must not be empty", fix)
    if len(value) > MAX_ID:
        fail(path(where, key), f"is {len(value):,} characters long, more than {MAX_ID}", fix)
    fail(path(where, key), f"holds the control or bidi character {unsafe_char(value)}", fix)


def _bounded(value: str, key: str, where: str) -> str:
    if len(value) > MAX_TEXT:
        fail(path(where, key), f"is {len(value):,} characters long, more than {MAX_TEXT}",
             f"send at most {MAX_TEXT} characters")
    return clean_text(value, MAX_TEXT)


def text(data: Mapping[str, Any], key: str, where: str) -> str:
    """A required, non-empty free text (a label, a name), at most ``MAX_TEXT`` characters, cleaned."""
    value = data.get(key, _MISSING)
    if type(value) is str and (cleaned := _bounded(value, key, where)):
        return cleaned
    if type(value) is str:
        fail(path(where, key), "must not be empty" if not value else "holds no printable character",
             f'send "{key}" as a non-empty JSON string')
    fail(path(where, key), _got(value) + ", it must be a non-empty string", f'send "{key}" as a JSON string')


def label(data: Mapping[str, Any], key: str, where: str) -> str:
    """A required free text that may be empty (a ticket line's label), at most ``MAX_TEXT`` characters, cleaned."""
    value = data.get(key, _MISSING)
    if type(value) is str:
        return _bounded(value, key, where)
    fail(path(where, key), _got(value) + ", it must be a string", f'send "{key}" as a JSON string')


def opt_str(data: Mapping[str, Any], key: str, where: str) -> str | None:
    """An optional free text: absent or null is None; at most ``MAX_TEXT`` characters, cleaned."""
    value = data.get(key)
    if value is None:
        return None
    if type(value) is str:
        return _bounded(value, key, where)
    fail(path(where, key), _got(value) + ", it must be a string or null", f'send "{key}" as a JSON string or null')


def obj(data: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, _MISSING)
    if type(value) is dict:
        return value
    fail(path(where, key), _got(value) + ", it must be an object", f'send "{key}" as a JSON object')


def opt_obj(data: Mapping[str, Any], key: str, where: str) -> dict[str, Any] | None:
    value = data.get(key)
    if value is None or type(value) is dict:
        return value
    fail(path(where, key), _got(value) + ", it must be an object or null", f'send "{key}" as a JSON object or null')


def items(data: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> list[dict[str, Any]]:
    """An array of at most ``MAX_ITEMS`` objects; an optional one may be absent or null (empty)."""
    value = data.get(key, _MISSING)
    if type(value) is not list:
        if not required and (value is _MISSING or value is None):
            return []
        fail(path(where, key), _got(value) + ", it must be an array", f'send "{key}" as a JSON array of objects')
    if len(value) > MAX_ITEMS:
        fail(path(where, key), f"has {len(value):,} items, more than {MAX_ITEMS}",
             f"send at most {MAX_ITEMS} (a longer ticket is split by the till, or its lines grouped)")
    for index, item in enumerate(value):
        if type(item) is not dict:
            fail(f"{path(where, key)}[{index}]", _got(item) + ", it must be an object", "send a JSON object")
    return value


def one_of(data: Mapping[str, Any], key: str, where: str, allowed: tuple[str, ...]) -> Any:
    value = data.get(key, _MISSING)
    if type(value) is str and value in allowed:
        return value
    problem = f"is {shown(value)}, not one of {', '.join(allowed)}" if type(value) is str else _got(value)
    fail(path(where, key), problem, "send one of " + ", ".join(f'"{a}"' for a in allowed))


def amount(data: Mapping[str, Any], key: str, where: str) -> int:
    """An amount string to integer cents."""
    value = data.get(key, _MISSING)
    if type(value) is str:
        if _AMOUNT.fullmatch(value):  # inlined money.parse_amount: this runs a dozen times per ticket
            dot = value.find(".")
            if dot < 0:
                return int(value) * 100
            return int(value[:dot] + value[dot + 1 :]) * (10 if len(value) - dot == 2 else 1)
        if (decimal := _DECIMAL.fullmatch(value)) and len(decimal.group(1)) > MAX_AMOUNT_DIGITS:
            fail(path(where, key), f"{shown(value)} has {len(decimal.group(1)):,} digits before the decimal point, "
                 f"more than {MAX_AMOUNT_DIGITS}", AMOUNT_FIX)
        if decimal and "." in value:
            fail(path(where, key), f"{shown(value)} has more than 2 decimals", AMOUNT_FIX)
        fail(path(where, key), f"{shown(value)} is not a decimal amount", AMOUNT_FIX)
    if type(value) in (int, float):
        fail(path(where, key), f"is the JSON number {shown(value)}; amounts must be strings, never numbers", AMOUNT_FIX)
    fail(path(where, key), _got(value) + ", it must be an amount string", AMOUNT_FIX)


def rate(data: Mapping[str, Any], key: str, where: str) -> int:
    """A VAT rate string in percent to integer tenths."""
    value = data.get(key, _MISSING)
    fix = 'send the rate in percent as a JSON string with at most 1 decimal, e.g. "20" or "5.5"'
    if type(value) is str:
        known = _RATES.get(value)
        if known is not None:
            return known
        try:
            return parse_rate(value)
        except ValueError:
            fail(path(where, key), f"{shown(value)} is not a VAT rate in percent", fix)
    if type(value) in (int, float):
        fail(path(where, key), f"is the JSON number {shown(value)}; VAT rates must be strings", fix)
    fail(path(where, key), _got(value) + ", it must be a VAT rate string", fix)


def integer(data: Mapping[str, Any], key: str, where: str) -> int:
    """A non-negative JSON integer of at most ``MAX_AMOUNT_DIGITS`` digits (not a boolean, not a string)."""
    value = data.get(key, _MISSING)
    if type(value) is int and 0 <= value < 10**MAX_AMOUNT_DIGITS:
        return value
    problem = (f"is {shown(value)}, it must be a non-negative integer of at most {MAX_AMOUNT_DIGITS} digits"
               if type(value) is int else _got(value))
    fail(path(where, key), problem, f'send "{key}" as a JSON integer, e.g. 452')


def business_date(data: Mapping[str, Any], key: str, where: str) -> dt.date:
    value = data.get(key, _MISSING)
    if type(value) is str and _DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            fail(path(where, key), f"{value!r} is not a calendar date", 'send a real date as "YYYY-MM-DD"')
    problem = f"{shown(value)} is not a YYYY-MM-DD date" if type(value) is str else _got(value)
    fail(path(where, key), problem, 'send the local accounting date as "YYYY-MM-DD", e.g. "2026-03-14"')


def timestamp(data: Mapping[str, Any], key: str, where: str) -> dt.datetime:
    """An RFC 3339 timestamp that carries its UTC offset (``Z`` or ``+01:00``)."""
    value = data.get(key, _MISSING)
    fix = 'send an RFC 3339 timestamp with its offset, e.g. "2026-03-14T18:02:11+01:00"'
    if type(value) is str and _TIMESTAMP.fullmatch(value):
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            fail(path(where, key), f"{value!r} is not a real date and time", fix)
    if type(value) is str:
        fail(path(where, key), f"{shown(value)} is not an RFC 3339 timestamp with an offset", fix)
    fail(path(where, key), _got(value), fix)
