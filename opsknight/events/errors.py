"""The Events API's own validation failure: §1 error plus the PagerDuty ``errors`` list."""

from __future__ import annotations

from opsknight.errors import ValidationFailed


class EventInvalid(ValidationFailed):
    """An event that fails validation; ``problems`` are PagerDuty-style messages."""

    def __init__(self, problems: list[str], *, field: str | None = None) -> None:
        super().__init__(
            "Event object is invalid: " + "; ".join(problems),
            field=field,
            reason="invalid_event",
            errors=problems,
        )
        self.problems = problems


class OpsgenieInvalid(ValidationFailed):
    """A request to the Opsgenie Alert API that fails validation: ``fields`` maps each bad
    field to Opsgenie's style of message."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(
            "Request body is not processable: "
            + "; ".join(f"{name}: {text}" for name, text in fields.items()),
            field=next(iter(fields)),
            reason="invalid",
            fields=fields,
        )
