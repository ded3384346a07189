-- The outbox, contract version 1 (SQLite). Kash.Click inserts, never updates or deletes.
-- Run the database in WAL mode (PRAGMA journal_mode=WAL) so the bridge's reads never block the POS.
CREATE TABLE IF NOT EXISTS outbox (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,  -- assigned by the database, increasing
  event_id     TEXT NOT NULL UNIQUE,               -- producer's own unique id (UUID or ULID)
  shop_id      TEXT NOT NULL,                      -- the Kash.Click account (tenant)
  event_type   TEXT NOT NULL,                      -- order.recorded, payment.recorded, register.closed, reference.updated
  aggregate_id TEXT NOT NULL,                      -- ordering key inside a shop: order:<id>, register:<id>, reference
  occurred_at  TEXT NOT NULL,                      -- RFC 3339 with offset: 2026-03-14T18:02:11+01:00
  payload      TEXT NOT NULL,                      -- JSON object, schema per event_type
  created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
