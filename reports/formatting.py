"""Text forms of report values, shared by the page and the CSV exports.

Amounts are integer cents and are formatted with integer arithmetic only, so
no float rounding can change them.
"""

import logging
from datetime import datetime, timedelta

from django.utils import timezone

logger = logging.getLogger(__name__)


def format_dollars(cents: int | None) -> str:
    """Format integer cents as dollars with two decimals: -1505 gives "-15.05".

    None gives an empty string.
    """
    if cents is None:
        return ""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def format_seconds(duration: timedelta | None) -> str:
    """Format a duration as whole seconds, rounding half a second up."""
    if duration is None:
        return ""
    seconds = duration.days * 86400 + duration.seconds
    if duration.microseconds >= 500_000:
        seconds += 1
    return str(seconds)


def format_datetime(value: datetime | None) -> str:
    """Format an aware datetime in ISO 8601 in the current time zone."""
    if value is None:
        return ""
    return timezone.localtime(value).isoformat()


def format_percent(part: int, whole: int) -> str:
    """Format part / whole as a percentage with one decimal, rounding half up."""
    if whole == 0:
        return ""
    tenths = (part * 1000 * 2 + whole) // (whole * 2)
    return f"{tenths // 10}.{tenths % 10}"


def format_duration(duration: timedelta | None) -> str:
    """Format a duration for people: "45 s", "12 min", "3 h 05 min", "2 d 4 h"."""
    if duration is None:
        return "—"
    seconds = int(format_seconds(duration))
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min"
    return f"{seconds} s"
