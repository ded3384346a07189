"""The limiter's send log on a fake clock: a process that follows another on the same token never goes over the
budget in any window, whether the first one recorded its sends or died before it had to."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from outboxd.pennylane import RateLimiter
from tests.pennylane.conftest import FakeClock


class MemoryLog:
    """A send log that outlives the limiters built on it (the state database's role)."""

    def __init__(self) -> None:
        self.sent: tuple[float, ...] = ()
        self.writes = 0

    async def recent(self) -> Sequence[float]:
        return self.sent

    async def record(self, sent: Sequence[float]) -> None:
        self.sent = tuple(sent)
        self.writes += 1


def _limiter(clock: FakeClock, log: MemoryLog) -> RateLimiter:
    return RateLimiter(25, 5.0, jitter_margin=0.0, clock=clock, sleep=clock.sleep, send_log=log)


async def _send(limiter: RateLimiter, clock: FakeClock, count: int, times: list[float]) -> None:
    for _ in range(count):
        await limiter.acquire()
        times.append(clock())


def _max_in_any_window(times: list[float], window: float) -> int:
    return max(sum(1 for u in times if t <= u < t + window) for t in times)


async def test_a_quiet_token_writes_nothing_and_a_busy_one_writes_before_each_send(clock: FakeClock) -> None:
    log = MemoryLog()
    limiter = _limiter(clock, log)
    times: list[float] = []
    await _send(limiter, clock, 1, times)  # the first send after start: 12 assumed + 1 > 12
    assert log.writes == 1
    clock.now += 10  # the assumed sends are gone
    await _send(limiter, clock, 12, times)
    assert log.writes == 1
    await _send(limiter, clock, 3, times)
    assert log.writes == 4
    assert log.sent[-1] == times[-1]  # written before it left


@pytest.mark.parametrize("first_burst", [25, 12, 5])
async def test_a_restart_inside_a_busy_window_stays_within_the_budget(clock: FakeClock, first_burst: int) -> None:
    log = MemoryLog()
    times: list[float] = []
    first = _limiter(clock, log)
    clock.now += 10  # a long-running process: nothing assumed any more
    await _send(first, clock, first_burst, times)
    clock.now += 0.3  # killed, restarted at once
    second = _limiter(clock, log)
    await _send(second, clock, 60, times)
    assert _max_in_any_window(times, 5.0) <= 25


async def test_a_process_killed_just_after_its_start_is_covered_too(clock: FakeClock) -> None:
    log = MemoryLog()
    times: list[float] = []
    await _send(_limiter(clock, log), clock, 13, times)  # all it may send in its first window
    clock.now += 0.1
    await _send(_limiter(clock, log), clock, 40, times)
    assert _max_in_any_window(times, 5.0) <= 25


class SlowLog(MemoryLog):
    """A state database under load: some writes take a while, and a request leaves only once its write is done."""

    def __init__(self, clock: FakeClock, delays: Sequence[float]) -> None:
        super().__init__()
        self.clock, self.delays = clock, delays

    async def record(self, sent: Sequence[float]) -> None:
        await super().record(sent)
        self.clock.now += self.delays[self.writes % len(self.delays)]


async def test_a_slow_write_never_squeezes_more_sends_than_the_budget_into_a_window(clock: FakeClock) -> None:
    """Each send is counted from when it leaves, after its write: counted from before the write, a send delayed by a
    slow one and the next ones, whose writes were quick, fell in one window of the server (9 in 1 s for 8)."""
    limiter = RateLimiter(8, 1.0, clock=clock, sleep=clock.sleep, send_log=SlowLog(clock, [0.2, 0.0, 0.0]))
    clock.now += 10
    times: list[float] = []
    await _send(limiter, clock, 200, times)
    assert _max_in_any_window(times, 1.0) <= 8
