"""Outbound webhooks: subscriptions, the outbox, payloads, signing and delivery."""
