"""What console tests share: people to sign in, and signing in with a browser-like client."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.conftest import Api, unique

PASSWORD = "correct horse battery"


async def person(api: Api, role: str = "RESPONDER") -> dict[str, Any]:
    email = f"{unique('ada')}@example.com"
    user = await api.create(
        "/api/users", {"name": "Ada Console", "email": email, "role": role, "password": PASSWORD}
    )
    return {**user, "email": email}


def field(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match is not None, f"no {name} in the page"
    return match.group(1)


async def sign_in(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, next_path: str = "/"
) -> httpx.Response:
    form = await client.get("/sign-in", params={"next": next_path})
    return await client.post(
        "/sign-in",
        data={"csrf": field(form.text, "csrf"), "next": next_path, "email": email,
              "password": password},
    )  # fmt: skip
