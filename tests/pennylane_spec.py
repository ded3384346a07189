"""Pennylane's published OpenAPI spec, for contract tests (shared by the client and the simulator tests).

The spec lives outside the repository, in ``<repo>/../shared/pennylane/company-v2-openapi.json``; it is
never copied in. Tests that need it call ``require_spec()``, which skips them with a clear reason when the
file is absent.

    validate_request("POST", "/api/external/v2/ledger_entries", body)        # raises jsonschema.ValidationError
    validate_response("GET", "/api/external/v2/ledger_entries/42", 200, body)
    operation_scopes("POST", "/ledger_entries")  -> ["ledger (DEPRECATED)", "ledger_entries:all"]

Paths may be concrete (``/ledger_entries/42``) or templates (``/ledger_entries/{id}``), with or without the
``/api/external/v2`` prefix. OpenAPI 3.0 schemas are turned into JSON Schema (draft 4) first: ``$ref`` to
components are inlined and ``nullable: true`` becomes a ``"null"`` type.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

__all__ = [
    "API_PREFIX",
    "SPEC_PATH",
    "load_spec",
    "operation",
    "operation_scopes",
    "request_schema",
    "require_spec",
    "response_schema",
    "validate_request",
    "validate_response",
]

REPO = Path(__file__).resolve().parents[1]
SPEC_PATH = REPO.parent / "shared" / "pennylane" / "company-v2-openapi.json"
API_PREFIX = "/api/external/v2"


@functools.cache
def load_spec() -> dict[str, Any]:
    """The parsed spec. Raises FileNotFoundError when it is absent (use ``require_spec`` in tests)."""
    with SPEC_PATH.open(encoding="utf-8") as handle:
        spec: dict[str, Any] = json.load(handle)
    return spec


def require_spec() -> dict[str, Any]:
    """The spec, or skip the calling test with the reason."""
    if not SPEC_PATH.is_file():
        pytest.skip(
            f"Pennylane's OpenAPI spec is not at {SPEC_PATH}: contract checks need it (see docs/pennylane-simulator.md)"
        )
    return load_spec()


@functools.cache
def _templates() -> list[tuple[re.Pattern[str], str]]:
    patterns = []
    for template in load_spec()["paths"]:
        regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        patterns.append((re.compile(f"{regex}$"), template))
    return patterns


def _template(path: str) -> str:
    path = path.split("?", 1)[0]
    if not path.startswith(API_PREFIX):
        path = API_PREFIX + path
    if path in load_spec()["paths"]:
        return path
    for pattern, template in _templates():
        if pattern.match(path):
            return template
    raise KeyError(f"no operation in the spec matches {path}")


def operation(method: str, path: str) -> dict[str, Any]:
    """The spec's operation object for ``method`` and ``path``. KeyError when the spec has none."""
    op: dict[str, Any] = load_spec()["paths"][_template(path)][method.lower()]
    return op


def operation_scopes(method: str, path: str) -> list[str]:
    """The scopes the operation's ``security`` list names (any one of them grants access)."""
    return [scope for requirement in operation(method, path).get("security", [])
            for scope in requirement.get("oauth2", [])]


def _resolve(node: Any, seen: tuple[str, ...] = ()) -> Any:
    if isinstance(node, list):
        return [_resolve(item, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        if ref in seen:
            raise ValueError(f"recursive $ref {ref}: not supported here")
        target: Any = load_spec()
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        return _resolve(target, (*seen, ref))
    schema = {key: _resolve(value, seen) for key, value in node.items() if key not in {"example", "examples"}}
    if schema.pop("nullable", False):
        if isinstance(schema.get("type"), str):
            schema["type"] = [schema["type"], "null"]
            if "enum" in schema:
                schema["enum"] = [*schema["enum"], None]
        else:
            return {"anyOf": [{"type": "null"}, schema]}
    return schema


@functools.cache
def _request_schema(method: str, template: str) -> str:
    body = load_spec()["paths"][template][method]["requestBody"]["content"]["application/json"]["schema"]
    return json.dumps(_resolve(body))


@functools.cache
def _response_schema(method: str, template: str, status: str) -> str:
    responses = load_spec()["paths"][template][method]["responses"]
    if status not in responses:
        raise KeyError(f"{method.upper()} {template} documents no {status} response (has {sorted(responses)})")
    content = responses[status].get("content", {})
    if "application/json" not in content:
        raise KeyError(f"{method.upper()} {template} {status} has no JSON body in the spec")
    return json.dumps(_resolve(content["application/json"]["schema"]))


def request_schema(method: str, path: str) -> dict[str, Any]:
    """The JSON Schema of the request body (a fresh copy, safe to change)."""
    schema: dict[str, Any] = json.loads(_request_schema(method.lower(), _template(path)))
    return schema


def response_schema(method: str, path: str, status: int) -> dict[str, Any]:
    """The JSON Schema of the response body for ``status``; KeyError when the spec documents none."""
    schema: dict[str, Any] = json.loads(_response_schema(method.lower(), _template(path), str(status)))
    return schema


def _validate(instance: Any, schema: dict[str, Any]) -> None:
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
    if error is not None:
        raise error


def validate_request(method: str, path: str, body: Any) -> None:
    """Raise jsonschema.ValidationError when ``body`` is not what the spec accepts for this operation."""
    _validate(body, request_schema(method, path))


def validate_response(method: str, path: str, status: int, body: Any) -> None:
    """Raise jsonschema.ValidationError when ``body`` is not what the spec documents for ``status``."""
    _validate(body, response_schema(method, path, status))
