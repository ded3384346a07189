"""Fixtures of the rules tests; builders live in rules_builders.py."""

from __future__ import annotations

import pytest
from rules_builders import REFERENCE

from outboxd.rules import ShopMapping, effective_mapping


@pytest.fixture
def mapping() -> ShopMapping:
    """The default French mapping completed with the contract's reference example."""
    return effective_mapping(ShopMapping(), REFERENCE)
