"""kill -9 of the daemon at random moments, restarted each time, while a producer keeps inserting: every event
delivered exactly once (no loss, no duplicate piece_number), trial balance exact. OUTBOXD_SOAK=1 runs longer."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
from pathlib import Path

import pytest
from e2e_harness import DAEMON, WorldFactory, assert_exact, booked_pieces, settle, wait_until
from e2e_killloop import kill_loop

from outboxd.demo.tickets import live_ticket

SOAK = os.environ.get("OUTBOXD_SOAK") == "1"


@pytest.mark.slow
@pytest.mark.timeout(900 if SOAK else 150)
async def test_kill_9_at_random_moments_loses_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    kills, events = (200, 6000) if SOAK else (20, 600)
    result = await kill_loop(tmp_path / "bridge", kills=kills, events=events, seed=3)
    print("\n".join(result.lines()))
    assert result.kills == kills
    assert result.delivered == result.events == events
    assert result.lost == 0
    assert result.duplicates == 0
    assert result.balance_exact


async def test_kill_9_between_the_commit_in_pennylane_and_its_answer_then_found_not_posted_again(
    make_world: WorldFactory,
) -> None:
    """The crash window the dedup rule exists for, hit on purpose: the entry is in Pennylane, the daemon dies
    before the 201 reaches it, and after the restart it finds the piece instead of posting it again."""
    world = await make_world(lease_seconds=600.0)  # the dead daemon's lease is taken back at start, not waited out
    rows = world.history("s1", days=1)
    world.layout.insert(rows)
    await world.daemon.start_ready()
    await settle(world.state, {"s1": len(rows)}, 30, world.daemon)
    company = world.companies["s1"]
    before = set(booked_pieces(world.sandbox, company))

    world.sandbox.faults.update(hold_after_commit_ms=5_000)  # long enough to kill in, short for teardown
    order = live_ticket("s1", "crash", 1, random.Random(5))[0]
    world.layout.insert([order])

    async def committed() -> bool:
        return len(booked_pieces(world.sandbox, company)) > len(before)

    await wait_until(committed, 10)
    world.daemon.kill9()  # the 201 is still held by the simulator
    (piece,) = set(booked_pieces(world.sandbox, company)) - before
    world.sandbox.faults.update(hold_after_commit_ms=0)
    await world.daemon.start_ready()
    await settle(world.state, {"s1": len(rows) + 1}, 30, world.daemon)

    assert booked_pieces(world.sandbox, company)[piece] == 1
    log = world.daemon.log_path.read_text()
    assert '"daemon.leases_taken_back"' in log
    assert '"delivery.found_after_unknown_outcome"' in log
    assert_exact(world.sandbox, company, world.expected("s1", [*rows, order]))


async def test_a_second_daemon_on_the_same_sqlite_state_is_refused(make_world: WorldFactory) -> None:
    """Two daemons on one state file would double each token's rate and take each other's leases."""
    world = await make_world()
    await world.daemon.start_ready()
    command = [str(DAEMON), "run", "--config", str(world.layout.config_path)]
    second = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=30)
    assert second.returncode == 2
    assert "another outboxd daemon uses the state database" in second.stderr
    assert "Traceback" not in second.stderr
    assert await world.daemon.terminate(20) == 0  # the first one never noticed
