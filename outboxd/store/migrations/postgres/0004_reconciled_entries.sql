-- An entry found in Pennylane by a reconcile (docs/operations.md, restore) is recorded as posted without the
-- delivery that booked it and without the digest of its body: after a state restore, neither is known. So
-- delivery_id and body_hash may be NULL; a NULL delivery_id marks such a row.
ALTER TABLE sent_entries ALTER COLUMN delivery_id DROP NOT NULL, ALTER COLUMN body_hash DROP NOT NULL,
  ADD CONSTRAINT sent_entries_reconciled CHECK (delivery_id IS NOT NULL OR (state = 'posted' AND pennylane_id IS NOT NULL));
