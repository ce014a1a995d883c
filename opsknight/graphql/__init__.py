"""The GraphQL schema: the one API both transports serve."""
