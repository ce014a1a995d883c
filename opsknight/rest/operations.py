"""One fixed GraphQL document per REST route. Aliases give the snake_case wire names,
so the GraphQL result is already the REST body."""

from __future__ import annotations

_API_KEY = """id name prefix last4 scopes environment user { id name }
  created_at: createdAt last_used_at: lastUsedAt"""

FRAGMENTS = {
    "UserFields": """
fragment UserFields on User {
  id name email role status time_zone: timeZone handoff_notices: handoffNotices
  shift_end_notices: shiftEndNotices created_at: createdAt updated_at: updatedAt
}""",
    "TeamFields": """
fragment TeamFields on Team {
  id name description lead { id name email }
  members { user { id name email } role receive_team_notifications: receiveTeamNotifications }
  created_at: createdAt updated_at: updatedAt
}""",
    "ServiceFields": """
fragment ServiceFields on Service {
  id name description team { id name } escalation_policy: escalationPolicy { id name }
  region sla_tier: slaTier runbook_url: runbookUrl health
  active_incident_count: activeIncidentCount in_maintenance: inMaintenance
  acknowledgement_timeout: acknowledgementTimeout auto_resolve_timeout: autoResolveTimeout
  urgency_rule: urgencyRule support_hours: supportHours shadow
  created_at: createdAt updated_at: updatedAt
}""",
    "IntegrationFields": """
fragment IntegrationFields on Integration {
  id name type key service_id: serviceId created_at: createdAt
}""",
    "ApiKeyFields": f"fragment ApiKeyFields on ApiKey {{ {_API_KEY} }}",
    "IssuedApiKeyFields": f"fragment IssuedApiKeyFields on IssuedApiKey {{ {_API_KEY} key }}",
    "ChangeEventFields": """
fragment ChangeEventFields on ChangeEvent {
  id service_id: serviceId summary source timestamp custom_details: customDetails
  links { href text } created_at: createdAt
}""",
    "IncidentListFields": """
fragment IncidentListFields on Incident {
  id number title description status urgency priority environment
  service { id name team { id name } }
  assignee { id name email }
  assigned_team: assignedTeam { id name }
  dedup_key: dedupKey source integration { id name type }
  escalation_policy: escalationPolicy { id name }
  current_escalation_step: currentEscalationStep escalation_status: escalationStatus
  alert_count: alertCount custom_details: customDetails links { href text }
  merged_into: mergedInto related_incidents: relatedIncidents
  created_at: createdAt updated_at: updatedAt acknowledged_at: acknowledgedAt
  resolved_at: resolvedAt snoozed_until: snoozedUntil last_status_change: lastStatusChange
  component group class images { src href alt } client client_url: clientUrl
  recent_changes: recentChanges { ...ChangeEventFields }
}""",
    "TimelineFields": """
fragment TimelineFields on TimelineEvent { id type timestamp actor { type id name } details }""",
    "NoteFields": """
fragment NoteFields on Note {
  id content author { id name } created_at: createdAt is_internal: isInternal
}""",
    "IncidentFields": """
fragment IncidentFields on Incident {
  ...IncidentListFields timeline { ...TimelineFields } notes { ...NoteFields }
}""",
    "AlertFields": """
fragment AlertFields on Alert {
  id action dedup_key: dedupKey summary severity environment payload
  integration_id: integrationId received_at: receivedAt trace
}""",
}

FRAGMENTS.update(
    {
        "ScheduleFields": """
fragment ScheduleFields on Schedule {
  id name description time_zone: timeZone team { id name }
  layers {
    id name rotation_type: rotationType rotation_length_hours: rotationLengthHours
    handoff_start: handoffStart users { id name email }
    restrictions { days start_time: startTime end_time: endTime } end
  }
  created_at: createdAt updated_at: updatedAt
}""",
        "ShiftFields": """
fragment ShiftFields on ShiftEntry {
  user { id name email } start end layer { id name } override
}""",
        "PolicyFields": """
fragment PolicyFields on EscalationPolicy {
  id name description repeat repeat_limit: repeatLimit reminder_minutes: reminderMinutes
  ack_reminder_minutes: ackReminderMinutes
  steps {
    position target_type: targetType target_id: targetId target { type id name }
    delay_minutes: delayMinutes notify_team_lead_only: notifyTeamLeadOnly channels
  }
  created_at: createdAt updated_at: updatedAt
}""",
        "OverrideFields": """
fragment OverrideFields on ScheduleOverride {
  id schedule_id: scheduleId user { id name email } replaces_user: replacesUser { id name email }
  start end created_at: createdAt
}""",
    }
)

_DEPENDS = {
    "IncidentListFields": ("ChangeEventFields",),
    "IncidentFields": ("IncidentListFields", "TimelineFields", "NoteFields"),
}

PAGINATION = "pagination { total limit offset has_more: hasMore }"


def _with_fragments(body: str) -> str:
    """The operation followed by every fragment it spreads, transitively."""
    needed: list[str] = []
    pending = [name for name in FRAGMENTS if f"...{name}" in body]
    while pending:
        name = pending.pop()
        if name not in needed:
            needed.append(name)
            pending.extend(_DEPENDS.get(name, ()))
    return body.strip() + "\n" + "\n".join(FRAGMENTS[n].strip() for n in sorted(needed))


def document(body: str) -> str:
    return _with_fragments(body)


# --- users -------------------------------------------------------------------------------
LIST_USERS = document(f"""
query ListUsers($q: String, $role: Role, $status: UserStatus, $email: String,
                $limit: Int, $offset: Int) {{
  result: users(q: $q, role: $role, status: $status, email: $email,
                limit: $limit, offset: $offset) {{ nodes {{ ...UserFields }} {PAGINATION} }}
}}""")
GET_USER = document("query GetUser($id: ID!) { result: user(id: $id) { ...UserFields } }")
GET_VIEWER = document("query Viewer { result: viewer { ...UserFields } }")
CREATE_USER = document("""
mutation CreateUser($input: UserInput!) { result: createUser(input: $input) { ...UserFields } }""")
UPDATE_USER = document("""
mutation UpdateUser($id: ID!, $input: UserInput!) {
  result: updateUser(id: $id, input: $input) { ...UserFields }
}""")
DELETE_USER = document(
    "mutation DeleteUser($id: ID!) { result: deleteUser(id: $id) { id deleted } }"
)

# --- teams -------------------------------------------------------------------------------
LIST_TEAMS = document(f"""
query ListTeams($q: String, $limit: Int, $offset: Int) {{
  result: teams(q: $q, limit: $limit, offset: $offset) {{ nodes {{ ...TeamFields }} {PAGINATION} }}
}}""")
GET_TEAM = document("query GetTeam($id: ID!) { result: team(id: $id) { ...TeamFields } }")
CREATE_TEAM = document("""
mutation CreateTeam($input: TeamInput!) { result: createTeam(input: $input) { ...TeamFields } }""")
UPDATE_TEAM = document("""
mutation UpdateTeam($id: ID!, $input: TeamInput!) {
  result: updateTeam(id: $id, input: $input) { ...TeamFields }
}""")
DELETE_TEAM = document(
    "mutation DeleteTeam($id: ID!) { result: deleteTeam(id: $id) { id deleted } }"
)
ADD_TEAM_MEMBER = document("""
mutation AddTeamMember($teamId: ID!, $input: TeamMemberInput!) {
  result: addTeamMember(teamId: $teamId, input: $input) { ...TeamFields }
}""")
REMOVE_TEAM_MEMBER = document("""
mutation RemoveTeamMember($teamId: ID!, $userId: ID!) {
  result: removeTeamMember(teamId: $teamId, userId: $userId) { ...TeamFields }
}""")

# --- services and integrations ---------------------------------------------------------
LIST_SERVICES = document(f"""
query ListServices($q: String, $teamId: ID, $limit: Int, $offset: Int) {{
  result: services(q: $q, teamId: $teamId, limit: $limit, offset: $offset) {{
    nodes {{ ...ServiceFields }} {PAGINATION}
  }}
}}""")
GET_SERVICE = document(
    "query GetService($id: ID!) { result: service(id: $id) { ...ServiceFields } }"
)
CREATE_SERVICE = document("""
mutation CreateService($input: ServiceInput!) {
  result: createService(input: $input) { ...ServiceFields }
}""")
UPDATE_SERVICE = document("""
mutation UpdateService($id: ID!, $input: ServiceInput!) {
  result: updateService(id: $id, input: $input) { ...ServiceFields }
}""")
DELETE_SERVICE = document(
    "mutation DeleteService($id: ID!) { result: deleteService(id: $id) { id deleted } }"
)
LIST_INTEGRATIONS = document("""
query ListIntegrations($serviceId: ID!) {
  result: integrations(serviceId: $serviceId) { ...IntegrationFields }
}""")
CREATE_INTEGRATION = document("""
mutation CreateIntegration($serviceId: ID!, $input: IntegrationInput!) {
  result: createIntegration(serviceId: $serviceId, input: $input) { ...IntegrationFields }
}""")
DELETE_INTEGRATION = document("""
mutation DeleteIntegration($serviceId: ID!, $id: ID!) {
  result: deleteIntegration(serviceId: $serviceId, id: $id) { id deleted }
}""")

# --- API keys ----------------------------------------------------------------------------
LIST_API_KEYS = document(f"""
query ListApiKeys($limit: Int, $offset: Int) {{
  result: apiKeys(limit: $limit, offset: $offset) {{ nodes {{ ...ApiKeyFields }} {PAGINATION} }}
}}""")
CREATE_API_KEY = document("""
mutation CreateApiKey($input: ApiKeyInput!) {
  result: createApiKey(input: $input) { ...IssuedApiKeyFields }
}""")
REVOKE_API_KEY = document(
    "mutation RevokeApiKey($id: ID!) { result: revokeApiKey(id: $id) { id deleted } }"
)

# --- incidents ---------------------------------------------------------------------------
LIST_INCIDENTS = document(f"""
query ListIncidents($filter: IncidentFilterInput, $sort: IncidentSort, $order: SortOrder,
                    $limit: Int, $offset: Int) {{
  result: incidents(filter: $filter, sort: $sort, order: $order, limit: $limit,
                    offset: $offset) {{ nodes {{ ...IncidentListFields }} {PAGINATION} }}
}}""")
GET_INCIDENT = document("""
query GetIncident($id: ID!) { result: incident(id: $id) { ...IncidentFields _etag: etag } }""")
CREATE_INCIDENT = document("""
mutation CreateIncident($input: CreateIncidentInput!, $idempotencyKey: String) {
  result: createIncident(input: $input, idempotencyKey: $idempotencyKey) {
    ...IncidentFields _etag: etag
  }
}""")
UPDATE_INCIDENT = document("""
mutation UpdateIncident($id: ID!, $input: UpdateIncidentInput!, $ifMatch: String) {
  result: updateIncident(id: $id, input: $input, ifMatch: $ifMatch) {
    ...IncidentFields _etag: etag
  }
}""")
DELETE_INCIDENT = document(
    "mutation DeleteIncident($id: ID!) { result: deleteIncident(id: $id) { id deleted } }"
)
ADD_NOTE = document("""
mutation AddNote($incidentId: ID!, $input: NoteInput!) {
  result: addNote(incidentId: $incidentId, input: $input) { ...NoteFields }
}""")
LIST_NOTES = document(f"""
query ListNotes($incidentId: ID!, $limit: Int, $offset: Int) {{
  result: incidentNotes(incidentId: $incidentId, limit: $limit, offset: $offset) {{
    nodes {{ ...NoteFields }} {PAGINATION}
  }}
}}""")
LIST_TIMELINE = document("""
query ListTimeline($incidentId: ID!) {
  result: incidentTimeline(incidentId: $incidentId) { ...TimelineFields }
}""")
LIST_ALERTS = document(f"""
query ListAlerts($incidentId: ID!, $limit: Int, $offset: Int) {{
  result: incidentAlerts(incidentId: $incidentId, limit: $limit, offset: $offset) {{
    nodes {{ ...AlertFields }} {PAGINATION}
  }}
}}""")
MERGE_INCIDENTS = document("""
mutation MergeIncidents($id: ID!, $sourceIncidentIds: [ID!]!) {
  result: mergeIncidents(id: $id, sourceIncidentIds: $sourceIncidentIds) {
    id merged_incidents: mergedIncidents merged_at: mergedAt
  }
}""")
BULK_UPDATE_INCIDENTS = document("""
mutation BulkUpdateIncidents($incidentIds: [ID!]!, $updates: BulkUpdateInput!) {
  result: bulkUpdateIncidents(incidentIds: $incidentIds, updates: $updates) {
    updated failed results { id status error { code message } }
  }
}""")

# --- events ------------------------------------------------------------------------------
_EVENT_RESULT = "action dedup_key: dedupKey incident { id number title status urgency }"
SEND_EVENT = document(f"""
mutation SendEvent($event: JSON!) {{ result: sendEvent(event: $event) {{ {_EVENT_RESULT} }} }}""")
SEND_PAGERDUTY_V1_EVENT = document(f"""
mutation SendPagerdutyV1Event($event: JSON!) {{
  result: sendPagerdutyV1Event(event: $event) {{ {_EVENT_RESULT} }}
}}""")
CREATE_OPSGENIE_ALERT = document(f"""
mutation CreateOpsgenieAlert($payload: JSON!) {{
  result: sendOpsgenieAlert(action: create, payload: $payload) {{ {_EVENT_RESULT} }}
}}""")
CLOSE_OPSGENIE_ALERT, ACKNOWLEDGE_OPSGENIE_ALERT = (
    document(f"""
mutation {name}OpsgenieAlert($identifier: String!, $identifierType: String, $payload: JSON) {{
  result: sendOpsgenieAlert(action: {action}, identifier: $identifier,
                            identifierType: $identifierType, payload: $payload) {{
    {_EVENT_RESULT}
  }}
}}""")
    for name, action in (("Close", "close"), ("Acknowledge", "acknowledge"))
)
SEND_CHANGE_EVENT = document("""
mutation SendChangeEvent($event: JSON!) {
  result: sendChangeEvent(event: $event) { ...ChangeEventFields }
}""")
SEND_ALERTMANAGER = document(f"""
mutation SendAlertmanagerAlerts($payload: JSON!, $integrationKey: String) {{
  result: sendAlertmanagerAlerts(payload: $payload, integrationKey: $integrationKey) {{
    {_EVENT_RESULT}
  }}
}}""")
SEND_WEBHOOK_EVENT = document(f"""
mutation SendWebhookEvent($payload: JSON!, $integrationKey: String) {{
  result: sendWebhookEvent(payload: $payload, integrationKey: $integrationKey) {{
    {_EVENT_RESULT}
  }}
}}""")
LIST_SERVICE_CHANGES = document(f"""
query ListServiceChanges($serviceId: ID!, $limit: Int, $offset: Int) {{
  result: serviceChanges(serviceId: $serviceId, limit: $limit, offset: $offset) {{
    nodes {{ ...ChangeEventFields }} {PAGINATION}
  }}
}}""")

# --- schedules ---------------------------------------------------------------------------
LIST_SCHEDULES = document(f"""
query ListSchedules($q: String, $limit: Int, $offset: Int) {{
  result: schedules(q: $q, limit: $limit, offset: $offset) {{
    nodes {{ ...ScheduleFields }} {PAGINATION}
  }}
}}""")
GET_SCHEDULE = document(
    "query GetSchedule($id: ID!) { result: schedule(id: $id) { ...ScheduleFields } }"
)
CREATE_SCHEDULE = document("""
mutation CreateSchedule($input: ScheduleInput!) {
  result: createSchedule(input: $input) { ...ScheduleFields }
}""")
UPDATE_SCHEDULE = document("""
mutation UpdateSchedule($id: ID!, $input: ScheduleInput!) {
  result: updateSchedule(id: $id, input: $input) { ...ScheduleFields }
}""")
DELETE_SCHEDULE = document(
    "mutation DeleteSchedule($id: ID!) { result: deleteSchedule(id: $id) { id deleted } }"
)
LIST_OVERRIDES = document(f"""
query ListOverrides($scheduleId: ID!, $limit: Int, $offset: Int) {{
  result: scheduleOverrides(scheduleId: $scheduleId, limit: $limit, offset: $offset) {{
    nodes {{ ...OverrideFields }} {PAGINATION}
  }}
}}""")
CREATE_OVERRIDE = document("""
mutation CreateOverride($scheduleId: ID!, $input: OverrideInput!) {
  result: createOverride(scheduleId: $scheduleId, input: $input) { ...OverrideFields }
}""")
DELETE_OVERRIDE = document("""
mutation DeleteOverride($scheduleId: ID!, $id: ID!) {
  result: deleteOverride(scheduleId: $scheduleId, id: $id) { id deleted }
}""")
SCHEDULE_ON_CALL = document("""
query ScheduleOnCall($id: ID!, $at: DateTime) {
  result: scheduleOnCall(scheduleId: $id, at: $at) {
    schedule { id name time_zone: timeZone } at on_call: onCall { ...ShiftFields }
  }
}""")
SCHEDULE_SHIFTS = document("""
query ScheduleShifts($id: ID!, $since: DateTime!, $until: DateTime!) {
  result: scheduleShifts(scheduleId: $id, since: $since, until: $until) {
    shifts { ...ShiftFields } gaps { start end }
  }
}""")
ON_CALL = document("""
query OnCall($at: DateTime, $scheduleId: ID, $userId: ID) {
  result: onCall(at: $at, scheduleId: $scheduleId, userId: $userId) {
    schedule { id name } user { id name email } layer { id name } override start end
  }
}""")

# --- escalation policies -----------------------------------------------------------------
LIST_POLICIES = document(f"""
query ListPolicies($q: String, $limit: Int, $offset: Int) {{
  result: escalationPolicies(q: $q, limit: $limit, offset: $offset) {{
    nodes {{ ...PolicyFields }} {PAGINATION}
  }}
}}""")
GET_POLICY = document(
    "query GetPolicy($id: ID!) { result: escalationPolicy(id: $id) { ...PolicyFields } }"
)
CREATE_POLICY = document("""
mutation CreatePolicy($input: EscalationPolicyInput!) {
  result: createEscalationPolicy(input: $input) { ...PolicyFields }
}""")
UPDATE_POLICY = document("""
mutation UpdatePolicy($id: ID!, $input: EscalationPolicyInput!) {
  result: updateEscalationPolicy(id: $id, input: $input) { ...PolicyFields }
}""")
DELETE_POLICY = document("""
mutation DeletePolicy($id: ID!) { result: deleteEscalationPolicy(id: $id) { id deleted } }""")

# --- maintenance windows -----------------------------------------------------------------
_WINDOW = """id name service_ids: serviceIds starts_at: startsAt ends_at: endsAt days
  start_time: startTime duration_minutes: durationMinutes time_zone: timeZone until
  resolve_on_end: resolveOnEnd reopen_on_end: reopenOnEnd in_effect: inEffect
  current_end: currentEnd created_at: createdAt updated_at: updatedAt"""
LIST_WINDOWS = document(f"""
query ListWindows($serviceId: ID, $limit: Int, $offset: Int) {{
  result: maintenanceWindows(serviceId: $serviceId, limit: $limit, offset: $offset) {{
    nodes {{ {_WINDOW} }} {PAGINATION}
  }}
}}""")
GET_WINDOW = document(
    f"query GetWindow($id: ID!) {{ result: maintenanceWindow(id: $id) {{ {_WINDOW} }} }}"
)
CREATE_WINDOW = document(f"""
mutation CreateWindow($input: MaintenanceWindowInput!) {{
  result: createMaintenanceWindow(input: $input) {{ {_WINDOW} }}
}}""")
UPDATE_WINDOW = document(f"""
mutation UpdateWindow($id: ID!, $input: MaintenanceWindowInput!) {{
  result: updateMaintenanceWindow(id: $id, input: $input) {{ {_WINDOW} }}
}}""")
DELETE_WINDOW = document("""
mutation DeleteWindow($id: ID!) { result: deleteMaintenanceWindow(id: $id) { id deleted } }""")

# --- heartbeats ---------------------------------------------------------------------------
_HEARTBEAT = """id service_id: serviceId name interval_seconds: intervalSeconds
  grace_seconds: graceSeconds status last_ping_at: lastPingAt due_at: dueAt token
  created_at: createdAt updated_at: updatedAt"""
LIST_HEARTBEATS = document(f"""
query ListHeartbeats($serviceId: ID, $limit: Int, $offset: Int) {{
  result: heartbeats(serviceId: $serviceId, limit: $limit, offset: $offset) {{
    nodes {{ {_HEARTBEAT} }} {PAGINATION}
  }}
}}""")
GET_HEARTBEAT = document(
    f"query GetHeartbeat($id: ID!) {{ result: heartbeat(id: $id) {{ {_HEARTBEAT} }} }}"
)
CREATE_HEARTBEAT = document(f"""
mutation CreateHeartbeat($input: HeartbeatInput!) {{
  result: createHeartbeat(input: $input) {{ {_HEARTBEAT} }}
}}""")
UPDATE_HEARTBEAT = document(f"""
mutation UpdateHeartbeat($id: ID!, $input: HeartbeatInput!) {{
  result: updateHeartbeat(id: $id, input: $input) {{ {_HEARTBEAT} }}
}}""")
DELETE_HEARTBEAT = document("""
mutation DeleteHeartbeat($id: ID!) { result: deleteHeartbeat(id: $id) { id deleted } }""")
PING_HEARTBEAT = document("""
mutation PingHeartbeat($token: String!) {
  result: pingHeartbeat(token: $token) { id status due_at: dueAt }
}""")

# --- event rules ---------------------------------------------------------------------------
_RULE = """id service_id: serviceId position description conditions actions disabled
  created_at: createdAt updated_at: updatedAt"""
LIST_RULES = document(f"""
query ListRules($serviceId: ID, $limit: Int, $offset: Int) {{
  result: eventRules(serviceId: $serviceId, limit: $limit, offset: $offset) {{
    nodes {{ {_RULE} }} {PAGINATION}
  }}
}}""")
GET_RULE = document(f"query GetRule($id: ID!) {{ result: eventRule(id: $id) {{ {_RULE} }} }}")
CREATE_RULE = document(f"""
mutation CreateRule($input: EventRuleInput!) {{
  result: createEventRule(input: $input) {{ {_RULE} }}
}}""")
UPDATE_RULE = document(f"""
mutation UpdateRule($id: ID!, $input: EventRuleInput!) {{
  result: updateEventRule(id: $id, input: $input) {{ {_RULE} }}
}}""")
DELETE_RULE = document("""
mutation DeleteRule($id: ID!) { result: deleteEventRule(id: $id) { id deleted } }""")
LIST_SUSPENDED = document(f"""
query ListSuspended($serviceId: ID, $status: String, $limit: Int, $offset: Int) {{
  result: suspendedEvents(serviceId: $serviceId, status: $status, limit: $limit,
                          offset: $offset) {{
    nodes {{
      id service_id: serviceId dedup_key: dedupKey summary status due_at: dueAt
      received_at: receivedAt settled_at: settledAt incident_id: incidentId trace
    }} {PAGINATION}
  }}
}}""")
GET_ALERT = document("""
query GetAlert($id: ID!) {
  result: alert(id: $id) {
    ...AlertFields incident_id: incidentId
    paged { user_id: userId user_name: userName channel step status created_at: createdAt }
  }
}""")

# --- escalation dry-run and readiness -----------------------------------------------------
ESCALATION_PREVIEW = document("""
query EscalationPreview($serviceId: ID!, $at: DateTime, $urgency: String) {
  result: escalationPreview(serviceId: $serviceId, at: $at, urgency: $urgency) {
    service_id: serviceId policy_id: policyId policy_name: policyName at urgency
    ends_at: endsAt ends_as: endsAs
    steps {
      round step at target_type: targetType target_id: targetId problem
      recipients {
        user_id: userId name time_zone: timeZone local_time: localTime at_night: atNight
        reachable
        notifications {
          method_id: methodId type address delay_minutes: delayMinutes at usable problem
        }
      }
    }
  }
}""")
READINESS = document("""
query Readiness {
  result: readiness {
    checked_at: checkedAt ready
    problems { kind severity message resource_type: resourceType resource_id: resourceId details }
  }
}""")

# --- analytics -------------------------------------------------------------------------------
_ANALYTICS_ARGS = "since: $since, until: $until, serviceId: $serviceId, teamId: $teamId"
_ANALYTICS_VARS = "$since: DateTime, $until: DateTime, $serviceId: ID, $teamId: ID"
_GROUP = "key name incidents alerts mtta mttr"
_DURATIONS = "count mean p50 p90"
ANALYTICS = document(f"""
query Analytics({_ANALYTICS_VARS}) {{
  result: analytics({_ANALYTICS_ARGS}) {{
    since until incidents alerts alerts_per_incident: alertsPerIncident
    mtta {{ {_DURATIONS} }} mttr {{ {_DURATIONS} }}
    by_service: byService {{ {_GROUP} }} by_team: byTeam {{ {_GROUP} }}
    by_urgency: byUrgency {{ {_GROUP} }} by_day: byDay {{ {_GROUP} }}
    responders {{
      user_id: userId name time_zone: timeZone pages off_hours_pages: offHoursPages
    }}
    off_hours_pages: offHoursPages
  }}
}}""")
ANALYTICS_CSV = document(f"""
query AnalyticsCsv({_ANALYTICS_VARS}) {{ result: analyticsCsv({_ANALYTICS_ARGS}) }}""")

# --- audit log -------------------------------------------------------------------------------
_SHADOW_MODE = "enabled changed_at: changedAt changed_by: changedBy service_ids: serviceIds"
GET_SHADOW_MODE = document(f"query GetShadowMode {{ result: shadowMode {{ {_SHADOW_MODE} }} }}")
SET_SHADOW_MODE = document(f"""
mutation SetShadowMode($enabled: Boolean!) {{
  result: setShadowMode(enabled: $enabled) {{ {_SHADOW_MODE} }}
}}""")
SHADOW_REPORT = document(f"""
query ShadowReport($since: DateTime, $until: DateTime, $serviceId: ID, $limit: Int,
                   $offset: Int) {{
  result: shadowReport(since: $since, until: $until, serviceId: $serviceId, limit: $limit,
                       offset: $offset) {{
    nodes {{
      notification_id: notificationId
      incident {{ id number title service {{ id name }} }}
      user {{ id name }} channel contact_method_id: contactMethodId step
      planned_at: plannedAt due_at: dueAt outcome
    }} {PAGINATION}
  }}
}}""")
AUDIT_LOG = document(f"""
query AuditLog($resourceType: String, $resourceId: ID, $actorId: ID, $action: String,
               $since: DateTime, $until: DateTime, $limit: Int, $offset: Int) {{
  result: auditLog(resourceType: $resourceType, resourceId: $resourceId, actorId: $actorId,
                   action: $action, since: $since, until: $until, limit: $limit,
                   offset: $offset) {{
    nodes {{
      id at action resource_type: resourceType resource_id: resourceId
      actor_type: actorType actor_id: actorId actor_name: actorName api_key_id: apiKeyId
      session_id: sessionId ip changes
    }} {PAGINATION}
  }}
}}""")

# --- webhooks and contact methods --------------------------------------------------------
_WEBHOOK = """id name url format events enabled include_test: includeTest service_ids: serviceIds
  consecutive_failures: consecutiveFailures disabled_reason: disabledReason
  created_at: createdAt updated_at: updatedAt"""
_DELIVERY = """id event event_id: eventId incident_id: incidentId status attempts
  last_status_code: lastStatusCode last_error: lastError created_at: createdAt
  delivered_at: deliveredAt next_attempt_at: nextAttemptAt"""
_CONTACT = "id user_id: userId type address created_at: createdAt"
LIST_WEBHOOKS = document(f"""
query ListWebhooks($limit: Int, $offset: Int) {{
  result: webhooks(limit: $limit, offset: $offset) {{ nodes {{ {_WEBHOOK} }} {PAGINATION} }}
}}""")
GET_WEBHOOK = document(
    f"query GetWebhook($id: ID!) {{ result: webhook(id: $id) {{ {_WEBHOOK} }} }}"
)
CREATE_WEBHOOK = document(f"""
mutation CreateWebhook($input: WebhookInput!) {{
  result: createWebhook(input: $input) {{ {_WEBHOOK} secret }}
}}""")
UPDATE_WEBHOOK = document(f"""
mutation UpdateWebhook($id: ID!, $input: WebhookInput!) {{
  result: updateWebhook(id: $id, input: $input) {{ {_WEBHOOK} }}
}}""")
DELETE_WEBHOOK = document(
    "mutation DeleteWebhook($id: ID!) { result: deleteWebhook(id: $id) { id deleted } }"
)
ROTATE_WEBHOOK_SECRET = document(f"""
mutation RotateWebhookSecret($id: ID!, $secret: String) {{
  result: rotateWebhookSecret(id: $id, secret: $secret) {{ {_WEBHOOK} secret }}
}}""")
LIST_DELIVERIES = document(f"""
query ListDeliveries($webhookId: ID!, $limit: Int, $offset: Int) {{
  result: webhookDeliveries(webhookId: $webhookId, limit: $limit, offset: $offset) {{
    nodes {{ {_DELIVERY} }} {PAGINATION}
  }}
}}""")
REDELIVER = document(f"""
mutation Redeliver($webhookId: ID!, $id: ID!) {{
  result: redeliverWebhookDelivery(webhookId: $webhookId, id: $id) {{ {_DELIVERY} }}
}}""")
PING_WEBHOOK = document(
    f"mutation PingWebhook($id: ID!) {{ result: pingWebhook(id: $id) {{ {_DELIVERY} }} }}"
)
LIST_CONTACT_METHODS = document(f"""
query ListContactMethods($userId: ID!) {{
  result: contactMethods(userId: $userId) {{ {_CONTACT} }}
}}""")
CREATE_CONTACT_METHOD = document(f"""
mutation CreateContactMethod($userId: ID!, $input: ContactMethodInput!) {{
  result: createContactMethod(userId: $userId, input: $input) {{ {_CONTACT} secret }}
}}""")
TEST_CONTACT_METHOD = document("""
mutation TestContactMethod($userId: ID!, $id: ID!) {
  result: testContactMethod(userId: $userId, id: $id) { delivered error }
}""")
_RULE = "id contact_method_id: contactMethodId delay_minutes: delayMinutes urgency"
LIST_NOTIFICATION_RULES = document(f"""
query ListNotificationRules($userId: ID!) {{
  result: notificationRules(userId: $userId) {{ {_RULE} }}
}}""")
SET_NOTIFICATION_RULES = document(f"""
mutation SetNotificationRules($userId: ID!, $rules: [NotificationRuleInput!]!) {{
  result: setNotificationRules(userId: $userId, rules: $rules) {{ {_RULE} }}
}}""")
DELETE_CONTACT_METHOD = document("""
mutation DeleteContactMethod($userId: ID!, $id: ID!) {
  result: deleteContactMethod(userId: $userId, id: $id) { id deleted }
}""")

# --- the live feed as server-sent events ------------------------------------------------
INCIDENT_STREAM = document("""
subscription IncidentStream($filter: IncidentChangeFilter, $after: String) {
  result: incidentChanged(filter: $filter, after: $after) {
    id event occurred_at: occurredAt sequence incident { ...IncidentListFields }
  }
}""")
