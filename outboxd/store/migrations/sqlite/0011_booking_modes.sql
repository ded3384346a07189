-- Booking modes (docs/backfill.md, "Booking modes"): a shop books its register-days one entry per event
-- (detailed) or one entry per register and day (daily), from a business date on. booking_modes holds each switch
-- (the mode from from_date on, until the next switch); the configuration's mode is written once, as a switch
-- from 0001-01-01, the first time the daemon meets the shop in its configuration.
CREATE TABLE booking_modes (
  shop_id    TEXT NOT NULL,
  from_date  TEXT NOT NULL,
  mode       TEXT NOT NULL CHECK (mode IN ('detailed', 'daily')),
  actor      TEXT NOT NULL,
  reason     TEXT NOT NULL,
  changed_at TEXT NOT NULL,
  PRIMARY KEY (shop_id, from_date)
);
-- The mode each live register-day was decided in, once, at its first event (never both for one register-day).
-- A daily one waits for its closing; through_id is the last delivery its entry covers, set before the first POST
-- (a re-run after a crash books the same events; later ones are booked on their own); booked_at once posted.
CREATE TABLE register_days (
  shop_id       TEXT NOT NULL,
  business_date TEXT NOT NULL,
  register_id   TEXT NOT NULL,
  mode          TEXT NOT NULL CHECK (mode IN ('detailed', 'daily')),
  through_id    INTEGER,
  booked_at     TEXT,
  PRIMARY KEY (shop_id, business_date, register_id)
);
CREATE INDEX deliveries_day_waiting ON deliveries (shop_id, business_date) WHERE state = 'pending' AND priority = 5;
