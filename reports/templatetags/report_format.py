"""Template filters for the reports page."""

import logging
from datetime import timedelta

from django import template

from reports.formatting import format_duration, format_percent

logger = logging.getLogger(__name__)

register = template.Library()


@register.filter
def duration(value: timedelta | None) -> str:
    """Show a duration such as "3 h 05 min", or "—" when there is none."""
    return format_duration(value)


@register.filter
def percent_of(part: int, whole: int) -> str:
    """Show part / whole as a percentage with one decimal: "25.0 %"."""
    text = format_percent(part, whole)
    return f"{text} %" if text else "—"
