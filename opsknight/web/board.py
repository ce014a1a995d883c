"""The incidents board's view: its filters and page, read from the address.

``?status=OPEN&status=ACKNOWLEDGED&urgency=HIGH&service=svc_…&team=team_…&mine=1&page=2``;
without a status, the open and acknowledged incidents. Sorted like the API (newest
first), 50 to a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from opsknight.errors import ValidationFailed

PAGE_SIZE = 50
STATUSES = ("OPEN", "ACKNOWLEDGED", "SNOOZED", "RESOLVED", "SUPPRESSED")
URGENCIES = ("HIGH", "MEDIUM", "LOW")
DEFAULT_STATUSES = ("OPEN", "ACKNOWLEDGED")

DOCUMENT = """
query Board($filter: IncidentFilterInput, $limit: Int, $offset: Int) {
  incidents(filter: $filter, limit: $limit, offset: $offset) {
    nodes { id number title status urgency createdAt service { name } }
    pagination { total limit offset hasMore }
  }
  services(limit: 100) { nodes { id name } }
  teams(limit: 100) { nodes { id name } }
  users(limit: 100, status: ACTIVE) { nodes { id name } }
  shadowMode { enabled }
}
"""


@dataclass(frozen=True)
class View:
    statuses: tuple[str, ...] = DEFAULT_STATUSES
    urgencies: tuple[str, ...] = ()
    service_id: str = ""
    team_id: str = ""
    mine: bool = False
    page: int = 1

    def variables(self, user_id: str) -> dict[str, Any]:
        wanted: dict[str, Any] = {"statuses": list(self.statuses)}
        if self.urgencies:
            wanted["urgencies"] = list(self.urgencies)
        if self.service_id:
            wanted["serviceIds"] = [self.service_id]
        if self.team_id:
            wanted["teamIds"] = [self.team_id]
        if self.mine:
            wanted["assigneeIds"] = [user_id]
        return {"filter": wanted, "limit": PAGE_SIZE, "offset": (self.page - 1) * PAGE_SIZE}

    def query(self, page: int | None = None) -> str:
        """The address's query for this view (on another page when ``page`` is given)."""
        pairs: list[tuple[str, str]] = []
        if self.statuses != DEFAULT_STATUSES:
            pairs += [("status", s) for s in self.statuses]
        pairs += [("urgency", u) for u in self.urgencies]
        if self.service_id:
            pairs.append(("service", self.service_id))
        if self.team_id:
            pairs.append(("team", self.team_id))
        if self.mine:
            pairs.append(("mine", "1"))
        if (page or self.page) > 1:
            pairs.append(("page", str(page or self.page)))
        return urlencode(pairs)


def _chosen(values: list[str], allowed: tuple[str, ...], field: str) -> tuple[str, ...]:
    unknown = [v for v in values if v.upper() not in allowed]
    if unknown:
        raise ValidationFailed(
            f"{field} must be one of {', '.join(allowed)} (got {unknown[0][:40]})", field=field
        )
    return tuple(dict.fromkeys(v.upper() for v in values))


def view_of(params: list[tuple[str, str]]) -> View:
    """The view an address asks for; VALIDATION_ERROR naming the parameter otherwise."""
    values: dict[str, list[str]] = {}
    for key, value in params:
        if value:
            values.setdefault(key, []).append(value)
    page = (values.get("page") or ["1"])[-1]
    if not page.isdigit() or not 1 <= int(page) <= 10_000:
        raise ValidationFailed("page must be a number from 1", field="page")
    return View(
        statuses=_chosen(values.get("status", []), STATUSES, "status") or DEFAULT_STATUSES,
        urgencies=_chosen(values.get("urgency", []), URGENCIES, "urgency"),
        service_id=(values.get("service") or [""])[-1][:60],
        team_id=(values.get("team") or [""])[-1][:60],
        mine=(values.get("mine") or [""])[-1] in ("1", "on", "true"),
        page=int(page),
    )
