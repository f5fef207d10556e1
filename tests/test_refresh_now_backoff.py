"""Refresh now must respect Zinc's Retry-After and the poller's backoff."""

from datetime import timedelta

import httpx
import pytest
from django.test import Client

from orders.models import Membership, Order
from orders.services import refresh
from tests.poller_helpers import make_paid_order, make_requester

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]

CLICKS = 5


@pytest.fixture
def paid_order(sandbox):
    user = make_requester()
    order = make_paid_order(user)
    Membership.objects.create(user=user, team=order.team)
    return order, user


@pytest.fixture
def rate_limited_order(sandbox, paid_order):
    """The paid order, just answered 429 with Retry-After 600 by Zinc."""
    order, user = paid_order
    sandbox.add_fault(
        target="get_order",
        kind="status_429",
        retry_after=600,
        order_id=order.zinc_order_id,
    )
    result = refresh.poll_now(order.pk)
    assert result.outcome == "rate_limited"
    return order, user


def _get_order_requests(sandbox, order: Order) -> int:
    with httpx.Client(base_url=sandbox.zinc_url, timeout=10) as client:
        response = client.get(
            "/_sandbox/requests", params={"path": f"/orders/{order.zinc_order_id}"}
        )
    return response.json()["count"]


def test_refresh_now_waits_for_retry_after(sandbox, rate_limited_order):
    order, user = rate_limited_order
    before = _get_order_requests(sandbox, order)

    client = Client()
    client.force_login(user)
    for _ in range(CLICKS):
        client.post(f"/orders/{order.pk}/refresh/")

    assert _get_order_requests(sandbox, order) == before


def test_refresh_now_after_debounce_still_waits(sandbox, rate_limited_order):
    order, user = rate_limited_order
    before = _get_order_requests(sandbox, order)
    # Ten seconds later: past the 5 s debounce, far inside Retry-After 600.
    order.refresh_from_db()
    Order.objects.filter(pk=order.pk).update(
        last_polled_at=order.last_polled_at - timedelta(seconds=10)
    )

    client = Client()
    client.force_login(user)
    client.post(f"/orders/{order.pk}/refresh/")

    assert _get_order_requests(sandbox, order) == before
