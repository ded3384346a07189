"""Delivering one event: the lane it waits in, the rules it is booked by, the ids it resolves, the POST and
its settlement (effectively once: record before send, look up after an unknown outcome)."""

from outboxd.delivery.deliver import Backoff, Deliverer
from outboxd.delivery.lane import Lane

__all__ = ["Backoff", "Deliverer", "Lane"]
