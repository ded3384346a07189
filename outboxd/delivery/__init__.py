"""The delivery daemon: tails the outbox, runs one lane per shop, delivers effectively once."""
