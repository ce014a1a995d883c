"""Events API ingestion and change events."""
