-- History and backfills (docs/backfill.md).
-- shops.connected_since: when the daemon first saw the shop connected to Pennylane. Rows still pending then are
-- "history": held (priority 2) until an operator starts a backfill. NULL: never connected yet.
ALTER TABLE shops ADD COLUMN connected_since TEXT;
-- A shop that was already delivering before this migration has been connected: nothing of it is history.
UPDATE shops SET connected_since = created_at
 WHERE shop_id IN (SELECT shop_id FROM connections) OR shop_id IN (SELECT shop_id FROM deliveries WHERE state = 'delivered');

-- A running backfill can be paused (its rows move to priority 3 and back); the backfill keeps state 'running'.
ALTER TABLE backfills ADD COLUMN paused INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1));

-- Priorities of deliveries: 0 live, 1 backfill or import released to the dispatcher, 2 history held,
-- 3 backfill paused, 4 daily backfill (booked by the backfiller, one entry per register and day).
-- The dispatcher claims only priority 0 and 1; the claim index (shop_id, priority, id) serves that range.
-- The backfiller walks its register-days by date:
CREATE INDEX deliveries_history ON deliveries (shop_id, priority, business_date) WHERE state = 'pending' AND priority >= 2;
