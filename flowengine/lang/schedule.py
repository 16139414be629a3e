"""Schedule expressions (``rate``, ``cron``, ``at``) and when they fire, as EventBridge computes it.

Choose this module to validate a ``schedule:`` trigger or to ask when it fires on the virtual
clock.  Nothing here reads a clock: every question takes the time as an argument::

    s = parse_schedule("cron(0 18 ? * MON-FRI *)", timezone="Europe/Paris")
    s.next_after(datetime(2024, 3, 1, tzinfo=UTC))          # 2024-03-01 18:00 Paris time
    list(s.fire_times(start, end))                           # every fire in (start, end]

What is implemented (EventBridge rules and EventBridge Scheduler share the syntax):

* ``rate(value unit)``: a whole value ≥ 1 and ``minute|hour|day`` in the singular for 1, the
  plural otherwise (``rate(1 hour)``, ``rate(2 hours)``; ``rate(1 hours)`` is refused, as AWS
  refuses it).  A rate fires every period after an *anchor* (the moment the rule was created):
  ``anchor + period``, ``anchor + 2·period``, ...  It is a fixed interval, unaffected by
  daylight-saving time.
* ``cron(minutes hours day-of-month month day-of-week year)``: six fields, no seconds.
  ``, - * /`` everywhere; names ``JAN-DEC`` and ``SUN-SAT`` (day-of-week 1 is Sunday);
  ``?`` in exactly one of day-of-month and day-of-week; ``L`` (last day of the month, or
  ``5L`` the last Thursday), ``W`` (``15W`` the weekday nearest the 15th, ``LW`` the last
  weekday) and ``#`` (``6#3`` the third Friday).  Years 1970-2199.
* ``at(yyyy-mm-ddThh:mm:ss)``: once, at that wall-clock time.

Cron and ``at`` read wall-clock time in the schedule's time zone (``UTC`` unless given).
Around daylight-saving changes they behave as EventBridge Scheduler documents: a time that
does not exist (the hour skipped in spring) does not fire, and a time that exists twice
(the hour repeated in autumn) fires once, at its first occurrence.

Times passed in must be timezone-aware; times returned are in UTC.  (Python compares and
subtracts two datetimes of the *same* zone by wall-clock time, which is wrong across a
daylight-saving change; working in UTC sidesteps that.  Convert with ``astimezone`` to show
local time.)
"""

from __future__ import annotations

import datetime as _dt
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flowengine.errors import FlowengineError

__all__ = ["AtSchedule", "CronSchedule", "RateSchedule", "Schedule", "ScheduleError", "parse_schedule"]

_UTC = _dt.UTC
_EXAMPLES = "rate(1 hour), cron(0 3 * * ? *) or at(2026-01-01T00:00:00)"
_CRON_HINT = "fields: minutes hours day-of-month month day-of-week year, e.g. cron(0 3 * * ? *)"
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_MIN_YEAR, _MAX_YEAR = 1970, 2199
_Bad = Callable[[str], "ScheduleError"]  # makes the error for one expression from a problem


class ScheduleError(FlowengineError, ValueError):
    """A schedule expression (or its time zone) that AWS would refuse.

    ``message`` reads like AWS's own (``Parameter ScheduleExpression is not valid: ...``),
    ``reason`` is the specific problem, ``hint`` how to fix it and ``expression`` the text
    that was given.
    """

    def __init__(self, message: str, hint: str | None = None, *, expression: str | None = None,
                 reason: str | None = None) -> None:
        self.message = message
        self.hint = hint
        self.expression = expression
        self.reason = reason if reason is not None else message
        super().__init__(message, hint)

    def __str__(self) -> str:
        return self.message + (f" ({self.hint})" if self.hint else "")


def _invalid(expression: str, reason: str, hint: str) -> ScheduleError:
    return ScheduleError(f"Parameter ScheduleExpression is not valid: {expression}: {reason}", hint,
                         expression=expression, reason=reason)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ScheduleError(f"Invalid time zone '{name}'", "an IANA time zone name such as Europe/Paris or "
                            "America/New_York", reason=f"'{name}' is not a time zone") from None


def _aware(t: _dt.datetime, what: str = "time") -> _dt.datetime:
    if not isinstance(t, _dt.datetime) or t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, not {t!r}")
    return t


# --- the schedules --------------------------------------------------------------------------------


class Schedule(ABC):
    """A parsed schedule expression: when it fires, given the time.  See :func:`parse_schedule`."""

    expression: str
    timezone: str

    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.timezone)

    @property
    @abstractmethod
    def kind(self) -> str:
        """``rate``, ``cron`` or ``at``."""

    @abstractmethod
    def next_after(self, t: _dt.datetime, anchor: _dt.datetime | None = None) -> _dt.datetime | None:
        """The first fire strictly after ``t``, or None if the schedule never fires again.

        ``anchor`` matters only to rate schedules: fires fall at ``anchor + k·period``
        (k ≥ 1); without one the rate counts from ``t`` itself.
        """

    def fire_times(self, start: _dt.datetime, end: _dt.datetime,
                   anchor: _dt.datetime | None = None) -> Iterator[_dt.datetime]:
        """Every fire in ``(start, end]``, in order.  A rate counts from ``anchor`` (default ``start``)."""
        _aware(start, "start")
        _aware(end, "end")
        anchor = start if anchor is None else _aware(anchor, "anchor")
        end = end.astimezone(_UTC)
        t = start
        while True:
            nxt = self.next_after(t, anchor=anchor)
            if nxt is None or nxt > end:
                return
            yield nxt
            t = nxt

    def __str__(self) -> str:
        return self.expression


@dataclass(frozen=True)
class RateSchedule(Schedule):
    """``rate(value unit)``: every ``period``, counted from an anchor."""

    expression: str
    value: int
    unit: str  # minute | hour | day (singular)
    timezone: str = "UTC"

    @property
    def kind(self) -> str:
        return "rate"

    @property
    def period(self) -> _dt.timedelta:
        return _dt.timedelta(**{f"{self.unit}s": self.value})

    def next_after(self, t: _dt.datetime, anchor: _dt.datetime | None = None) -> _dt.datetime | None:
        t = _aware(t).astimezone(_UTC)
        base = t if anchor is None else _aware(anchor, "anchor").astimezone(_UTC)
        k = max((t - base) // self.period + 1, 1)
        return base + k * self.period


@dataclass(frozen=True)
class AtSchedule(Schedule):
    """``at(yyyy-mm-ddThh:mm:ss)``: once, at a wall-clock time in the schedule's zone."""

    expression: str
    wall: _dt.datetime  # naive, wall-clock time in ``timezone``
    timezone: str = "UTC"

    @property
    def kind(self) -> str:
        return "at"

    @property
    def when(self) -> _dt.datetime:
        """The instant it fires, in UTC."""
        return self.wall.replace(tzinfo=self.zone).astimezone(_UTC)

    def next_after(self, t: _dt.datetime, anchor: _dt.datetime | None = None) -> _dt.datetime | None:
        when = self.when
        return when if when > _aware(t).astimezone(_UTC) else None


@dataclass(frozen=True)
class _DaysOfMonth:
    days: frozenset[int] = frozenset()
    last: bool = False  # L
    last_weekday: bool = False  # LW
    nearest_weekday: frozenset[int] = frozenset()  # 15W

    def matches(self, d: _dt.date, last_day: int) -> bool:
        if d.day in self.days or (self.last and d.day == last_day):
            return True
        if self.last_weekday and d.day == _nearest_weekday(last_day, d, last_day):
            return True
        return any(n <= last_day and d.day == _nearest_weekday(n, d, last_day) for n in self.nearest_weekday)


@dataclass(frozen=True)
class _DaysOfWeek:
    days: frozenset[int] = frozenset()  # 1 = Sunday ... 7 = Saturday
    last: frozenset[int] = frozenset()  # 5L: the last Thursday of the month
    nth: frozenset[tuple[int, int]] = frozenset()  # (6, 3): the third Friday

    def matches(self, d: _dt.date, last_day: int) -> bool:
        dow = d.isoweekday() % 7 + 1
        if dow in self.days:
            return True
        if dow in self.last and d.day + 7 > last_day:
            return True
        return (dow, (d.day - 1) // 7 + 1) in self.nth


def _nearest_weekday(n: int, d: _dt.date, last_day: int) -> int:
    """The day of ``d``'s month that ``nW`` means: the weekday nearest the n-th, within the month."""
    target = d.replace(day=n)
    wd = target.weekday()  # Monday 0 ... Sunday 6
    if wd == 5:  # Saturday: the Friday before, unless that leaves the month
        return n - 1 if n > 1 else n + 2
    if wd == 6:  # Sunday: the Monday after, unless that leaves the month
        return n + 1 if n < last_day else n - 2
    return n


@dataclass(frozen=True)
class CronSchedule(Schedule):
    """``cron(minutes hours day-of-month month day-of-week year)`` in a time zone."""

    expression: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    months: frozenset[int]
    years: tuple[int, ...]
    days_of_month: _DaysOfMonth | None = field(default=None, repr=False)  # None: '?'
    days_of_week: _DaysOfWeek | None = field(default=None, repr=False)  # None: '?'
    timezone: str = "UTC"

    @property
    def kind(self) -> str:
        return "cron"

    def day_matches(self, d: _dt.date) -> bool:
        """Whether the schedule fires on date ``d`` (at its hours and minutes)."""
        if d.year not in self.years or d.month not in self.months:
            return False
        last_day = _last_day(d.year, d.month)
        if self.days_of_month is not None:
            return self.days_of_month.matches(d, last_day)
        assert self.days_of_week is not None
        return self.days_of_week.matches(d, last_day)

    def next_after(self, t: _dt.datetime, anchor: _dt.datetime | None = None) -> _dt.datetime | None:
        t = _aware(t).astimezone(_UTC)
        zone = self.zone
        start = t.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0, fold=0)
        years = self.years
        day = start.date()
        while True:
            if day.year not in years:
                later = [y for y in years if y > day.year]
                if not later:
                    return None
                day = _dt.date(later[0], 1, 1)
                continue
            if day.month not in self.months:
                day = _dt.date(day.year + 1, 1, 1) if day.month == 12 else _dt.date(day.year, day.month + 1, 1)
                continue
            if self.day_matches(day):
                today = day == start.date()
                for h in self.hours:
                    if today and h < start.hour:
                        continue
                    for m in self.minutes:
                        if today and h == start.hour and m < start.minute:
                            continue
                        wall = _dt.datetime(day.year, day.month, day.day, h, m)
                        fire = _resolve(wall, zone)
                        if fire is not None and fire > t:
                            return fire
            if day.year == _MAX_YEAR and day.month == 12 and day.day == 31:
                return None
            day += _dt.timedelta(days=1)


def _last_day(year: int, month: int) -> int:
    nxt = _dt.date(year + 1, 1, 1) if month == 12 else _dt.date(year, month + 1, 1)
    return (nxt - _dt.timedelta(days=1)).day


def _resolve(wall: _dt.datetime, zone: ZoneInfo) -> _dt.datetime | None:
    """The UTC instant of a wall-clock time: None if it does not exist, the first if it exists twice."""
    fire = wall.replace(tzinfo=zone, fold=0).astimezone(_UTC)
    if fire.astimezone(zone).replace(tzinfo=None) != wall:
        return None  # skipped by a daylight-saving change
    return fire


# --- parsing --------------------------------------------------------------------------------------

_RATE = re.compile(r"rate\(\s*(\S+)\s+(\S+)\s*\)")
_AT = re.compile(r"at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)")
_UNITS = {"minute": "minute", "minutes": "minute", "hour": "hour", "hours": "hour", "day": "day", "days": "day"}


def parse_schedule(expr: str, timezone: str = "UTC") -> Schedule:
    """Parse a schedule expression with AWS's rules; raise :class:`ScheduleError` if AWS would refuse it.

    ``timezone`` is an IANA name; cron and ``at`` read wall-clock time there (EventBridge
    Scheduler's ``ScheduleExpressionTimezone``).
    """
    if not isinstance(expr, str):
        raise ScheduleError(f"Parameter ScheduleExpression is not valid: {expr!r} is not a string",
                            f"write {_EXAMPLES}", reason="not a string")
    _zone(timezone)
    text = expr.strip()
    if text.startswith("rate("):
        return _parse_rate(text, timezone)
    if text.startswith("cron("):
        return _parse_cron(text, timezone)
    if text.startswith("at("):
        return _parse_at(text, timezone)
    raise _invalid(text, "not a schedule expression", f"write {_EXAMPLES}")


def _parse_rate(text: str, timezone: str) -> RateSchedule:
    m = _RATE.fullmatch(text)
    if not m:
        raise _invalid(text, "not a rate expression", "write rate(<value> <unit>), e.g. rate(5 minutes)")
    value, unit = m.groups()
    if not value.isdigit() or int(value) < 1:
        raise _invalid(text, f"'{value}' is not a positive whole number", "write e.g. rate(5 minutes)")
    n = int(value)
    base = _UNITS.get(unit)
    if base is None:
        hint = ("the shortest rate is rate(1 minute)" if unit.rstrip("s") == "second"
                else "use minute(s), hour(s) or day(s)")
        raise _invalid(text, f"'{unit}' is not a unit of rate", hint)
    want = base if n == 1 else base + "s"
    if unit != want:
        rule = "the unit is singular when the value is 1" if n == 1 else "the unit is plural when the value is not 1"
        raise _invalid(text, f"{rule}", f"write rate({n} {want})")
    return RateSchedule(text, n, base, timezone)


def _parse_at(text: str, timezone: str) -> AtSchedule:
    m = _AT.fullmatch(text)
    if not m:
        raise _invalid(text, "not an at() expression", "write at(yyyy-mm-ddThh:mm:ss), e.g. at(2026-01-01T00:00:00)")
    try:
        year, month, day, hour, minute, second = (int(x) for x in m.groups())
        wall = _dt.datetime(year, month, day, hour, minute, second)
    except ValueError as exc:
        raise _invalid(text, f"not a date and time ({exc})", "write at(yyyy-mm-ddThh:mm:ss)") from None
    return AtSchedule(text, wall, timezone)


def _parse_cron(text: str, timezone: str) -> CronSchedule:
    if not text.endswith(")"):
        raise _invalid(text, "unclosed cron(", "write cron(<6 fields>)")
    fields = text[5:-1].split()
    if len(fields) != 6:
        hint = _CRON_HINT
        if len(fields) == 5:
            hint = "EventBridge cron has six fields and no seconds: add the year, e.g. cron(" + " ".join(
                _fix_day_fields(fields[:2] + fields[2:5] + ["*"])) + ")"
        raise _invalid(text, f"a cron expression has 6 fields, not {len(fields)}", hint)
    minute, hour, dom, month, dow, year = (f.upper() for f in fields)
    if (dom == "?") == (dow == "?"):
        fixed = " ".join(_fix_day_fields(fields))
        reason = ("day-of-month and day-of-week cannot both be '?'" if dom == "?"
                  else "day-of-month and day-of-week cannot both be specified: one of them must be '?'")
        raise _invalid(text, reason, f"e.g. cron({fixed})")

    def bad(problem: str) -> ScheduleError:
        return _invalid(text, problem, _CRON_HINT)

    minutes = _numbers(minute, "minutes", 0, 59, (), bad)
    hours = _numbers(hour, "hours", 0, 23, (), bad)
    months = _numbers(month, "month", 1, 12, _MONTHS, bad)
    years = _numbers(year, "year", _MIN_YEAR, _MAX_YEAR, (), bad, cyclic=False)
    days_of_month = None if dom == "?" else _days_of_month(dom, bad)
    days_of_week = None if dow == "?" else _days_of_week(dow, bad)
    return CronSchedule(text, tuple(sorted(minutes)), tuple(sorted(hours)), frozenset(months),
                        tuple(sorted(years)), days_of_month, days_of_week, timezone)


def _fix_day_fields(fields: list[str]) -> list[str]:
    """The same fields with exactly one of day-of-month and day-of-week made '?'."""
    f = list(fields)
    dom, dow = f[2], f[4]
    if dom == "?" and dow == "?":
        f[2] = "*"
    elif dom != "?" and dow != "?":
        if dow == "*":
            f[4] = "?"
        else:
            f[2] = "?"
    return f


def _number(tok: str, name: str, low: int, high: int, names: tuple[str, ...], bad: _Bad) -> int:
    if tok.isdigit():
        n = int(tok)
    elif tok in names:
        n = names.index(tok) + 1
    else:
        raise bad(f"{name}: '{tok}' is not valid" + (f" (use {low}-{high} or {names[0]}-{names[-1]})" if names else ""))
    if not low <= n <= high:
        raise bad(f"{name}: {n} is outside {low}-{high}")
    return n


def _numbers(text: str, name: str, low: int, high: int, names: tuple[str, ...], bad: _Bad,
             cyclic: bool = True) -> set[int]:
    """A field of numbers: ``*``, ``a``, ``a-b``, ``a/n``, ``a-b/n``, ``*/n`` and lists of these."""
    out: set[int] = set()
    for item in text.split(","):
        if not item:
            raise bad(f"{name}: empty list item in '{text}'")
        base, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) < 1:
                raise bad(f"{name}: step '{step_text}' is not a positive number")
            step = int(step_text)
        if base == "*":
            first, last = low, high
        elif "-" in base:
            a, _, b = base.partition("-")
            first, last = _number(a, name, low, high, names, bad), _number(b, name, low, high, names, bad)
            if last < first and not cyclic:
                raise bad(f"{name}: range {a}-{b} runs backwards")
        else:
            first = _number(base, name, low, high, names, bad)
            last = high if slash else first
        if first <= last:
            out.update(range(first, last + 1, step))
        else:  # a range that wraps around (FRI-MON, 22-2)
            span = list(range(first, high + 1)) + list(range(low, last + 1))
            out.update(span[::step])
    return out


def _days_of_month(text: str, bad: _Bad) -> _DaysOfMonth:
    days: set[int] = set()
    nearest: set[int] = set()
    last = last_weekday = False
    for item in text.split(","):
        if item == "L":
            last = True
        elif item == "LW":
            last_weekday = True
        elif item.endswith("W"):
            nearest.add(_number(item[:-1], "day-of-month", 1, 31, (), bad))
        elif "L" in item or "W" in item or "#" in item or "?" in item:
            raise bad(f"day-of-month: '{item}' is not valid (use L, LW, 15W, numbers, ranges or *)")
        else:
            days |= _numbers(item, "day-of-month", 1, 31, (), bad)
    return _DaysOfMonth(frozenset(days), last, last_weekday, frozenset(nearest))


def _days_of_week(text: str, bad: _Bad) -> _DaysOfWeek:
    days: set[int] = set()
    last: set[int] = set()
    nth: set[tuple[int, int]] = set()
    for item in text.split(","):
        if item == "L":
            days.add(7)  # L alone in day-of-week is the last day of the week: Saturday
        elif "#" in item:
            d, _, k = item.partition("#")
            if not k.isdigit() or not 1 <= int(k) <= 5:
                raise bad(f"day-of-week: '{item}': the number after # must be 1-5")
            nth.add((_number(d, "day-of-week", 1, 7, _DAYS, bad), int(k)))
        elif item.endswith("L") and len(item) > 1:
            last.add(_number(item[:-1], "day-of-week", 1, 7, _DAYS, bad))
        elif "W" in item.replace("WED", "") or "?" in item:
            raise bad(f"day-of-week: '{item}' is not valid (use 1-7 or SUN-SAT, 5L, 6#3, ranges or *)")
        else:
            days |= _numbers(item, "day-of-week", 1, 7, _DAYS, bad)
    return _DaysOfWeek(frozenset(days), frozenset(last), frozenset(nth))
