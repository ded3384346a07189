-- A delivery's ingested_at was written and never read (created_at says when the event was written, updated_at when
-- its row last changed): 28 bytes a row kept for ever, dropped (docs/operations.md, Retention).
ALTER TABLE deliveries DROP COLUMN ingested_at;
