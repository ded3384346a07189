"""Waiters for the per-token budget: live before history, FIFO within a priority, a cancelled waiter leaves no trace.

The clock is moved by the test: a waiter sleeping for the budget wakes only when told to, so which waiter gets
which slot is decided by the limiter alone, never by how the event loop happened to interleave the tasks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp

from outboxd.pennylane import ApiTokenConnection, PennylaneClient, RateLimiter, request_priority
from outboxd.secrets import Secret
from tests.pennylane.conftest import Reply, ScriptedPeer

T0 = 1_750_000_000.0


class ManualClock:
    """A Unix-time clock that moves only in ``wake``; sleepers wait for it."""

    def __init__(self) -> None:
        self.now = T0
        self.sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        woken = asyncio.get_running_loop().create_future()
        self.sleepers.append((self.now + seconds, woken))
        await woken

    def wake(self) -> None:
        """Move to the earliest sleeper's deadline and wake every sleeper due then (synchronously)."""
        due = min(at for at, _ in self.sleepers)
        self.now = max(self.now, due)
        for at, woken in list(self.sleepers):
            if at <= self.now:
                self.sleepers.remove((at, woken))
                if not woken.done():
                    woken.set_result(None)


async def settle() -> None:
    """Let every runnable task run until it waits for the clock or the limiter."""
    for _ in range(20):
        await asyncio.sleep(0)


async def run_out(clock: ManualClock, tasks: list[asyncio.Task[None]]) -> None:
    """Move the clock on until every task is done; a task left waiting with no sleeper is a stuck limiter."""
    for _ in range(100):
        await settle()
        if all(task.done() for task in tasks):
            return
        assert clock.sleepers, "waiters are left but nobody waits for the budget: the turn is lost"
        clock.wake()
    raise AssertionError("the waiters never all got a slot")


def _limiter(clock: ManualClock, limit: int = 1) -> RateLimiter:
    return RateLimiter(limit, 1.0, jitter_margin=0.0, clock=clock, sleep=clock.sleep)


class Waiters:
    """Tasks acquiring at a priority; ``served`` says who got a slot, in order, and when (seconds after T0)."""

    def __init__(self, limiter: RateLimiter, clock: ManualClock) -> None:
        self.limiter, self.clock = limiter, clock
        self.tasks: list[asyncio.Task[None]] = []
        self.served: list[tuple[str, float]] = []

    def start(self, name: str, priority: int) -> asyncio.Task[None]:
        self.tasks.append(asyncio.create_task(self._one(name, priority), name=name))
        return self.tasks[-1]

    async def _one(self, name: str, priority: int) -> None:
        await self.limiter.acquire(priority)
        self.served.append((name, self.clock() - T0))


async def test_live_waiters_go_before_history_waiters_that_queued_earlier() -> None:
    clock = ManualClock()
    limiter = _limiter(clock)
    await limiter.acquire()  # the budget (1 per second) is spent until T0 + 1
    waiters = Waiters(limiter, clock)
    for name in ("h1", "h2", "h3"):
        waiters.start(name, 1)
    await settle()  # h1 holds the turn and sleeps for the budget, h2 and h3 queue
    waiters.start("l1", 0)
    waiters.start("l2", 0)
    await run_out(clock, waiters.tasks)
    # l1 takes the slot h1 slept for; h1 keeps its place at the head of the history waiters
    assert waiters.served == [("l1", 1.0), ("l2", 2.0), ("h1", 3.0), ("h2", 4.0), ("h3", 5.0)]


async def test_fifo_within_a_priority_lowest_priority_first() -> None:
    clock = ManualClock()
    limiter = _limiter(clock)
    await limiter.acquire()
    waiters = Waiters(limiter, clock)
    for name, priority in (("a1", 1), ("d1", 4), ("a2", 1), ("d2", 4), ("a3", 1), ("d3", 4)):
        waiters.start(name, priority)
    await run_out(clock, waiters.tasks)
    assert [name for name, _ in waiters.served] == ["a1", "a2", "a3", "d1", "d2", "d3"]
    assert [at for _, at in waiters.served] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]  # one slot each, none lost


async def test_same_priority_keeps_arrival_order_and_the_budget() -> None:
    clock = ManualClock()
    limiter = _limiter(clock, limit=3)
    waiters = Waiters(limiter, clock)
    for n in range(9):
        waiters.start(f"w{n}", 0)
    await run_out(clock, waiters.tasks)
    assert [name for name, _ in waiters.served] == [f"w{n}" for n in range(9)]
    assert [at for _, at in waiters.served] == [0.0] * 3 + [1.0] * 3 + [2.0] * 3


async def test_a_cancelled_queued_waiter_leaves_the_queue() -> None:
    clock = ManualClock()
    limiter = _limiter(clock)
    await limiter.acquire()
    waiters = Waiters(limiter, clock)
    for name in ("h1", "h2", "h3"):
        waiters.start(name, 1)
    await settle()
    h1, h2, h3 = waiters.tasks
    h2.cancel()
    await settle()
    # white box: the queue no longer holds h2 (the turn's hand-over skips a cancelled waiter too, hiding a leak)
    assert [entry[:2] for entry in limiter._queue] == [(1, 3)]
    await run_out(clock, [h1, h3])
    assert h2.cancelled()
    assert waiters.served == [("h1", 1.0), ("h3", 2.0)]  # h3 took the slot h2 would have had
    clock.now += 1.0
    await asyncio.wait_for(limiter.acquire(), 1)  # nobody holds the turn or queues: the next one goes at once


async def test_a_cancelled_sleeping_waiter_passes_the_turn_on() -> None:
    clock = ManualClock()
    limiter = _limiter(clock)
    await limiter.acquire()
    waiters = Waiters(limiter, clock)
    waiters.start("h1", 1)
    waiters.start("h2", 1)
    await settle()
    h1, h2 = waiters.tasks
    h1.cancel()  # it holds the turn, asleep until T0 + 1
    await run_out(clock, [h1, h2])
    assert h1.cancelled()
    assert waiters.served == [("h2", 1.0)]


async def test_a_waiter_cancelled_just_after_its_turn_came_passes_it_on() -> None:
    clock = ManualClock()
    limiter = _limiter(clock)
    await limiter.acquire()
    waiters = Waiters(limiter, clock)
    for name in ("h1", "h2", "h3"):
        waiters.start(name, 1)
    await settle()
    h1, h2, h3 = waiters.tasks
    clock.wake()  # h1 wakes next; it sends and grants the turn to h2 ...
    asyncio.get_running_loop().call_soon(h2.cancel)  # ... and h2 is cancelled before it gets to run
    await run_out(clock, [h1, h2, h3])
    assert h2.cancelled()
    assert waiters.served == [("h1", 1.0), ("h3", 2.0)]


async def test_the_client_waits_at_its_tasks_request_priority(
    session: aiohttp.ClientSession, peer: ScriptedPeer
) -> None:
    clock = ManualClock()
    limiter = _limiter(clock)
    client = PennylaneClient(session, peer.url, ApiTokenConnection(Secret("tok-static-123")), limiter, timeout=5)
    for path in ("/first", "/history", "/live"):
        peer.on("GET", path, Reply(200, {}))
    await client.request("GET", "/first")

    async def at(priority: int, path: str) -> None:
        request_priority.set(priority)  # this task's own context, as the Deliverer does per delivery
        await client.request("GET", path)

    history = asyncio.create_task(at(1, "/history"))
    await _until(lambda: bool(clock.sleepers))
    live = asyncio.create_task(at(0, "/live"))
    await settle()
    clock.wake()
    await asyncio.wait_for(live, 5)
    await _until(lambda: bool(clock.sleepers))
    clock.wake()
    await asyncio.wait_for(history, 5)
    assert [seen.path.removeprefix("/api/external/v2") for seen in peer.seen] == ["/first", "/live", "/history"]
    assert request_priority.get() == 0  # the tasks' settings stayed theirs


async def _until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110 (a sleeper of the test's own clock: nothing to wait on but polling)
            await asyncio.sleep(0.005)
