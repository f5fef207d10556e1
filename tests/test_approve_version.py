"""An approval must name the order version the approver saw."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from orders.models import Address, Membership, Order, OrderItem, Team

pytestmark = pytest.mark.django_db

SHOP = "https://zinc.com/shop/products/"


@pytest.fixture
def waiting_order():
    users = {
        name: get_user_model().objects.create_user(name, password=f"pw-{name}-123")
        for name in ("requester", "approver")
    }
    team = Team.objects.create(name="Facilities", approval_threshold_cents=20_000)
    Membership.objects.create(
        user=users["requester"], team=team, role=Membership.Role.REQUESTER
    )
    Membership.objects.create(
        user=users["approver"], team=team, role=Membership.Role.APPROVER
    )
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
        created_by=users["requester"],
        address=address,
        shipping_address=address.to_zinc(),
        # Raised from $250 after the approver opened the queue.
        max_price_cents=90_000,
        status=Order.Status.AWAITING_APPROVAL,
    )
    OrderItem.objects.create(order=order, url=SHOP + "test-success")
    return order, users["approver"]


def test_approve_without_version_is_rejected(waiting_order):
    order, approver = waiting_order
    client = Client()
    client.force_login(approver)

    response = client.post(f"/orders/{order.pk}/approve/", {"comment": "Fine."})

    order.refresh_from_db()
    assert response.status_code in {400, 409}
    assert order.status == Order.Status.AWAITING_APPROVAL
