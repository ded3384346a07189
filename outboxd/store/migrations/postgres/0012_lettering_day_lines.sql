-- Lettering in daily booking (docs/accounting.md, "Lettering"): a day's entry holds the customer lines of several
-- orders, so a line is its piece_number and its place among the entry's lines (line_no; 0 for an entry of one
-- event, whose only customer line it is). label: the line's label, with which a line read back from Pennylane is
-- told from the entry's other customer lines (NULL: the entry's only line on the account).
ALTER TABLE lettering_lines ADD COLUMN line_no INTEGER NOT NULL DEFAULT 0;
ALTER TABLE lettering_lines ADD COLUMN label TEXT;
ALTER TABLE lettering_lines DROP CONSTRAINT lettering_lines_pkey;
ALTER TABLE lettering_lines ADD PRIMARY KEY (shop_id, piece_number, line_no);
