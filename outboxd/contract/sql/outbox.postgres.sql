-- The outbox, contract version 1 (PostgreSQL). Kash.Click inserts, never updates or deletes.
-- Insert with: INSERT INTO outbox (...) VALUES (...) ON CONFLICT (event_id) DO NOTHING;
CREATE TABLE IF NOT EXISTS outbox (
  id           BIGSERIAL PRIMARY KEY,                -- assigned by the database, increasing
  event_id     TEXT NOT NULL UNIQUE,                 -- producer's own unique id (UUID or ULID)
  shop_id      TEXT NOT NULL,                        -- the Kash.Click account (tenant)
  event_type   TEXT NOT NULL,                        -- order.recorded, payment.recorded, register.closed, reference.updated
  aggregate_id TEXT NOT NULL,                        -- ordering key inside a shop: order:<id>, register:<id>, reference
  occurred_at  TIMESTAMPTZ NOT NULL,                 -- RFC 3339 with offset: 2026-03-14T18:02:11+01:00
  payload      JSONB NOT NULL,                       -- JSON object, schema per event_type
  created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
