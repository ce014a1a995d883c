"""REST: a thin adapter that runs one fixed GraphQL document per route."""
