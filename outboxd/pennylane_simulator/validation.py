"""Request checks as Pennylane makes them, and the error bodies it answers with.

Bodies are checked against small hand-written schemas (a subset of JSON Schema: type, required, known
keys, enum, item counts, string lengths) that mirror the published spec: unknown keys are refused because the
spec says ``additionalProperties: false``. A schema violation is a 400 ``{message, field, code}``; a business
rule is a 422 ``{error, status}``; a few rules answer in the guide's ``{error, message, details}`` shape, as a
string longer than the spec's ``maxLength`` does (a model validation, as in Rails), because real Pennylane
varies and the client must parse every shape.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from outboxd.money import parse_amount

__all__ = ["DATE", "INT", "STR", "ApiError", "amount_cents", "check", "detailed", "error", "read_json"]

Schema = dict[str, Any]
STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
DATE: Schema = {"type": "string", "format": "date"}
_DATE = re.compile(r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])")
_AMOUNT = re.compile(r"\d+(\.\d{1,2})?")
_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "object": (dict,), "array": (list,), "boolean": (bool,),
}


class ApiError(web.HTTPException):
    """Any non-2xx JSON answer of the simulated API: raise it from a handler, the status goes with it."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status_code = status
        super().__init__(text=json.dumps(body), content_type="application/json")


def error(status: int, message: str) -> ApiError:
    """The spec's shape: ``{"error": message, "status": status}``."""
    return ApiError(status, {"error": message, "status": status})


def detailed(message: str, details: dict[str, list[str]]) -> ApiError:
    """The guide's 422 shape: ``{"error": "unprocessable_entity", "message": ..., "details": {...}}``."""
    return ApiError(422, {"error": "unprocessable_entity", "message": message, "details": details})


def invalid(message: str, field: str, code: str) -> ApiError:
    """The spec's 400 shape for a body that breaks the schema."""
    return ApiError(400, {"message": message, "field": field, "code": code})


async def read_json(request: web.Request) -> Any:
    try:
        return await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise invalid(f"The request body is not valid JSON: {exc}", "body", "ValidateError") from exc


def check(value: Any, schema: Schema, field: str = "") -> None:
    """Raise a 400 at the first place ``value`` breaks ``schema``; ``field`` is its dotted path."""
    if value is None:
        if schema.get("nullable"):
            return
        raise invalid(f"{field or 'body'} must not be null", field, "NotNullError")
    kind = schema.get("type")
    if kind and (not isinstance(value, _TYPES[kind]) or (kind == "integer" and isinstance(value, bool))):
        raise invalid(f"{field or 'body'} must be of type {kind}", field, "ValidateError")
    if "enum" in schema and value not in schema["enum"]:
        raise invalid(f"{field} {value!r} is not one of the allowed values", field, "NotEnumInclude")
    if schema.get("format") == "date" and not _DATE.fullmatch(value):
        raise invalid(f"{field} {value!r} is not a date (YYYY-MM-DD)", field, "InvalidDateFormat")
    if kind == "string" and len(value) > schema.get("maxLength", len(value)):
        too_long = f"is too long (maximum is {schema['maxLength']} characters)"
        raise detailed(f"Validation failed: {field} {too_long}", {field: [too_long]})
    if kind == "object":
        _check_object(value, schema, field)
    elif kind == "array":
        if len(value) < schema.get("minItems", 0):
            raise invalid(f"{field} needs at least {schema['minItems']} items", field, "LessThanMinItems")
        if len(value) > schema.get("maxItems", len(value)):
            raise invalid(f"{field} takes at most {schema['maxItems']} items", field, "MoreThanMaxItems")
        for index, item in enumerate(value):
            check(item, schema["items"], f"{field}[{index}]")


def _check_object(value: dict[str, Any], schema: Schema, field: str) -> None:
    properties: dict[str, Schema] = schema.get("properties", {})
    prefix = f"{field}." if field else ""
    for key in schema.get("required", ()):
        if key not in value:
            raise invalid(f"{prefix}{key} is required", prefix + key, "NotExistRequiredKey")
    for key, item in value.items():
        if key not in properties:
            raise invalid(f"{prefix}{key} is not an accepted property", prefix + key, "NotExistPropertyDefinition")
        check(item, properties[key], prefix + key)


def amount_cents(text: str, field: str) -> int:
    """A line amount: a decimal string, not negative, with at most 2 decimals."""
    if not _AMOUNT.fullmatch(text):
        raise error(422, f"{field} must be a positive decimal string with at most 2 decimals, got {text!r}")
    return parse_amount(text)
