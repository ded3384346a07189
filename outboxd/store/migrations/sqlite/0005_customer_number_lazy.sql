-- A new customer's 411 account number is no longer read at creation (Pennylane's create answer carries only the
-- account's id; reading the number cost one GET per new customer that only display needs). account_number is
-- NULL until something displays it and reads it then. SQLite cannot drop a NOT NULL: the table is rebuilt (no
-- trigger, view, index or foreign key points at it; its key is recreated with it).
CREATE TABLE customers_new (
  shop_id            TEXT NOT NULL,
  external_reference TEXT NOT NULL,
  customer_id        INTEGER NOT NULL,
  ledger_account_id  INTEGER NOT NULL,
  account_number     TEXT,
  PRIMARY KEY (shop_id, external_reference)
) WITHOUT ROWID;
INSERT INTO customers_new (shop_id, external_reference, customer_id, ledger_account_id, account_number)
  SELECT shop_id, external_reference, customer_id, ledger_account_id, account_number FROM customers;
DROP TABLE customers;
ALTER TABLE customers_new RENAME TO customers;
