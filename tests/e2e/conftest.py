"""A world per test: the simulator in this process on loopback, two companies, a bridge layout, the daemon
as a real process (``outboxd run``), torn down whatever happens."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from e2e_harness import SHOPS, DaemonProcess, Layout, StateView, World, WorldFactory

from outboxd.pennylane_simulator import Faults, Sandbox, run_sandbox
from outboxd.pennylane_simulator.tokens import ACCESS_TOKEN_LIFETIME


@pytest.fixture
async def make_world(tmp_path: Path) -> AsyncIterator[WorldFactory]:
    async with AsyncExitStack() as stack:

        async def build(
            *, rate_limit: tuple[int, float] | None = None, oauth: tuple[str, ...] = (), seed: int = 7,
            env: dict[str, str] | None = None, token_lifetime: int = ACCESS_TOKEN_LIFETIME, **layout: Any,
        ) -> World:  # fmt: skip
            sandbox = Sandbox(rate_limit=rate_limit, faults=Faults(seed=seed), access_token_lifetime=token_lifetime)
            handle = await stack.enter_async_context(run_sandbox(sandbox))
            companies = {shop: sandbox.add_company(f"Boutique {shop}").id for shop in SHOPS}
            tokens = {shop: None if shop in oauth else sandbox.issue_api_token(cid) for shop, cid in companies.items()}
            lay = Layout(tmp_path / "bridge", handle, tokens, **layout).write()
            stack.callback(shutil.rmtree, lay.sockdir, ignore_errors=True)
            daemon = DaemonProcess(lay, env=env)
            stack.push_async_callback(daemon.close)
            return World(sandbox, handle, companies, lay, daemon, StateView(lay.state))

        yield build
