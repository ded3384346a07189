-- The Z control (docs/accounting.md) reads a shop's closings and, per closing, the payments of its register and
-- day, both by shop and business day. event_type and business_date never change once ingested, so these indexes
-- are written once per row, at ingestion, never when the row's state changes. One per event type: SQLite uses a
-- partial index only when the query repeats its WHERE term.
CREATE INDEX deliveries_payments_by_day ON deliveries (shop_id, business_date) WHERE event_type = 'payment.recorded';
CREATE INDEX deliveries_closings_by_day ON deliveries (shop_id, business_date) WHERE event_type = 'register.closed';
