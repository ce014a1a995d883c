from __future__ import annotations

from tests.conftest import Api, open_incident


async def test_walk_an_incident_open_ack_resolve_reopen(admin: Api, service: dict) -> None:
    incident = await open_incident(admin, service["id"])
    for status in ("ACKNOWLEDGED", "RESOLVED", "OPEN"):
        response = await admin.patch(f"/api/incidents/{incident['id']}", {"status": status})
        assert response.status_code == 200, response.text
        assert response.json()["data"]["status"] == status
