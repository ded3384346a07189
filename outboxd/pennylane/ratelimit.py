"""Client-side rate limit per token: a sliding window that never sends more than the budget.

Pennylane allows 25 requests per 5 s per token and says so in ``ratelimit-*`` headers. The limiter keeps its own
log of send times (so a burst never exceeds the budget), adopts the server's view when it is stricter, and
stops everything for ``retry-after`` after a 429. Waits are counted for metrics, never treated as failures.

``ratelimit-reset`` is whole seconds, rounded up: waiting for it costs up to a second per window, 10-20 % of the
budget. When one of our requests opened the server's window (its answer says ``remaining = limit - 1``), the
window ends at the latest one window after that answer came back, so a used-up window is waited out to that
instant instead (bench/bench_ratelimit.py: 92 -> 97 % of the budget).

Waiters are served by priority, then in arrival order: a live delivery's request goes out at the next free slot
of the budget, ahead of the backfill requests already queued (docs/backfill.md). The priority of a request is the
``request_priority`` of the task sending it, which the Deliverer sets to the priority of the delivery it carries.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import heapq
import itertools
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

__all__ = ["RateLimiter", "RateUsage", "request_priority"]

LIVE = 0
"""The priority of live traffic, and of every request nobody gave a priority; history is any higher number."""

request_priority: contextvars.ContextVar[int] = contextvars.ContextVar("request_priority", default=LIVE)
"""The priority of the requests sent by the current task (each delivery runs in a task of its own)."""


@dataclass(frozen=True)
class RateUsage:
    """A snapshot for the dashboard and metrics."""

    in_window: int
    limit: int
    window: float
    throttled_seconds: float
    """Time spent waiting for our own budget."""
    retry_after_seconds: float
    """Time spent waiting after 429s."""
    rate_limited: int
    """429 answers received."""


class RateLimiter:
    """Sliding-window limiter for one token. ``clock`` is a Unix-time clock (``ratelimit-reset`` is a Unix time).

    ``jitter_margin`` widens our window a little: we time a request when it leaves, the server when it
    arrives, and network jitter must not squeeze ``limit + 1`` arrivals into one server window.

    One waiter at a time holds the turn and waits for the budget; the others queue, lowest priority first, FIFO
    within one. The priority is strict: history waits as long as live requests queue. That never starves it at
    Pennylane's limit, where one shop's live traffic is far below the 5 requests per second of the budget; while
    live traffic catches up after an outage, history waits, as it does at the claim.
    """

    def __init__(
        self,
        limit: int = 25,
        window: float = 5.0,
        *,
        jitter_margin: float = 0.1,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._limit = limit
        self._window = window
        self._span = window + jitter_margin
        self._clock = clock
        self._sleep = sleep
        self._sent: collections.deque[float] = collections.deque()
        self._blocked_until = 0.0
        self._server_remaining: int | None = None
        self._server_reset = 0.0
        self._opened: tuple[float, float] | None = None
        """(``ratelimit-reset``, end) of the last server window one of our requests opened (see the module doc)."""
        self._serving = False
        """A waiter holds the turn (granted, waiting for the budget or sending); the queue waits for it."""
        self._queue: list[tuple[int, int, asyncio.Future[None]]] = []
        """(priority, arrival, turn) of the waiters without the turn: a heap, most urgent first."""
        self._arrivals = itertools.count()
        self._throttled = 0.0
        self._retry_after = 0.0
        self._rate_limited = 0

    def usage(self) -> RateUsage:
        self._forget(self._clock())
        return RateUsage(
            len(self._sent), self._limit, self._window, self._throttled, self._retry_after, self._rate_limited
        )

    async def acquire(self, priority: int = LIVE) -> None:
        """Wait until one more request fits the budget, then count it as sent (lower ``priority`` goes first).

        The waiter holding the turn sleeps until the budget has room; if a more urgent one queued meanwhile, the
        free slot is that one's and the sleeper waits again in its place.
        """
        ticket = (priority, next(self._arrivals))
        if self._serving:
            await self._wait_turn(ticket)
        self._serving = True
        while (delay := self._delay(self._clock())) > 0:
            self._throttled += delay
            try:
                await self._sleep(delay)
            except BaseException:  # cancelled while holding the turn: the next waiter must not be stuck
                self._pass_turn()
                raise
            if self._queue and self._queue[0][:2] < ticket:
                await self._wait_turn(ticket, handing_over=True)
        self._sent.append(self._clock())
        if self._server_remaining is not None:
            self._server_remaining -= 1
        self._pass_turn()

    async def _wait_turn(self, ticket: tuple[int, int], *, handing_over: bool = False) -> None:
        """Queue until ``_pass_turn`` grants the turn (``handing_over``: we hold it, and give it on first).

        Cancelled, the waiter leaves the queue, or passes the turn on if it was granted before it could run.
        """
        turn = asyncio.get_running_loop().create_future()
        entry = (*ticket, turn)
        heapq.heappush(self._queue, entry)
        if handing_over:
            self._pass_turn()
        try:
            await turn
        except asyncio.CancelledError:
            if not turn.cancelled():
                self._pass_turn()
            elif entry in self._queue:
                self._queue.remove(entry)
                heapq.heapify(self._queue)
            raise

    def _pass_turn(self) -> None:
        """Grant the turn to the most urgent waiter, or free it when none waits."""
        while self._queue:
            turn = heapq.heappop(self._queue)[2]
            if not turn.done():  # else cancelled, its task not yet run: it finds itself out of the queue
                turn.set_result(None)
                return
        self._serving = False

    def observe(self, headers: Mapping[str, str]) -> None:
        """Adopt the server's ``ratelimit-limit/remaining/reset`` when they are stricter than our own view."""
        try:
            limit = int(headers["ratelimit-limit"])
            remaining = int(headers["ratelimit-remaining"])
            reset = float(headers["ratelimit-reset"])
        except (KeyError, ValueError):
            return
        now = self._clock()
        if 0 < limit < self._limit:
            self._limit = limit
        if remaining == limit - 1:  # this request opened the window: the server counted it before we got this
            self._opened = (reset, now + self._window)
        if self._opened is not None and self._opened[0] == reset:
            reset = min(reset, self._opened[1])
        reset = min(reset, now + self._window)  # a skewed server clock never stalls us past one window
        if reset > now:
            self._server_remaining, self._server_reset = max(remaining, 0), reset

    def rate_limited(self, retry_after: float) -> None:
        """A 429 came back: nothing is sent for ``retry_after`` seconds."""
        self._rate_limited += 1
        self._blocked_until = max(self._blocked_until, self._clock() + retry_after)

    async def wait_retry_after(self) -> None:
        """Sleep out a 429 pause (counted apart from our own throttling)."""
        delay = self._blocked_until - self._clock()
        if delay > 0:
            self._retry_after += delay
            await self._sleep(delay)

    def _forget(self, now: float) -> None:
        while self._sent and self._sent[0] <= now - self._span:
            self._sent.popleft()
        if self._server_remaining is not None and now >= self._server_reset:
            self._server_remaining = None

    def _delay(self, now: float) -> float:
        """Seconds until a request may go out (0 when it may go now)."""
        self._forget(now)
        waits = [self._blocked_until - now]
        if len(self._sent) >= self._limit:
            waits.append(self._sent[len(self._sent) - self._limit] + self._span - now)
        if self._server_remaining is not None and self._server_remaining <= 0:
            waits.append(self._server_reset - now)
        return max(waits)
