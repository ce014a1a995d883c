"""The opsknight command as an operator runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    database = tmp_path_factory.mktemp("cli") / "cli.db"
    env = {**os.environ, "OPSKNIGHT_DATABASE_URL": f"sqlite://{database}"}
    run(env, "migrate")
    run(env, "user", "--name", "Dup", "--email", "dup@company.com")
    return env


def run(env: dict[str, str], *args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "opsknight.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == expect, (result.stdout, result.stderr)
    return result


def test_migrate_twice_is_harmless(cli_env: dict[str, str]) -> None:
    assert "migrations applied" in run(cli_env, "migrate").stdout


def test_bootstrap_admin_and_key(cli_env: dict[str, str]) -> None:
    created = run(cli_env, "user", "--name", "John Doe", "--email", "john@company.com",
                  "--password", "hunter2hunter2", "--role", "admin")  # fmt: skip
    assert "created user usr_" in created.stdout and "role=ADMIN" in created.stdout
    key = json.loads(
        run(cli_env, "api-key", "create", "--owner", "JOHN@company.com", "--name", "boot",
            "--scopes", "all", "--json").stdout
    )  # fmt: skip
    assert key["key"].startswith("sk_live_") and key["id"].startswith("key_")
    assert key["environment"] == "live" and "incidents:write" in key["scopes"]
    test_key = json.loads(
        run(cli_env, "api-key", "create", "--owner", "john@company.com", "--name", "sandbox",
            "--scopes", "incidents:read,events:write", "--test", "--json").stdout
    )  # fmt: skip
    assert test_key["key"].startswith("sk_test_")
    assert test_key["scopes"] == ["events:write", "incidents:read"]
    plain = run(cli_env, "api-key", "create", "--owner", "john@company.com", "--name", "p")
    assert "sk_live_" in plain.stdout


def test_user_update_and_name_alias(cli_env: dict[str, str]) -> None:
    run(cli_env, "user", "--user", "Jane Roe", "--email", "jane@company.com", "--role", "user")
    updated = run(cli_env, "user", "--email", "jane@company.com", "--role", "responder", "--update")
    assert "updated user" in updated.stdout and "role=RESPONDER" in updated.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("user", "--name", "Dup", "--email", "dup@company.com"),
        ("user", "--email", "nobody@company.com", "--role", "user", "--update"),
        ("user", "--name", "Bad", "--email", "not-an-email"),
        ("user", "--name", "Bad", "--email", "x@company.com", "--role", "emperor"),
        ("user", "--name", "No email"),
        ("api-key", "create", "--owner", "ghost@company.com", "--name", "k"),
        ("api-key", "create", "--owner", "dup@company.com", "--name", "k", "--scopes", "root"),
        ("api-key", "create", "--name", "k"),
        ("frobnicate",),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(
    cli_env: dict[str, str], args: tuple[str, ...]
) -> None:
    result = run(cli_env, *args, expect=2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("opsknight: error:"), result.stderr


def test_export_schema_prints_the_sdl(cli_env: dict[str, str]) -> None:
    assert run(cli_env, "export-schema").stdout == (ROOT / "schema.graphql").read_text()
