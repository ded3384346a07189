"""A Pennylane simulator on loopback: OAuth, validation, rate limit, fault injection, inspection.

    sandbox = Sandbox()
    company = sandbox.add_company("Boulangerie Martin")
    token = sandbox.issue_api_token(company.id)
    async with run_sandbox(sandbox) as running:
        ...  # call running.api_url with "Authorization: Bearer <token>"
"""

from __future__ import annotations

from outboxd.pennylane_simulator.faults import Faults
from outboxd.pennylane_simulator.model import Company, Entry, Journal, LedgerAccount, Line
from outboxd.pennylane_simulator.server import SandboxHandle, create_app, run_sandbox
from outboxd.pennylane_simulator.tokens import ALL_SCOPES
from outboxd.pennylane_simulator.world import Sandbox

__all__ = [
    "ALL_SCOPES",
    "Company",
    "Entry",
    "Faults",
    "Journal",
    "LedgerAccount",
    "Line",
    "Sandbox",
    "SandboxHandle",
    "create_app",
    "run_sandbox",
]
