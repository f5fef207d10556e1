"""Emails to an order's requester when Zinc reports news about it.

Four events send an email: the order is placed, it fails, its first tracking
number arrives, or the retailer cancels it. Each is sent after the database
transaction that recorded the event commits, so a rolled-back poll sends
nothing. The messages carry order details and a link, never an API key,
payment token or receipt.
"""

import logging
from functools import partial

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string

from orders.advice import advice_for_error
from orders.models import Order

logger = logging.getLogger(__name__)

# Status changes that send an email, by the template name's event part.
STATUS_EVENTS = {
    Order.Status.ORDER_PLACED: "placed",
    Order.Status.ORDER_FAILED: "failed",
    Order.Status.CANCELLED_BY_RETAILER: "cancelled_by_retailer",
}
TRACKING_EVENT = "tracking"


def order_status_changed(order: Order, status: str) -> None:
    """Queue the email for a status change, if that status sends one."""
    event = STATUS_EVENTS.get(status)
    if event is not None:
        _send_on_commit(order, event)


def order_tracking_received(order: Order) -> None:
    """Queue the email for an order's first tracking number."""
    _send_on_commit(order, TRACKING_EVENT)


def _send_on_commit(order: Order, event: str) -> None:
    transaction.on_commit(partial(send_order_email, order.pk, event), robust=True)


def send_order_email(order_id: int, event: str) -> bool:
    """Render and send one order email now. Returns False when none was sent.

    A failure to send is logged and swallowed: the order's state is already
    stored, and a mail outage must not stop the poller.
    """
    order = (
        Order.objects.select_related("created_by", "team")
        .prefetch_related("tracking_numbers")
        .filter(pk=order_id)
        .first()
    )
    if order is None:
        return False
    recipient = order.created_by.email
    if not recipient:
        logger.info(
            "Order %s: requester has no email address; %s email skipped",
            order_id,
            event,
        )
        return False
    context = {
        "order": order,
        "event": event,
        "order_url": settings.SITE_URL + order.get_absolute_url(),
        "advice": advice_for_error(order.error_type) if order.error_type else "",
        "tracking_numbers": list(order.tracking_numbers.all()),
    }
    subject = render_to_string(f"emails/order_{event}_subject.txt", context)
    body = render_to_string(f"emails/order_{event}_body.txt", context)
    message = EmailMessage(
        subject=" ".join(subject.split()),
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient],
    )
    try:
        message.send()
    except Exception:
        # Any backend can raise (SMTP, API clients); the poll must go on.
        logger.exception("Order %s: sending the %s email failed", order_id, event)
        return False
    logger.info("Order %s: sent the %s email", order_id, event)
    return True
