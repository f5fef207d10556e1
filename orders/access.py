"""Team-scoped access to the objects that views show and change.

Every view gets its team and objects through these helpers, so access control
lives in one place. An object of another team raises Http404, so that its
existence is not revealed. An action that the user's role in the current team
does not allow raises PermissionDenied (403): approving and rejecting need the
approver or admin role, and managing members and policy needs the admin role.
The object is looked up first, so another team's object is a 404 for every
role.
"""

import logging

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404

from orders.models import (
    Address,
    Membership,
    Order,
    ProductList,
    ProductListItem,
    Team,
)

logger = logging.getLogger(__name__)

SESSION_TEAM_KEY = "current_team_id"


def user_memberships(request: HttpRequest) -> list[Membership]:
    """Return the signed-in user's memberships with their teams, cached per request."""
    cached = getattr(request, "_zincdash_memberships", None)
    if cached is None:
        cached = list(
            Membership.objects.filter(user=request.user)
            .select_related("team")
            .order_by("team__name")
        )
        request._zincdash_memberships = cached  # type: ignore[attr-defined]
    return cached


def current_membership(request: HttpRequest) -> Membership:
    """Return the membership of the team chosen in the session.

    Falls back to the user's first team by name when the session names no team
    or a team the user has since left. Raises Http404 for a user in no team.
    """
    memberships = user_memberships(request)
    if not memberships:
        logger.warning("User %s is not a member of any team", request.user.pk)
        raise Http404("Your account is not a member of any team. Ask an admin.")
    chosen_id = request.session.get(SESSION_TEAM_KEY)
    for membership in memberships:
        if membership.team_id == chosen_id:
            return membership
    return memberships[0]


def current_team(request: HttpRequest) -> Team:
    """Return the team the signed-in user works in now."""
    return current_membership(request).team


def switch_team(request: HttpRequest, team_id: int) -> Team:
    """Make ``team_id`` the current team. Raises Http404 unless the user is a member."""
    for membership in user_memberships(request):
        if membership.team_id == team_id:
            request.session[SESSION_TEAM_KEY] = team_id
            return membership.team
    raise Http404("You are not a member of that team.")


def team_addresses(request: HttpRequest) -> QuerySet[Address]:
    return Address.objects.filter(team=current_team(request))


def team_product_lists(request: HttpRequest) -> QuerySet[ProductList]:
    return ProductList.objects.filter(team=current_team(request))


def team_orders(request: HttpRequest) -> QuerySet[Order]:
    return Order.objects.filter(team=current_team(request))


def get_address(request: HttpRequest, pk: int) -> Address:
    return get_object_or_404(team_addresses(request), pk=pk)


def get_product_list(request: HttpRequest, pk: int) -> ProductList:
    return get_object_or_404(team_product_lists(request), pk=pk)


def get_order(request: HttpRequest, pk: int) -> Order:
    return get_object_or_404(
        team_orders(request).select_related("created_by", "address"), pk=pk
    )


def get_product_list_item(
    request: HttpRequest, list_pk: int, item_pk: int
) -> ProductListItem:
    return get_object_or_404(
        ProductListItem.objects.select_related("product_list"),
        pk=item_pk,
        product_list_id=list_pk,
        product_list__team=current_team(request),
    )


# --- roles ---------------------------------------------------------------------

APPROVER_ROLES = (Membership.Role.APPROVER, Membership.Role.ADMIN)


def require_role(
    request: HttpRequest, roles: tuple[str, ...], action: str
) -> Membership:
    """Return the current membership, or raise PermissionDenied unless its role
    is one of ``roles``. ``action`` completes the message "Only ... can ...".
    """
    membership = current_membership(request)
    if membership.role not in roles:
        logger.info(
            "User %s (%s in team %s) may not %s",
            request.user.pk,
            membership.role,
            membership.team_id,
            action,
        )
        names = " and ".join(
            f"{Membership.Role(role).label.lower()}s" for role in roles
        )
        raise PermissionDenied(f"Only {names} of {membership.team} can {action}.")
    return membership


def require_approver(request: HttpRequest) -> Membership:
    return require_role(request, APPROVER_ROLES, "approve or reject orders")


def get_order_to_decide(request: HttpRequest, pk: int) -> Order:
    """Return an order of the current team that the user may approve or reject."""
    order = get_order(request, pk)
    require_approver(request)
    return order


def get_team_to_manage(request: HttpRequest) -> Team:
    """Return the current team if the user is one of its admins."""
    return require_role(
        request, (Membership.Role.ADMIN,), "manage members and policy"
    ).team


def get_membership_to_manage(request: HttpRequest, pk: int) -> Membership:
    """Return a membership of the current team if the user is one of its admins."""
    membership = get_object_or_404(
        Membership.objects.select_related("user", "team"),
        pk=pk,
        team=current_team(request),
    )
    get_team_to_manage(request)
    return membership
