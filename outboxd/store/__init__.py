"""The state database: migrations, deliveries, attempts, id caches, connections, backfills, audit."""
