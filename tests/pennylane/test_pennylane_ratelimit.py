"""The per-token limiter on a fake clock: never over budget, steered by the server, paused by a 429."""

from __future__ import annotations

import asyncio

import pytest

from outboxd.pennylane import RateLimiter
from tests.pennylane.conftest import FakeClock


def _limiter(clock: FakeClock, limit: int = 25, window: float = 5.0) -> RateLimiter:
    return RateLimiter(limit, window, jitter_margin=0.0, clock=clock, sleep=clock.sleep)


def _max_in_any_window(times: list[float], window: float) -> int:
    return max(sum(1 for u in times if t <= u < t + window) for t in times)


async def test_burst_of_60_never_exceeds_25_per_5s(clock: FakeClock) -> None:
    limiter = _limiter(clock)
    sent: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        sent.append(clock())

    await asyncio.gather(*(one() for _ in range(60)))
    assert len(sent) == 60
    assert _max_in_any_window(sent, 5.0) == 25
    assert sent[-1] - sent[0] == pytest.approx(10.0)  # 25 now, 25 at +5 s, 10 at +10 s: no slower than needed
    assert limiter.usage().throttled_seconds > 0


async def test_usage_reports_the_window(clock: FakeClock) -> None:
    limiter = _limiter(clock)
    for _ in range(7):
        await limiter.acquire()
    usage = limiter.usage()
    assert (usage.in_window, usage.limit) == (7, 25)
    clock.now += 5.0
    assert limiter.usage().in_window == 0


async def test_server_remaining_zero_waits_for_its_reset(clock: FakeClock) -> None:
    limiter = _limiter(clock)
    await limiter.acquire()
    # another process shares the token: the server says the budget is gone until +3 s
    limiter.observe({"ratelimit-limit": "25", "ratelimit-remaining": "0", "ratelimit-reset": str(clock() + 3)})
    before = clock()
    await limiter.acquire()
    assert clock() - before == pytest.approx(3.0)


async def test_server_remaining_counts_down_with_our_sends(clock: FakeClock) -> None:
    limiter = _limiter(clock)
    limiter.observe({"ratelimit-limit": "25", "ratelimit-remaining": "2", "ratelimit-reset": str(clock() + 4)})
    await limiter.acquire()
    await limiter.acquire()
    assert clock.slept == []
    await limiter.acquire()
    assert sum(clock.slept) == pytest.approx(4.0)


async def test_a_stricter_server_limit_is_adopted(clock: FakeClock) -> None:
    limiter = _limiter(clock)
    limiter.observe({"ratelimit-limit": "10", "ratelimit-remaining": "10", "ratelimit-reset": str(clock() + 5)})
    assert limiter.usage().limit == 10
    limiter.observe({"ratelimit-limit": "50", "ratelimit-remaining": "50", "ratelimit-reset": str(clock() + 5)})
    assert limiter.usage().limit == 10  # a looser view never loosens ours


async def test_a_skewed_reset_never_stalls_more_than_a_window(clock: FakeClock) -> None:
    limiter = _limiter(clock)
    limiter.observe({"ratelimit-limit": "25", "ratelimit-remaining": "0", "ratelimit-reset": str(clock() + 3600)})
    await limiter.acquire()
    assert sum(clock.slept) <= 5.0


async def test_garbage_headers_are_ignored(clock: FakeClock) -> None:
    limiter = _limiter(clock)
    limiter.observe({"ratelimit-limit": "x", "ratelimit-remaining": "", "ratelimit-reset": "soon"})
    limiter.observe({})
    await limiter.acquire()
    assert clock.slept == []


async def test_429_blocks_everyone_for_retry_after(clock: FakeClock) -> None:
    limiter = _limiter(clock)
    limiter.rate_limited(2.0)
    await limiter.wait_retry_after()
    assert clock.slept == [2.0]
    usage = limiter.usage()
    assert (usage.rate_limited, usage.retry_after_seconds) == (1, 2.0)
    limiter.rate_limited(1.5)
    before = clock()
    await limiter.acquire()  # another caller also respects the pause
    assert clock() - before == pytest.approx(1.5)


async def test_jitter_margin_widens_the_window(clock: FakeClock) -> None:
    limiter = RateLimiter(2, 1.0, jitter_margin=0.25, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        await limiter.acquire()
    assert clock.slept == [pytest.approx(1.25)]


def _answer(remaining: int, reset: str) -> dict[str, str]:
    return {"ratelimit-limit": "25", "ratelimit-remaining": str(remaining), "ratelimit-reset": reset}


async def test_a_window_we_opened_is_waited_out_to_its_end_not_to_the_rounded_reset(clock: FakeClock) -> None:
    clock.now = 1000.3  # the server's window ends at 1005.3; its ratelimit-reset says 1006
    limiter = _limiter(clock)
    for sent in range(25):
        await limiter.acquire()
        limiter.observe(_answer(24 - sent, "1006"))
    await limiter.acquire()
    assert clock() == pytest.approx(1005.3)


async def test_a_window_someone_else_opened_is_waited_out_to_the_rounded_reset(clock: FakeClock) -> None:
    clock.now = 1000.3
    limiter = _limiter(clock)
    limiter.observe(_answer(24, "1005"))  # a window we opened earlier, now over
    clock.now = 1005.4
    for sent in range(3):
        await limiter.acquire()
        limiter.observe(_answer(2 - sent, "1010"))  # another process opened this one and took 22 requests
    await limiter.acquire()
    assert clock() == pytest.approx(1010.0)
