"""Incidents: the state machine, create/update/merge/bulk, timeline and notes."""
