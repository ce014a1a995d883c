"""`opsknight import`: the set-up of the old tool from one file, idempotent, with a dry
run that shows the changes and writes nothing."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from opsknight.auth.principal import Principal
from opsknight.auth.scopes import ALL_SCOPES
from opsknight.errors import ValidationFailed
from opsknight.imports.service import Change, run
from tests.conftest import Api, make_api, unique

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
async def admin(unlimited: httpx.AsyncClient) -> Api:
    return await make_api(unlimited)


def as_admin(api: Api) -> Principal:
    return Principal(user_id=api.user_id, user_name="Importer", role="ADMIN",
                     scopes=frozenset(ALL_SCOPES), environment="live")  # fmt: skip


def export(tag: str) -> dict[str, Any]:
    """What a team brings from PagerDuty: two people, a weekly rotation, a policy and a
    service with the routing key its senders already use."""
    ada, grace = f"ada-{tag}@example.com", f"grace-{tag}@example.com"
    return {
        "users": [
            {"name": "Ada Lovelace", "email": ada, "time_zone": "Europe/London"},
            {"name": "Grace Hopper", "email": grace, "role": "admin"},
        ],
        "teams": [{"name": f"Payments {tag}", "members": [{"email": ada}, {"email": grace}]}],
        "schedules": [{
            "name": f"Payments primary {tag}", "time_zone": "Europe/Berlin",
            "team": f"Payments {tag}",
            "layers": [{"name": "Weekly", "rotation_type": "weekly",
                        "handoff_start": "2026-01-05T09:00:00", "users": [ada, grace]}],
        }],
        "escalation_policies": [{
            "name": f"Payments {tag}", "repeat": True, "repeat_limit": 2,
            "steps": [{"schedule": f"Payments primary {tag}", "delay_minutes": 30},
                      {"user": grace}],
        }],
        "services": [{
            "name": f"Payments API {tag}", "escalation_policy": f"Payments {tag}",
            "team": f"Payments {tag}",
            "integrations": [{"name": "Prometheus", "key": f"pd{tag}".ljust(32, "0")}],
        }],
    }  # fmt: skip


def actions(changes: list[Change]) -> list[tuple[str, str]]:
    return [(c.action, c.kind) for c in changes]


async def test_an_export_is_imported_once_and_again_changes_nothing(
    admin: Api, client: httpx.AsyncClient
) -> None:
    tag = unique("t").split("-")[1]
    document = export(tag)
    principal = as_admin(admin)
    planned = await run(principal, document, dry_run=True)
    assert actions(planned) == [
        ("create", "user"), ("create", "user"), ("create", "team"), ("create", "schedule"),
        ("create", "escalation_policy"), ("create", "service"), ("create", "integration"),
    ]  # fmt: skip
    listed = await admin.get("/api/services", params={"q": f"Payments API {tag}"})
    assert listed.json()["data"] == []  # the dry run wrote nothing

    done = await run(principal, document, dry_run=False)
    assert actions(done) == actions(planned)
    [service] = (await admin.get("/api/services", params={"q": f"Payments API {tag}"})).json()[
        "data"
    ]
    assert service["escalation_policy"]["name"] == f"Payments {tag}"
    assert service["team"]["name"] == f"Payments {tag}"
    [policy] = (
        await admin.get("/api/escalation-policies", params={"q": f"Payments {tag}"})
    ).json()["data"]
    assert [s["target"]["type"] for s in policy["steps"]] == ["SCHEDULE", "USER"]
    assert policy["repeat_limit"] == 2
    users = (await admin.get("/api/users", params={"q": tag, "limit": 10})).json()["data"]
    assert sorted((u["name"], u["role"]) for u in users) == [
        ("Ada Lovelace", "RESPONDER"), ("Grace Hopper", "ADMIN")]  # fmt: skip
    # The old routing key works as it did.
    sent = await client.post("/v2/enqueue", json={
        "routing_key": f"pd{tag}".ljust(32, "0"), "event_action": "trigger",
        "payload": {"summary": "Imported", "source": "s", "severity": "info"}})  # fmt: skip
    assert sent.status_code == 202, sent.text

    again = await run(principal, document, dry_run=False)
    assert {c.action for c in again} == {"unchanged"}

    # One change in the file: exactly that is updated, shown first by a dry run.
    changed = copy.deepcopy(document)
    changed["schedules"][0]["layers"][0]["users"].reverse()
    changed["services"][0]["description"] = "Card payments"
    preview = await run(principal, changed, dry_run=True)
    updates = [(c.kind, c.fields) for c in preview if c.action == "update"]
    assert updates == [("schedule", ["layers"]), ("service", ["description"])]
    assert (await admin.get(f"/api/services/{service['id']}")).json()["data"]["description"] is None
    applied = await run(principal, changed, dry_run=False)
    assert [(c.kind, c.fields) for c in applied if c.action == "update"] == updates
    fetched = (await admin.get(f"/api/services/{service['id']}")).json()["data"]
    assert fetched["description"] == "Card payments"


async def test_a_file_with_a_problem_writes_nothing_and_says_where(admin: Api) -> None:
    tag = unique("t").split("-")[1]
    principal = as_admin(admin)
    broken = export(tag)
    broken["escalation_policies"][0]["steps"][1] = {"user": "nobody@example.com"}
    with pytest.raises(ValidationFailed) as refused:
        await run(principal, broken, dry_run=False)
    assert refused.value.details["field"] == "escalation_policies[0].steps[1].user"
    assert "nobody@example.com" in refused.value.message
    found = await admin.get("/api/users", params={"q": tag})
    assert found.json()["data"] == []  # the users before the problem were not kept

    misspelt = export(tag)
    misspelt["services"][0]["integrations"][0]["routing_key"] = "x"
    with pytest.raises(ValidationFailed) as unknown:
        await run(principal, misspelt, dry_run=True)
    assert unknown.value.details["field"] == "services[0].integrations[0].routing_key"

    bad_key = export(tag)
    bad_key["services"][0]["integrations"][0]["key"] = "too short"
    with pytest.raises(ValidationFailed) as short:
        await run(principal, bad_key, dry_run=False)
    assert short.value.details["field"] == "services[0].integrations[0].key"
    assert (await admin.get("/api/users", params={"q": tag})).json()["data"] == []


def cli(env: dict[str, str], *args: str, expect: int = 0) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "opsknight.cli", *args], env=env, capture_output=True,
        text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == expect, (result.stdout, result.stderr)
    return result.stdout + result.stderr


def test_the_import_command_reads_yaml_and_json(tmp_path: Path) -> None:
    import yaml

    env = {**os.environ, "OPSKNIGHT_DATABASE_URL": f"sqlite://{tmp_path / 'import.db'}"}
    cli(env, "migrate")
    refused = cli(env, "import", str(tmp_path / "missing.yaml"), expect=2)
    assert "cannot read" in refused
    cli(env, "user", "--name", "Root", "--email", "root@example.com", "--role", "admin")
    document = export("cli")
    (tmp_path / "export.yaml").write_text(yaml.safe_dump(document))
    (tmp_path / "export.json").write_text(json.dumps(document))

    dry = cli(env, "import", str(tmp_path / "export.yaml"), "--dry-run")
    assert "create    service           Payments API cli" in dry
    assert dry.strip().endswith("7 to create, 0 to update, 0 unchanged (dry run: nothing written)")
    real = cli(env, "import", str(tmp_path / "export.yaml"), "--as", "ROOT@example.com")
    assert real.strip().endswith("7 create, 0 update, 0 unchanged")
    again = cli(env, "import", str(tmp_path / "export.json"))
    assert again.strip().endswith("0 create, 0 update, 7 unchanged")
    (tmp_path / "bad.yaml").write_text("users: [{name: X, email: not-an-email}]")
    bad = cli(env, "import", str(tmp_path / "bad.yaml"), expect=2)
    assert "users[0].email" in bad
