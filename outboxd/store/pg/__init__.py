"""The PostgreSQL backend: Kash.Click's outbox as a source, and the state store (see docs/postgresql.md)."""

from outboxd.store.pg.outbox import NOTIFY_CHANNEL, PgOutboxSource, outbox_ddl

__all__ = ["NOTIFY_CHANNEL", "PgOutboxSource", "outbox_ddl"]
