"""Per-bucket work: studies grouped by the first hex digit of their hash, derived apart."""
