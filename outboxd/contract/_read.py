"""Field readers shared by the payload parsers: each reads one key, checks it, and names the field on error.

``where`` is the path of the object being read (``payload.lines[2]``); the field path is only built when
something is wrong, which keeps the happy path fast. Every failure is a ``ContractError(field, problem, fix)``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NoReturn

from outboxd.exceptions import ContractError
from outboxd.money import parse_rate

__all__ = [
    "AMOUNT_FIX",
    "amount",
    "business_date",
    "fail",
    "integer",
    "items",
    "obj",
    "one_of",
    "opt_obj",
    "opt_str",
    "path",
    "rate",
    "text",
    "timestamp",
]

_MISSING: Any = object()
_AMOUNT = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]{1,2})?")
_RATES = MappingProxyType({"20": 200, "10": 100, "5.5": 55, "2.1": 21, "0": 0, "8.5": 85, "13": 130})
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
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


def text(data: Mapping[str, Any], key: str, where: str) -> str:
    """A required, non-empty string."""
    value = data.get(key, _MISSING)
    if type(value) is str and value:
        return value
    problem = "must not be empty" if value == "" else _got(value) + ", it must be a non-empty string"
    fail(path(where, key), problem, f'send "{key}" as a JSON string')


def opt_str(data: Mapping[str, Any], key: str, where: str) -> str | None:
    """An optional string: absent or null is None."""
    value = data.get(key)
    if value is None or type(value) is str:
        return value
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
    """An array of objects; an optional one may be absent or null (empty)."""
    value = data.get(key, _MISSING)
    if type(value) is not list:
        if not required and (value is _MISSING or value is None):
            return []
        fail(path(where, key), _got(value) + ", it must be an array", f'send "{key}" as a JSON array of objects')
    for index, item in enumerate(value):
        if type(item) is not dict:
            fail(f"{path(where, key)}[{index}]", _got(item) + ", it must be an object", "send a JSON object")
    return value


def one_of(data: Mapping[str, Any], key: str, where: str, allowed: tuple[str, ...]) -> Any:
    value = data.get(key, _MISSING)
    if type(value) is str and value in allowed:
        return value
    problem = f"is {value!r}, not one of {', '.join(allowed)}" if type(value) is str else _got(value)
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
        if _DECIMAL.fullmatch(value) and "." in value:
            fail(path(where, key), f"{value!r} has more than 2 decimals", AMOUNT_FIX)
        fail(path(where, key), f"{value!r} is not a decimal amount", AMOUNT_FIX)
    if type(value) in (int, float):
        fail(path(where, key), f"is the JSON number {value!r}; amounts must be strings, never numbers", AMOUNT_FIX)
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
            fail(path(where, key), f"{value!r} is not a VAT rate in percent", fix)
    if type(value) in (int, float):
        fail(path(where, key), f"is the JSON number {value!r}; VAT rates must be strings", fix)
    fail(path(where, key), _got(value) + ", it must be a VAT rate string", fix)


def integer(data: Mapping[str, Any], key: str, where: str) -> int:
    """A non-negative JSON integer (not a boolean, not a string)."""
    value = data.get(key, _MISSING)
    if type(value) is int and value >= 0:
        return value
    problem = f"is {value!r}, it must be a non-negative integer" if type(value) is int else _got(value)
    fail(path(where, key), problem, f'send "{key}" as a JSON integer, e.g. 452')


def business_date(data: Mapping[str, Any], key: str, where: str) -> dt.date:
    value = data.get(key, _MISSING)
    if type(value) is str and _DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            fail(path(where, key), f"{value!r} is not a calendar date", 'send a real date as "YYYY-MM-DD"')
    problem = f"{value!r} is not a YYYY-MM-DD date" if type(value) is str else _got(value)
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
        fail(path(where, key), f"{value!r} is not an RFC 3339 timestamp with an offset", fix)
    fail(path(where, key), _got(value), fix)
