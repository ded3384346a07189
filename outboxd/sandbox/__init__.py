"""A Pennylane simulator on loopback: OAuth, validation, rate limit, fault injection, inspection."""
