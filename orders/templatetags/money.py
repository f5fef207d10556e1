"""Template filters that format money stored as integer minor units."""

import logging
from decimal import Decimal

from django import template

logger = logging.getLogger(__name__)

register = template.Library()


@register.filter
def cents(value: int | None, currency: str = "usd") -> str:
    """Format integer cents as dollars: 4900 becomes "$49.00", None becomes "—".

    A currency other than USD is shown by its code, as in "12.50 EUR".
    """
    if value is None or value == "":
        return "—"
    amount = Decimal(int(value)).scaleb(-2)
    sign = "-" if amount < 0 else ""
    text = f"{abs(amount):,.2f}"
    if str(currency).lower() == "usd":
        return f"{sign}${text}"
    return f"{sign}{text} {str(currency).upper()}"


@register.filter
def base_units(value: int | None, decimals: int = 2) -> str:
    """Format an amount in a token's base units, e.g. 4900000 with 6 decimals as 4.9.

    Trailing zeros are dropped, because token amounts have no fixed display scale.
    """
    if value is None or value == "":
        return "—"
    amount = Decimal(int(value)).scaleb(-int(decimals))
    text = format(amount.normalize(), "f")
    return text
