"""Outbound webhooks: subscriptions, the outbox, signing and delivery."""
