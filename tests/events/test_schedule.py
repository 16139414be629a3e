"""Schedule expressions: parsing with AWS's rules, and when they fire (DST included)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowengine.errors import FlowengineError
from flowengine.lang.schedule import (
    AtSchedule,
    CronSchedule,
    RateSchedule,
    ScheduleError,
    parse_schedule,
)

DAY = datetime(2024, 1, 1, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")


def fires(expr: str, start: datetime, end: datetime, timezone: str = "UTC",
          anchor: datetime | None = None) -> list[datetime]:
    return list(parse_schedule(expr, timezone).fire_times(start, end, anchor=anchor))


# --- rate --------------------------------------------------------------------------------------------


def test_an_hourly_rate_fires_24_times_a_day() -> None:
    times = fires("rate(1 hour)", DAY, DAY + timedelta(days=1))
    assert len(times) == 24
    assert times[0] == DAY + timedelta(hours=1) and times[-1] == DAY + timedelta(days=1)


@pytest.mark.parametrize(("expr", "period"), [
    ("rate(1 minute)", timedelta(minutes=1)), ("rate(5 minutes)", timedelta(minutes=5)),
    ("rate(1 hour)", timedelta(hours=1)), ("rate(12 hours)", timedelta(hours=12)),
    ("rate(1 day)", timedelta(days=1)), ("rate(7 days)", timedelta(days=7)),
    (" rate( 2 hours ) ", timedelta(hours=2)),
])
def test_rate_periods(expr: str, period: timedelta) -> None:
    s = parse_schedule(expr)
    assert isinstance(s, RateSchedule) and s.period == period and s.kind == "rate"


def test_a_rate_counts_from_its_anchor() -> None:
    s = parse_schedule("rate(1 hour)")
    anchor = datetime(2024, 1, 1, 0, 20, tzinfo=UTC)
    assert s.next_after(datetime(2024, 1, 1, 5, 0, tzinfo=UTC), anchor=anchor) == datetime(2024, 1, 1, 5, 20, tzinfo=UTC)
    assert s.next_after(datetime(2024, 1, 1, 5, 20, tzinfo=UTC), anchor=anchor) == datetime(2024, 1, 1, 6, 20, tzinfo=UTC)
    # before the anchor, the first fire is one period after it
    assert s.next_after(datetime(2023, 12, 31, tzinfo=UTC), anchor=anchor) == anchor + timedelta(hours=1)
    # without an anchor the rate counts from the time asked about
    t = datetime(2024, 1, 1, 7, 7, 7, tzinfo=UTC)
    assert s.next_after(t) == t + timedelta(hours=1)


def test_a_rate_ignores_daylight_saving() -> None:
    # 2024-03-31: Paris skips 02:00-03:00; a rate still fires every 60 real minutes
    start = datetime(2024, 3, 30, 23, tzinfo=UTC)
    times = fires("rate(1 hour)", start, start + timedelta(hours=5), "Europe/Paris")
    assert [b - a for a, b in pairwise(times)] == [timedelta(hours=1)] * 4
    assert [t.astimezone(PARIS).hour for t in times] == [1, 3, 4, 5, 6]


@settings(deadline=None)
@given(st.integers(1, 120), st.sampled_from(["minute", "hour", "day"]), st.integers(0, 10_000),
       st.integers(0, 20_000))
def test_rate_fire_count(n: int, unit: str, offset: int, span: int) -> None:
    expr = f"rate({n} {unit}{'' if n == 1 else 's'})"
    s = parse_schedule(expr)
    assert isinstance(s, RateSchedule)
    start = DAY + timedelta(minutes=offset)
    end = start + timedelta(minutes=span)
    times = list(s.fire_times(start, end))
    assert len(times) == (end - start) // s.period
    assert all(t > start and t <= end for t in times)


# --- cron ----------------------------------------------------------------------------------------------


def test_daily_at_three() -> None:
    times = fires("cron(0 3 * * ? *)", DAY, DAY + timedelta(days=3))
    assert times == [DAY + timedelta(days=d, hours=3) for d in range(3)]


def test_weekdays_at_six_pm() -> None:
    times = fires("cron(0 18 ? * MON-FRI *)", DAY, DAY + timedelta(days=14))
    assert len(times) == 10
    assert all(t.weekday() < 5 and t.hour == 18 and t.minute == 0 for t in times)
    # 2024-01-01 is a Monday
    assert times[0] == datetime(2024, 1, 1, 18, tzinfo=UTC) and times[5] == datetime(2024, 1, 8, 18, tzinfo=UTC)


def test_last_day_of_the_month() -> None:
    times = fires("cron(0 0 L * ? *)", DAY, datetime(2025, 1, 1, tzinfo=UTC))
    assert [t.date() for t in times] == [
        date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30), date(2024, 5, 31),
        date(2024, 6, 30), date(2024, 7, 31), date(2024, 8, 31), date(2024, 9, 30), date(2024, 10, 31),
        date(2024, 11, 30), date(2024, 12, 31)]


def test_third_friday() -> None:
    times = fires("cron(0 10 ? * 6#3 *)", DAY, datetime(2024, 7, 1, tzinfo=UTC))
    assert [t.date() for t in times] == [date(2024, 1, 19), date(2024, 2, 16), date(2024, 3, 15), date(2024, 4, 19),
                                         date(2024, 5, 17), date(2024, 6, 21)]
    assert all(t.hour == 10 for t in times)


@pytest.mark.parametrize(("expr", "first_days"), [
    ("cron(0 0 ? * 5L *)", [date(2024, 1, 25), date(2024, 2, 29), date(2024, 3, 28)]),  # last Thursday
    ("cron(0 0 ? * FRIL *)", [date(2024, 1, 26), date(2024, 2, 23), date(2024, 3, 29)]),
    ("cron(0 0 ? * L *)", [date(2024, 1, 6), date(2024, 1, 13), date(2024, 1, 20)]),  # Saturdays
    ("cron(0 0 LW * ? *)", [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 29)]),  # 2024-03-31 is a Sunday
    ("cron(0 0 1W * ? *)", [date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)]),
    ("cron(0 0 6W * ? *)", [date(2024, 1, 5), date(2024, 2, 6), date(2024, 3, 6)]),  # Jan 6 is a Saturday
    ("cron(0 0 7W * ? *)", [date(2024, 1, 8), date(2024, 2, 7), date(2024, 3, 7)]),  # Jan 7 is a Sunday
    ("cron(0 0 1,15 * ? *)", [date(2024, 1, 1), date(2024, 1, 15), date(2024, 2, 1)]),
    ("cron(0 0 1/10 * ? *)", [date(2024, 1, 1), date(2024, 1, 11), date(2024, 1, 21)]),
    ("cron(0 0 ? JAN,MAR 1 *)", [date(2024, 1, 7), date(2024, 1, 14), date(2024, 1, 21)]),  # Sundays
    ("cron(0 0 ? * SAT-MON *)", [date(2024, 1, 1), date(2024, 1, 6), date(2024, 1, 7)]),  # wraps round
    ("cron(0 0 29 FEB ? *)", [date(2024, 2, 29), date(2028, 2, 29), date(2032, 2, 29)]),
    ("cron(0 0 1 1 ? 2025-2026)", [date(2025, 1, 1), date(2026, 1, 1)]),
])
def test_day_rules(expr: str, first_days: list[date]) -> None:
    s = parse_schedule(expr)
    t, days = DAY - timedelta(minutes=1), []
    for _ in first_days:
        nxt = s.next_after(t)
        assert nxt is not None
        days.append(nxt.date())
        t = nxt
    assert days == first_days


def test_the_first_weekday_nearest_a_day_stays_in_the_month() -> None:
    # 2024-06-01 is a Saturday: 1W is Monday the 3rd, not Friday in May
    s = parse_schedule("cron(0 0 1W * ? *)")
    assert s.next_after(datetime(2024, 5, 31, tzinfo=UTC)) == datetime(2024, 6, 3, tzinfo=UTC)
    # 2024-03-31 is a Sunday: 31W is Friday the 29th, not Monday in April
    s = parse_schedule("cron(0 0 31W * ? *)")
    assert s.next_after(datetime(2024, 3, 1, tzinfo=UTC)) == datetime(2024, 3, 29, tzinfo=UTC)


@pytest.mark.parametrize(("expr", "first"), [
    ("cron(*/15 * * * ? *)", [(0, 15), (0, 30), (0, 45), (1, 0)]),
    ("cron(5/20 * * * ? *)", [(0, 5), (0, 25), (0, 45), (1, 5)]),
    ("cron(0 22-2 * * ? *)", [(1, 0), (2, 0), (22, 0), (23, 0)]),  # wraps round midnight
    ("cron(10-20/5 8,9 * * ? *)", [(8, 10), (8, 15), (8, 20), (9, 10)]),
])
def test_minutes_and_hours(expr: str, first: list[tuple[int, int]]) -> None:
    times = fires(expr, DAY, DAY + timedelta(days=1))[: len(first)]
    assert [(t.hour, t.minute) for t in times] == first


def test_a_schedule_that_never_fires_again() -> None:
    assert parse_schedule("cron(0 0 1 1 ? 2020)").next_after(DAY) is None
    assert parse_schedule("cron(0 0 30 FEB ? *)").next_after(DAY) is None
    assert parse_schedule("cron(59 23 31 12 ? 2199)").next_after(datetime(2199, 12, 31, 23, 59, tzinfo=UTC)) is None


def test_cron_names_are_case_insensitive() -> None:
    assert fires("cron(0 18 ? * mon-fri *)", DAY, DAY + timedelta(days=7)) == \
        fires("cron(0 18 ? * 2-6 *)", DAY, DAY + timedelta(days=7))


def test_next_after_is_strictly_after() -> None:
    s = parse_schedule("cron(0 3 * * ? *)")
    at_three = datetime(2024, 1, 1, 3, tzinfo=UTC)
    assert s.next_after(at_three) == at_three + timedelta(days=1)
    assert s.next_after(at_three - timedelta(microseconds=1)) == at_three


# --- time zones and daylight saving ------------------------------------------------------------------


def test_cron_reads_wall_clock_time_in_its_zone() -> None:
    times = fires("cron(0 9 * * ? *)", DAY, DAY + timedelta(days=2), "America/New_York")
    assert [t.hour for t in times] == [14, 14]
    assert all(t.tzinfo == UTC and t.astimezone(NEW_YORK).hour == 9 for t in times)


def test_a_time_skipped_in_spring_does_not_fire() -> None:
    # 2024-03-31 in Paris: 02:00 jumps to 03:00
    times = fires("cron(30 2 * * ? *)", datetime(2024, 3, 29, tzinfo=UTC), datetime(2024, 4, 2, tzinfo=UTC),
                  "Europe/Paris")
    assert [t.astimezone(PARIS).date() for t in times] == [date(2024, 3, 29), date(2024, 3, 30), date(2024, 4, 1)]


def test_a_time_repeated_in_autumn_fires_once() -> None:
    # 2024-10-27 in Paris: 03:00 falls back to 02:00, so 02:30 happens twice
    times = fires("cron(30 2 * * ? *)", datetime(2024, 10, 26, tzinfo=UTC), datetime(2024, 10, 29, tzinfo=UTC),
                  "Europe/Paris")
    assert [t.astimezone(PARIS).date() for t in times] == [date(2024, 10, 26), date(2024, 10, 27),
                                                           date(2024, 10, 28)]
    assert times[1] == datetime(2024, 10, 27, 0, 30, tzinfo=UTC)  # the first 02:30 (CEST)


@pytest.mark.parametrize(("day", "count"), [(date(2024, 3, 10), 23), (date(2024, 11, 3), 24), (date(2024, 7, 1), 24)])
def test_hourly_cron_on_dst_days_in_new_york(day: date, count: int) -> None:
    start = datetime(day.year, day.month, day.day, tzinfo=NEW_YORK) - timedelta(microseconds=1)
    end = datetime(day.year, day.month, day.day, 23, 59, tzinfo=NEW_YORK)
    times = fires("cron(0 * * * ? *)", start, end, "America/New_York")
    assert len(times) == count
    assert len({t.astimezone(UTC) for t in times}) == count
    assert times == sorted(times)


def test_each_fire_after_a_repeated_hour_moves_forward() -> None:
    s = parse_schedule("cron(*/30 * * * ? *)", "America/New_York")
    t = datetime(2024, 11, 3, 4, 0, tzinfo=UTC)  # 00:00 EDT
    seen = []
    for _ in range(8):
        nxt = s.next_after(t)
        assert nxt is not None and nxt > t
        seen.append(nxt.astimezone(NEW_YORK).strftime("%H:%M%z"))
        t = nxt
    # 01:00 and 01:30 happen twice in New York that night; each fires once
    assert seen == ["00:30-0400", "01:00-0400", "01:30-0400", "02:00-0500", "02:30-0500", "03:00-0500",
                    "03:30-0500", "04:00-0500"]


# --- at ------------------------------------------------------------------------------------------------


def test_at_fires_once() -> None:
    s = parse_schedule("at(2024-06-01T12:30:00)", "Europe/Paris")
    assert isinstance(s, AtSchedule) and s.kind == "at"
    when = datetime(2024, 6, 1, 10, 30, tzinfo=UTC)  # 12:30 in Paris
    assert s.when == when
    assert s.next_after(DAY) == when
    assert s.next_after(when) is None
    assert fires("at(2024-06-01T12:30:00)", DAY, DAY + timedelta(days=365), "Europe/Paris") == [when]
    assert fires("at(2024-06-01T12:30:00)", DAY, DAY + timedelta(days=10)) == []


# --- errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("expr", "reason", "hint"), [
    ("rate(1 hours)", "the unit is singular when the value is 1", "write rate(1 hour)"),
    ("rate(2 hour)", "the unit is plural when the value is not 1", "write rate(2 hours)"),
    ("rate(1 minutes)", "the unit is singular when the value is 1", "write rate(1 minute)"),
    ("rate(0 minutes)", "'0' is not a positive whole number", None),
    ("rate(-1 minutes)", "'-1' is not a positive whole number", None),
    ("rate(1.5 hours)", "'1.5' is not a positive whole number", None),
    ("rate(30 seconds)", "'seconds' is not a unit of rate", "the shortest rate is rate(1 minute)"),
    ("rate(2 weeks)", "'weeks' is not a unit of rate", "use minute(s), hour(s) or day(s)"),
    ("rate(5minutes)", "not a rate expression", None),
    ("cron(0 3 * * *)", "a cron expression has 6 fields, not 5",
     "EventBridge cron has six fields and no seconds: add the year, e.g. cron(0 3 * * ? *)"),
    ("cron(0 0 3 * * ? *)", "a cron expression has 6 fields, not 7", None),
    ("cron(0 3 * * 1 *)", "day-of-month and day-of-week cannot both be specified: one of them must be '?'",
     "e.g. cron(0 3 ? * 1 *)"),
    ("cron(0 3 * * * *)", "day-of-month and day-of-week cannot both be specified: one of them must be '?'",
     "e.g. cron(0 3 * * ? *)"),
    ("cron(0 3 ? * ? *)", "day-of-month and day-of-week cannot both be '?'", "e.g. cron(0 3 * * ? *)"),
    ("cron(60 3 * * ? *)", "minutes: 60 is outside 0-59", None),
    ("cron(0 24 * * ? *)", "hours: 24 is outside 0-23", None),
    ("cron(0 0 32 * ? *)", "day-of-month: 32 is outside 1-31", None),
    ("cron(0 0 0 * ? *)", "day-of-month: 0 is outside 1-31", None),
    ("cron(0 0 * 13 ? *)", "month: 13 is outside 1-12", None),
    ("cron(0 0 * FOO ? *)", "month: 'FOO' is not valid (use 1-12 or JAN-DEC)", None),
    ("cron(0 0 ? * 8 *)", "day-of-week: 8 is outside 1-7", None),
    ("cron(0 0 ? * 0 *)", "day-of-week: 0 is outside 1-7", None),
    ("cron(0 0 ? * 6#6 *)", "day-of-week: '6#6': the number after # must be 1-5", None),
    ("cron(0 0 * * ? 1969)", "year: 1969 is outside 1970-2199", None),
    ("cron(0 0 * * ? 2030-2025)", "year: range 2030-2025 runs backwards", None),
    ("cron(0/0 * * * ? *)", "minutes: step '0' is not a positive number", None),
    ("cron(0,,5 * * * ? *)", "minutes: empty list item in '0,,5'", None),
    ("cron(? * * * ? *)", "minutes: '?' is not valid", None),
    ("cron(0 0 L-2 * ? *)", "day-of-month: 'L-2' is not valid (use L, LW, 15W, numbers, ranges or *)", None),
    ("cron(0 0 ? * 2W *)", "day-of-week: '2W' is not valid (use 1-7 or SUN-SAT, 5L, 6#3, ranges or *)", None),
    ("cron(0 3 * * ? *", "unclosed cron(", None),
    ("at(2024-02-30T00:00:00)", "not a date and time (day is out of range for month)", None),
    ("at(2024-01-01 00:00:00)", "not an at() expression", None),
    ("every hour", "not a schedule expression", None),
    ("", "not a schedule expression", None),
])
def test_invalid_expressions(expr: str, reason: str, hint: str | None) -> None:
    with pytest.raises(ScheduleError) as info:
        parse_schedule(expr)
    err = info.value
    assert err.reason == reason
    assert err.message == f"Parameter ScheduleExpression is not valid: {expr.strip()}: {reason}"
    assert err.expression == expr.strip()
    assert err.hint
    if hint is not None:
        assert err.hint == hint
    assert str(err) == f"{err.message} ({err.hint})"
    assert isinstance(err, FlowengineError) and isinstance(err, ValueError)


def test_an_unknown_time_zone() -> None:
    with pytest.raises(ScheduleError, match="Invalid time zone 'Mars/Olympus'"):
        parse_schedule("rate(1 hour)", "Mars/Olympus")


def test_non_string_expression() -> None:
    with pytest.raises(ScheduleError):
        parse_schedule(5)  # type: ignore[arg-type]


def test_times_must_be_aware() -> None:
    s = parse_schedule("cron(0 3 * * ? *)")
    with pytest.raises(ValueError, match="timezone-aware"):
        s.next_after(datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        list(s.fire_times(DAY, datetime(2024, 1, 2)))


def test_schedules_print_as_their_expression() -> None:
    s = parse_schedule("cron(0 3 * * ? *)", "Europe/Paris")
    assert str(s) == "cron(0 3 * * ? *)" and s.kind == "cron" and s.timezone == "Europe/Paris"
    assert isinstance(s, CronSchedule)


# --- a brute-force cross-check --------------------------------------------------------------------------

_field_item = st.one_of(
    st.just("*"),
    st.integers(0, 59).map(str),
    st.tuples(st.integers(0, 59), st.integers(0, 59)).map(lambda p: f"{p[0]}-{p[1]}"),
    st.tuples(st.integers(0, 59), st.integers(1, 30)).map(lambda p: f"{p[0]}/{p[1]}"),
)


def _brute_minutes(field: str, low: int, high: int) -> set[int]:
    out: set[int] = set()
    for item in field.split(","):
        base, _, step = item.partition("/")
        s = int(step) if step else 1
        if base == "*":
            a, b = low, high
        elif "-" in base:
            a, b = (int(x) for x in base.split("-"))
        else:
            a = int(base)
            b = high if step else a
        seq = list(range(a, b + 1)) if a <= b else list(range(a, high + 1)) + list(range(low, b + 1))
        out.update(seq[::s])
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(_field_item, min_size=1, max_size=3).map(",".join),
       st.lists(st.integers(0, 23), min_size=1, max_size=3).map(lambda hs: ",".join(map(str, hs))),
       st.sampled_from(["*", "1-5", "MON,WED", "2#1", "6L", "L"]),
       st.integers(0, 60 * 24 * 40))
def test_next_after_agrees_with_a_minute_by_minute_scan(minutes: str, hours: str, dow: str, offset: int) -> None:
    s = parse_schedule(f"cron({minutes} {hours} ? * {dow} *)")
    assert isinstance(s, CronSchedule)
    mins = _brute_minutes(minutes, 0, 59)
    hrs = {int(h) for h in hours.split(",")}
    t = DAY + timedelta(minutes=offset, seconds=30)
    nxt = s.next_after(t)
    assert nxt is not None
    probe = t.replace(second=0) + timedelta(minutes=1)
    while probe < nxt:  # nothing fires in between
        assert not (probe.minute in mins and probe.hour in hrs and s.day_matches(probe.date()))
        probe += timedelta(minutes=1)
    assert nxt.minute in mins and nxt.hour in hrs and s.day_matches(nxt.date())


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]),
       st.sampled_from(["cron(*/20 * * * ? *)", "cron(30 1,2,3 * * ? *)", "cron(0 0 ? * SUN *)"]),
       st.integers(0, 365 * 24))
def test_fire_times_are_increasing_and_fall_on_their_wall_clock(zone: str, expr: str, hours: int) -> None:
    s = parse_schedule(expr, zone)
    start = DAY + timedelta(hours=hours)
    times = list(s.fire_times(start, start + timedelta(days=3)))
    assert times == sorted(set(times))
    assert all(t > start for t in times)
    assert isinstance(s, CronSchedule)
    for t in times:
        assert t.tzinfo == UTC
        local = t.astimezone(ZoneInfo(zone))
        assert local.minute in s.minutes and local.hour in s.hours and s.day_matches(local.date())
