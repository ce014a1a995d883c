"""The opsknight command: serve, worker, migrate, user, api-key, demo, export-schema.

Every failure is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from opsknight.config import Settings, get_settings
from opsknight.errors import OpsKnightError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        _fail(message)


def _fail(message: str) -> NoReturn:
    print(f"opsknight: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {
        name: getattr(args, name)
        for name in ("database_url", "redis_url", "host", "port", "worker_metrics_port")
        if getattr(args, name, None) is not None
    }
    if getattr(args, "with_worker", False):
        overrides["with_worker"] = True
    return get_settings().model_copy(update=overrides)


async def _with_database(settings: Settings, work: Callable[[], Awaitable[Any]]) -> Any:
    from tortoise import Tortoise
    from tortoise.exceptions import OperationalError

    from opsknight.db import tortoise_config

    await Tortoise.init(config=tortoise_config(settings.database_url))
    try:
        return await work()
    except OperationalError as exc:
        _fail(f"database error ({exc}); has `opsknight migrate` been run?")
    finally:
        await Tortoise.close_connections()


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from opsknight import logs
    from opsknight.app import create_app
    from opsknight.serving import protocol_with_header_timeout

    settings = _settings(args)
    logs.configure(settings.log_level)
    app = create_app(settings)
    # Start-up objects never become garbage: keep them out of collections. The first
    # generation stays small (the default 700): each of its collections is a pause in
    # some request's latency (at 50,000 it was 15-35 ms). The middle generation is
    # collected less often than by default, so fewer in-flight objects reach the old
    # generation, whose full collections take ~0.1 ms per open WebSocket subscription
    # (docs/benchmarks.md).
    gc.freeze()
    gc.set_threshold(700, 50, 10)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        log_config=None,  # logging is set up above: JSON lines
        access_log=False,  # the metrics middleware writes one JSON line a request
        # Live-feed messages are a few hundred bytes: per-message compression saves little
        # and costs ~45 KB of zlib state per WebSocket and a compress call per message.
        ws_per_message_deflate=False,
        # X-Forwarded-For is read by middleware.Edge, from configured proxies only.
        proxy_headers=False,
        http=protocol_with_header_timeout(settings.header_timeout_seconds),
        # One WebSocket message is held to the same size as a request body.
        ws_max_size=settings.max_body_bytes,
    )


def cmd_worker(args: argparse.Namespace) -> None:
    from opsknight import logs
    from opsknight.jobs.worker import run_worker

    settings = _settings(args)
    if not settings.redis_url:
        _fail("the worker needs OPSKNIGHT_REDIS_URL (without Redis, `serve` runs the jobs itself)")
    logs.configure(settings.log_level)
    asyncio.run(run_worker(settings))


def cmd_demo(args: argparse.Namespace) -> None:
    from opsknight import db
    from opsknight.demo import instructions, run_demo

    settings = _settings(args)
    asyncio.run(db.migrate(settings.database_url))

    async def work() -> None:
        result = await run_demo()
        print(instructions(result, f"http://{settings.host}:{settings.port}"))

    asyncio.run(_run(settings, work))


def cmd_migrate(args: argparse.Namespace) -> None:
    from opsknight import db

    settings = _settings(args)
    asyncio.run(db.migrate(settings.database_url))
    print("migrations applied")


def cmd_user(args: argparse.Namespace) -> None:
    from opsknight.directory.users import UserFields, upsert_user

    name = args.name or args.user
    if not args.email:
        _fail("--email is required")
    if not args.update and not name:
        _fail("--name is required to create a user")
    fields = UserFields(
        name=name,
        email=args.email,
        password=args.password,
        role=args.role.upper() if args.role else None,
    )

    async def work() -> None:
        user, created = await upsert_user(fields, update=args.update)
        verb = "created" if created else "updated"
        print(f"{verb} user {user.id} <{user.email}> role={user.role}")

    asyncio.run(_run(_settings(args), work))


def cmd_api_key_create(args: argparse.Namespace) -> None:
    from opsknight.auth.api_keys import issue
    from opsknight.auth.scopes import ALL_SCOPES
    from opsknight.directory.models import User

    scopes = (
        list(ALL_SCOPES)
        if args.scopes == "all"
        else [s.strip() for s in args.scopes.split(",") if s.strip()]
    )
    environment = "test" if args.test else "live"

    async def work() -> None:
        owner = await User.get_or_none(email_key=args.owner.strip().lower())
        if owner is None:
            _fail(f"no user with email {args.owner}")
        issued = await issue(owner, args.name, scopes, environment)
        if args.json:
            print(
                json.dumps(
                    {
                        "id": issued.row.id,
                        "key": issued.secret,
                        "scopes": issued.row.scopes,
                        "environment": environment,
                    }
                )
            )
        else:
            print(f"API key {issued.row.id} for {owner.email} ({environment}):")
            print(issued.secret)
            print("Store it now: it is not shown again.")

    asyncio.run(_run(_settings(args), work))


def _read_document(path: str) -> Any:
    """A JSON or YAML file's content (YAML is a superset of JSON)."""
    import yaml

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror}")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        _fail(f"{path} is not JSON or YAML: {exc}")


def cmd_import(args: argparse.Namespace) -> None:
    from opsknight.auth.sessions import principal_of
    from opsknight.directory.models import User
    from opsknight.imports.service import run

    document = _read_document(args.file)

    async def work() -> None:
        admins = User.filter(role="ADMIN", status="ACTIVE")
        if args.acting_as:
            admins = admins.filter(email_key=args.acting_as.lower())
        admin = await admins.order_by("created_at").first()
        if admin is None:
            _fail(f"no active administrator {args.acting_as or ''}".rstrip()
                  + " to import as (create one: opsknight user --role admin …)")  # fmt: skip
        changes = await run(principal_of(admin), document, dry_run=args.dry_run)
        for change in changes:
            detail = f" ({', '.join(change.fields)})" if change.fields else ""
            print(f"{change.action:<9} {change.kind:<17} {change.name}{detail}")
        counts = {a: sum(c.action == a for c in changes) for a in ("create", "update", "unchanged")}
        to, tail = ("to ", " (dry run: nothing written)") if args.dry_run else ("", "")
        print(f"{counts['create']} {to}create, {counts['update']} {to}update, "
              f"{counts['unchanged']} unchanged{tail}")  # fmt: skip

    asyncio.run(_run(_settings(args), work))


def cmd_export_schema(args: argparse.Namespace) -> None:
    from opsknight.graphql.schema import sdl

    text = sdl()
    if args.output:
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)


async def _run(settings: Settings, work: Callable[[], Awaitable[None]]) -> None:
    try:
        await _with_database(settings, work)
    except OpsKnightError as exc:
        field = exc.details.get("field")
        _fail(f"{exc.message}" + (f" ({field})" if field and field not in exc.message else ""))


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="opsknight", description="OpsKnight incident management server")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def with_db(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub.add_argument("--database-url", help="overrides OPSKNIGHT_DATABASE_URL")
        return sub

    serve = with_db(commands.add_parser("serve", help="run the HTTP server"))
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--redis-url", help="overrides OPSKNIGHT_REDIS_URL")
    serve.add_argument(
        "--with-worker", action="store_true", help="with Redis: also run a job worker in process"
    )
    serve.set_defaults(func=cmd_serve)

    worker = with_db(commands.add_parser("worker", help="run background jobs (needs Redis)"))
    worker.add_argument("--redis-url", help="overrides OPSKNIGHT_REDIS_URL")
    worker.add_argument(
        "--metrics-port", dest="worker_metrics_port", type=int,
        help="serve the worker's Prometheus metrics on this port",
    )  # fmt: skip
    worker.set_defaults(func=cmd_worker)

    migrate = with_db(commands.add_parser("migrate", help="apply database migrations"))
    migrate.set_defaults(func=cmd_migrate)

    user = with_db(commands.add_parser("user", help="create a user, or change one with --update"))
    user.add_argument("--name")
    user.add_argument("--user", help="alias of --name")
    user.add_argument("--email")
    user.add_argument("--password")
    user.add_argument(
        "--role", choices=["admin", "responder", "user", "ADMIN", "RESPONDER", "USER"]
    )
    user.add_argument("--update", action="store_true")
    user.set_defaults(func=cmd_user)

    api_key = commands.add_parser("api-key", help="manage API keys")
    key_commands = api_key.add_subparsers(dest="action", required=True, parser_class=_Parser)
    create = with_db(key_commands.add_parser("create", help="create a key and print it once"))
    create.add_argument("--owner", required=True, help="the owner's email")
    create.add_argument("--name", required=True)
    create.add_argument("--scopes", default="all", help="all, or a comma-separated list")
    create.add_argument("--test", action="store_true", help="a sandbox (sk_test_) key")
    create.add_argument("--json", action="store_true")
    create.set_defaults(func=cmd_api_key_create)

    demo = with_db(commands.add_parser("demo", help="load sample data and print a key to try it"))
    demo.set_defaults(func=cmd_demo)

    imports = with_db(commands.add_parser(
        "import", help="import users, teams, schedules, policies and services from a file",
    ))  # fmt: skip
    imports.add_argument("file", help="a JSON or YAML file (docs/migrating.md)")
    imports.add_argument("--dry-run", action="store_true",
                         help="show what would change and write nothing")  # fmt: skip
    imports.add_argument("--as", dest="acting_as", metavar="EMAIL",
                         help="the administrator the changes are recorded as "
                              "(default: the first one)")  # fmt: skip
    imports.set_defaults(func=cmd_import)

    export = commands.add_parser("export-schema", help="print the GraphQL SDL")
    export.add_argument("--output", "-o")
    export.set_defaults(func=cmd_export_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
