-- The send times of each shop's token in its last rate-limit window (Unix seconds, space-separated): a daemon
-- started right after another knows what the dead one sent (outboxd/pennylane/ratelimit.py, store/rate_windows.py).
CREATE TABLE rate_windows (
  shop_id    TEXT PRIMARY KEY,
  sent       TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
