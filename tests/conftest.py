"""Fixtures: one freshly migrated database per run (SQLite, or PostgreSQL when
OPSKNIGHT_TEST_DATABASE_URL names a server), the app with its lifespan, and API clients."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse, urlunparse

import httpx
import pytest
from asgi_lifespan import LifespanManager

from opsknight import db, runtime
from opsknight.app import create_app
from opsknight.auth.api_keys import issue
from opsknight.auth.scopes import ALL_SCOPES
from opsknight.config import Settings
from opsknight.directory.users import UserFields, new_user

REDIS_URL = os.environ.get("OPSKNIGHT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

# Snoozes and other delays run 600x faster in tests: a 1-minute snooze lasts 0.1 s.
TIME_SCALE = 600.0


async def _create_postgres_database(server_url: str) -> tuple[str, str]:
    import asyncpg

    parsed = urlparse(server_url.replace("postgresql://", "postgres://", 1))
    name = f"opsknight_test_{secrets.token_hex(6)}"
    try:
        conn = await asyncpg.connect(
            server_url.replace("postgres://", "postgresql://", 1), timeout=10
        )
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"OPSKNIGHT_TEST_DATABASE_URL is set but PostgreSQL is unreachable: {exc}")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return urlunparse(parsed._replace(path=f"/{name}")), name


async def _drop_postgres_database(server_url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(server_url.replace("postgres://", "postgresql://", 1), timeout=10)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def database_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    server_url = os.environ.get("OPSKNIGHT_TEST_DATABASE_URL")
    if server_url:
        url, name = await _create_postgres_database(server_url)
        try:
            await db.migrate(url)
            yield url
        finally:
            await _drop_postgres_database(server_url, name)
    else:
        url = f"sqlite://{tmp_path_factory.mktemp('db') / 'opsknight.db'}"
        await db.migrate(url)
        yield url


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        time_scale=TIME_SCALE,
        sweep_seconds=0.05,
        # Webhook receivers in tests listen on 127.0.0.1; the guard tests switch it back on.
        webhook_allow_private=True,
    )


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[Any]:
    # The session's app adopts the process's default runtime, so tests that call the
    # domain directly (a sweep, a job) act on the same batcher, live hub and queue.
    application = create_app(settings, runtime=runtime.current())
    async with LifespanManager(application) as manager:
        yield manager.app


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@dataclass
class Api:
    """An HTTP client acting with one API key."""

    client: httpx.AsyncClient
    key: str
    user_id: str
    key_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return await self.client.request(method, path, headers=headers, **kwargs)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, json=json, **kwargs)

    async def patch(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return await self.request("PATCH", path, json=json, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("DELETE", path, **kwargs)

    async def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.post("/graphql", {"query": query, "variables": variables or {}})
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.post(path, body)
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()["data"]
        return data


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


async def make_api(
    client: httpx.AsyncClient,
    *,
    role: str = "ADMIN",
    scopes: list[str] | None = None,
    environment: str = "live",
) -> Api:
    user = await new_user(
        UserFields(name=unique(role.lower()), email=f"{unique('u')}@example.com", role=role)
    )
    issued = await issue(user, "test key", scopes or list(ALL_SCOPES), environment)
    return Api(client=client, key=issued.secret, user_id=user.id, key_id=issued.row.id)


@pytest.fixture
async def admin(client: httpx.AsyncClient) -> Api:
    return await make_api(client)


@pytest.fixture
async def service(admin: Api) -> dict[str, Any]:
    return await admin.create("/api/services", {"name": unique("svc")})


async def open_incident(api: Api, service_id: str, **fields: Any) -> dict[str, Any]:
    return await api.create(
        "/api/incidents",
        {"title": fields.pop("title", "Disk full"), "service_id": service_id, **fields},
    )


@pytest.fixture(scope="session")
async def unlimited(app: Any, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The same server without rate limits (its ORM is the session app's), for tests
    that send many requests with one key."""
    relaxed = create_app(
        settings.model_copy(update={"rate_limits": "off"}), runtime=runtime.current()
    )
    transport = httpx.ASGITransport(app=relaxed)
    async with httpx.AsyncClient(transport=transport, base_url="http://unlimited") as client:
        yield client


def _redis_up() -> bool:
    import socket

    parsed = urlparse(REDIS_URL)
    try:
        with socket.create_connection((parsed.hostname, parsed.port or 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def redis_url() -> str:
    """The machine's Redis; tests keep to their own key prefix. Under CI=true an
    unreachable Redis fails the test instead of skipping it."""
    if not _redis_up():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required under CI=true and is not reachable at {REDIS_URL}")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    return REDIS_URL


@pytest.fixture
async def receiver() -> AsyncIterator[Any]:
    """A webhook receiver on a loopback port (tests/receiver.py)."""
    from tests.receiver import Receiver

    async with Receiver().running() as running:
        yield running


@contextlib.asynccontextmanager
async def serving(application: Any, certfile: str | None = None) -> AsyncIterator[str]:
    """``application`` behind uvicorn on a loopback port (its ORM already up): host:port.
    With ``certfile`` (key and certificate chain in one PEM) it serves HTTPS."""
    import asyncio

    import uvicorn

    from tests.servers import free_port

    port = free_port()
    config = uvicorn.Config(
        application, host="127.0.0.1", port=port, lifespan="off", log_level="error",
        ssl_certfile=certfile,
    )  # fmt: skip
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@pytest.fixture(scope="session")
async def served_url(app: Any) -> AsyncIterator[str]:
    """The session's app on a loopback port, for WebSockets and streams."""
    async with serving(app) as url:
        yield url


@pytest.fixture
async def browser(served_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the console that keeps cookies, like a browser; failed sign-ins of the
    test's address are forgotten afterwards, so they do not slow other tests down."""
    from opsknight.auth.models import SignInFailures

    async with httpx.AsyncClient(
        base_url=f"http://{served_url}", headers={"Accept": "text/html"}
    ) as client:
        yield client
    await SignInFailures.filter(key__startswith="ip:").delete()


@dataclass
class SmtpSink:
    """A real SMTP server (aiosmtpd) on a loopback port; keeps every message it accepts."""

    port: int
    messages: list[Any]
    handler: Any
    controller: Any
    greetings: list[str]  # one per SMTP session a client opened (its EHLO)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def restart(self) -> None:
        """Stop and start again on the same port: every open session is dropped."""
        from aiosmtpd.controller import Controller

        self.controller.stop()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[Any]:
        import asyncio

        async with asyncio.timeout(timeout):
            while len(self.messages) < count:
                await asyncio.sleep(0.02)
        return self.messages


@pytest.fixture
def smtp_sink() -> Any:
    """An SMTP server the email notifier sends to for the test's duration."""
    from email import message_from_bytes, policy

    from aiosmtpd.controller import Controller

    from opsknight.notifications import email
    from tests.servers import free_port

    class Handler:
        def __init__(self) -> None:
            self.messages: list[Any] = []
            self.greetings: list[str] = []

        async def handle_EHLO(
            self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
        ) -> list[str]:
            session.host_name = hostname
            self.greetings.append(hostname)
            return responses

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            parsed = message_from_bytes(envelope.content, policy=policy.default)
            self.messages.append(parsed)
            return "250 Message accepted for delivery"

    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    sink = SmtpSink(controller.port, handler.messages, handler, controller, handler.greetings)
    email.configure(sink.url, "OpsKnight <pager@example.com>")
    try:
        yield sink
    finally:
        email.configure(None, "")
        sink.controller.stop()
