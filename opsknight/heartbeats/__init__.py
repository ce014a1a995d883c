"""Heartbeats (dead-man switches): a missed ping opens an incident, the next resolves it."""
