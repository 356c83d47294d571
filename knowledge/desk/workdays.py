"""Working days in France: Monday to Friday, public holidays excluded (`holidays` calendar)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

PARIS = ZoneInfo("Europe/Paris")


@lru_cache(maxsize=64)
def public_holidays(year: int) -> frozenset[date]:
    """Return the French (metropolitan) public holidays of a year."""
    return frozenset(holidays.country_holidays("FR", years=year))


def is_working_day(day: date) -> bool:
    """Tell whether a day is a working day (weekday and not a public holiday)."""
    return day.weekday() < 5 and day not in public_holidays(day.year)


def working_days_between(start: date, end: date) -> int:
    """Count the working days after `start` up to and including `end` (0 when end <= start)."""
    count = 0
    day = start + timedelta(days=1)
    while day <= end:
        count += is_working_day(day)
        day += timedelta(days=1)
    return count


def local_date(moment: datetime) -> date:
    """The calendar day of a UTC timestamp in Paris, where the advisers work."""
    return moment.astimezone(PARIS).date()


def working_days_elapsed(start: datetime, end: datetime) -> int:
    """Working days between two timestamps, counted on Paris calendar days."""
    return working_days_between(local_date(start), local_date(end))
