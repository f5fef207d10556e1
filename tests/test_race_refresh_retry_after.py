"""Refresh now must keep respecting Zinc's Retry-After once the debounce passes."""

from datetime import timedelta

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from orders.models import Address, Membership, Order, OrderItem, PaymentAttempt, Team
from orders.services import placement, refresh

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]

SHOP = "https://zinc.com/shop/products/"


@pytest.fixture
def paid_order(sandbox):
    user = get_user_model().objects.create_user("olivia", password="pw-olivia-123")
    team = Team.objects.create(name="Facilities")
    Membership.objects.create(user=user, team=team, role=Membership.Role.REQUESTER)
    address = Address.objects.create(
        team=team,
        first_name="Olivia",
        last_name="Ops",
        address_line1="1 Market St",
        city="San Francisco",
        state="CA",
        postal_code="94105",
        phone_number="+14155550100",
    )
    order = Order.objects.create(
        team=team,
        created_by=user,
        address=address,
        shipping_address=address.to_zinc(),
        max_price_cents=5000,
    )
    OrderItem.objects.create(order=order, url=SHOP + "test-success")
    assert placement.submit_order(order, actor=user).accepted
    attempt = order.payment_attempts.get(
        method="stripe", state=PaymentAttempt.State.OFFERED
    )
    paid = placement.settle_payment(order, attempt.pk, "pm_card_visa", actor=user)
    assert paid.outcome == "placed"
    order.refresh_from_db()
    return order, user


def _get_order_requests(sandbox, order: Order) -> int:
    with httpx.Client(base_url=sandbox.zinc_url, timeout=10) as client:
        response = client.get(
            "/_sandbox/requests", params={"path": f"/orders/{order.zinc_order_id}"}
        )
    return response.json()["count"]


def test_refresh_now_after_debounce_waits_for_retry_after(sandbox, paid_order):
    order, user = paid_order
    sandbox.add_fault(
        target="get_order",
        kind="status_429",
        retry_after=600,
        order_id=order.zinc_order_id,
    )
    result = refresh.poll_now(order.pk)
    assert result.outcome == "rate_limited"
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
