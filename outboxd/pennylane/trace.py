"""What went over the wire for one HTTP attempt, secrets redacted, for the daemon to store per attempt."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Exchange", "RecordingTrace", "TraceHook"]


@dataclass(frozen=True)
class Exchange:
    """One attempt: ``status`` is None when no answer came back (then ``error`` says why)."""

    method: str
    path: str
    query: str
    request_body: str
    status: int | None
    response_text: str
    elapsed: float
    error: str = ""


TraceHook = Callable[[Exchange], None]
"""Called once per attempt (429 resends and 401 retries included), after redaction."""


@dataclass
class RecordingTrace:
    """A trace hook that keeps every exchange in memory (tests, the sandbox demo, one delivery's attempts)."""

    exchanges: list[Exchange] = field(default_factory=list)

    def __call__(self, exchange: Exchange) -> None:
        self.exchanges.append(exchange)
