-- A new customer's 411 account number is no longer read at creation (Pennylane's create answer carries only the
-- account's id; reading the number cost one GET per new customer that only display needs). account_number is
-- NULL until something displays it and reads it then.
ALTER TABLE customers ALTER COLUMN account_number DROP NOT NULL;
