-- An entry found in Pennylane by a reconcile (docs/operations.md, restore) is recorded as posted without the
-- delivery that booked it and without the digest of its body: after a state restore, neither is known. So
-- delivery_id and body_hash may be NULL; a NULL delivery_id marks such a row. SQLite cannot drop a NOT NULL:
-- the table is rebuilt (no trigger, view or foreign key points at it; its own key and index are recreated).
CREATE TABLE sent_entries_new (
  id           INTEGER PRIMARY KEY,
  shop_id      TEXT NOT NULL,
  piece_number TEXT NOT NULL,
  delivery_id  INTEGER REFERENCES deliveries(id),
  journal_id   INTEGER NOT NULL,
  entry_date   TEXT NOT NULL,
  state        TEXT NOT NULL CHECK (state IN ('recorded', 'posted', 'unknown')),
  pennylane_id INTEGER,
  body_hash    TEXT,
  created_at   TEXT NOT NULL,
  updated_at   TEXT NOT NULL,
  UNIQUE (shop_id, piece_number),
  CHECK (delivery_id IS NOT NULL OR (state = 'posted' AND pennylane_id IS NOT NULL))
);
INSERT INTO sent_entries_new (id, shop_id, piece_number, delivery_id, journal_id, entry_date, state, pennylane_id,
                              body_hash, created_at, updated_at)
  SELECT id, shop_id, piece_number, delivery_id, journal_id, entry_date, state, pennylane_id, body_hash, created_at,
         updated_at FROM sent_entries;
DROP TABLE sent_entries;
ALTER TABLE sent_entries_new RENAME TO sent_entries;
CREATE INDEX sent_entries_delivery ON sent_entries (delivery_id);
