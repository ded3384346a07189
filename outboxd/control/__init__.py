"""The control API on a Unix socket, and its client (used by ``outboxd ctl`` and the TUI)."""
