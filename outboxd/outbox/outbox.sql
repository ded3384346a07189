-- Kash.Click's outbox in PostgreSQL (contract version 1) and the trigger outboxd listens to.
-- Run once, as the owner of Kash.Click's schema. Kash.Click inserts, never updates or deletes, and takes ids from
-- the column default inside the INSERT (never a nextval() of its own beforehand), see docs/postgresql.md.
CREATE TABLE IF NOT EXISTS outbox (
  id           BIGSERIAL PRIMARY KEY,
  event_id     TEXT NOT NULL UNIQUE,
  shop_id      TEXT NOT NULL,
  event_type   TEXT NOT NULL,
  aggregate_id TEXT NOT NULL,
  occurred_at  TIMESTAMPTZ NOT NULL,
  payload      JSONB NOT NULL,
  created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One notification per inserting statement, delivered at commit (duplicates inside a transaction fold into one).
CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('outbox_inserted', '');
  RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS outbox_notify ON outbox;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
