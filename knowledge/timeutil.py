"""UTC time helpers shared by the models and the services."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

from knowledge.errors import InvalidInput

OUT_OF_RANGE = "Date hors des limites : choisissez une date entre l'an 2 et l'an 9998."
FRENCH_MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
                 "septembre", "octobre", "novembre", "décembre")


def utcnow() -> datetime:
    """Return the current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """Return an instant in UTC (a naive one is read as UTC); raise InvalidInput if it cannot be."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        # Near datetime.min or datetime.max, moving to UTC leaves the representable range.
        return moment.astimezone(UTC)
    except OverflowError:
        raise InvalidInput(OUT_OF_RANGE) from None


def day_start_utc(day: date, zone: tzinfo, *, next_day: bool = False) -> datetime:
    """Return the first instant of a local day (or of the day after) in UTC; refuse the extremes."""
    try:
        if next_day:
            day += timedelta(days=1)
        return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
    except OverflowError:
        raise InvalidInput(OUT_OF_RANGE) from None
