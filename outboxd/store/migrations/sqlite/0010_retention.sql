-- Retention (store/retention.py): once a delivery has been settled (delivered, discarded, skipped) for longer than
-- daemon.retention_days, its payload and its attempts' request and response bodies are emptied and `pruned` is set.
-- The partial index holds the settled rows not pruned yet, by settlement time: a pass finds what is due without
-- reading the rows (a scan would read every payload), and a row leaves the index once pruned.
ALTER TABLE deliveries ADD COLUMN pruned INTEGER NOT NULL DEFAULT 0;
CREATE INDEX deliveries_unpruned ON deliveries (updated_at)
  WHERE state IN ('delivered', 'discarded', 'skipped') AND pruned = 0;
