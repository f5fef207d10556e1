"""Refresh now on an order the worker is polling must not return 500."""

import threading
import time
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.utils import timezone

from orders.models import Address, Membership, Order, OrderItem, PaymentAttempt, Team
from orders.services import placement, refresh
from orders.zinc import ZincClient

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]

SHOP = "https://zinc.com/shop/products/"


def test_refresh_during_worker_poll_no_500(sandbox):
    user = get_user_model().objects.create_user("olivia", password="pw-olivia-123")
    team = Team.objects.create(name="Facilities")
    Membership.objects.create(user=user, team=team, role=Membership.Role.ADMIN)
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
    # The paid request is refused before Zinc creates anything, but the
    # connection drops, so ZincDash cannot tell.
    sandbox.add_fault(target="create_order", kind="status_502", count=1)
    paid = placement.settle_payment(order, attempt.pk, "pm_card_visa", actor=user)
    assert paid.outcome == "unknown"
    # The grace has passed, and the worker's reconcile is due.
    PaymentAttempt.objects.filter(order=order).update(
        updated_at=timezone.now() - placement.RECONCILE_GRACE - timedelta(minutes=1)
    )
    Order.objects.filter(pk=order.pk).update(next_poll_at=timezone.now())

    assert refresh.claim_due_orders() == [order.pk]
    # The worker has claimed the order. The payer clicks Refresh now, and Zinc
    # is slow to respond to that request.
    sandbox.add_fault(target="create_order", kind="timeout", delay_seconds=1, count=1)
    statuses: list[int] = []

    def click_refresh() -> None:
        client = Client(raise_request_exception=False)
        client.force_login(user)
        try:
            statuses.append(client.post(f"/orders/{order.pk}/refresh/").status_code)
        finally:
            connection.close()

    thread = threading.Thread(target=click_refresh)
    thread.start()
    time.sleep(0.3)
    # The worker polls the order it claimed.
    with ZincClient() as client:
        refresh.poll_order_by_id(order.pk, client)
    thread.join(timeout=30)

    assert statuses == [302]
