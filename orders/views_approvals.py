"""The approval queue, and approving or rejecting an order with a comment.

Only approvers and admins of the current team see the queue. A decision posted
with htmx returns the order's row of the queue; without JavaScript the browser
is redirected back. An ApprovalError sets the response's status code: 403 for
a decision the user may not make (such as approving their own order), 400 for
one that cannot be made now (a rejection without a comment, an order that is
no longer waiting).
"""

import logging
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from orders import access
from orders.models import Order
from orders.services import approvals, policy
from orders.services.approvals import ApprovalError
from orders.team_forms import DecisionForm

logger = logging.getLogger(__name__)

QUEUE_TEMPLATE = "orders/approval_queue.html"
# The queue shows the oldest waiting orders first, up to this many. A longer
# queue points to a process problem that paging would not fix.
QUEUE_LIMIT = 100


def _queue_rows(orders: list[Order], spend: policy.TeamSpend) -> list[dict[str, Any]]:
    return [
        {"order": order, "decision": policy.decide(order, spend)} for order in orders
    ]


def _queue_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    team = access.current_team(request)
    waiting = list(
        Order.objects.filter(team=team, status=Order.Status.AWAITING_APPROVAL)
        .select_related("created_by", "team")
        .prefetch_related("items")
        .order_by("created_at", "id")[:QUEUE_LIMIT]
    )
    spend = policy.team_spend(team)
    return {
        "team": team,
        "rows": _queue_rows(waiting, spend),
        "spend": spend,
        "form": DecisionForm(),
        "queue_limit": QUEUE_LIMIT,
        **extra,
    }


@login_required
@require_GET
def approval_queue(request: HttpRequest) -> HttpResponse:
    access.require_approver(request)
    return render(request, QUEUE_TEMPLATE, _queue_context(request))


def _next_url(request: HttpRequest) -> str:
    next_url = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        return next_url
    return reverse("orders:approval-queue")


def _row_response(
    request: HttpRequest,
    order: Order,
    *,
    error: str = "",
    status: int = 200,
    form: DecisionForm | None = None,
) -> HttpResponse:
    """Render the order's row of the queue, for htmx to swap in."""
    spend = policy.team_spend(order.team)
    context = {
        "row": {"order": order, "decision": policy.decide(order, spend)},
        "form": form or DecisionForm(),
        "error": error,
        "spend": spend,
    }
    return render(request, f"{QUEUE_TEMPLATE}#approval-row", context, status=status)


def _decision_failed(
    request: HttpRequest, order: Order, form: DecisionForm, error: ApprovalError
) -> HttpResponse:
    logger.info(
        "User %s could not decide on order %s: %s",
        request.user.pk,
        order.pk,
        type(error).__name__,
    )
    if request.htmx:
        return _row_response(
            request, order, error=error.message, status=error.status_code, form=form
        )
    context = _queue_context(
        request, page_error=error.message, error_order_id=order.pk, form=form
    )
    return render(request, QUEUE_TEMPLATE, context, status=error.status_code)


def _decide(request: HttpRequest, pk: int, *, approve: bool) -> HttpResponse:
    order = access.get_order_to_decide(request, pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        error = ApprovalError(" ".join(form.errors["comment"]))
        return _decision_failed(request, order, form, error)
    comment = form.cleaned_data["comment"]
    # The version of the order the approver saw; the service refuses a stale
    # or missing one, so nobody decides on a price they were not shown.
    seen_version = request.POST.get("version", "")
    try:
        if approve:
            approvals.approve(
                order, actor=request.user, comment=comment, seen_version=seen_version
            )
        else:
            approvals.reject(
                order, actor=request.user, comment=comment, seen_version=seen_version
            )
    except ApprovalError as error:
        return _decision_failed(request, order, form, error)
    verb = "Approved" if approve else "Rejected"
    if request.htmx:
        return _row_response(request, order)
    messages.success(request, f"{verb} order {order.pk}.")
    return redirect(_next_url(request))


@login_required
@require_POST
def order_approve(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, approve=True)


@login_required
@require_POST
def order_reject(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, approve=False)
