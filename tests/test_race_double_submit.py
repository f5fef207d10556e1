"""Two tabs sending one order for approval at once must not get a 500."""

import threading
import time

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from orders.models import Address, Membership, Order, OrderItem, Team
from orders.services import policy

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]

SHOP = "https://zinc.com/shop/products/"


@pytest.fixture
def draft_over_threshold():
    user = get_user_model().objects.create_user("olivia", password="pw-olivia-123")
    team = Team.objects.create(name="Facilities", approval_threshold_cents=1_000)
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
        max_price_cents=5_000,
    )
    OrderItem.objects.create(order=order, url=SHOP + "test-success")
    return order, user


def test_double_submit_for_approval_no_500(draft_over_threshold, monkeypatch):
    order, user = draft_over_threshold
    evaluate = policy.evaluate

    # The spend query takes a moment on a busy team, as at 100,000 orders.
    def slow_evaluate(*args, **kwargs):
        time.sleep(0.5)
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(policy, "evaluate", slow_evaluate)
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def submit() -> None:
        client = Client(raise_request_exception=False)
        client.force_login(user)
        barrier.wait()
        try:
            statuses.append(client.post(f"/orders/{order.pk}/submit/").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_APPROVAL
    assert 500 not in statuses
