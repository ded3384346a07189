-- outboxd state database, version 1. Instants are UTC text 'YYYY-MM-DDTHH:MM:SS.ffffffZ' (text order = time order)
-- except created_at of deliveries, copied from the outbox row (when Kash.Click wrote the event).

-- Where ingestion stands in each source: the last outbox id copied into deliveries (see docs/state-store.md).
CREATE TABLE ingest_cursor (
  source     TEXT PRIMARY KEY,
  last_id    INTEGER NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE TABLE shops (
  shop_id              TEXT PRIMARY KEY,
  paused               INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
  pause_reason         TEXT,
  reference_payload    TEXT,
  reference_outbox_id  INTEGER,
  reference_updated_at TEXT,
  created_at           TEXT NOT NULL
);

CREATE TABLE backfills (
  id               INTEGER PRIMARY KEY,
  shop_id          TEXT NOT NULL,
  start_date       TEXT NOT NULL,
  end_date         TEXT,
  mode             TEXT NOT NULL CHECK (mode IN ('detailed', 'daily')),
  state            TEXT NOT NULL DEFAULT 'planned'
                   CHECK (state IN ('planned', 'running', 'done', 'failed', 'cancelled')),
  total_events     INTEGER,
  imported_events  INTEGER NOT NULL DEFAULT 0,
  error            TEXT,
  created_by       TEXT NOT NULL,
  created_at       TEXT NOT NULL,
  started_at       TEXT,
  finished_at      TEXT,
  updated_at       TEXT NOT NULL
);

-- One row per event. `head` is 1 on the lowest-id open row (pending, leased or failed) of its
-- (shop_id, aggregate_id): only heads are claimed, so an aggregate is delivered strictly in order.
-- The triggers below keep it true whatever statement changes a state.
CREATE TABLE deliveries (
  id               INTEGER PRIMARY KEY,
  outbox_id        INTEGER UNIQUE,
  event_id         TEXT NOT NULL UNIQUE,
  shop_id          TEXT NOT NULL,
  event_type       TEXT NOT NULL,
  aggregate_id     TEXT NOT NULL,
  occurred_at      TEXT NOT NULL,
  business_date    TEXT,
  payload          TEXT NOT NULL,
  source           TEXT NOT NULL CHECK (source IN ('outbox', 'import')),
  priority         INTEGER NOT NULL DEFAULT 0,          -- 0 live, 1 backfill: lower goes first
  backfill_id      INTEGER REFERENCES backfills(id),
  state            TEXT NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending', 'leased', 'delivered', 'failed', 'discarded', 'skipped')),
  head             INTEGER NOT NULL DEFAULT 0,
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  TEXT NOT NULL,
  lease_owner      TEXT,
  lease_until      TEXT,
  last_error_class TEXT,
  last_error       TEXT,
  last_status      INTEGER,
  created_at       TEXT NOT NULL,
  ingested_at      TEXT NOT NULL,
  updated_at       TEXT NOT NULL,
  delivered_at     TEXT
);
-- The claim scan: ready heads of one shop, live first, in id order (covering next_attempt_at).
CREATE INDEX deliveries_ready ON deliveries (shop_id, priority, id, next_attempt_at) WHERE state = 'pending' AND head = 1;
-- The head probe: the lowest open row of an aggregate is one index seek, however long the aggregate.
CREATE INDEX deliveries_open_by_aggregate ON deliveries (shop_id, aggregate_id, id)
  WHERE state IN ('pending', 'leased', 'failed');
CREATE INDEX deliveries_leases ON deliveries (lease_until) WHERE state = 'leased';
CREATE INDEX deliveries_failed ON deliveries (shop_id, id) WHERE state = 'failed';
CREATE INDEX deliveries_backfill ON deliveries (backfill_id) WHERE backfill_id IS NOT NULL;

-- Counters per shop and state, kept by triggers: queue depth and failed count cost one row read.
CREATE TABLE queue_counts (
  shop_id TEXT NOT NULL,
  state   TEXT NOT NULL,
  n       INTEGER NOT NULL,
  PRIMARY KEY (shop_id, state)
) WITHOUT ROWID;

CREATE TABLE delivered_daily (
  shop_id TEXT NOT NULL,
  day     TEXT NOT NULL,                                  -- UTC date of delivered_at
  n       INTEGER NOT NULL,
  PRIMARY KEY (shop_id, day)
) WITHOUT ROWID;

CREATE TRIGGER deliveries_count_insert AFTER INSERT ON deliveries
BEGIN
  INSERT INTO queue_counts (shop_id, state, n) VALUES (NEW.shop_id, NEW.state, 1)
    ON CONFLICT (shop_id, state) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER deliveries_count_state AFTER UPDATE OF state ON deliveries WHEN OLD.state <> NEW.state
BEGIN
  UPDATE queue_counts SET n = n - 1 WHERE shop_id = OLD.shop_id AND state = OLD.state;
  INSERT INTO queue_counts (shop_id, state, n) VALUES (NEW.shop_id, NEW.state, 1)
    ON CONFLICT (shop_id, state) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER deliveries_count_delivered AFTER UPDATE OF state ON deliveries
  WHEN NEW.state = 'delivered' AND OLD.state <> 'delivered'
BEGIN
  INSERT INTO delivered_daily (shop_id, day, n) VALUES (NEW.shop_id, substr(NEW.delivered_at, 1, 10), 1)
    ON CONFLICT (shop_id, day) DO UPDATE SET n = n + 1;
END;

-- When a row leaves the open states, the next open row of its aggregate becomes the head.
CREATE TRIGGER deliveries_promote_head AFTER UPDATE OF state ON deliveries
  WHEN NEW.state IN ('delivered', 'discarded', 'skipped') AND OLD.state IN ('pending', 'leased', 'failed')
BEGIN
  UPDATE deliveries SET head = 1
   WHERE id = (SELECT id FROM deliveries
                WHERE shop_id = NEW.shop_id AND aggregate_id = NEW.aggregate_id
                  AND state IN ('pending', 'leased', 'failed')
                ORDER BY id LIMIT 1)
     AND head = 0;
END;

CREATE TABLE attempts (
  id            INTEGER PRIMARY KEY,
  delivery_id   INTEGER NOT NULL REFERENCES deliveries(id),
  started_at    TEXT NOT NULL,
  finished_at   TEXT NOT NULL,
  outcome       TEXT NOT NULL,                            -- delivered|retry|deferred|failed|unknown|skipped
  http_status   INTEGER,
  error_class   TEXT,
  message       TEXT,
  request_body  TEXT,                                     -- already redacted by the caller
  response_body TEXT
);
CREATE INDEX attempts_delivery ON attempts (delivery_id, id);

-- Each entry is recorded with its piece_number BEFORE the POST: after a crash or an unknown outcome the daemon
-- looks it up in Pennylane (journal + date) before posting again.
CREATE TABLE sent_entries (
  id           INTEGER PRIMARY KEY,
  shop_id      TEXT NOT NULL,
  piece_number TEXT NOT NULL,
  delivery_id  INTEGER NOT NULL REFERENCES deliveries(id),
  journal_id   INTEGER NOT NULL,
  entry_date   TEXT NOT NULL,
  state        TEXT NOT NULL CHECK (state IN ('recorded', 'posted', 'unknown')),
  pennylane_id INTEGER,
  body_hash    TEXT NOT NULL,
  created_at   TEXT NOT NULL,
  updated_at   TEXT NOT NULL,
  UNIQUE (shop_id, piece_number)
);
CREATE INDEX sent_entries_delivery ON sent_entries (delivery_id);

-- Id caches per shop, so that the steady state costs about one request per entry.
CREATE TABLE journals (
  shop_id      TEXT NOT NULL,
  register_id  TEXT NOT NULL,
  code         TEXT NOT NULL,
  pennylane_id INTEGER NOT NULL,
  PRIMARY KEY (shop_id, register_id)
) WITHOUT ROWID;

CREATE TABLE ledger_accounts (
  shop_id      TEXT NOT NULL,
  number       TEXT NOT NULL,
  pennylane_id INTEGER NOT NULL,
  PRIMARY KEY (shop_id, number)
) WITHOUT ROWID;

CREATE TABLE customers (
  shop_id            TEXT NOT NULL,
  external_reference TEXT NOT NULL,
  customer_id        INTEGER NOT NULL,
  ledger_account_id  INTEGER NOT NULL,
  account_number     TEXT NOT NULL,
  PRIMARY KEY (shop_id, external_reference)
) WITHOUT ROWID;

-- The account an order was booked on, so its payments book on the same one.
CREATE TABLE order_accounts (
  shop_id           TEXT NOT NULL,
  order_id          TEXT NOT NULL,
  ledger_account_id INTEGER NOT NULL,
  PRIMARY KEY (shop_id, order_id)
) WITHOUT ROWID;

CREATE TABLE connections (
  shop_id          TEXT PRIMARY KEY,
  kind             TEXT NOT NULL CHECK (kind IN ('oauth', 'api_token')),
  access_token_ct  TEXT NOT NULL,                        -- ciphertext, never the token itself
  refresh_token_ct TEXT,
  expires_at       TEXT,
  scopes           TEXT NOT NULL DEFAULT '',
  company_id       INTEGER,
  company_name     TEXT,
  state            TEXT NOT NULL CHECK (state IN ('connected', 'reconnect_needed', 'disconnected')),
  updated_at       TEXT NOT NULL
);

CREATE TABLE oauth_pending (
  state            TEXT PRIMARY KEY,
  shop_id          TEXT NOT NULL,
  code_verifier_ct TEXT NOT NULL,
  created_at       TEXT NOT NULL,
  expires_at       TEXT NOT NULL
);

CREATE TABLE audit (
  id      INTEGER PRIMARY KEY,
  at      TEXT NOT NULL,
  actor   TEXT NOT NULL,
  action  TEXT NOT NULL,
  shop_id TEXT,
  target  TEXT,
  detail  TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_shop ON audit (shop_id, id);
