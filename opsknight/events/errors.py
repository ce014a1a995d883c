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
