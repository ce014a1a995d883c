"""`opsknight demo`: sample data a new user can explore at once; running it twice adds
nothing."""

from __future__ import annotations

import json
import re

from tests.servers import Processes, cli
from tests.test_jobs_processes import database, environment

__all__ = ["database"]  # the fixture, shared with the jobs tests


def _key(output: str) -> str:
    found = re.search(r"Admin API key[^:]*: (sk_live_\S+)", output)
    assert found, output
    return found.group(1)


async def test_demo_loads_sample_data_once_and_prints_a_working_key(database: str) -> None:
    env = environment(database, 1)
    first = _key(cli(env, "demo"))
    output = cli(env, "demo")
    second = _key(output)
    assert first != second
    assert "curl -s http://127.0.0.1:8080/api/incidents" in output

    group = Processes(env)
    try:
        _, client = await group.serve(second)
        async with client:
            incidents = (await client.get("/api/incidents?include_merged=true")).json()
            by_status = sorted(i["status"] for i in incidents["data"])
            assert by_status == ["ACKNOWLEDGED", "OPEN", "RESOLVED", "SNOOZED"]
            open_one = next(i for i in incidents["data"] if i["status"] == "OPEN")
            assert open_one["escalation_status"] == "ACTIVE"
            services = (await client.get("/api/services")).json()["data"]
            assert sorted(s["name"] for s in services) == ["Checkout API", "Edge proxy",
                                                           "Payments DB"]  # fmt: skip
            assert len((await client.get("/api/teams")).json()["data"]) == 2
            assert len((await client.get("/api/users")).json()["data"]) == 5
            assert len((await client.get("/api/webhooks")).json()["data"]) == 1
            schedules = (await client.get("/api/schedules")).json()["data"]
            assert [len(s["layers"]) for s in schedules] == [2]
            on_call = (await client.get("/api/on-call")).json()["data"]
            assert on_call and on_call[0]["schedule"]["name"] == "Payments primary"
            # The first run's key was replaced by the second's.
            old = await client.get("/api/incidents", headers={"Authorization": f"Bearer {first}"})
            assert old.status_code == 401
    finally:
        group.stop_all()


def test_the_demo_echo_prints_a_page_with_its_response_links() -> None:
    from opsknight.demo import page_text

    page = {
        "event": "notification",
        "recipient": {"name": "Alice"},
        "incident": {"number": 7, "urgency": "HIGH", "title": "Checkout errors"},
        "links": {
            "acknowledge": "http://x/respond/s/acknowledge",
            "resolve": "http://x/respond/s/resolve",
        },
    }
    text = page_text(json.dumps(page).encode())
    assert text is not None
    assert "PAGE for Alice: #7 HIGH Checkout errors" in text
    assert "Acknowledge: http://x/respond/s/acknowledge" in text
    assert page_text(b'{"event": "incident.triggered"}') is None
