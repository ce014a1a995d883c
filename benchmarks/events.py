"""Events API benchmark: wrk at 64 connections against one `opsknight serve` process.

Scenarios: (a) every trigger opens a new incident, (b) every trigger folds into one,
(c) triggers over 1,000 dedup keys; the ceiling (a bare Starlette endpoint with one INSERT
on the same PostgreSQL server, or a SQLite file beside OpsKnight's); and an alert storm of
exactly 10,000 events over 1,000 keys, verified afterwards in the database. Loopback only;
every run is bounded in time.

With --pin both servers run on CPU 0 and wrk on CPU 1, so a server and its client never
compete for a core; whichever server is not being measured is stopped (SIGSTOP). Each
scenario is reported as a ratio to the mean of the ceilings measured just before and just
after it, in requests per second and in the server's CPU time per request. --runs repeats
the whole measurement on fresh databases.

    python -m benchmarks.events [--seconds 10] [--pin] [--runs 1] [--skip-storm]
                                [--postgres postgres://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

CONNECTIONS = 64
SCENARIOS = (
    ("new", "(a) new incident each"),
    ("fold", "(b) all fold into one"),
    ("mix", "(c) 1,000 dedup keys"),
    ("ceiling", "ceiling: bare INSERT"),
)
STORM_EVENTS = 10_000
STORM_KEYS = 1_000

_TRIGGER = (
    '{"routing_key":"%s","event_action":"trigger","dedup_key":"%s",'
    '"payload":{"summary":"Benchmark","source":"bench","severity":"critical"}}'
)
# Lua bodies: %s is the routing key. Each scenario decides the dedup key per request.
_LUA = {
    "new": """
local n = 0
request = function()
  n = n + 1
  local body = string.format('%s', "new-" .. n)
  return wrk.format("POST", "/v2/enqueue", {["Content-Type"]="application/json"}, body)
end
""",
    "fold": """
request = function()
  local body = string.format('%s', "the-one")
  return wrk.format("POST", "/v2/enqueue", {["Content-Type"]="application/json"}, body)
end
""",
    "mix": """
request = function()
  local body = string.format('%s', "mix-" .. math.random(1000))
  return wrk.format("POST", "/v2/enqueue", {["Content-Type"]="application/json"}, body)
end
""",
}


SERVER_CPU = "0"
CLIENT_CPU = "1"


def _pinned(command: list[str], cpu: str | None) -> list[str]:
    """``command`` run on the one CPU ``cpu`` (taskset), or as it is when not pinning."""
    return ["taskset", "-c", cpu, *command] if cpu is not None else command


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _opsknight(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "opsknight.cli", *args], env=env, check=True,
        capture_output=True, text=True, timeout=300,
    ).stdout  # fmt: skip


def _wait_up(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def admin_key(env: dict[str, str]) -> str:
    """Migrate the benchmark's database, add an administrator; their new API key."""
    _opsknight(env, "migrate")
    _opsknight(env, "user", "--name", "Bench", "--email", "bench@example.com", "--role", "admin")
    created = _opsknight(
        env, "api-key", "create", "--owner", "bench@example.com", "--name", "b", "--json"
    )
    return str(json.loads(created)["key"])


@contextlib.contextmanager
def serving(
    env: dict[str, str], cpu: str | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`opsknight serve` on a free loopback port (on CPU ``cpu`` when given), up: the
    process and its base URL."""
    port = _free_port()
    server = subprocess.Popen(
        _pinned([sys.executable, "-m", "opsknight.cli", "serve", "--port", str(port)], cpu),
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_up(f"{base}/healthz")
        yield server, base
    finally:
        server.terminate()
        server.wait(timeout=30)


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _wrk(
    url: str,
    lua: str,
    seconds: int,
    workdir: Path,
    connections: int = CONNECTIONS,
    cpu: str | None = None,
) -> dict[str, Any]:
    script = workdir / f"bench-{secrets.token_hex(4)}.lua"
    script.write_text(lua)
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script)]
    out = subprocess.run(
        _pinned([*command, url], cpu),
        check=True, capture_output=True, text=True, timeout=seconds + 120,
    ).stdout  # fmt: skip
    try:
        return _parse_wrk(out)
    except (AttributeError, ValueError):
        print(out, file=sys.stderr)
        raise


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    value, unit = match.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def _parse_wrk(out: str) -> dict[str, Any]:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    total = re.search(r"(\d+) requests in ([\d.]+)(ms|s)", out)
    elapsed = float(total.group(2)) / (1000 if total.group(3) == "ms" else 1)  # type: ignore[union-attr]
    return {
        "rps": rps, "p50": p50, "p99": p99, "non2xx": int(errors.group(1)) if errors else 0,
        "requests": int(total.group(1)), "elapsed": elapsed,  # type: ignore[union-attr]
    }  # fmt: skip


async def _count(database_url: str, service_id: str) -> tuple[int, int]:
    incidents = "SELECT count(*) FROM incidents WHERE service_id = {p}"
    alerts = (
        "SELECT count(*) FROM alerts a JOIN incidents i ON a.incident_id = i.id "
        "WHERE i.service_id = {p}"
    )
    if database_url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(database_url.removeprefix("sqlite://")) as conn:
            n_inc = conn.execute(incidents.format(p="?"), (service_id,)).fetchone()[0]
            n_alr = conn.execute(alerts.format(p="?"), (service_id,)).fetchone()[0]
        return n_inc, n_alr
    import asyncpg

    conn = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        n_inc = await conn.fetchval(incidents.format(p="$1"), service_id)
        n_alr = await conn.fetchval(alerts.format(p="$1"), service_id)
    finally:
        await conn.close()
    return n_inc, n_alr


def _new_service(base: str, key: str, name: str) -> tuple[str, str]:
    headers = {"Authorization": f"Bearer {key}"}
    service = httpx.post(f"{base}/api/services", json={"name": name}, headers=headers).json()[
        "data"
    ]
    integration = httpx.post(
        f"{base}/api/services/{service['id']}/integrations", json={}, headers=headers
    ).json()["data"]
    return service["id"], integration["key"]


def _lua(kind: str, routing_key: str) -> str:
    return _LUA[kind] % (_TRIGGER % (routing_key, "%s"))


async def _storm(port: int, routing_key: str) -> dict[str, Any]:
    """Send exactly STORM_EVENTS triggers over STORM_KEYS keys on 64 keep-alive
    connections as fast as the server answers; returns the elapsed time and failures."""
    next_index = 0
    failures = 0

    async def worker() -> None:
        nonlocal next_index, failures
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while next_index < STORM_EVENTS:
                index = next_index
                next_index += 1
                body = (_TRIGGER % (routing_key, f"storm-{index % STORM_KEYS}")).encode()
                writer.write(
                    b"POST /v2/enqueue HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    b"Content-Type: application/json\r\nContent-Length: "
                    + str(len(body)).encode()
                    + b"\r\n\r\n"
                    + body
                )
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))  # type: ignore[union-attr]
                await reader.readexactly(length)
                if status != 202:
                    failures += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(CONNECTIONS))), timeout=300)
    return {"elapsed": time.perf_counter() - started, "failures": failures}


def _cpu_seconds(pid: int) -> float:
    """CPU time a process has used so far, all its threads, user and system."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _measured(
    server: subprocess.Popen[bytes], url: str, lua: str, seconds: int, workdir: Path,
    cpu: str | None,
) -> dict[str, Any]:  # fmt: skip
    """wrk against ``url``, with the server's CPU time per request over the run."""
    before = _cpu_seconds(server.pid)
    result = _wrk(url, lua, seconds, workdir, cpu=cpu)
    result["cpu_us"] = (_cpu_seconds(server.pid) - before) / max(result["requests"], 1) * 1e6
    return result


@contextlib.contextmanager
def _paused(process: subprocess.Popen[bytes]) -> Iterator[None]:
    """``process`` stopped (SIGSTOP) meanwhile, so its timers take no CPU from the other
    server on the same core."""
    process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        process.send_signal(signal.SIGCONT)


@contextlib.contextmanager
def _ceiling_server(
    env: dict[str, str], database_url: str, cpu: str | None
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = _free_port()
    process = subprocess.Popen(
        _pinned([sys.executable, "-m", "uvicorn", "benchmarks.ceiling_app:app", "--port",
                 str(port), "--log-level", "warning", "--no-access-log"], cpu),
        env={**env, "OPSKNIGHT_DATABASE_URL": database_url},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/v2/enqueue"
    try:
        _wait_up(url)
        yield process, url
    finally:
        process.send_signal(signal.SIGCONT)
        process.terminate()
        process.wait(timeout=30)


def run_database(
    label: str,
    database_url: str,
    seconds: int,
    workdir: Path,
    pin: bool = False,
    storm: bool = True,
) -> dict[str, Any]:
    """The scenarios on one database. The ceiling is measured before the first scenario
    and after each one, and each scenario is compared with the mean of the two ceilings
    around it: on a shared machine the speed of a core drifts within minutes, and a
    single ceiling at the end compared scenarios with a different machine."""
    server_cpu, client_cpu = (SERVER_CPU, CLIENT_CPU) if pin else (None, None)
    env = {
        **os.environ,
        "OPSKNIGHT_DATABASE_URL": database_url,
        "OPSKNIGHT_LOG_LEVEL": "warning",
        "OPSKNIGHT_RATE_LIMITS": "off",
    }
    key = admin_key(env)
    results: dict[str, Any] = {"label": label}
    # The ceiling writes its own SQLite file: a paused server must not hold its lock.
    ceiling_url = (
        f"sqlite://{workdir / 'ceiling.db'}" if database_url.startswith("sqlite") else database_url
    )
    ceilings: list[dict[str, Any]] = []

    with (
        _ceiling_server(env, ceiling_url, server_cpu) as (ceiling, ceiling_url_http),
        serving(env, server_cpu) as (server, base),
    ):

        def measure_ceiling() -> None:
            with _paused(server):
                ceilings.append(
                    _measured(ceiling, ceiling_url_http, _lua("fold", "x"), seconds, workdir,
                              client_cpu)
                )  # fmt: skip
            print(f"  {label} ceiling: {ceilings[-1]}", flush=True)

        port = int(base.rsplit(":", 1)[1])
        measure_ceiling()
        for kind in ("new", "fold", "mix"):
            _, routing_key = _new_service(base, key, f"bench-{kind}")
            with _paused(ceiling):
                results[kind] = _measured(
                    server, f"{base}/v2/enqueue", _lua(kind, routing_key), seconds, workdir,
                    client_cpu,
                )  # fmt: skip
            print(f"  {label} {kind}: {results[kind]}", flush=True)
            measure_ceiling()
            around = ceilings[-2:]
            results[kind]["ceiling_rps"] = sum(c["rps"] for c in around) / 2
            results[kind]["ceiling_cpu_us"] = sum(c["cpu_us"] for c in around) / 2
        if storm:
            service_id, routing_key = _new_service(base, key, "bench-storm")
            with _paused(ceiling):
                stormed = asyncio.run(_storm(port, routing_key))
            incidents, alerts = asyncio.run(_count(database_url, service_id))
            results["storm"] = {**stormed, "incidents": incidents, "alerts": alerts}
            print(f"  {label} storm: {results['storm']}", flush=True)
        results["peak_rss_mb"] = _peak_rss_mb(server.pid)
    results["ceiling"] = {
        field: sum(c[field] for c in ceilings) / len(ceilings)
        for field in ("rps", "p50", "p99", "non2xx", "cpu_us")
    }
    results["ceiling"].update(ceiling_rps=results["ceiling"]["rps"],
                              ceiling_cpu_us=results["ceiling"]["cpu_us"])  # fmt: skip
    results["ceiling_range"] = (min(c["rps"] for c in ceilings), max(c["rps"] for c in ceilings))
    return results


def _table(all_results: list[dict[str, Any]]) -> str:
    lines = [
        "| database | scenario | events/s | p50 ms | p99 ms | non-2xx | vs ceiling "
        "| CPU µs/event | vs ceiling CPU |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for res in all_results:
        for kind, name in SCENARIOS:
            r = res[kind]
            if kind == "ceiling":
                low, high = res["ceiling_range"]
                name = f"{name} (mean of {low:,.0f} to {high:,.0f})"
            lines.append(
                f"| {res['label']} | {name} | {r['rps']:,.0f} | {r['p50']:.1f} | {r['p99']:.1f} "
                f"| {r['non2xx']:.0f} | {r['rps'] / r['ceiling_rps']:.2f} | {r['cpu_us']:.0f} "
                f"| {r['ceiling_cpu_us'] / r['cpu_us']:.2f} |"
            )
    if not any("storm" in res for res in all_results):
        return "\n".join(lines)
    lines.append("")
    lines.append(
        "| database | storm: events | absorbed in | failed | incidents | alerts | peak RSS |"
    )
    lines.append("|---|---:|---:|---:|---:|---:|---:|")
    for res in all_results:
        if "storm" not in res:
            continue
        s = res["storm"]
        lines.append(
            f"| {res['label']} | {STORM_EVENTS:,} over {STORM_KEYS:,} keys | {s['elapsed']:.2f} s "
            f"| {s['failures']} | {s['incidents']:,} | {s['alerts']:,} "
            f"| {res['peak_rss_mb']:.0f} MB |"
        )
    return "\n".join(lines)


@contextlib.contextmanager
def fresh_postgres(server_url: str) -> Iterator[str]:
    """The URL of a new database on ``server_url``, dropped afterwards."""
    import asyncpg

    name = f"opsknight_bench_{secrets.token_hex(4)}"
    admin_url = server_url.replace("postgres://", "postgresql://", 1)

    async def ddl(sql: str) -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(ddl(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{server_url.rsplit('/', 1)[0]}/{name}"
    finally:
        asyncio.run(ddl(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument(
        "--postgres", help="a PostgreSQL server URL; a fresh database is made on it"
    )
    parser.add_argument(
        "--pin", action="store_true", help="server on CPU 0, wrk on CPU 1 (needs two CPUs)"
    )
    parser.add_argument("--runs", type=int, default=1, help="repeat on fresh databases")
    parser.add_argument("--skip-storm", action="store_true")
    args = parser.parse_args()
    if args.pin and len(os.sched_getaffinity(0)) < 2:
        parser.error("--pin needs two CPUs")
    results = []
    options = {"pin": args.pin, "storm": not args.skip_storm}
    for run in range(1, args.runs + 1):
        suffix = f" #{run}" if args.runs > 1 else ""
        with tempfile.TemporaryDirectory(prefix="opsknight-bench-") as tmp:
            workdir = Path(tmp)
            sqlite_url = f"sqlite://{workdir / 'bench.db'}"
            results.append(
                run_database(f"SQLite{suffix}", sqlite_url, args.seconds, workdir, **options)
            )
            if args.postgres:
                with fresh_postgres(args.postgres) as database_url:
                    results.append(
                        run_database(
                            f"PostgreSQL{suffix}", database_url, args.seconds, workdir, **options
                        )
                    )
    print()
    print(_table(results))


if __name__ == "__main__":
    main()
