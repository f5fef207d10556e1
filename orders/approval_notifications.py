"""Emails about approvals: to approvers when an order waits for them, and to the
requester when an order is approved or rejected.

Each email is sent after the transaction that recorded the decision commits,
so a rolled-back decision sends nothing. A failure to send is logged and does
not undo the decision. The messages contain order details and a link, never a
payment token, API key or receipt.
"""

import logging
from functools import partial

from django.conf import settings
from django.core.mail import EmailMessage, mailers
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from orders.models import Approval, Membership, Order

logger = logging.getLogger(__name__)


def approver_emails(order: Order, *, admins_only: bool) -> list[str]:
    """Return the addresses of the team members who may decide on ``order``.

    The requester is left out, because they cannot approve their own order,
    and so are members without an email address.
    """
    roles = (
        [Membership.Role.ADMIN]
        if admins_only
        else [Membership.Role.APPROVER, Membership.Role.ADMIN]
    )
    emails = (
        Membership.objects.filter(team_id=order.team_id, role__in=roles)
        .exclude(user_id=order.created_by_id)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    return sorted(set(emails))


def order_waiting_for_approval(
    order: Order, *, admins_only: bool, reasons: list[str]
) -> None:
    """Queue the email to approvers (or only admins) about a waiting order."""
    transaction.on_commit(
        partial(
            send_approval_request,
            order.pk,
            admins_only=admins_only,
            reasons=list(reasons),
        ),
        robust=True,
    )


def order_decided(approval: Approval) -> None:
    """Queue the email that informs the requester of an approval decision."""
    transaction.on_commit(partial(send_decision, approval.pk), robust=True)


def send_approval_request(
    order_id: int, *, admins_only: bool, reasons: list[str]
) -> int:
    """Send one email per approver about a waiting order; return how many were sent."""
    order = (
        Order.objects.select_related("team", "created_by")
        .prefetch_related("items")
        .filter(pk=order_id)
        .first()
    )
    if order is None:
        return 0
    recipients = approver_emails(order, admins_only=admins_only)
    if not recipients:
        logger.warning(
            "Order %s waits for approval, but team %s has no approver with an "
            "email address",
            order_id,
            order.team_id,
        )
        return 0
    context = {
        "order": order,
        "admins_only": admins_only,
        "reasons": reasons,
        "order_url": settings.SITE_URL + order.get_absolute_url(),
        "queue_url": settings.SITE_URL + reverse("orders:approval-queue"),
    }
    messages = [
        _message("approval_requested", context, recipient) for recipient in recipients
    ]
    return _send(messages, order_id, "approval request")


def send_decision(approval_id: int) -> int:
    """Send the requester the approved or rejected email; return 1 if sent."""
    approval = (
        Approval.objects.select_related(
            "order__team", "order__created_by", "decided_by"
        )
        .filter(pk=approval_id)
        .first()
    )
    if approval is None:
        return 0
    order = approval.order
    recipient = order.created_by.email
    if not recipient:
        logger.info(
            "Order %s: requester has no email address; %s email skipped",
            order.pk,
            approval.decision,
        )
        return 0
    context = {
        "order": order,
        "approval": approval,
        "order_url": settings.SITE_URL + order.get_absolute_url(),
    }
    message = _message(f"approval_{approval.decision}", context, recipient)
    return _send([message], order.pk, approval.decision)


def _message(event: str, context: dict[str, object], recipient: str) -> EmailMessage:
    subject = render_to_string(f"emails/{event}_subject.txt", context)
    body = render_to_string(f"emails/{event}_body.txt", context)
    return EmailMessage(
        subject=" ".join(subject.split()),
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient],
    )


def _send(messages: list[EmailMessage], order_id: int, event: str) -> int:
    try:
        sent = mailers.default.send_messages(messages) or 0
    except Exception:
        # Any mail backend can raise (SMTP, HTTP APIs); the decision is stored.
        logger.exception("Order %s: sending the %s email failed", order_id, event)
        return 0
    logger.info("Order %s: sent %d %s email(s)", order_id, sent, event)
    return sent
