"""Template helpers for the pages that refresh themselves while orders are open."""

from collections.abc import Iterable

from django import template

from orders.models import Order

register = template.Library()


@register.filter
def any_open(orders: Iterable[Order]) -> bool:
    """Return True if any order in ``orders`` is still being polled."""
    return any(order.is_open for order in orders)
