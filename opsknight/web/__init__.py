"""HTML pages served by the app; they run the same GraphQL schema as the API."""
