"""Access tokens living 8 s: an OAuth connect, a month of events, rotations every few seconds and kill -9 between
them. Pennylane kills the old pair at each refresh, so a rotation the daemon lost would show as a refresh token
used twice (the simulator counts them) and the shop needing a reconnect."""

from __future__ import annotations

import asyncio

from e2e_harness import World, WorldFactory, assert_exact, settle, wait_until
from e2e_killloop import produce

TOKEN_LIFE = 8
KILLS = 4


def _used_tokens(world: World) -> set[str]:
    """OAuth access tokens the simulator has seen on API requests."""
    return {token for token in world.sandbox.request_count if token.startswith("sbx_at_")}


async def _rotated_and_used(world: World, seen: set[str]) -> None:
    """Wait until the daemon uses an access token not seen before: a refresh done and saved (used after saving)."""

    async def new_token() -> bool:
        if world.daemon.proc is not None and world.daemon.proc.poll() is not None:
            raise AssertionError(f"daemon died:\n{world.daemon.log_tail()}")
        return bool(_used_tokens(world) - seen)

    await wait_until(new_token, 4 * TOKEN_LIFE, "a rotated access token in use")


async def test_short_lived_tokens_connect_rotate_and_survive_kill_9_without_reusing_a_refresh_token(
    make_world: WorldFactory,
) -> None:
    world = await make_world(oauth=("s1",), token_lifetime=TOKEN_LIFE)
    world.sandbox.faults.update(latency_ms=30)  # a month takes longer than a few token lives
    await world.daemon.start_ready()
    connection = await world.connect_oauth("s1")
    assert connection["state"] == "connected"

    rows = world.history("s1", days=30)
    producer = asyncio.create_task(produce(world.layout, {"s1": rows}, spread=(KILLS + 1) * TOKEN_LIFE))
    try:
        for _ in range(KILLS):
            await _rotated_and_used(world, _used_tokens(world))
            world.daemon.kill9()  # between two rotations: the last one was saved before its token was used
            await world.daemon.start_ready()
        await _rotated_and_used(world, _used_tokens(world))
        await producer
    finally:
        producer.cancel()
    await settle(world.state, {"s1": len(rows)}, 120, world.daemon)

    assert world.sandbox.tokens.reused == 0
    assert world.state.failed("s1") == []
    assert world.state.connection_state("s1") == "connected"
    assert len(world.sandbox.tokens.spent) >= KILLS + 1  # rotations really happened, every few seconds
    assert_exact(world.sandbox, world.companies["s1"], world.expected("s1", rows))


async def test_a_token_dying_during_the_connects_own_call_is_refreshed_into_the_stored_connection(
    make_world: WorldFactory,
) -> None:
    """The connect's ``GET /me`` gets a 401 (the first access token died early) and refreshes: the new pair is saved
    into the connection row, which must exist by then (it used to be written after ``GET /me``: a 500)."""
    world = await make_world(oauth=("s1",), token_lifetime=TOKEN_LIFE)
    await world.daemon.start_ready()
    world.sandbox.faults.update(access_token_ttl=0.5, latency_ms=1500)  # GET /me is read after its token died
    connecting = asyncio.create_task(world.connect_oauth("s1"))

    async def me_asked() -> bool:
        return bool(_used_tokens(world))

    try:
        await wait_until(me_asked, 20, "the connect's GET /me")
        world.sandbox.faults.update(access_token_ttl=None, latency_ms=0)  # the refreshed pair lives its 8 s
        connection = await connecting
    finally:
        connecting.cancel()
    assert connection["state"] == "connected"
    assert connection["company_id"] == world.companies["s1"]
    assert len(world.sandbox.tokens.spent) == 1  # the 401 was met with one refresh
    rows = world.history("s1", days=1)
    world.layout.insert(rows)
    await settle(world.state, {"s1": len(rows)}, 60, world.daemon)
    assert world.state.failed("s1") == []
    assert_exact(world.sandbox, world.companies["s1"], world.expected("s1", rows))

