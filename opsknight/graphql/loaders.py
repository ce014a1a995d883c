"""DataLoaders: one batched query per kind of nested object, per request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from strawberry.dataloader import DataLoader

from opsknight.directory import services, teams, users
from opsknight.escalation import policies
from opsknight.events import changes
from opsknight.incidents import queries
from opsknight.maintenance.service import suppressing
from opsknight.schedules import service as schedules


class Loaders:
    """Creates each loader on first use, so a request pays only for what it reads."""

    def __init__(self) -> None:
        self._loaders: dict[str, DataLoader[Any, Any]] = {}

    @property
    def used(self) -> bool:
        """Whether any loader was created (and may hold cached rows)."""
        return bool(self._loaders)

    def _get(
        self, name: str, load: Callable[[list[Any]], Awaitable[list[Any]]]
    ) -> DataLoader[Any, Any]:
        loader = self._loaders.get(name)
        if loader is None:
            loader = DataLoader(load_fn=load)
            self._loaders[name] = loader
        return loader

    @property
    def user(self) -> DataLoader[Any, Any]:
        return self._get("user", users.users_by_ids)

    @property
    def team(self) -> DataLoader[Any, Any]:
        return self._get("team", teams.teams_by_ids)

    @property
    def team_members(self) -> DataLoader[Any, Any]:
        return self._get("team_members", teams.members_by_team)

    @property
    def service(self) -> DataLoader[Any, Any]:
        return self._get("service", services.services_by_ids)

    @property
    def integration(self) -> DataLoader[Any, Any]:
        return self._get("integration", services.integrations_by_ids)

    @property
    def policy(self) -> DataLoader[Any, Any]:
        return self._get("policy", policies.policies_by_ids)

    @property
    def timeline(self) -> DataLoader[Any, Any]:
        return self._get("timeline", queries.timelines_by_incident)

    @property
    def notes(self) -> DataLoader[Any, Any]:
        return self._get("notes", queries.notes_by_incident)

    @property
    def recent_changes(self) -> DataLoader[Any, Any]:
        return self._get("recent_changes", changes.recent_changes_for)

    @property
    def schedule(self) -> DataLoader[Any, Any]:
        return self._get("schedule", schedules.schedules_by_ids)

    @property
    def policy_steps(self) -> DataLoader[Any, Any]:
        return self._get("policy_steps", policies.steps_by_policy)

    @property
    def schedule_layers(self) -> DataLoader[Any, Any]:
        return self._get("schedule_layers", schedules.layers_by_schedule)

    @property
    def layer_members(self) -> DataLoader[Any, Any]:
        return self._get("layer_members", schedules.members_by_layer)

    @property
    def maintenance(self) -> DataLoader[Any, Any]:
        """The maintenance window each service is in now (or None)."""

        async def load(service_ids: list[str]) -> list[str | None]:
            windows = await suppressing(set(service_ids))
            return [windows.get(s) for s in service_ids]

        return self._get("maintenance", load)

    def service_health(self, environment: str) -> DataLoader[Any, Any]:
        async def load(service_ids: list[str]) -> list[tuple[str, int]]:
            return await services.health_of(service_ids, environment)

        return self._get(f"service_health:{environment}", load)
