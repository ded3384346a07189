"""A shop simulator: realistic, deterministic outbox rows for tests, demos and benchmarks."""

from outboxd.shop_simulator.shop import simulate_shop

__all__ = ["simulate_shop"]
