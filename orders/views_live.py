"""Live updates of the order page: the polled status partial and Refresh now.

The order page's ``order-status`` partial polls ``order_status`` with htmx
while the order is open. Once the order is final the view answers with htmx's
stop-polling status 286, and the swapped-in partial carries no poll trigger.
"""

import logging
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRefresh, HttpResponseStopPolling

from orders import access
from orders.advice import advice_for_error
from orders.models import Order
from orders.services import refresh

logger = logging.getLogger(__name__)

STATUS_PARTIAL = "orders/order_detail.html#order-status"


def status_context(order: Order, **extra: Any) -> dict[str, Any]:
    """Return what the order page's ``order-status`` partial renders."""
    return {
        "order": order,
        "tracking_numbers": order.tracking_numbers.all(),
        "advice": advice_for_error(order.error_type)
        if order.status == Order.Status.ORDER_FAILED
        else "",
        **extra,
    }


@login_required
@require_GET
def order_status(request: HttpRequest, pk: int) -> HttpResponse:
    order = access.get_order(request, pk)
    shown_version = request.GET.get("version")
    if shown_version and shown_version != order.version:
        # The amounts, history and approval cards outside the status section
        # changed too, so reload the whole page once.
        return HttpResponseClientRefresh()
    response = render(request, STATUS_PARTIAL, status_context(order))
    if order.is_open:
        return response
    return HttpResponseStopPolling(
        response.content, content_type=response["Content-Type"]
    )


@login_required
@require_POST
def order_refresh(request: HttpRequest, pk: int) -> HttpResponse:
    order = access.get_order(request, pk)
    shown_version = order.version
    if order.is_open:
        logger.info("User %s asked to refresh order %s now", request.user.pk, order.pk)
        refresh.poll_now(order.pk)
        order.refresh_from_db()
    if not request.htmx:
        return redirect(order)
    if order.version != shown_version:
        return HttpResponseClientRefresh()
    return render(request, STATUS_PARTIAL, status_context(order))
