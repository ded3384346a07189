"""The dashboard's own messages, typed: what a worker learned, posted to the screen that shows it."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from outboxd.control.shapes import Backfill, BackfillEstimate, Connection, FailedItem, Status

__all__ = ["BackfillLoaded", "ConnectionChanged", "EstimateLoaded", "FailedLoaded", "StatusLoaded"]


@dataclass
class StatusLoaded(Message):
    """A fresh ``GET /v1/status`` answer."""

    status: Status


@dataclass
class ConnectionChanged(Message):
    """A shop's ``Connection`` after a connect step or a poll."""

    shop_id: str
    connection: Connection


@dataclass
class EstimateLoaded(Message):
    """A backfill estimate for the start date shown."""

    estimate: BackfillEstimate


@dataclass
class BackfillLoaded(Message):
    """The shop's current backfill (None: never started)."""

    backfill: Backfill | None


@dataclass
class FailedLoaded(Message):
    """A page of failed deliveries for the current filter."""

    total: int
    items: list[FailedItem]
