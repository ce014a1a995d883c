"""The ceiling for the events benchmark: a bare Starlette endpoint doing one INSERT.

Run as ``uvicorn benchmarks.ceiling_app:app`` with OPSKNIGHT_DATABASE_URL set (benchmarks/
events.py gives it the same PostgreSQL server as OpsKnight, or a SQLite file of its own
beside OpsKnight's); no ORM, GraphQL or validation.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

URL = os.environ["OPSKNIGHT_DATABASE_URL"]
_state: dict[str, Any] = {}


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    if URL.startswith("sqlite"):
        import aiosqlite

        conn = await aiosqlite.connect(URL.removeprefix("sqlite://"))
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_ceiling (id TEXT PRIMARY KEY, body TEXT)"
        )
        await conn.commit()
        _state["sqlite"] = conn
        yield
        await conn.close()
    else:
        import asyncpg

        pool = await asyncpg.create_pool(URL.replace("postgres://", "postgresql://", 1))
        await pool.execute(
            "CREATE TABLE IF NOT EXISTS bench_ceiling (id TEXT PRIMARY KEY, body TEXT)"
        )
        _state["pg"] = pool
        yield
        await pool.close()


async def insert(request: Request) -> JSONResponse:
    body = (await request.body()).decode()
    key = uuid.uuid4().hex
    if "sqlite" in _state:
        conn = _state["sqlite"]
        await conn.execute("INSERT INTO bench_ceiling VALUES (?, ?)", (key, body))
        await conn.commit()
    else:
        await _state["pg"].execute("INSERT INTO bench_ceiling VALUES ($1, $2)", key, body)
    return JSONResponse({"status": "success", "dedup_key": key}, status_code=202)


app = Starlette(routes=[Route("/v2/enqueue", insert, methods=["POST"])], lifespan=lifespan)
