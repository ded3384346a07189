"""The state database on PostgreSQL, shared by replicas (see docs/postgresql.md); ``open_store`` picks it."""
