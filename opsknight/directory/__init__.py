"""Users, teams, services and integrations."""
