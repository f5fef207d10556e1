"""Team membership and policy: roles, and changes that only team admins may make.

Every change here writes an audit entry with the acting admin and the values
before and after. A team always keeps at least one admin, so that someone can
still manage it.
"""

import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from orders import audit
from orders.models import AuditEntry, Membership, Team

logger = logging.getLogger(__name__)

Role = Membership.Role
Action = AuditEntry.Action

POLICY_FIELDS = (
    "approval_threshold_cents",
    "monthly_budget_cents",
    "over_budget_policy",
)


class TeamError(Exception):
    """A team change that cannot be made, with a message for the user."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TeamPermissionDenied(TeamError):
    """The acting user's role does not allow this change."""

    status_code = 403


def membership_of(user: Any, team: Team) -> Membership | None:
    """Return ``user``'s membership of ``team``, or None for a non-member."""
    if not getattr(user, "is_authenticated", False):
        return None
    return Membership.objects.filter(user=user, team=team).first()


def require_admin(user: Any, team: Team) -> Membership:
    """Return the admin membership of ``user`` in ``team``.

    Raises TeamPermissionDenied for anyone who is not an admin of the team.
    """
    membership = membership_of(user, team)
    if membership is None or membership.role != Role.ADMIN:
        raise TeamPermissionDenied(
            f"Only an admin of {team} can manage its members and policy."
        )
    return membership


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise TeamError(
            f"{role!r} is not a valid role; use one of " + ", ".join(Role.values) + "."
        )


def _check_keeps_an_admin(membership: Membership) -> None:
    """Raise TeamError if ``membership`` is the team's last admin."""
    if membership.role != Role.ADMIN:
        return
    other_admins = (
        Membership.objects.select_for_update()
        .filter(team_id=membership.team_id, role=Role.ADMIN)
        .exclude(pk=membership.pk)
    )
    if not other_admins.exists():
        raise TeamError(
            f"{membership.user} is the last admin of {membership.team}. Make "
            "another member an admin first."
        )


@transaction.atomic
def add_member(team: Team, *, actor: Any, username: str, role: str) -> Membership:
    """Add the user named ``username`` to ``team`` with ``role``."""
    require_admin(actor, team)
    _check_role(role)
    username = username.strip()
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise TeamError(f"No user is named {username!r}. Check the spelling.")
    if Membership.objects.filter(user=user, team=team).exists():
        raise TeamError(f"{username} is already a member of {team}.")
    membership = Membership.objects.create(user=user, team=team, role=role)
    audit.record(
        actor,
        Action.MEMBER_ADD,
        membership,
        {"user": [None, user.get_username()], "role": [None, role]},
    )
    logger.info("User %s added to team %s as %s", user.pk, team.pk, role)
    return membership


@transaction.atomic
def change_role(membership: Membership, *, actor: Any, role: str) -> Membership:
    """Give ``membership`` a new role; the team's last admin keeps theirs."""
    require_admin(actor, membership.team)
    _check_role(role)
    old_role = membership.role
    if role == old_role:
        return membership
    if role != Role.ADMIN:
        _check_keeps_an_admin(membership)
    membership.role = role
    membership.save(update_fields=["role"])
    audit.record(
        actor,
        Action.MEMBER_CHANGE,
        membership,
        {"user": [membership.user.get_username()] * 2, "role": [old_role, role]},
    )
    logger.info(
        "User %s in team %s changed from %s to %s",
        membership.user_id,
        membership.team_id,
        old_role,
        role,
    )
    return membership


@transaction.atomic
def remove_member(membership: Membership, *, actor: Any) -> None:
    """Remove ``membership``; the team's last admin cannot be removed."""
    require_admin(actor, membership.team)
    _check_keeps_an_admin(membership)
    audit.record(
        actor,
        Action.MEMBER_REMOVE,
        membership,
        {
            "user": [membership.user.get_username(), None],
            "role": [membership.role, None],
        },
    )
    logger.info("User %s removed from team %s", membership.user_id, membership.team_id)
    membership.delete()


@transaction.atomic
def update_policy(
    team: Team,
    *,
    actor: Any,
    approval_threshold_cents: int | None,
    monthly_budget_cents: int | None,
    over_budget_policy: str,
) -> Team:
    """Set the team's approval threshold, monthly budget and over-budget policy.

    Amounts are in cents; None removes the threshold or the budget. The new
    rules apply to orders sent or decided from now on.
    """
    require_admin(actor, team)
    if over_budget_policy not in Team.OverBudgetPolicy.values:
        raise TeamError(f"{over_budget_policy!r} is not a valid over-budget policy.")
    for name, value in (
        ("approval threshold", approval_threshold_cents),
        ("monthly budget", monthly_budget_cents),
    ):
        if value is not None and value < 0:
            raise TeamError(f"The {name} must be zero or more.")
    before = audit.snapshot(team, POLICY_FIELDS)
    team.approval_threshold_cents = approval_threshold_cents
    team.monthly_budget_cents = monthly_budget_cents
    team.over_budget_policy = over_budget_policy
    changes = audit.diff(before, audit.snapshot(team, POLICY_FIELDS))
    if not changes:
        return team
    team.save(update_fields=list(changes))
    audit.record(actor, Action.POLICY_CHANGE, team, changes)
    logger.info("Team %s policy changed: %s", team.pk, ", ".join(changes))
    return team
