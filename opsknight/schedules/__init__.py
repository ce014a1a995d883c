"""Schedules, layers, overrides and the on-call math."""
