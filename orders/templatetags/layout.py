"""Template tags for the page layout: navigation links and the team switcher."""

import logging
from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import format_html

from orders import access

logger = logging.getLogger(__name__)

register = template.Library()

# URL names whose pages belong to each navigation section; the order list
# section also covers every other order page except the composer's "new" page.
_SECTIONS = {
    "orders:order-create": ("order-create",),
    "orders:address-list": ("address-",),
    "orders:product-list-list": ("product-list-",),
    "orders:order-list": ("order-",),
    "orders:approval-queue": ("approval-",),
    "orders:team-detail": ("team-detail", "team-member-", "team-policy"),
    "reports:report-page": ("report-",),
}


def _is_current(url_name: str, current: str) -> bool:
    if url_name == "orders:order-list" and current == "order-create":
        return False
    return any(current.startswith(prefix) for prefix in _SECTIONS[url_name])


@register.simple_tag(takes_context=True)
def nav_link(context: dict[str, Any], url_name: str, text: str) -> str:
    """Render a navigation link, marked aria-current when its section is shown."""
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    namespace = url_name.split(":", 1)[0]
    current = match.url_name if match and match.namespace == namespace else ""
    if current and _is_current(url_name, current):
        return format_html(
            '<a href="{}" aria-current="page">{}</a>', reverse(url_name), text
        )
    return format_html('<a href="{}">{}</a>', reverse(url_name), text)


@register.simple_tag(takes_context=True)
def current_role(context: dict[str, Any]) -> str:
    """Return the user's role in the current team, or "" for a user in no team."""
    request = context["request"]
    if not access.user_memberships(request):
        return ""
    return access.current_membership(request).role


@register.inclusion_tag("orders/includes/team_switcher.html", takes_context=True)
def team_switcher(context: dict[str, Any]) -> dict[str, Any]:
    """Render the current team, with a switcher when the user is in several."""
    request = context["request"]
    memberships = access.user_memberships(request)
    current = access.current_membership(request) if memberships else None
    return {
        "memberships": memberships,
        "current": current,
        "next_url": request.get_full_path(),
        "csrf_token": context.get("csrf_token"),
    }
