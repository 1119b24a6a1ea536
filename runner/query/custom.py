"""Custom field values: find one on a ticket, and match it as text, number or date."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Any

from runner.query.dates import DATE_RE, interval_test
from runner.query.keywords import NUMBER_RE


def custom_value(ticket: Mapping[str, Any], field_id: int) -> Any:
    """The value of custom field `field_id` on a ticket; None when the ticket lacks it."""
    for entry in ticket.get("custom_fields") or ():
        if isinstance(entry, Mapping) and entry.get("id") == field_id:
            return entry.get("value")
    return None


def custom_single(value: str, op: str) -> Callable[[Any], bool]:
    """Match one custom field value: text equality or prefix, or an ordered comparison."""
    wanted = value.lower()
    if op == ":":
        if wanted.endswith("*"):
            prefix = wanted[:-1]
            return lambda found: _custom_text(found).startswith(prefix)
        number = _as_number(wanted)
        if number is not None:
            return lambda found: _as_number(found) == number or _custom_text(found) == wanted
        return lambda found: _custom_text(found) == wanted
    number = _as_number(wanted)
    if number is not None:
        compare = _number_test(op, number)
        return lambda found: (n := _as_number(found)) is not None and compare(n)
    # a date: custom date fields hold "YYYY-MM-DD", so compare days as strings
    test = interval_test(op, wanted, _next_day(wanted))
    return lambda found: (
        isinstance(found, str) and DATE_RE.fullmatch(found) is not None and test(found)
    )


def _next_day(day: str) -> str:
    parsed = date.fromisoformat(day)
    return (parsed + timedelta(days=1)).isoformat() if parsed < date.max else "9999-99-99"


def _custom_text(found: Any) -> str:
    if isinstance(found, bool):
        return "true" if found else "false"
    return str(found).lower()


def _as_number(found: Any) -> float | None:
    if isinstance(found, bool):
        return None
    if isinstance(found, int | float):
        return float(found)
    if isinstance(found, str) and NUMBER_RE.fullmatch(found.strip()):
        return float(found)
    return None


def _number_test(op: str, number: float) -> Callable[[float], bool]:
    tests: dict[str, Callable[[float], bool]] = {
        "<": lambda n: n < number,
        "<=": lambda n: n <= number,
        ">": lambda n: n > number,
        ">=": lambda n: n >= number,
    }
    return tests[op]
