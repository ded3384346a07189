"""A Pennylane simulator on loopback: OAuth, validation, rate limit, fault injection, inspection.

    sandbox = Sandbox()
    company = sandbox.add_company("Boulangerie Martin")
    token = sandbox.issue_api_token(company.id)
    async with run_sandbox(sandbox) as running:
        ...  # call running.api_url with "Authorization: Bearer <token>"
"""

from __future__ import annotations

from outboxd.sandbox.faults import Faults
from outboxd.sandbox.model import Company, Entry, Journal, LedgerAccount, Line
from outboxd.sandbox.server import SandboxHandle, create_app, run_sandbox
from outboxd.sandbox.tokens import ALL_SCOPES
from outboxd.sandbox.world import Sandbox

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
