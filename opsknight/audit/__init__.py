"""The audit log: who changed what configuration, append-only."""
