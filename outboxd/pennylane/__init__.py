"""Pennylane Company API v2: OAuth 2, rate limit per token, typed calls, errors classified."""
