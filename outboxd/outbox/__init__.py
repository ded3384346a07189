"""Kash.Click's outbox, both sides: the sources the daemon tails (a SQLite file, a PostgreSQL table) and the
producer (what Kash.Click does, in Python: create the table, insert events). See docs/outbox-contract.md.

The state database (``outboxd.store``) copies what a source gives through its ``EventSource`` protocol.
"""

from outboxd.outbox.postgres import NOTIFY_CHANNEL, SAFETY_POLL, PgOutboxSource, outbox_ddl
from outboxd.outbox.producer import INSERT_SQL, ensure_outbox, insert_events, open_outbox, payload_text
from outboxd.outbox.reader import OutboxReader, outbox_reader
from outboxd.outbox.sqlite import OutboxSource

__all__ = [
    "INSERT_SQL",
    "NOTIFY_CHANNEL",
    "SAFETY_POLL",
    "OutboxReader",
    "OutboxSource",
    "PgOutboxSource",
    "ensure_outbox",
    "insert_events",
    "open_outbox",
    "outbox_ddl",
    "outbox_reader",
    "payload_text",
]
