-- The Z control (docs/accounting.md) reads everything of one shop's business day: the tickets booked for the
-- closing's register (its sales total), its payments, and whether any of the day's deliveries is still open (a
-- mismatch counts only once none is); and a shop's closings since a day. business_date never changes once
-- ingested: written once per row. This one index replaces the two per event type of 0003.
CREATE INDEX deliveries_by_day ON deliveries (shop_id, business_date);
DROP INDEX deliveries_payments_by_day;
DROP INDEX deliveries_closings_by_day;
