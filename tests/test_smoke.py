from __future__ import annotations

from tests.conftest import Api, open_incident


async def test_walk_an_incident_open_ack_resolve_reopen(admin: Api, service: dict) -> None:
    incident = await open_incident(admin, service["id"])
    for status in ("ACKNOWLEDGED", "RESOLVED", "OPEN"):
        response = await admin.patch(f"/api/incidents/{incident['id']}", {"status": status})
        assert response.status_code == 200, response.text
        assert response.json()["data"]["status"] == status


def test_the_modules_around_pages_and_announcements_import_on_their_own() -> None:
    # Incidents, escalation, notifications and webhooks import one another; each must
    # still import first, in a fresh interpreter (as a worker, a tool or a test may).
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    modules = sorted(
        ".".join(path.relative_to(root).with_suffix("").parts)
        for package in ("incidents", "escalation", "notifications", "webhooks")
        for path in (root / "opsknight" / package).glob("*.py")
        if path.name != "__init__.py"
    )

    def importing(module: str) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-c", f"import {module}"]
        return subprocess.Popen(
            command, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    running = {module: importing(module) for module in modules}
    failed = {}
    for module, process in running.items():
        _, error = process.communicate(timeout=120)
        if process.returncode != 0:
            failed[module] = error.decode().strip().splitlines()[-1]
    assert len(modules) > 20 and failed == {}
