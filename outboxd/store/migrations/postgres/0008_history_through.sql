-- The outbox id up to which a shop's rows are history: set at its first connection (everything in the outbox then,
-- ingested yet or not, is held for a backfill, docs/backfill.md), NULL again once all of it is ingested and held.
ALTER TABLE shops ADD COLUMN history_through BIGINT;
