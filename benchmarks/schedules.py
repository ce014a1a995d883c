"""On-call benchmark: lookups and 93-day renders for a busy schedule.

The schedule: America/New_York, 3 layers (weekly base; daily business hours restricted
to weekdays 08-18; 12-hour custom nights restricted to 20-06), 20 users, 200 overrides
spread over the 93 days. Measured through the pure module and through the HTTP routes of
one `opsknight serve` process on SQLite (loopback): renders and first-of-day lookups with
sequential httpx requests, repeated lookups with wrk.

    python -m benchmarks.schedules [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from benchmarks.events import _wrk, admin_key, serving
from opsknight.schedules.rotation import Layer, Override, Restriction, on_call_at, render

ZONE = "America/New_York"
START = datetime(2024, 3, 1, tzinfo=UTC)  # the range crosses the 2024-03-10 DST change
DAYS = 93
USERS = 20
OVERRIDES = 200
WEEKDAYS = ["MON", "TUE", "WED", "THU", "FRI"]
ALL_DAYS = [*WEEKDAYS, "SAT", "SUN"]


def layer_specs(user_ids: list[str]) -> list[dict[str, object]]:
    return [
        {"name": "Base", "rotation_type": "weekly", "handoff_start": "2024-01-01T09:00:00",
         "users": user_ids[:8]},
        {"name": "Business hours", "rotation_type": "daily", "handoff_start": "2024-01-01T08:00:00",
         "users": user_ids[8:14],
         "restrictions": [{"days": WEEKDAYS, "start_time": "08:00", "end_time": "18:00"}]},
        {"name": "Nights", "rotation_type": "custom", "rotation_length_hours": 12,
         "handoff_start": "2024-01-01T20:00:00", "users": user_ids[14:],
         "restrictions": [{"days": ALL_DAYS, "start_time": "20:00", "end_time": "06:00"}]},
    ]  # fmt: skip


def override_specs(user_ids: list[str]) -> list[dict[str, object]]:
    rng = random.Random(7)
    specs = []
    for _ in range(OVERRIDES):
        start = START + timedelta(minutes=rng.randrange(0, DAYS * 24 * 60))
        end = start + timedelta(hours=rng.randrange(1, 24))
        specs.append(
            {
                "start": start.isoformat(),
                "end": end.isoformat(),
                "user_id": rng.choice(user_ids),
                "replaces_user_id": rng.choice([None, rng.choice(user_ids)]),
            }
        )
    return specs


def _days(names: list[str]) -> frozenset[int]:
    return frozenset(ALL_DAYS.index(n) for n in names)


def pure_inputs() -> tuple[list[Layer], list[Override]]:
    user_ids = [f"usr_{i:02d}" for i in range(USERS)]
    layers = []
    for i, spec in enumerate(layer_specs(user_ids)):
        restrictions = tuple(
            Restriction(
                _days(r["days"]),
                clock_time.fromisoformat(r["start_time"]),
                clock_time.fromisoformat(r["end_time"]),
            )
            for r in spec.get("restrictions", [])  # type: ignore[attr-defined]
        )
        layers.append(Layer(
            id=f"lay_{i}", name=str(spec["name"]), rotation_type=str(spec["rotation_type"]),
            handoff_start=datetime.fromisoformat(str(spec["handoff_start"])),
            users=tuple(spec["users"]), length_hours=spec.get("rotation_length_hours"),  # type: ignore[arg-type]
            restrictions=restrictions,
        ))  # fmt: skip
    overrides = [
        Override(f"ovr_{i:03d}", str(o["user_id"]), datetime.fromisoformat(str(o["start"])),
                 datetime.fromisoformat(str(o["end"])), o["replaces_user_id"])  # type: ignore[arg-type]
        for i, o in enumerate(override_specs(user_ids))
    ]  # fmt: skip
    return layers, overrides


def timed(work: Callable[[], object], count: int) -> dict[str, float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        work()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "mean": statistics.fmean(samples),
        "p50": samples[len(samples) // 2],
        "p99": samples[min(len(samples) - 1, int(len(samples) * 0.99))],
    }


def random_instants(count: int) -> list[datetime]:
    rng = random.Random(11)
    return [START + timedelta(seconds=rng.randrange(0, DAYS * 86400)) for _ in range(count)]


def bench_pure() -> dict[str, dict[str, float]]:
    zone = ZoneInfo(ZONE)
    layers, overrides = pure_inputs()
    instants = iter(random_instants(2000))
    lookup = timed(lambda: on_call_at(zone, layers, overrides, next(instants)), 2000)
    full = timed(lambda: render(zone, layers, overrides, START, START + timedelta(days=DAYS)), 50)
    return {"lookup": lookup, "render": full}


def _lookups_lua(key: str, path: str, instants: list[datetime]) -> str:
    listed = ", ".join(f'"{at.isoformat().replace("+00:00", "Z")}"' for at in instants)
    return f"""
wrk.headers["Authorization"] = "Bearer {key}"
local instants = {{{listed}}}
request = function()
  if #instants == 0 then return wrk.format("GET", "{path}") end
  return wrk.format("GET", "{path}?at=" .. instants[math.random(#instants)])
end
"""


def bench_http(workdir: Path, seconds: int) -> dict[str, dict[str, float]]:
    env = {**os.environ, "OPSKNIGHT_DATABASE_URL": f"sqlite://{workdir / 'schedules.db'}",
           "OPSKNIGHT_LOG_LEVEL": "warning",
           "OPSKNIGHT_RATE_LIMITS": "off"}  # fmt: skip
    key = admin_key(env)
    with (
        serving(env) as (_, base),
        httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30
        ) as client,
    ):
        user_ids = [
            client.post(
                "/api/users", json={"name": f"User {i}", "email": f"u{i}@example.com"}
            ).json()["data"]["id"]
            for i in range(USERS)
        ]
        schedule = client.post("/api/schedules", json={
            "name": "Bench", "time_zone": ZONE, "layers": layer_specs(user_ids),
        }).json()["data"]  # fmt: skip
        for spec in override_specs(user_ids):
            client.post(f"/api/schedules/{schedule['id']}/overrides", json=spec).raise_for_status()
        path = f"/api/schedules/{schedule['id']}/on-call"
        # The first lookup on each UTC day renders that day's window; later ones reuse it.
        first_of_day = iter(START + timedelta(days=day, hours=12) for day in range(DAYS))

        def first_lookup() -> None:
            at = next(first_of_day).isoformat().replace("+00:00", "Z")
            client.get(path, params={"at": at}).raise_for_status()

        def full() -> None:
            window = {"since": "2024-03-01T00:00:00Z", "until": "2024-06-02T00:00:00Z"}
            client.get(f"/api/schedules/{schedule['id']}/shifts", params=window).raise_for_status()

        results: dict[str, dict[str, float]] = {
            "first of day": timed(first_lookup, DAYS),
            "render": timed(full, 30),
        }
        now_lua = _lookups_lua(key, path, [])
        spread_lua = _lookups_lua(key, path, random_instants(500))
        url = f"{base}{path}"
        for label, lua, connections in (
            ("now, 1 connection", now_lua, 1),
            ("now, 8 connections", now_lua, 8),
            ("93 days, 1 connection", spread_lua, 1),
        ):
            measured = _wrk(url, lua, seconds, workdir, connections)
            if measured["non2xx"]:
                raise RuntimeError(f"{measured['non2xx']} lookups failed ({label})")
            results[label] = measured
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    args = parser.parse_args()
    pure = bench_pure()
    with tempfile.TemporaryDirectory(prefix="opsknight-bench-") as tmp:
        http = bench_http(Path(tmp), args.seconds)
    print("Pure module (in process, one call at a time):\n")
    print("| measure | mean / p50 / p99 ms |")
    print("|---|---:|")
    for label, result in (("on-call lookup", pure["lookup"]), ("93-day render", pure["render"])):
        print(f"| {label} | {result['mean']:.2f} / {result['p50']:.2f} / {result['p99']:.2f} |")
    print("\nHTTP, one `opsknight serve` process on SQLite:\n")
    print("| measure | lookups/s | mean / p50 / p99 ms |")
    print("|---|---:|---:|")
    for label in ("first of day", "render"):
        result = http[label]
        name = "first lookup of a day (renders)" if label == "first of day" else "93-day render"
        print(
            f"| {name} (httpx, sequential) | {1000 / result['mean']:,.0f} "
            f"| {result['mean']:.2f} / {result['p50']:.2f} / {result['p99']:.2f} |"
        )
    for label in ("now, 1 connection", "now, 8 connections", "93 days, 1 connection"):
        result = http[label]
        print(
            f"| on-call lookup, {label} (wrk) | {result['rps']:,.0f} "
            f"| n/a / {result['p50']:.2f} / {result['p99']:.2f} |"
        )


if __name__ == "__main__":
    main()
