-- outboxd state database on PostgreSQL, version 1: the tables of migrations/sqlite/0001_init.sql, same names and
-- meanings. Instants stay fixed-width UTC text (text order = time order) so that the store groups are shared by
-- both backends; ids are BIGSERIAL/BIGINT; the outbox itself (Kash.Click's) uses TIMESTAMPTZ and JSONB.

CREATE TABLE ingest_cursor (
  source     TEXT PRIMARY KEY,
  last_id    BIGINT NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE TABLE shops (
  shop_id              TEXT PRIMARY KEY,
  paused               INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
  pause_reason         TEXT,
  reference_payload    TEXT,
  reference_outbox_id  BIGINT,
  reference_updated_at TEXT,
  created_at           TEXT NOT NULL
);

CREATE TABLE backfills (
  id               BIGSERIAL PRIMARY KEY,
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

CREATE TABLE deliveries (
  id               BIGSERIAL PRIMARY KEY,
  outbox_id        BIGINT UNIQUE,
  event_id         TEXT NOT NULL UNIQUE,
  shop_id          TEXT NOT NULL,
  event_type       TEXT NOT NULL,
  aggregate_id     TEXT NOT NULL,
  occurred_at      TEXT NOT NULL,
  business_date    TEXT,
  payload          TEXT NOT NULL,
  source           TEXT NOT NULL CHECK (source IN ('outbox', 'import')),
  priority         INTEGER NOT NULL DEFAULT 0,
  backfill_id      BIGINT REFERENCES backfills(id),
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
CREATE INDEX deliveries_ready ON deliveries (shop_id, priority, id, next_attempt_at) WHERE state = 'pending' AND head = 1;
CREATE INDEX deliveries_open_by_aggregate ON deliveries (shop_id, aggregate_id, id)
  WHERE state IN ('pending', 'leased', 'failed');
CREATE INDEX deliveries_leases ON deliveries (shop_id, lease_until) WHERE state = 'leased';
CREATE INDEX deliveries_failed ON deliveries (shop_id, id) WHERE state = 'failed';
CREATE INDEX deliveries_backfill ON deliveries (backfill_id) WHERE backfill_id IS NOT NULL;

CREATE TABLE queue_counts (
  shop_id TEXT NOT NULL,
  state   TEXT NOT NULL,
  n       BIGINT NOT NULL,
  PRIMARY KEY (shop_id, state)
);

CREATE TABLE delivered_daily (
  shop_id TEXT NOT NULL,
  day     TEXT NOT NULL,
  n       BIGINT NOT NULL,
  PRIMARY KEY (shop_id, day)
);

-- Locks, always in this order, so that concurrent writers never wait on each other in a cycle:
-- 1. the aggregate (advisory lock, class 7301), 2. the shop's counter rows, in state order.
-- Triggers of one event fire in name order: "deliveries_1_head" takes the aggregate before "deliveries_2_count".
CREATE FUNCTION outboxd_lock_aggregate(shop TEXT, aggregate TEXT) RETURNS void LANGUAGE sql AS $$
  SELECT pg_advisory_xact_lock(7301, hashtext(shop || chr(31) || aggregate));
$$;

-- When a row leaves the open states, the next open row of its aggregate becomes the head. The aggregate lock
-- makes a concurrent ingestion of the same aggregate wait (or be waited for): this statement runs with a new
-- snapshot after the lock (READ COMMITTED, volatile function), so it sees a row that ingestion just committed.
CREATE FUNCTION deliveries_promote_head() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM outboxd_lock_aggregate(NEW.shop_id, NEW.aggregate_id);
  UPDATE deliveries SET head = 1
   WHERE id = (SELECT min(id) FROM deliveries
                WHERE shop_id = NEW.shop_id AND aggregate_id = NEW.aggregate_id
                  AND state IN ('pending', 'leased', 'failed'))
     AND head = 0;
  RETURN NULL;
END;
$$;
CREATE TRIGGER deliveries_1_head AFTER UPDATE OF state ON deliveries FOR EACH ROW
  WHEN (NEW.state IN ('delivered', 'discarded', 'skipped') AND OLD.state IN ('pending', 'leased', 'failed'))
  EXECUTE FUNCTION deliveries_promote_head();

CREATE FUNCTION deliveries_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    PERFORM 1 FROM queue_counts WHERE shop_id = NEW.shop_id AND state IN (OLD.state, NEW.state)
      ORDER BY state FOR UPDATE;
    UPDATE queue_counts SET n = n - 1 WHERE shop_id = OLD.shop_id AND state = OLD.state;
  END IF;
  INSERT INTO queue_counts (shop_id, state, n) VALUES (NEW.shop_id, NEW.state, 1)
    ON CONFLICT (shop_id, state) DO UPDATE SET n = queue_counts.n + 1;
  IF TG_OP = 'UPDATE' AND NEW.state = 'delivered' THEN
    INSERT INTO delivered_daily (shop_id, day, n) VALUES (NEW.shop_id, substr(NEW.delivered_at, 1, 10), 1)
      ON CONFLICT (shop_id, day) DO UPDATE SET n = delivered_daily.n + 1;
  END IF;
  RETURN NULL;
END;
$$;
CREATE TRIGGER deliveries_2_count_insert AFTER INSERT ON deliveries FOR EACH ROW EXECUTE FUNCTION deliveries_count();
CREATE TRIGGER deliveries_2_count_state AFTER UPDATE OF state ON deliveries FOR EACH ROW
  WHEN (OLD.state <> NEW.state) EXECUTE FUNCTION deliveries_count();

-- SQLite's json_valid, for the shared ingestion text.
CREATE FUNCTION outboxd_json_valid(doc TEXT) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  PERFORM doc::jsonb;
  RETURN true;
EXCEPTION WHEN others THEN
  RETURN false;
END;
$$;

CREATE TABLE attempts (
  id            BIGSERIAL PRIMARY KEY,
  delivery_id   BIGINT NOT NULL REFERENCES deliveries(id),
  started_at    TEXT NOT NULL,
  finished_at   TEXT NOT NULL,
  outcome       TEXT NOT NULL,
  http_status   INTEGER,
  error_class   TEXT,
  message       TEXT,
  request_body  TEXT,
  response_body TEXT
);
CREATE INDEX attempts_delivery ON attempts (delivery_id, id);

CREATE TABLE sent_entries (
  id           BIGSERIAL PRIMARY KEY,
  shop_id      TEXT NOT NULL,
  piece_number TEXT NOT NULL,
  delivery_id  BIGINT NOT NULL REFERENCES deliveries(id),
  journal_id   BIGINT NOT NULL,
  entry_date   TEXT NOT NULL,
  state        TEXT NOT NULL CHECK (state IN ('recorded', 'posted', 'unknown')),
  pennylane_id BIGINT,
  body_hash    TEXT NOT NULL,
  created_at   TEXT NOT NULL,
  updated_at   TEXT NOT NULL,
  UNIQUE (shop_id, piece_number)
);
CREATE INDEX sent_entries_delivery ON sent_entries (delivery_id);

CREATE TABLE journals (
  shop_id      TEXT NOT NULL,
  register_id  TEXT NOT NULL,
  code         TEXT NOT NULL,
  pennylane_id BIGINT NOT NULL,
  PRIMARY KEY (shop_id, register_id)
);

CREATE TABLE ledger_accounts (
  shop_id      TEXT NOT NULL,
  number       TEXT NOT NULL,
  pennylane_id BIGINT NOT NULL,
  PRIMARY KEY (shop_id, number)
);

CREATE TABLE customers (
  shop_id            TEXT NOT NULL,
  external_reference TEXT NOT NULL,
  customer_id        BIGINT NOT NULL,
  ledger_account_id  BIGINT NOT NULL,
  account_number     TEXT NOT NULL,
  PRIMARY KEY (shop_id, external_reference)
);

CREATE TABLE order_accounts (
  shop_id           TEXT NOT NULL,
  order_id          TEXT NOT NULL,
  ledger_account_id BIGINT NOT NULL,
  PRIMARY KEY (shop_id, order_id)
);

CREATE TABLE connections (
  shop_id          TEXT PRIMARY KEY,
  kind             TEXT NOT NULL CHECK (kind IN ('oauth', 'api_token')),
  access_token_ct  TEXT NOT NULL,
  refresh_token_ct TEXT,
  expires_at       TEXT,
  scopes           TEXT NOT NULL DEFAULT '',
  company_id       BIGINT,
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
  id      BIGSERIAL PRIMARY KEY,
  at      TEXT NOT NULL,
  actor   TEXT NOT NULL,
  action  TEXT NOT NULL,
  shop_id TEXT,
  target  TEXT,
  detail  TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_shop ON audit (shop_id, id);

-- Scale-out (PostgreSQL only): the live replicas, and which replica owns each shop's lane (docs/postgresql.md).
CREATE TABLE replicas (
  owner       TEXT PRIMARY KEY,
  seen_until  TIMESTAMPTZ NOT NULL
);
CREATE TABLE lane_leases (
  shop_id     TEXT PRIMARY KEY,
  owner       TEXT NOT NULL,
  until       TIMESTAMPTZ NOT NULL
);
