"""Run-time fault knobs and the middleware that applies them to the API.

Each knob reproduces something a real Pennylane connection does to the bridge: a 5xx before processing
(safe to resend), latency, an entry committed whose answer never arrives (unknown outcome), access tokens
dying before ``expires_in`` says, and a grant revoked by the company (refresh -> invalid_grant).
One seeded RNG makes a faulty run reproducible.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from dataclasses import dataclass, field

from aiohttp import web

from outboxd.exceptions import ConfigError

__all__ = ["Faults", "drop_connection", "inject_before"]


@dataclass
class Faults:
    """Mutable knobs, read on every request; change them directly or with ``update()``."""

    fail_rate: float = 0.0  # share of API requests answered 503 before any processing
    latency_ms: int = 0  # added before each API request is processed
    drop_after_commit: float = 0.0  # share of successful POSTs whose connection is cut after the commit
    hold_after_commit_ms: int = 0  # successful POSTs answered only this long after the commit (a crash window)
    access_token_ttl: float | None = None  # real lifetime of new access tokens (s); None = the announced 24 h
    revoke_grants: bool = False  # every refresh answers invalid_grant, as after a disconnect in Pennylane
    seed: int | None = None  # seeds the RNG below, for reproducible faulty runs
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.rng.seed(self.seed)

    def update(self, **knobs: object) -> None:
        """Set knobs by name (what ``POST /_sandbox/faults`` does); a new ``seed`` reseeds the RNG."""
        types = {f.name: f.type for f in dataclasses.fields(self) if f.name != "rng"}
        for name, value in knobs.items():
            if name not in types:
                raise ConfigError(f"faults.{name}", f"unknown knob; known: {', '.join(sorted(types))}")
            if not _fits(value, str(types[name])):
                raise ConfigError(f"faults.{name}", f"{value!r} does not fit {types[name]}")
        for name, value in knobs.items():
            setattr(self, name, float(value) if isinstance(value, int) and "float" in str(types[name]) else value)
        if "seed" in knobs:
            self.rng.seed(self.seed)

    def snapshot(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "rng"}

    def should_fail(self) -> bool:
        return self.fail_rate > 0 and self.rng.random() < self.fail_rate

    def should_drop(self) -> bool:
        return self.drop_after_commit > 0 and self.rng.random() < self.drop_after_commit


def _fits(value: object, type_name: str) -> bool:
    if value is None:
        return "None" in type_name
    if isinstance(value, bool):
        return type_name.startswith("bool")
    if isinstance(value, int):
        return "int" in type_name or "float" in type_name
    if isinstance(value, float):
        return "float" in type_name
    return False


async def inject_before(faults: Faults) -> web.Response | None:
    """Latency, then maybe a 503 that Pennylane would send before touching anything."""
    if faults.latency_ms > 0:
        await asyncio.sleep(faults.latency_ms / 1000)
    if faults.should_fail():
        return web.json_response({"error": "Service Unavailable (injected)", "status": 503}, status=503)
    return None


def drop_connection(request: web.Request) -> web.Response:
    """Cut the TCP connection without an answer: the client sees a reset after its request was committed."""
    transport = request.transport
    if transport is not None:
        transport.abort()
    # aiohttp writes nothing on an aborted transport; the response only satisfies the handler signature.
    return web.Response(status=499)
