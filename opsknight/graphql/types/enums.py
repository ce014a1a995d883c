"""Enums; member names are the wire values, so REST and GraphQL spell them alike."""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum
class IncidentStatus(Enum):
    OPEN = "OPEN"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    RESOLVED = "RESOLVED"
    SNOOZED = "SNOOZED"
    SUPPRESSED = "SUPPRESSED"


@strawberry.enum
class Urgency(Enum):
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"


@strawberry.enum
class Priority(Enum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"
    P5 = "P5"


@strawberry.enum
class Role(Enum):
    ADMIN = "ADMIN"
    RESPONDER = "RESPONDER"
    USER = "USER"


@strawberry.enum
class UserStatus(Enum):
    ACTIVE = "ACTIVE"
    DISABLED = "DISABLED"


@strawberry.enum
class TeamRole(Enum):
    OWNER = "OWNER"
    ADMIN = "ADMIN"
    MEMBER = "MEMBER"


@strawberry.enum
class IntegrationType(Enum):
    events_api = "events_api"
    alertmanager = "alertmanager"
    webhook = "webhook"


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
