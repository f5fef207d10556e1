"""An approver who rewrote someone else's order must not approve it alone."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from orders.forms import OrderComposeForm
from orders.models import Address, Membership, Order, OrderItem, Team

pytestmark = pytest.mark.django_db

SHOP = "https://zinc.com/shop/products/"


def test_approver_cannot_approve_own_edit(sandbox):
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
    office = Address.objects.create(
        team=team,
        first_name="Olivia",
        last_name="Ops",
        address_line1="1 Market St",
        city="San Francisco",
        state="CA",
        postal_code="94105",
        phone_number="+14155550100",
    )
    home = Address.objects.create(
        team=team,
        first_name="Avery",
        last_name="Approver",
        address_line1="9 Elm St",
        city="Oakland",
        state="CA",
        postal_code="94601",
        phone_number="+14155550111",
    )
    order = Order.objects.create(
        team=team,
        created_by=users["requester"],
        address=office,
        shipping_address=office.to_zinc(),
        max_price_cents=5_000,
    )
    OrderItem.objects.create(order=order, url=SHOP + "test-success")

    approver = Client()
    approver.force_login(users["approver"])
    # The approver ships the requester's draft to their own address at a
    # price that needs approval, sends it, and approves it.
    data = OrderComposeForm.data_from_order(order)
    data["address"] = str(home.pk)
    data["max_price"] = "900.00"
    response = approver.post(f"/orders/{order.pk}/edit/", data)
    assert response.status_code == 302
    approver.post(f"/orders/{order.pk}/submit/")
    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_APPROVAL
    response = approver.post(
        f"/orders/{order.pk}/approve/",
        {"comment": "Fine.", "version": order.version},
    )

    order.refresh_from_db()
    assert response.status_code == 403
    assert order.status == Order.Status.AWAITING_APPROVAL
