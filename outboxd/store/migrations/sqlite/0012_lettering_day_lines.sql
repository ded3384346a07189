-- Lettering in daily booking (docs/accounting.md, "Lettering"): a day's entry holds the customer lines of several
-- orders, so a line is its piece_number and its place among the entry's lines (line_no; 0 for an entry of one
-- event, whose only customer line it is). label: the line's label, with which a line read back from Pennylane is
-- told from the entry's other customer lines (NULL: the entry's only line on the account).
CREATE TABLE lettering_lines_new (
  shop_id      TEXT NOT NULL,
  order_id     TEXT NOT NULL,
  piece_number TEXT NOT NULL,
  line_no      INTEGER NOT NULL DEFAULT 0,
  label        TEXT,
  line_id      INTEGER,
  amount       INTEGER NOT NULL,
  lettered     INTEGER NOT NULL DEFAULT 0 CHECK (lettered IN (0, 1)),
  PRIMARY KEY (shop_id, piece_number, line_no)
);
INSERT INTO lettering_lines_new (shop_id, order_id, piece_number, line_id, amount, lettered)
  SELECT shop_id, order_id, piece_number, line_id, amount, lettered FROM lettering_lines;
DROP TABLE lettering_lines;
ALTER TABLE lettering_lines_new RENAME TO lettering_lines;
CREATE INDEX lettering_lines_by_order ON lettering_lines (shop_id, order_id);
