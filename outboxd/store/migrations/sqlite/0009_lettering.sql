-- Lettering (docs/accounting.md, "Lettering"): per order, the customer-account line of its ticket and of each of
-- its payments (lettering_lines), and the lettering step's own state (letterings). A line's entry is found in
-- sent_entries by its piece_number; its Pennylane line id is kept from the 201, or read back when it is NULL.
CREATE TABLE lettering_lines (
  shop_id      TEXT NOT NULL,
  order_id     TEXT NOT NULL,
  piece_number TEXT NOT NULL,
  line_id      INTEGER,
  amount       INTEGER NOT NULL,
  lettered     INTEGER NOT NULL DEFAULT 0 CHECK (lettered IN (0, 1)),
  PRIMARY KEY (shop_id, piece_number)
);
CREATE INDEX lettering_lines_by_order ON lettering_lines (shop_id, order_id);
CREATE TABLE letterings (
  shop_id         TEXT NOT NULL,
  order_id        TEXT NOT NULL,
  ticket_number   TEXT,
  state           TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'due', 'lettered', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TEXT,
  last_error      TEXT,
  updated_at      TEXT NOT NULL,
  PRIMARY KEY (shop_id, order_id)
);
CREATE INDEX letterings_due ON letterings (shop_id, next_attempt_at) WHERE state = 'due';
