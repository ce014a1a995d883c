"""Bringing the set-up of another incident tool into OpsKnight."""
