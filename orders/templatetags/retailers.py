"""Template filter that shows a retailer code by the retailer's display name."""

from django import template

from orders.retailers import retailer_name

register = template.Library()


@register.filter
def retailer_display(code: str) -> str:
    """Return the display name for a retailer code, such as "Zinc test shop"."""
    return retailer_name(code) if code else ""
