"""The shipped JSON Schemas accept the contract's examples and the simulator's rows, and reject the bad cases."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from contract_badcases import CASES, Bad, apply
from contract_examples import row
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from outboxd.contract import EVENT_TYPES, schema
from outboxd.shop_simulator import simulate_shop

VALIDATORS = {name: Draft202012Validator(schema(name), format_checker=Draft202012Validator.FORMAT_CHECKER)
              for name in ("row", *EVENT_TYPES)}


def _path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".")


def _error_fields(error: ValidationError, prefix: str) -> set[str]:
    """The field paths an error names: a missing required key names the key itself."""
    base = _path([*(prefix.split(".") if prefix else []), *error.absolute_path])
    fields = {base}
    if error.validator == "required":
        fields |= {f"{base}.{key}".lstrip(".") for key in error.validator_value if key not in error.instance}
    for sub in error.context or ():
        fields |= _error_fields(sub, prefix)
    return fields


def schema_errors(candidate: dict[str, Any]) -> set[str]:
    """Field paths of every schema violation of a row: the envelope, then its decoded payload."""
    fields: set[str] = set()
    for error in VALIDATORS["row"].iter_errors(candidate):
        fields |= _error_fields(error, "")
    payload = candidate.get("payload")
    if isinstance(payload, str):
        payload = json.loads(payload)
    validator = VALIDATORS.get(str(candidate.get("event_type")))
    if validator is not None and "payload" in candidate:
        for error in validator.iter_errors(payload):
            fields |= _error_fields(error, "payload")
    return fields


def test_schemas_are_valid_draft_2020_12() -> None:
    for name in ("row", *EVENT_TYPES):
        Draft202012Validator.check_schema(schema(name))


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_contract_examples_conform(event_type: str) -> None:
    assert schema_errors(row(event_type)) == set()


@pytest.mark.parametrize("variety", [False, True])
def test_simulated_rows_conform(variety: bool) -> None:
    rows = simulate_shop("shop-s", days=2, orders_per_day=150, registers=2, seed=11, start=dt.date(2026, 3, 28),
                         variety=variety)
    for simulated in rows:
        assert schema_errors(simulated) == set(), simulated


SCHEMA_CASES = [case for case in CASES if case.schema]


@pytest.mark.parametrize("case", SCHEMA_CASES, ids=[c.name for c in SCHEMA_CASES])
def test_schema_rejects_bad_case_on_its_field(case: Bad) -> None:
    assert case.field in schema_errors(apply(case))


PARSER_ONLY = [case for case in CASES if not case.schema]


@pytest.mark.parametrize("case", PARSER_ONLY, ids=[c.name for c in PARSER_ONLY])
def test_rules_beyond_json_schema_really_pass_the_schema(case: Bad) -> None:
    """Keeps the table honest: a case marked parser-only must not be one the schema could catch."""
    candidate = apply(case)
    if isinstance(candidate.get("payload"), str):
        with pytest.raises(json.JSONDecodeError):  # bad JSON text: no schema can read it
            schema_errors(candidate)
        return
    assert case.field not in schema_errors(candidate)
