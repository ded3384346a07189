"""The simulator against Pennylane's published spec: scopes, enums, request schemas, and every answer body.

Skipped, with the reason, when ../shared/pennylane/company-v2-openapi.json is absent.
"""

from __future__ import annotations

from typing import Any

import pennylane_spec
import pytest
from sandbox_helpers import Api, entry_body

from outboxd.pennylane_simulator import Company, Sandbox
from outboxd.pennylane_simulator.api import SCOPES, create_api
from outboxd.pennylane_simulator.api_books import ACCOUNT, COMPANY, COUNTRIES, INDIVIDUAL, JOURNAL, VAT_RATES
from outboxd.pennylane_simulator.api_entries import ENTRY
from outboxd.pennylane_simulator.context import API_PREFIX


@pytest.fixture(autouse=True)
def spec() -> dict[str, Any]:
    return pennylane_spec.require_spec()


def test_scopes_follow_the_security_lists() -> None:
    for (method, path), scopes in SCOPES.items():
        documented = [s for s in pennylane_spec.operation_scopes(method, path) if s != "ledger (DEPRECATED)"]
        assert sorted(scopes) == sorted(documented), (method, path)


def test_every_route_is_a_documented_operation_with_a_scope() -> None:
    api = create_api(Sandbox())
    routes = {(route.method, route.resource.canonical) for route in api.router.routes()
              if route.method != "HEAD" and route.resource is not None}
    assert routes == set(SCOPES)
    for method, path in routes:
        pennylane_spec.operation(method, path)


def test_enums_match_the_spec() -> None:
    properties = pennylane_spec.request_schema("POST", "/ledger_accounts")["properties"]
    assert set(properties["vat_rate"]["enum"]) == VAT_RATES
    assert list(properties["country_alpha2"]["enum"]) == list(COUNTRIES)


def _shape(schema: dict[str, Any]) -> Any:
    """Required keys and property names, recursively: what the hand-written schemas must copy."""
    if schema.get("type") == "array" or "items" in schema:
        return ["array", _shape(schema["items"])]
    if "properties" in schema:
        return {"required": sorted(schema.get("required", [])),
                "properties": {k: _shape(v) for k, v in sorted(schema["properties"].items())}}
    for key in ("anyOf", "allOf"):
        if key in schema:
            return _shape(next(s for s in schema[key] if s.get("type") != "null"))
    return None


@pytest.mark.parametrize(("path", "schema"), [
    ("/journals", JOURNAL), ("/ledger_accounts", ACCOUNT), ("/individual_customers", INDIVIDUAL),
    ("/company_customers", COMPANY), ("/ledger_entries", ENTRY),
])
def test_request_schemas_copy_the_spec(path: str, schema: dict[str, Any]) -> None:
    assert _shape(schema) == _shape(pennylane_spec.request_schema("POST", path))


async def test_every_answer_matches_its_documented_schema(api: Api, company: Company) -> None:
    """Drive every operation through its success and error answers; ``Api`` validates each body."""
    pennylane_spec.validate_request("POST", "/ledger_entries", entry_body(company))
    address = {"address": "1 rue Haute", "postal_code": "69001", "city": "Lyon", "country_alpha2": "FR"}
    calls: list[tuple[str, str, Any, dict[str, str] | None, str | None]] = [
        ("GET", "/me", None, None, None),
        ("GET", "/fiscal_years", None, None, None),
        ("GET", "/journals", None, {"limit": "2"}, None),
        ("POST", "/journals", {"code": "KCA", "label": "Caisse A"}, None, None),
        ("POST", "/journals", {"code": "K1", "label": "Caisse"}, None, None),
        ("POST", "/journals", {"code": "KCB"}, None, None),
        ("GET", "/ledger_accounts", None, {"limit": "1000"}, None),
        ("POST", "/ledger_accounts", {"number": "44571200", "label": "TVA", "vat_rate": "FR_200"}, None, None),
        ("POST", "/ledger_accounts", {"number": "44571200", "label": "TVA"}, None, None),
        ("GET", f"/ledger_accounts/{company.account_numbers['512000']}", None, None, None),
        ("GET", "/ledger_accounts/1", None, None, None),
        ("POST", "/individual_customers", {"first_name": "Marie", "last_name": "Dupont", "billing_address": address,
                                           "external_reference": "kc:1", "emails": ["m@example.com"]}, None, None),
        ("POST", "/individual_customers", {"first_name": "Marie", "last_name": "Dupont", "billing_address": address,
                                           "external_reference": "kc:1"}, None, None),
        ("POST", "/company_customers", {"name": "SARL Dupont", "billing_address": address, "reg_no": "123"},
         None, None),
        ("GET", "/customers", None, None, None),
        ("POST", "/ledger_accounts", {"number": "4110999", "label": "Client comptoir"}, None, None),
        ("GET", "/customers", None, None, None),
        ("POST", "/ledger_entries", entry_body(company), None, None),
        ("POST", "/ledger_entries", entry_body(company, date="2025-06-01"), None, None),
        ("POST", "/ledger_entries", {**entry_body(company), "extra": 1}, None, None),
        ("GET", "/ledger_entries", None, {"limit": "1"}, None),
        ("GET", "/ledger_entries/1", None, None, None),
        ("GET", "/me", None, None, "sbx_at_invalid"),
    ]
    for method, path, body, params, token in calls:
        status, _, _ = await api.call(method, path, json=body, params=params, token=token)
        assert status < 500, (method, path)
    entry_id = next(b["id"] for m, p, s, b in api.seen if (m, p, s) == ("POST", "/ledger_entries", 201))
    await api.get(f"/ledger_entries/{entry_id}")
    narrow = Api(api.session, api.handle, api.handle.sandbox.issue_api_token(company.id, scopes=[]))
    for method, path in SCOPES:
        if SCOPES[method, path]:
            status, _, _ = await narrow.call(method, path.replace("{id}", "1"), json={} if method == "POST" else None)
            assert status == 403, (method, path)
    statuses = {(m, p.split("?")[0], s) for m, p, s, _ in api.seen}
    assert {("GET", "/customers", 200), ("POST", "/individual_customers", 409), ("POST", "/ledger_entries", 422),
            ("POST", "/ledger_entries", 400), ("GET", "/ledger_entries/1", 404), ("GET", "/me", 401),
            ("POST", "/journals", 422), ("POST", "/journals", 400)} <= statuses
    assert API_PREFIX == pennylane_spec.API_PREFIX
