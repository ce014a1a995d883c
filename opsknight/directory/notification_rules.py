"""A person's notification rules: which of their contact methods to use, how many
minutes after they are paged, for which urgency — e.g. push at once, SMS after 2
minutes, email after 5 for HIGH incidents. Pages by a delayed rule are dropped once the
incident is acknowledged or resolved. A person without rules gets every contact method
at once. People set their own rules; setting someone else's takes ``users:write``.
"""

from __future__ import annotations

from typing import Any

from opsknight import clock, validation
from opsknight.auth.principal import Principal
from opsknight.directory.contact_methods import may_manage
from opsknight.directory.models import ContactMethod, NotificationRule, User
from opsknight.errors import ValidationFailed
from opsknight.records import get_or_404
from opsknight.transaction import atomic

URGENCIES = ("HIGH", "MEDIUM", "LOW", "ANY")
MAX_RULES = 20
MAX_DELAY = 1440  # minutes


async def list_rules(principal: Principal, user_id: str) -> list[NotificationRule]:
    principal.require("users:read")
    await get_or_404(User, user_id, "user")
    return list(await NotificationRule.filter(user_id=user_id).order_by("position"))


async def set_rules(
    principal: Principal, user_id: str, rules: list[dict[str, Any]]
) -> list[NotificationRule]:
    """Replace the person's rules with ``rules`` (in order); an empty list removes them."""
    may_manage(principal, user_id)
    user = await get_or_404(User, user_id, "user")
    if len(rules) > MAX_RULES:
        raise ValidationFailed(
            f"a person has at most {MAX_RULES} notification rules", field="rules",
            reason="too_many",
        )  # fmt: skip
    own = {m.id for m in await ContactMethod.filter(user_id=user.id)}
    now = clock.now()
    rows = []
    for index, rule in enumerate(rules):
        at = f"rules[{index}]"
        method_id = rule.get("contact_method_id")
        if method_id not in own:
            raise ValidationFailed(
                f"{at}.contact_method_id is not one of this person's contact methods",
                field=f"{at}.contact_method_id",
                reason="not_found",
            )
        delay = validation.number(
            rule.get("delay_minutes", 0),
            f"{at}.delay_minutes",
            minimum=0,
            maximum=MAX_DELAY,
        )
        urgency = validation.choice(rule.get("urgency") or "ANY", f"{at}.urgency", URGENCIES)
        rows.append(
            NotificationRule(
                user_id=user.id,
                contact_method_id=method_id,
                position=index + 1,
                delay_minutes=delay,
                urgency=urgency,
                created_at=now,
            )
        )
    async with atomic():
        await NotificationRule.filter(user_id=user.id).delete()
        if rows:
            await NotificationRule.bulk_create(rows)
    return await list_rules(principal, user_id)


def applies(rule: NotificationRule, urgency: str) -> bool:
    return rule.urgency in ("ANY", urgency)
