"""Load-time checks of the chart: closing accounts that would double revenue or move cash, and VAT codes Pennylane
refuses, fail at start with the key and the fix; the embedded vat_rate codes are Pennylane's own."""

from __future__ import annotations

from pathlib import Path

import pytest
from pennylane_spec import request_schema, require_spec

from outboxd.config import load_config
from outboxd.exceptions import ConfigError
from outboxd.rules.vat_codes import PENNYLANE_VAT_CODES, default_vat_code


def _load(tmp_path: Path, text: str) -> None:
    path = tmp_path / "outboxd.toml"
    path.write_text(text, encoding="utf-8")
    load_config(path)


@pytest.mark.parametrize(
    ("toml", "key", "fragment"),
    [
        ('[mapping.closing]\ngeneral_sales = "707000"', "mapping.closing.general_sales", "class 7"),
        ('[mapping.closing]\ngeneral_receipts = "607000"', "mapping.closing.general_receipts", "class 6"),
        ('[mapping.closing]\ngeneral_receipts = "5301"', "mapping.closing.general_receipts", "cash, bank"),
        ('[mapping.closing]\ngeneral_sales = "512000"\ngeneral_receipts = "512000"', "mapping.closing.general_sales",
         "class 5"),
        ('[shops.s1]\napi_token_file = "t"\n[shops.s1.mapping.closing]\ngeneral_receipts = "5115"',
         "shops.s1.mapping.closing.general_receipts", "balance"),
        ('[mapping]\nvat_rates = ["20", "7"]', "mapping.vat_rates", 'mapping.vat.codes."7"'),
        ('[mapping.vat.codes]\n"20" = "FR_20"', 'mapping.vat.codes."20"', "not a vat_rate code"),
    ],
)  # fmt: skip
def test_a_chart_that_would_book_wrong_fails_at_load(tmp_path: Path, toml: str, key: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, toml)
    assert caught.value.key == key
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    "toml",
    [
        '[mapping.closing]\ngeneral_sales = "580000"\ngeneral_receipts = "580100"',
        '[mapping.closing]\nglobal_entry = false\ngeneral_sales = "707000"',
        '[mapping]\nvat_rates = ["20", "7"]\n[mapping.vat.codes]\n"7" = "exempt"',
        '[mapping]\nvat_rates = ["8.5", "13", "2.1"]',
    ],
)
def test_a_sound_chart_loads(tmp_path: Path, toml: str) -> None:
    _load(tmp_path, toml)


def test_the_7_percent_error_says_what_pennylane_refuses_and_how_to_fix_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, '[mapping]\nvat_rates = ["20", "7"]')
    assert "'FR_70'" in str(caught.value)
    assert default_vat_code(70) == "FR_70"


def test_the_embedded_vat_codes_are_those_of_pennylanes_spec() -> None:
    require_spec()
    schema = request_schema("POST", "/ledger_accounts")
    assert set(schema["properties"]["vat_rate"]["enum"]) == PENNYLANE_VAT_CODES
