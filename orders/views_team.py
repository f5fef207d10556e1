"""The team page for team admins: members, their roles, and the spending policy.

Each change posts a plain form and redirects back to the team page; a form
that fails validation renders the page again with status 400, and a change the
team service rejects renders it with the error's ``status_code``.
"""

import logging
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from orders import access
from orders.models import AuditEntry, Membership, Team
from orders.services import policy, teams
from orders.services.teams import TeamError
from orders.team_forms import MemberAddForm, MemberRoleForm, TeamPolicyForm

logger = logging.getLogger(__name__)

TEAM_TEMPLATE = "orders/team_detail.html"
# The team page shows the latest membership and policy changes only.
AUDIT_ENTRIES_SHOWN = 50
TEAM_OBJECT_TYPES = ("orders.team", "orders.membership")


def _team_context(team: Team, **forms: Any) -> dict[str, Any]:
    memberships = (
        Membership.objects.filter(team=team)
        .select_related("user")
        .order_by("user__username")
    )
    entries = (
        AuditEntry.objects.filter(team=team, object_type__in=TEAM_OBJECT_TYPES)
        .select_related("actor")
        .order_by("-created_at", "-id")[:AUDIT_ENTRIES_SHOWN]
    )
    return {
        "team": team,
        "memberships": memberships,
        "roles": Membership.Role.choices,
        "entries": entries,
        "spend": policy.team_spend(team),
        "add_form": forms.get("add_form") or MemberAddForm(),
        "policy_form": forms.get("policy_form")
        or TeamPolicyForm(initial=TeamPolicyForm.initial_for(team)),
        "error": forms.get("error", ""),
    }


def _failed(
    request: HttpRequest, team: Team, status: int, **forms: Any
) -> HttpResponse:
    return render(request, TEAM_TEMPLATE, _team_context(team, **forms), status=status)


def _team_error(request: HttpRequest, team: Team, error: TeamError) -> HttpResponse:
    logger.info("User %s: team %s change rejected: %s", request.user.pk, team.pk, error)
    return _failed(request, team, error.status_code, error=error.message)


@login_required
@require_GET
def team_detail(request: HttpRequest) -> HttpResponse:
    team = access.get_team_to_manage(request)
    return render(request, TEAM_TEMPLATE, _team_context(team))


@login_required
@require_POST
def team_member_add(request: HttpRequest) -> HttpResponse:
    team = access.get_team_to_manage(request)
    form = MemberAddForm(request.POST)
    if not form.is_valid():
        return _failed(request, team, 400, add_form=form)
    try:
        membership = teams.add_member(
            team,
            actor=request.user,
            username=form.cleaned_data["username"],
            role=form.cleaned_data["role"],
        )
    except TeamError as error:
        return _team_error(request, team, error)
    messages.success(
        request,
        f"Added {membership.user.get_username()} as "
        f"{membership.get_role_display().lower()}.",
    )
    return redirect("orders:team-detail")


@login_required
@require_POST
def team_member_role(request: HttpRequest, pk: int) -> HttpResponse:
    membership = access.get_membership_to_manage(request, pk)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        return _failed(
            request, membership.team, 400, error="Choose a valid role for the member."
        )
    try:
        teams.change_role(
            membership, actor=request.user, role=form.cleaned_data["role"]
        )
    except TeamError as error:
        return _team_error(request, membership.team, error)
    messages.success(
        request,
        f"{membership.user.get_username()} is now "
        f"{membership.get_role_display().lower()}.",
    )
    return redirect("orders:team-detail")


@login_required
@require_POST
def team_member_remove(request: HttpRequest, pk: int) -> HttpResponse:
    membership = access.get_membership_to_manage(request, pk)
    username = membership.user.get_username()
    try:
        teams.remove_member(membership, actor=request.user)
    except TeamError as error:
        return _team_error(request, membership.team, error)
    messages.success(request, f"Removed {username} from {membership.team}.")
    return redirect("orders:team-detail")


@login_required
@require_POST
def team_policy(request: HttpRequest) -> HttpResponse:
    team = access.get_team_to_manage(request)
    form = TeamPolicyForm(request.POST)
    if not form.is_valid():
        return _failed(request, team, 400, policy_form=form)
    try:
        teams.update_policy(
            team,
            actor=request.user,
            approval_threshold_cents=form.cleaned_data["approval_threshold"],
            monthly_budget_cents=form.cleaned_data["monthly_budget"],
            over_budget_policy=form.cleaned_data["over_budget_policy"],
        )
    except TeamError as error:
        return _team_error(request, team, error)
    messages.success(request, f"Saved the spending policy of {team}.")
    return redirect("orders:team-detail")
