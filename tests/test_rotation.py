"""The pure on-call math (schedules/rotation.py): worked examples and properties."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from opsknight.schedules.rotation import (
    Layer,
    Override,
    Restriction,
    on_call_at,
    render,
)

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
KOLKATA = ZoneInfo("Asia/Kolkata")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
UTC_ZONE = ZoneInfo("UTC")
WEEKDAYS = frozenset(range(5))
ALL_DAYS = frozenset(range(7))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def timeline(
    zone: ZoneInfo,
    layers: list[Layer],
    since: datetime,
    until: datetime,
    overrides: list[Override] | None = None,
) -> list[tuple[str, datetime, datetime]]:
    return [
        (s.user_id, s.start, s.end)
        for s in render(zone, layers, overrides or [], since, until).shifts
    ]


def test_utc_daily_rotation() -> None:
    layer = Layer("lay_1", "Primary", "daily", datetime(2024, 1, 1, 9, 0), ("ann", "bob"))
    assert timeline(UTC_ZONE, [layer], utc(2024, 1, 1), utc(2024, 1, 4)) == [
        ("ann", utc(2024, 1, 1, 9), utc(2024, 1, 2, 9)),
        ("bob", utc(2024, 1, 2, 9), utc(2024, 1, 3, 9)),
        ("ann", utc(2024, 1, 3, 9), utc(2024, 1, 4)),
    ]
    rendered = render(UTC_ZONE, [layer], [], utc(2024, 1, 1), utc(2024, 1, 4))
    assert rendered.gaps == [(utc(2024, 1, 1), utc(2024, 1, 1, 9))]  # before the first handoff


def test_new_york_daily_handoff_keeps_wall_clock_across_spring_forward() -> None:
    layer = Layer("lay_1", "Primary", "daily", datetime(2024, 3, 8, 9, 0), ("ann", "bob", "cat"))
    shifts = timeline(NY, [layer], utc(2024, 3, 9, 14), utc(2024, 3, 11, 13))
    # 09:00 EST is 14:00 UTC; from 2024-03-10 09:00 EDT is 13:00 UTC: a 23-hour shift.
    assert shifts == [
        ("bob", utc(2024, 3, 9, 14), utc(2024, 3, 10, 13)),
        ("cat", utc(2024, 3, 10, 13), utc(2024, 3, 11, 13)),
    ]


def test_new_york_daily_handoff_keeps_wall_clock_across_fall_back() -> None:
    layer = Layer("lay_1", "Primary", "daily", datetime(2024, 11, 1, 9, 0), ("ann", "bob"))
    shifts = timeline(NY, [layer], utc(2024, 11, 2, 13), utc(2024, 11, 4, 14))
    # 09:00 EDT is 13:00 UTC; from 2024-11-03 09:00 EST is 14:00 UTC: a 25-hour shift.
    assert shifts == [
        ("bob", utc(2024, 11, 2, 13), utc(2024, 11, 3, 14)),
        ("ann", utc(2024, 11, 3, 14), utc(2024, 11, 4, 14)),
    ]


def test_handoff_at_a_time_that_does_not_exist_moves_with_the_clock() -> None:
    # 02:30 does not exist in New York on 2024-03-10: it is taken as 03:30 EDT (07:30 UTC).
    layer = Layer("lay_1", "Night", "daily", datetime(2024, 3, 9, 2, 30), ("ann", "bob"))
    shifts = timeline(NY, [layer], utc(2024, 3, 9, 7, 30), utc(2024, 3, 11, 6, 30))
    assert shifts == [
        ("ann", utc(2024, 3, 9, 7, 30), utc(2024, 3, 10, 7, 30)),
        ("bob", utc(2024, 3, 10, 7, 30), utc(2024, 3, 11, 6, 30)),
    ]


def test_handoff_at_a_time_that_occurs_twice_takes_the_first() -> None:
    # 01:30 happens twice in New York on 2024-11-03: the first (EDT, 05:30 UTC) is used.
    layer = Layer("lay_1", "Night", "daily", datetime(2024, 11, 2, 1, 30), ("ann", "bob"))
    shifts = timeline(NY, [layer], utc(2024, 11, 2, 5, 30), utc(2024, 11, 4, 6, 30))
    assert shifts == [
        ("ann", utc(2024, 11, 2, 5, 30), utc(2024, 11, 3, 5, 30)),
        ("bob", utc(2024, 11, 3, 5, 30), utc(2024, 11, 4, 6, 30)),
    ]


def test_weekly_rotation_in_berlin_across_dst() -> None:
    layer = Layer("lay_1", "Weekly", "weekly", datetime(2024, 3, 25, 10, 0), ("ann", "bob"))
    # CEST began on 2024-03-31: Monday 10:00 is 09:00 UTC before it, 08:00 UTC after.
    shifts = timeline(BERLIN, [layer], utc(2024, 3, 25, 9), utc(2024, 4, 8, 8))
    assert shifts == [
        ("ann", utc(2024, 3, 25, 9), utc(2024, 4, 1, 8)),
        ("bob", utc(2024, 4, 1, 8), utc(2024, 4, 8, 8)),
    ]


def test_custom_rotation_is_exact_elapsed_hours_across_dst() -> None:
    layer = Layer(
        "lay_1", "12h", "custom", datetime(2024, 3, 9, 20, 0), ("ann", "bob"), length_hours=12
    )
    shifts = timeline(NY, [layer], utc(2024, 3, 10, 1), utc(2024, 3, 11, 1))
    # 20:00 EST = 01:00 UTC; every 12 elapsed hours, so the local handoff moves to 21:00 EDT.
    assert shifts == [
        ("ann", utc(2024, 3, 10, 1), utc(2024, 3, 10, 13)),
        ("bob", utc(2024, 3, 10, 13), utc(2024, 3, 11, 1)),
    ]


def test_kolkata_half_hour_offset() -> None:
    layer = Layer("lay_1", "IST", "daily", datetime(2024, 6, 1, 9, 0), ("ann", "bob"))
    shifts = timeline(KOLKATA, [layer], utc(2024, 6, 1, 3, 30), utc(2024, 6, 3, 3, 30))
    assert shifts == [
        ("ann", utc(2024, 6, 1, 3, 30), utc(2024, 6, 2, 3, 30)),
        ("bob", utc(2024, 6, 2, 3, 30), utc(2024, 6, 3, 3, 30)),
    ]


def test_lord_howe_thirty_minute_dst_shift() -> None:
    # Lord Howe goes from +11:00 to +10:30 at 02:00 local on 2024-04-07, so the shift
    # from Saturday 09:00 to Sunday 09:00 lasts 24.5 hours.
    layer = Layer("lay_1", "LH", "daily", datetime(2024, 4, 5, 9, 0), ("ann", "bob", "cat"))
    shifts = timeline(LORD_HOWE, [layer], utc(2024, 4, 4, 22), utc(2024, 4, 7, 22, 30))
    assert shifts == [
        ("ann", utc(2024, 4, 4, 22), utc(2024, 4, 5, 22)),  # 09:00 at +11:00
        ("bob", utc(2024, 4, 5, 22), utc(2024, 4, 6, 22, 30)),  # 24.5 hours
        ("cat", utc(2024, 4, 6, 22, 30), utc(2024, 4, 7, 22, 30)),  # 09:00 at +10:30
    ]


def test_restrictions_including_a_window_across_midnight() -> None:
    nights = Restriction(days=WEEKDAYS, start=time(22, 0), end=time(6, 0))
    layer = Layer(
        "lay_1", "Nights", "weekly", datetime(2024, 1, 1, 0, 0), ("ann",), restrictions=(nights,)
    )
    rendered = render(UTC_ZONE, [layer], [], utc(2024, 1, 5, 0), utc(2024, 1, 9, 0))
    # Friday 22:00 → Saturday 06:00, nothing at the weekend, Monday 22:00 → ...
    assert [(s.start, s.end) for s in rendered.shifts] == [
        (utc(2024, 1, 5, 0), utc(2024, 1, 5, 6)),
        (utc(2024, 1, 5, 22), utc(2024, 1, 6, 6)),
        (utc(2024, 1, 8, 22), utc(2024, 1, 9, 0)),
    ]
    assert rendered.gaps[0] == (utc(2024, 1, 5, 6), utc(2024, 1, 5, 22))


def test_layer_end_stops_coverage() -> None:
    layer = Layer(
        "lay_1",
        "Old",
        "daily",
        datetime(2024, 1, 1, 0, 0),
        ("ann",),
        end=datetime(2024, 1, 3, 12, 0),
    )
    rendered = render(UTC_ZONE, [layer], [], utc(2024, 1, 2), utc(2024, 1, 5))
    assert [(s.start, s.end) for s in rendered.shifts] == [(utc(2024, 1, 2), utc(2024, 1, 3, 12))]
    assert rendered.gaps == [(utc(2024, 1, 3, 12), utc(2024, 1, 5))]


def test_follow_the_sun_with_three_restricted_layers() -> None:
    # Three regions, eight hours each on weekdays, all in UTC terms via their own zone.
    apac = Layer(
        "lay_apac",
        "APAC",
        "weekly",
        datetime(2024, 1, 1, 0, 0),
        ("asha", "ken"),
        restrictions=(Restriction(WEEKDAYS, time(0, 0), time(8, 0)),),
    )
    emea = Layer(
        "lay_emea",
        "EMEA",
        "weekly",
        datetime(2024, 1, 1, 0, 0),
        ("eva",),
        restrictions=(Restriction(WEEKDAYS, time(8, 0), time(16, 0)),),
    )
    amer = Layer(
        "lay_amer",
        "AMER",
        "weekly",
        datetime(2024, 1, 1, 0, 0),
        ("al", "bo"),
        restrictions=(Restriction(WEEKDAYS, time(16, 0), time(0, 0)),),
    )
    rendered = render(UTC_ZONE, [apac, emea, amer], [], utc(2024, 1, 8), utc(2024, 1, 9))
    assert [(s.user_id, s.layer_id, s.start.hour) for s in rendered.shifts] == [
        ("ken", "lay_apac", 0),
        ("eva", "lay_emea", 8),
        ("bo", "lay_amer", 16),
    ]
    assert rendered.gaps == []
    weekend = render(UTC_ZONE, [apac, emea, amer], [], utc(2024, 1, 13), utc(2024, 1, 14))
    assert weekend.shifts == [] and weekend.gaps == [(utc(2024, 1, 13), utc(2024, 1, 14))]


def test_higher_layer_wins_where_it_has_someone() -> None:
    base = Layer("lay_base", "Base", "weekly", datetime(2024, 1, 1), ("ann",))
    top = Layer(
        "lay_top",
        "Business hours",
        "weekly",
        datetime(2024, 1, 1),
        ("bob",),
        restrictions=(Restriction(WEEKDAYS, time(9, 0), time(17, 0)),),
    )
    assert timeline(UTC_ZONE, [base, top], utc(2024, 1, 2), utc(2024, 1, 3)) == [
        ("ann", utc(2024, 1, 2), utc(2024, 1, 2, 9)),
        ("bob", utc(2024, 1, 2, 9), utc(2024, 1, 2, 17)),
        ("ann", utc(2024, 1, 2, 17), utc(2024, 1, 3)),
    ]


def test_override_beats_every_layer_and_replaces_only_its_person() -> None:
    layer = Layer("lay_1", "Daily", "daily", datetime(2024, 1, 1, 0, 0), ("ann", "bob"))
    cover_all = Override("ovr_1", "zed", utc(2024, 1, 1, 12), utc(2024, 1, 2, 12))
    assert timeline(UTC_ZONE, [layer], utc(2024, 1, 1), utc(2024, 1, 3), [cover_all]) == [
        ("ann", utc(2024, 1, 1), utc(2024, 1, 1, 12)),
        ("zed", utc(2024, 1, 1, 12), utc(2024, 1, 2, 12)),
        ("bob", utc(2024, 1, 2, 12), utc(2024, 1, 3)),
    ]
    replace_bob = Override(
        "ovr_2", "zed", utc(2024, 1, 1, 12), utc(2024, 1, 2, 12), replaces_user_id="bob"
    )
    assert timeline(UTC_ZONE, [layer], utc(2024, 1, 1), utc(2024, 1, 3), [replace_bob]) == [
        ("ann", utc(2024, 1, 1), utc(2024, 1, 2)),  # ann is untouched
        ("zed", utc(2024, 1, 2), utc(2024, 1, 2, 12)),
        ("bob", utc(2024, 1, 2, 12), utc(2024, 1, 3)),
    ]
    shift = render(UTC_ZONE, [layer], [cover_all], utc(2024, 1, 1), utc(2024, 1, 3)).shifts[1]
    assert shift.override_id == "ovr_1" and shift.layer_id is None


def test_on_call_at_reports_the_whole_current_shift() -> None:
    layer = Layer("lay_1", "Weekly", "weekly", datetime(2024, 1, 1, 9, 0), ("ann", "bob"))
    shift = on_call_at(UTC_ZONE, [layer], [], utc(2024, 1, 10, 3))
    assert shift is not None
    assert (shift.user_id, shift.start, shift.end) == (
        "bob",
        utc(2024, 1, 8, 9),
        utc(2024, 1, 15, 9),
    )
    assert on_call_at(UTC_ZONE, [], [], utc(2024, 1, 10)) is None


def test_a_shift_longer_than_the_horizon_is_reported_up_to_it() -> None:
    only = Layer("lay_1", "Solo", "weekly", datetime(2024, 1, 1, 0, 0), ("ann",))
    at = utc(2024, 6, 1, 15)
    shift = on_call_at(UTC_ZONE, [only], [], at, horizon=timedelta(days=93))
    assert shift is not None and shift.user_id == "ann"
    assert (shift.start, shift.end) == (at - timedelta(days=93), at + timedelta(days=93))


# --- properties ------------------------------------------------------------------------

ZONES = [UTC_ZONE, NY, BERLIN, KOLKATA, LORD_HOWE]
USERS = ["u1", "u2", "u3", "u4"]
BASE = datetime(2024, 1, 1)


@st.composite
def restrictions(draw: st.DrawFn) -> Restriction:
    start = draw(st.integers(0, 47)) * 30
    end = draw(st.integers(0, 47).filter(lambda v: v * 30 != start)) * 30
    days = draw(st.frozensets(st.integers(0, 6), min_size=1))
    return Restriction(days, time(start // 60, start % 60), time(end // 60, end % 60))


@st.composite
def layers(draw: st.DrawFn, index: int) -> Layer:
    kind = draw(st.sampled_from(["daily", "weekly", "custom"]))
    return Layer(
        id=f"lay_{index}",
        name=f"L{index}",
        rotation_type=kind,
        handoff_start=BASE
        + timedelta(
            hours=draw(st.integers(0, 24 * 400)), minutes=draw(st.sampled_from([0, 15, 30]))
        ),
        users=tuple(draw(st.lists(st.sampled_from(USERS), min_size=1, max_size=4))),
        length_hours=draw(st.integers(1, 72)) if kind == "custom" else None,
        restrictions=tuple(draw(st.lists(restrictions(), max_size=2))),
        end=None if draw(st.booleans()) else BASE + timedelta(days=draw(st.integers(30, 500))),
    )


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[ZoneInfo, list[Layer], list[Override], datetime, datetime]:
    zone = draw(st.sampled_from(ZONES))
    all_layers = [draw(layers(i)) for i in range(draw(st.integers(0, 3)))]
    since = utc(2024, 1, 1) + timedelta(hours=draw(st.integers(0, 24 * 400)))
    until = since + timedelta(hours=draw(st.integers(1, 24 * 20)))
    overrides = []
    for i in range(draw(st.integers(0, 4))):
        start = since + timedelta(hours=draw(st.integers(-48, 24 * 20)))
        end = start + timedelta(minutes=draw(st.integers(30, 60 * 72)))
        replaces = draw(st.one_of(st.none(), st.sampled_from(USERS)))
        overrides.append(Override(f"ovr_{i}", draw(st.sampled_from(USERS)), start, end, replaces))
    return zone, all_layers, overrides, since, until


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_shifts_and_gaps_tile_the_range_without_overlap(case: tuple) -> None:
    zone, all_layers, overrides, since, until = case
    rendered = render(zone, all_layers, overrides, since, until)
    pieces = sorted([(s.start, s.end) for s in rendered.shifts] + list(rendered.gaps))
    assert pieces[0][0] == since and pieces[-1][1] == until
    for (_, end), (start, _) in pairwise(pieces):
        assert end == start  # no overlap, no hole
    assert all(start < end for start, end in pieces)


@settings(max_examples=150, deadline=None)
@given(scenarios(), st.data())
def test_an_override_wins_inside_its_span(case: tuple, data: st.DataObject) -> None:
    zone, all_layers, overrides, since, until = case
    overrides = [o for o in overrides if o.replaces_user_id is None]
    if not overrides:
        return
    rendered = render(zone, all_layers, overrides, since, until)
    latest = overrides[-1]
    lo, hi = max(latest.start, since), min(latest.end, until)
    if lo >= hi:
        return
    instant = lo + (hi - lo) * data.draw(st.floats(0, 0.999))
    shift = next(s for s in rendered.shifts if s.start <= instant < s.end)
    assert shift.override_id is not None and shift.user_id in {o.user_id for o in overrides}
    assert (
        shift.override_id
        == max((o for o in overrides if o.start <= instant < o.end), key=lambda o: o.id).id
    )


@settings(max_examples=100, deadline=None)
@given(scenarios(), st.data())
def test_on_call_at_agrees_with_the_rendered_shift(case: tuple, data: st.DataObject) -> None:
    zone, all_layers, overrides, since, until = case
    instant = since + (until - since) * data.draw(st.floats(0, 0.999))
    rendered = render(zone, all_layers, overrides, since, until)
    containing = next((s for s in rendered.shifts if s.start <= instant < s.end), None)
    current = on_call_at(zone, all_layers, overrides, instant)
    if containing is None:
        assert current is None
    else:
        assert current is not None
        assert (current.user_id, current.layer_id, current.override_id) == (
            containing.user_id, containing.layer_id, containing.override_id,
        )  # fmt: skip
        assert current.start <= containing.start and current.end >= containing.end
