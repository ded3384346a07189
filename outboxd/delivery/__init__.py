"""The delivery daemon: tails the outbox, runs one lane per shop, delivers effectively once."""

from outboxd.delivery.daemon import Daemon, run_until_stopped
from outboxd.delivery.deliver import Backoff, Deliverer
from outboxd.delivery.lane import Lane

__all__ = ["Backoff", "Daemon", "Deliverer", "Lane", "run_until_stopped"]
