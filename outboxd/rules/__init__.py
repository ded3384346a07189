"""The rules engine: a shop mapping and one event in, balanced Pennylane entries or a BookingError out. Pure."""
