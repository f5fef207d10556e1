"""Checkout: the pay page and the JSON endpoints its script calls.

The browser sends only an attempt id and a Stripe PaymentMethod id. Amounts,
currencies and expiry always come from the challenge stored on the server.
"""

import logging
import re
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from orders import access
from orders.models import Order, PaymentAttempt
from orders.services import placement

logger = logging.getLogger(__name__)

PAYMENT_METHOD_ID_RE = re.compile(r"^pm_[A-Za-z0-9_]+$")
FOREIGN_ATTEMPT_MESSAGE = "The payment request is not one of this order's."


def attempt_json(attempt: PaymentAttempt | None) -> dict[str, Any] | None:
    """Return what the checkout script needs to know about a stripe challenge."""
    if attempt is None:
        return None
    return {
        "id": attempt.pk,
        "amount": attempt.amount,
        "currency": attempt.currency,
        "paymentMethodTypes": attempt.payment_method_types or ["card"],
        "expiresAt": attempt.expires_at.isoformat() if attempt.expires_at else None,
    }


def offered_attempts(order: Order) -> dict[str, PaymentAttempt]:
    """Return the latest offered challenge per payment method."""
    latest: dict[str, PaymentAttempt] = {}
    for attempt in order.payment_attempts.filter(state=PaymentAttempt.State.OFFERED):
        latest.setdefault(attempt.method, attempt)
    return latest


@login_required
@require_GET
def order_pay(request: HttpRequest, pk: int) -> HttpResponse:
    order = access.get_order(request, pk)
    payable = {Order.Status.AWAITING_PAYMENT, Order.Status.PAYMENT_UNKNOWN}
    if order.status not in payable:
        messages.info(
            request,
            f"This order is {order.get_status_display().lower()}, so there is "
            "nothing to pay.",
        )
        return redirect(order)
    offered = offered_attempts(order)
    stripe_attempt = offered.get("stripe")
    checkout = None
    if order.status == Order.Status.AWAITING_PAYMENT:
        checkout = {
            "publishableKey": settings.STRIPE_PUBLISHABLE_KEY,
            "attempt": attempt_json(stripe_attempt),
            "urls": {
                "settle": reverse("orders:order-pay-settle", args=[order.pk]),
                "continue": reverse("orders:order-pay-continue", args=[order.pk]),
                "refresh": reverse("orders:order-pay-refresh", args=[order.pk]),
                "order": order.get_absolute_url(),
            },
        }
    context = {
        "order": order,
        "stripe_attempt": stripe_attempt,
        "tempo_attempt": offered.get("tempo"),
        "checkout": checkout,
        "stripe_js_url": settings.STRIPE_JS_URL,
    }
    return render(request, "orders/order_pay.html", context)


def _posted_attempt_id(request: HttpRequest, order: Order) -> int | None:
    """Return the posted attempt id if it names a challenge of ``order``."""
    raw = request.POST.get("attempt_id", "")
    if not (raw.isascii() and raw.isdigit()):
        return None
    attempt_id = int(raw)
    if not order.payment_attempts.filter(pk=attempt_id).exists():
        return None
    return attempt_id


def _settle_response(
    request: HttpRequest, order: Order, result: placement.SettleResult
) -> JsonResponse:
    if result.outcome == "placed":
        messages.success(request, result.message)
    body = {
        "outcome": result.outcome,
        "message": result.message,
        "attempt": attempt_json(result.attempt),
        "clientSecret": result.client_secret
        if result.outcome == "action_required"
        else "",
        "orderUrl": order.get_absolute_url(),
    }
    return JsonResponse(body)


def _bad_payment_request(order: Order, message: str) -> JsonResponse:
    logger.warning("Rejected a payment request for order %s: %s", order.pk, message)
    return JsonResponse({"outcome": "invalid", "message": message}, status=400)


@login_required
@require_POST
def order_pay_settle(request: HttpRequest, pk: int) -> JsonResponse:
    order = access.get_order(request, pk)
    attempt_id = _posted_attempt_id(request, order)
    if attempt_id is None:
        return _bad_payment_request(order, FOREIGN_ATTEMPT_MESSAGE)
    payment_method_id = request.POST.get("payment_method_id", "")
    if not PAYMENT_METHOD_ID_RE.fullmatch(payment_method_id):
        return _bad_payment_request(order, "The payment method id is invalid.")
    result = placement.settle_payment(
        order, attempt_id, payment_method_id, actor=request.user
    )
    return _settle_response(request, order, result)


@login_required
@require_POST
def order_pay_continue(request: HttpRequest, pk: int) -> JsonResponse:
    order = access.get_order(request, pk)
    attempt_id = _posted_attempt_id(request, order)
    if attempt_id is None:
        return _bad_payment_request(order, FOREIGN_ATTEMPT_MESSAGE)
    result = placement.continue_after_action(order, attempt_id, actor=request.user)
    return _settle_response(request, order, result)


@login_required
@require_POST
def order_pay_refresh(request: HttpRequest, pk: int) -> JsonResponse:
    order = access.get_order(request, pk)
    result = placement.refresh_challenge(order, actor=request.user)
    fresh = next((a for a in result.attempts if a.method == "stripe"), None)
    body = {
        "outcome": "refreshed" if result.accepted and fresh else "failed",
        "message": result.message,
        "attempt": attempt_json(fresh),
        "orderUrl": order.get_absolute_url(),
    }
    return JsonResponse(body)
