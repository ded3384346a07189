"""List endpoints: the ``filter`` JSON, ``sort``, and cursor pagination as in Pennylane's 2026 API.

The cursor carries only the position (sort value and id of the last item seen), never the filter: a client
that does not send ``filter`` again on the next page gets unfiltered items, as with the real API.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from outboxd.pennylane_simulator.validation import invalid

__all__ = ["Filter", "ListQuery", "page", "parse_query"]

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "not_eq": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "lteq": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "gteq": lambda a, b: a >= b,
    "in": lambda a, b: a in b,
    "not_in": lambda a, b: a not in b,
    "start_with": lambda a, b: str(a).startswith(str(b)),
}
DEFAULT_LIMIT = 20


@dataclass(frozen=True, slots=True)
class Filter:
    field: str
    operator: str
    value: Any

    def test(self, actual: Any) -> bool:
        return _COMPARE[self.operator](actual, self.value)


@dataclass(frozen=True, slots=True)
class ListQuery:
    filters: tuple[Filter, ...]
    sort_field: str
    descending: bool
    limit: int
    after: tuple[Any, int] | None  # (sort value, id) of the last item of the previous page

    def value(self, name: str) -> Any:
        """The value of an ``eq`` filter on ``name``, or None (used to pick an index)."""
        for item in self.filters:
            if item.field == name and item.operator == "eq":
                return item.value
        return None


def parse_query(
    request: web.Request, *, fields: Mapping[str, tuple[str, frozenset[str]]], sorts: Iterable[str] = ("id",),
    max_limit: int = 100, default_sort: str = "-id",
) -> ListQuery:
    """Read filter/sort/limit/cursor. ``fields`` maps a filterable field to (kind, allowed operators)."""
    query = request.query
    filters = tuple(_filters(query.get("filter", ""), fields))
    sort = query.get("sort", default_sort)
    if sort.lstrip("-") not in sorts:
        raise invalid(f"sort {sort!r} is not available; use one of {sorted(sorts)}", "sort", "NotEnumInclude")
    try:
        limit = int(query.get("limit", DEFAULT_LIMIT))
    except ValueError:
        raise invalid("limit must be an integer", "limit", "ValidateError") from None
    if limit < 1:
        raise invalid("limit must be at least 1", "limit", "LessThanMinimum")
    if limit > max_limit:
        raise invalid(f"limit must be at most {max_limit}", "limit", "MoreThanMaximum")
    return ListQuery(filters, sort.lstrip("-"), sort.startswith("-"), limit, _cursor(query.get("cursor", "")))


def _filters(text: str, fields: Mapping[str, tuple[str, frozenset[str]]]) -> Iterable[Filter]:
    if not text:
        return
    try:
        items = json.loads(text)
    except json.JSONDecodeError:
        raise invalid("filter must be a JSON array", "filter", "ValidateError") from None
    if not isinstance(items, list):
        raise invalid("filter must be a JSON array", "filter", "ValidateError")
    for item in items:
        if not isinstance(item, dict) or set(item) != {"field", "operator", "value"}:
            raise invalid("each filter needs exactly field, operator and value", "filter", "ValidateError")
        name, operator, value = item["field"], item["operator"], item["value"]
        if name not in fields:
            raise invalid(f"filtering on {name!r} is not supported; use one of {sorted(fields)}", "filter",
                          "NotEnumInclude")
        kind, operators = fields[name]
        if operator not in operators:
            raise invalid(f"operator {operator!r} is not available on {name!r}", "filter", "NotEnumInclude")
        yield Filter(name, operator, _typed(value, kind, operator in {"in", "not_in"}))


def _typed(value: Any, kind: str, many: bool) -> Any:
    if many:
        values = value if isinstance(value, list) else str(value).split(",")
        return frozenset(_typed(v, kind, many=False) for v in values)
    try:
        if kind == "int":
            return int(value)
        if kind == "bool":
            return value in {True, "true"}
    except (TypeError, ValueError):
        raise invalid(f"filter value {value!r} must be an integer", "filter", "ValidateError") from None
    return str(value)


def _cursor(text: str) -> tuple[Any, int] | None:
    if not text:
        return None
    try:
        value, last_id = json.loads(base64.urlsafe_b64decode(text.encode("ascii")))
        return value, int(last_id)
    except (ValueError, TypeError, binascii.Error, UnicodeEncodeError):
        raise invalid("cursor is not one this server gave", "cursor", "ValidateError") from None


def page(
    items: Iterable[Any], query: ListQuery, attrs: Mapping[str, Callable[[Any], Any]],
    render: Callable[[Any], dict[str, Any]], *, legacy_keys: bool = True,
) -> dict[str, Any]:
    """Filter, sort, cut after the cursor and render one page. ``attrs`` reads each field from an item."""
    chosen = [item for item in items if all(f.test(attrs[f.field](item)) for f in query.filters)]
    sort_of = attrs[query.sort_field]
    id_of = attrs["id"]

    def key(item: Any) -> tuple[Any, int]:
        return sort_of(item), id_of(item)

    chosen.sort(key=key, reverse=query.descending)
    if query.after is not None:
        after = query.after
        chosen = [i for i in chosen if (key(i) < after if query.descending else key(i) > after)]
    shown = chosen[: query.limit]
    has_more = len(chosen) > query.limit
    next_cursor = None
    if has_more:
        raw = json.dumps(list(key(shown[-1])), separators=(",", ":")).encode()
        next_cursor = base64.urlsafe_b64encode(raw).decode("ascii")
    body: dict[str, Any] = {}
    if legacy_keys:  # the deprecated page-number keys are still required by the spec, always null now
        body.update(total_pages=None, current_page=None, total_items=None, per_page=None)
    body.update(items=[render(item) for item in shown], has_more=has_more, next_cursor=next_cursor)
    return body
