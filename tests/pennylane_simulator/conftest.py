"""Fixtures for the simulator's tests: a sandbox on a fake clock with one company and one OAuth app, served on
loopback, and an ``Api`` caller holding a company API token."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from sandbox_helpers import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, Api, FakeClock

from outboxd.pennylane_simulator import Company, Sandbox, SandboxHandle, run_sandbox


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sandbox(clock: FakeClock) -> Sandbox:
    world = Sandbox(clock=clock)
    world.register_oauth_app(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI])
    return world


@pytest.fixture
def company(sandbox: Sandbox) -> Company:
    return sandbox.add_company("Boulangerie Martin")


@pytest.fixture
async def running(sandbox: Sandbox) -> AsyncIterator[SandboxHandle]:
    async with run_sandbox(sandbox) as handle:
        yield handle


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
def api(session: aiohttp.ClientSession, running: SandboxHandle, company: Company) -> Api:
    return Api(session, running, running.sandbox.issue_api_token(company.id))

