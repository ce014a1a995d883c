"""Incident analytics: response times, counts, noise and pages, for a date range."""
