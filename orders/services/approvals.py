"""Approval flow: send an order for approval or to Zinc, approve, reject, reset.

``request_approval_or_submit`` is the only way the dashboard sends an order's
first unpaid request to Zinc. It applies the team's policy first
(orders.services.policy): a blocked order goes nowhere, an order that needs
approval waits in AWAITING_APPROVAL, and only the rest reach
``placement.submit_order``.

An approval is valid while ``approved_at`` is set and the max price is not
above ``approved_max_price_cents``. Changing an order's items, address or max
price clears it (``invalidate_approval_on_change``), so the order must be
approved again. The payment step never pays more than the approved max price
plus Zinc's fee (see ``placement._check_payable``).

Rules for deciding:

- only approvers and admins of the order's team may approve or reject;
- nobody approves their own order, admins included;
- an order over the monthly budget under the ADMIN_APPROVAL policy needs an
  admin;
- a rejection needs a comment that tells the requester why.

Errors are ApprovalError subclasses whose message can be shown to the user and
whose ``status_code`` is the HTTP status a view should answer with.
"""

import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from orders import approval_notifications, audit
from orders.models import (
    Approval,
    AuditEntry,
    Membership,
    Order,
    OrderEvent,
    StaleOrder,
)
from orders.services import placement, policy
from orders.services.placement import SubmitResult
from orders.services.policy import PolicyDecision

logger = logging.getLogger(__name__)

Status = Order.Status
Action = AuditEntry.Action

APPROVAL_FIELDS = ("approved_by", "approved_at", "approved_max_price_cents")
CLEARED_APPROVAL = dict.fromkeys(APPROVAL_FIELDS)


class ApprovalError(Exception):
    """An approval action that cannot be done, with a message for the user."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ApprovalForbidden(ApprovalError):
    """The acting user's role or relation to the order does not allow this."""

    status_code = 403


class NotATeamMember(ApprovalForbidden):
    pass


class NotAnApprover(ApprovalForbidden):
    pass


class SelfApprovalRefused(ApprovalForbidden):
    pass


class AdminApprovalRequired(ApprovalForbidden):
    pass


class OrderNotAwaitingApproval(ApprovalError):
    pass


class OrderNotSubmittable(ApprovalError):
    pass


class CommentRequired(ApprovalError):
    pass


class OrderChanged(ApprovalError):
    """The order was edited after the approver loaded the page they decided on."""

    status_code = 409


class BudgetExceeded(ApprovalError):
    """The team's policy blocks the order because it would cross the budget."""

    def __init__(self, message: str, decision: PolicyDecision) -> None:
        super().__init__(message)
        self.decision = decision


@dataclass(frozen=True)
class SubmitOutcome:
    """The result of ``request_approval_or_submit``: queued for approval or sent."""

    sent_for_approval: bool
    decision: PolicyDecision
    result: SubmitResult | None = None

    @property
    def message(self) -> str:
        if self.sent_for_approval:
            who = "a team admin" if self.decision.requires_admin else "an approver"
            return f"The order is waiting for {who} to approve it."
        return self.result.message if self.result else ""


def has_valid_approval(order: Order) -> bool:
    """Return True if the order's approval still covers its max price."""
    return (
        order.approved_at is not None
        and order.approved_max_price_cents is not None
        and order.max_price_cents <= order.approved_max_price_cents
    )


def _membership(user: Any, order: Order) -> Membership | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Membership.objects.filter(user=user, team_id=order.team_id).first()


def approval_covers(order: Order, decision: PolicyDecision) -> bool:
    """Return True if the stored approval satisfies what ``decision`` requires."""
    if not has_valid_approval(order):
        return False
    if not decision.requires_admin:
        return True
    # An approver's approval does not cover an order that is now over budget.
    return Membership.objects.filter(
        user_id=order.approved_by_id,
        team_id=order.team_id,
        role=Membership.Role.ADMIN,
    ).exists()


def _budget_message(decision: PolicyDecision) -> str:
    return (
        " ".join(decision.reasons)
        + " The team's policy blocks orders over budget, so nothing was sent. "
        "Lower the max price or ask a team admin to raise the budget."
    )


# --- sending ----------------------------------------------------------------


def request_approval_or_submit(order: Order, *, actor: Any) -> SubmitOutcome:
    """Apply the team's policy, then send the order for approval or to Zinc.

    Raises BudgetExceeded for an order the policy blocks, NotATeamMember for
    an actor outside the order's team and OrderNotSubmittable for an order in
    any status but DRAFT or APPROVED. In each case nothing is changed or sent.
    """
    if _membership(actor, order) is None:
        raise NotATeamMember("Only members of the order's team can send it.")
    if order.status not in {Status.DRAFT, Status.APPROVED}:
        raise OrderNotSubmittable(
            f"An order that is {order.get_status_display().lower()} cannot be "
            "sent. Edit it first, or reload the page."
        )

    # Two orders of one team sent at the same moment can both pass here,
    # because an order counts as committed only once Zinc's 402 is stored;
    # the payment claim checks the budget again under the team's row lock
    # (policy.budget_blocks_payment), so they cannot both be paid over it.
    decision = policy.evaluate(order)
    if decision.blocked:
        logger.info("Order %s blocked by team %s budget", order.pk, order.team_id)
        raise BudgetExceeded(_budget_message(decision), decision)

    if decision.needs_approval and not approval_covers(order, decision):
        _send_for_approval(order, decision, actor=actor)
        return SubmitOutcome(sent_for_approval=True, decision=decision)

    result = placement.submit_order(order, actor=actor)
    return SubmitOutcome(sent_for_approval=False, decision=decision, result=result)


def _send_for_approval(order: Order, decision: PolicyDecision, *, actor: Any) -> None:
    try:
        _queue_for_approval(order, decision, actor=actor)
    except StaleOrder as exc:
        # Another tab or user sent or changed the order first.
        raise OrderNotSubmittable(
            "The order was changed or sent from elsewhere; reload the page."
        ) from exc
    logger.info(
        "Order %s waits for approval (admin required: %s)",
        order.pk,
        decision.requires_admin,
    )


def _queue_for_approval(order: Order, decision: PolicyDecision, *, actor: Any) -> None:
    with transaction.atomic():
        if order.status == Status.APPROVED:
            # The approval no longer covers the order (the budget filled up
            # since an approver approved it), so it starts over.
            order.transition_to(
                Status.DRAFT,
                actor=actor,
                message="The approval no longer covers this order: "
                + " ".join(decision.reasons),
                **CLEARED_APPROVAL,
            )
        order.transition_to(
            Status.AWAITING_APPROVAL,
            actor=actor,
            message="Waiting for approval: " + " ".join(decision.reasons),
            data={
                "reasons": decision.reasons,
                "requires_admin": decision.requires_admin,
                "month_to_date_cents": decision.month_to_date_cents,
            },
        )
        approval_notifications.order_waiting_for_approval(
            order, admins_only=decision.requires_admin, reasons=decision.reasons
        )


# --- deciding ---------------------------------------------------------------


def _edited_by(order: Order, actor: Any) -> bool:
    """Return True if ``actor`` changed the order's contents at any time."""
    return (
        audit.entries_for(order)
        .filter(actor=actor, action__in=[Action.CREATE, Action.CHANGE])
        .exists()
    )


def _check_can_decide(order: Order, actor: Any) -> Membership:
    membership = _membership(actor, order)
    if membership is None or not membership.can_approve:
        raise NotAnApprover(
            f"Only approvers and admins of {order.team} can approve or reject its "
            "orders."
        )
    if order.created_by_id == actor.pk:
        raise SelfApprovalRefused(
            "You created this order, so another approver must decide on it."
        )
    if _edited_by(order, actor):
        raise SelfApprovalRefused(
            "You edited this order, so another approver must decide on it."
        )
    if order.status != Status.AWAITING_APPROVAL:
        raise OrderNotAwaitingApproval(
            f"This order is {order.get_status_display().lower()}, not waiting for "
            "approval. Reload the page."
        )
    return membership


def _decide(
    order: Order,
    *,
    actor: Any,
    decision: str,
    comment: str,
    new_status: str,
    changes: dict[str, Any],
) -> Approval:
    verb = "Approved" if decision == Approval.Decision.APPROVED else "Rejected"
    message = f"{verb} by {actor.get_username()}" + (f": {comment}" if comment else ".")
    with transaction.atomic():
        try:
            order.transition_to(new_status, actor=actor, message=message, **changes)
        except StaleOrder as exc:
            raise OrderNotAwaitingApproval(
                "Someone else decided on this order first. Reload the page."
            ) from exc
        approval = Approval.objects.create(
            order=order,
            decided_by=actor,
            decision=decision,
            comment=comment,
            max_price_cents=order.max_price_cents,
        )
        audit.record(
            actor,
            Action.APPROVE if decision == Approval.Decision.APPROVED else Action.REJECT,
            order,
            {
                "decision": [None, decision],
                "comment": [None, comment],
                "max_price_cents": [None, order.max_price_cents],
            },
        )
        approval_notifications.order_decided(approval)
    logger.info("Order %s %s by user %s", order.pk, decision, actor.pk)
    return approval


def _check_version(order: Order, seen_version: str | None) -> None:
    """Refuse a decision made on another version of the order.

    None means the caller showed no page (tests, scripts); an empty string is
    a form without the version field, such as a page from before it existed.
    """
    if seen_version is None or seen_version == order.version:
        return
    if not seen_version:
        raise ApprovalError(
            "The form is out of date. Reload the page and decide again."
        )
    raise OrderChanged(
        "The order changed after you opened it: its max price is now "
        f"${order.max_price_cents / 100:,.2f}. Review it again before deciding."
    )


def approve(
    order: Order, *, actor: Any, comment: str = "", seen_version: str | None = None
) -> Approval:
    """Approve a waiting order for its current max price.

    ``seen_version`` is the ``Order.version`` of the page the approver saw;
    when given and stale, OrderChanged is raised. Also raises NotAnApprover,
    SelfApprovalRefused, OrderNotAwaitingApproval, BudgetExceeded when the
    policy now blocks the order, and AdminApprovalRequired when it is over
    budget and the actor is no admin.
    """
    membership = _check_can_decide(order, actor)
    _check_version(order, seen_version)
    decision = policy.evaluate(order)
    if decision.blocked:
        raise BudgetExceeded(_budget_message(decision), decision)
    if decision.requires_admin and membership.role != Membership.Role.ADMIN:
        raise AdminApprovalRequired(
            "This order would take the team over its monthly budget, so only a "
            "team admin can approve it."
        )
    return _decide(
        order,
        actor=actor,
        decision=Approval.Decision.APPROVED,
        comment=comment.strip(),
        new_status=Status.APPROVED,
        changes={
            "approved_by": actor,
            "approved_at": timezone.now(),
            "approved_max_price_cents": order.max_price_cents,
        },
    )


def reject(
    order: Order, *, actor: Any, comment: str, seen_version: str | None = None
) -> Approval:
    """Reject a waiting order with a required comment that gives the reason.

    Raises CommentRequired, NotAnApprover, SelfApprovalRefused,
    OrderNotAwaitingApproval and, for a stale ``seen_version``, OrderChanged.
    """
    _check_can_decide(order, actor)
    _check_version(order, seen_version)
    comment = comment.strip()
    if not comment:
        raise CommentRequired(
            "Say why the order is rejected, so the requester can fix it."
        )
    return _decide(
        order,
        actor=actor,
        decision=Approval.Decision.REJECTED,
        comment=comment,
        new_status=Status.REJECTED,
        changes=dict(CLEARED_APPROVAL),
    )


# --- changes after approval -------------------------------------------------


def invalidate_approval_on_change(
    order: Order, *, actor: Any, changes: dict[str, list[Any]]
) -> bool:
    """Clear the order's approval because its items, address or max price changed.

    ``changes`` maps the changed fields to ``[before, after]`` and names them
    in the order's timeline; the caller audits the change itself. An order
    that waits for approval or is approved goes back to DRAFT, and a draft
    that kept an earlier approval loses it. Returns True if an approval or a
    pending request for one was cleared. Call it inside the transaction that
    saves the change.
    """
    waiting = order.status in {Status.AWAITING_APPROVAL, Status.APPROVED}
    if not changes or not (waiting or order.approved_at is not None):
        return False
    fields = ", ".join(name.replace("_", " ") for name in sorted(changes))
    message = f"Changed ({fields}) after approval was requested or given, so it "
    message += "must be approved again."
    before = audit.snapshot(order, APPROVAL_FIELDS)
    with transaction.atomic():
        if order.status == Status.DRAFT:
            Order.objects.filter(pk=order.pk).update(
                updated_at=timezone.now(), **CLEARED_APPROVAL
            )
            for name, value in CLEARED_APPROVAL.items():
                setattr(order, name, value)
            order.record_event(OrderEvent.Kind.APPROVAL, message, actor=actor)
            audit.record(
                actor, Action.CHANGE, order, audit.diff(before, CLEARED_APPROVAL)
            )
        else:
            order.transition_to(
                Status.DRAFT,
                actor=actor,
                message=message,
                data={"changed": sorted(changes)},
                **CLEARED_APPROVAL,
            )
    logger.info("Order %s approval cleared after a change to %s", order.pk, fields)
    return True
