"""GraphQL object, input and enum types, split by domain."""
