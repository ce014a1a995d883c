"""Event rules: per-service and global, applied to events before they are ingested."""
