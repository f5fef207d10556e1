"""Template filters that format money stored as integer minor units, and token ids."""

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
def token_amount(value: int | None, decimals: int = 6) -> str:
    """Format base units with all of the token's decimals: 61000000 with 6 is 61.000000.

    Every decimal is kept, so the reader sees the token's scale and cannot
    mistake the amount for a count of base units.
    """
    if value is None or value == "":
        return "—"
    places = int(decimals)
    amount = Decimal(int(value)).scaleb(-places)
    return f"{amount:,.{places}f}"


@register.filter
def short_address(value: str, keep: int = 6) -> str:
    """Shorten a long hex address to its start and end: 0x20c000…000000.

    Templates put the full address in a title attribute next to it.
    """
    text = str(value or "")
    keep = int(keep)
    if len(text) <= 2 * keep + 3:
        return text
    return f"{text[:keep]}…{text[-keep:]}"
