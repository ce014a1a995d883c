"""Enums; member names are the wire values, so REST and GraphQL spell them alike. The
domain's own enums are wrapped here, not defined again."""

from __future__ import annotations

from enum import Enum

import strawberry

from opsknight.auth import scopes
from opsknight.directory import services, teams, users
from opsknight.incidents import states

IncidentStatus = states.IncidentStatus
Urgency = states.Urgency
Priority = states.Priority
Role = scopes.Role
UserStatus = users.UserStatus
TeamRole = teams.TeamRole
IntegrationType = services.IntegrationType
# strawberry.enum marks the class itself as a GraphQL enum (and returns it).
for _domain_enum in (IncidentStatus, Urgency, Priority, Role, UserStatus, TeamRole,
                     IntegrationType):  # fmt: skip
    strawberry.enum(_domain_enum)


@strawberry.enum(description="What a request of Opsgenie's Alert API does to an alert.")
class OpsgenieAction(Enum):
    create = "create"
    close = "close"
    acknowledge = "acknowledge"


@strawberry.enum
class Environment(Enum):
    live = "live"
    test = "test"


@strawberry.enum
class ServiceHealth(Enum):
    OPERATIONAL = "OPERATIONAL"
    DEGRADED = "DEGRADED"
    CRITICAL = "CRITICAL"


@strawberry.enum
class EscalationStatus(Enum):
    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"
    EXHAUSTED = "EXHAUSTED"
    NONE = "NONE"


@strawberry.enum
class IncidentSort(Enum):
    created_at = "created_at"
    updated_at = "updated_at"
    urgency = "urgency"
    status = "status"
    priority = "priority"


@strawberry.enum
class SortOrder(Enum):
    asc = "asc"
    desc = "desc"


@strawberry.enum
class BulkItemStatus(Enum):
    success = "success"
    error = "error"
