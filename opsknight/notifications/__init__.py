"""Reaching people: contact methods, the Notifier channels, and notification delivery."""
