"""The operator dashboard: a Textual app, a client of the daemon's control API only."""
