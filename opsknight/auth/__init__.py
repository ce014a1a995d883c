"""Credentials: API key format and digests, scopes, roles, and the Principal of a request."""
