"""The files the contract ships: the outbox DDL per backend and the JSON Schema per event type.

Read from the installed package with ``importlib.resources`` so they are the very files Kash.Click gets.
"""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

__all__ = ["BACKENDS", "SCHEMA_NAMES", "ddl", "schema"]

BACKENDS = ("sqlite", "postgres")
SCHEMA_NAMES = ("row", "order.recorded", "payment.recorded", "register.closed", "reference.updated")


def ddl(backend: str) -> str:
    """The ``CREATE TABLE outbox`` script for ``sqlite`` or ``postgres``."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}, expected one of {', '.join(BACKENDS)}")
    return files("outboxd.contract").joinpath("sql", f"outbox.{backend}.sql").read_text(encoding="utf-8")


def schema(name: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of an event type's payload, or of the outbox ``row`` envelope."""
    if name not in SCHEMA_NAMES:
        raise ValueError(f"unknown schema {name!r}, expected one of {', '.join(SCHEMA_NAMES)}")
    loaded: dict[str, Any] = json.loads(
        files("outboxd.contract").joinpath("schemas", f"{name}.json").read_text(encoding="utf-8"))
    return loaded
