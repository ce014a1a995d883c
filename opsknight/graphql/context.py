"""The per-request GraphQL context: the caller's credential and the request's loaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import strawberry

from opsknight.auth.principal import Credential, Principal, require
from opsknight.graphql.loaders import Loaders


@dataclass
class Context:
    credential: Credential
    loaders: Loaders = field(default_factory=Loaders)
    request: Any = None
    # The WebSocket `connection_init` payload (Strawberry sets it).
    connection_params: dict[str, Any] | None = None

    def principal(self, scope: str | None = None) -> Principal:
        """The authenticated caller; UNAUTHORIZED or FORBIDDEN otherwise."""
        return require(self.credential, scope)


Info = strawberry.Info[Context, None]
