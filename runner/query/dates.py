"""Absolute and relative date values, and ticket timestamps, as comparable strings.

Every date value becomes a half-open UTC interval [lo, hi) of "YYYY-MM-DDTHH:MM:SSZ" strings,
which compare correctly as strings: Zendesk sends timestamps in exactly that form, so the
per-ticket work is a string comparison.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_DATETIME_RE = re.compile(
    r"(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?(Z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE | re.ASCII,
)
RELATIVE_RE = re.compile(r"(\d+)([A-Za-z]+)", re.ASCII)
RELATIVE_UNITS: dict[str, str] = {
    "minute": "minutes",
    "minutes": "minutes",
    "hour": "hours",
    "hours": "hours",
    "day": "days",
    "days": "days",
    "week": "weeks",
    "weeks": "weeks",
    "month": "months",
    "months": "months",
    "year": "years",
    "years": "years",
}
MAX_RELATIVE = 100_000  # beyond this a relative date is a typo, not a query

_ONE_SECOND = timedelta(seconds=1)


def _stamp(moment: datetime) -> str:
    # by hand: strftime does not zero-pad years before 1000 on every platform
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T"
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}Z"
    )


def absolute_bounds(value: str) -> tuple[str, str]:
    """[lo, hi) of a YYYY-MM-DD day or an ISO-8601 instant; ValueError says what is wrong."""
    if DATE_RE.fullmatch(value):
        day = date.fromisoformat(value)
        start = datetime(day.year, day.month, day.day)
        end = start + timedelta(days=1) if day < date.max else datetime.max
        return _stamp(start), _stamp(end)
    match = _DATETIME_RE.fullmatch(value)
    if match is None:
        raise ValueError("not a date")
    day = date.fromisoformat(match.group(1))
    hour, minute = int(match.group(2)), int(match.group(3))
    second = int(match.group(4) or 0)
    if hour == 24 and minute == 0 and second == 0:
        moment = datetime(day.year, day.month, day.day) + timedelta(days=1)
    else:
        moment = datetime(day.year, day.month, day.day, hour, minute, second)
    offset = match.group(5)
    if offset and offset.upper() != "Z":
        sign = 1 if offset[0] == "+" else -1
        digits = offset[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:])
        if hours > 23 or minutes > 59:
            raise ValueError("bad UTC offset")
        moment -= sign * timedelta(hours=hours, minutes=minutes)
    return _stamp(moment), _stamp(moment + _ONE_SECOND)


def _relative_moment(amount: int, unit: str, now: datetime) -> datetime:
    if now.tzinfo is not None:
        now = now.astimezone(UTC).replace(tzinfo=None)
    now = now.replace(microsecond=0)
    try:
        if unit == "months" or unit == "years":
            months = amount * (12 if unit == "years" else 1)
            total = now.year * 12 + (now.month - 1) - months
            year, month = divmod(total, 12)
            last_day = calendar.monthrange(year, month + 1)[1]
            return now.replace(year=year, month=month + 1, day=min(now.day, last_day))
        return now - timedelta(**{unit: amount})
    except (OverflowError, ValueError):
        return datetime.min  # further back than any ticket


def date_bounds(value: str, now: datetime) -> tuple[str, str]:
    relative = RELATIVE_RE.fullmatch(value)
    if relative is not None:
        unit = RELATIVE_UNITS[relative.group(2).lower()]
        moment = _relative_moment(int(relative.group(1)), unit, now)
        return _stamp(moment), _stamp(moment + _ONE_SECOND)
    return absolute_bounds(value)


def ticket_stamp(value: Any) -> str | None:
    """A ticket timestamp in the form of _stamp, or None when absent or unreadable."""
    if isinstance(value, str):
        if len(value) == 20 and value[10] == "T" and value[19] == "Z":
            return value
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        return _stamp(moment)
    return None


def interval_test(op: str, lo: str, hi: str) -> Callable[[str], bool]:
    """The comparison `op` against a value that covers [lo, hi) (a day or one second)."""
    if op == ":":
        return lambda x: lo <= x < hi
    if op == ">":
        return lambda x: x >= hi
    if op == ">=":
        return lambda x: x >= lo
    if op == "<":
        return lambda x: x < lo
    return lambda x: x < hi  # "<="
