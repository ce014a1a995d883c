"""Maintenance windows: while one is on, a service's new incidents open SUPPRESSED."""
