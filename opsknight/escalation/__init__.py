"""Escalation policies and the escalation engine."""
