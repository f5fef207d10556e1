"""An edit saved while the unpaid request is at Zinc must not be lost."""

import json
import threading
import time

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from orders.models import Address, Membership, Order, OrderItem, Team
from orders.services import compose

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]

SHOP = "https://zinc.com/shop/products/"


def _address(team: Team, line1: str) -> Address:
    return Address.objects.create(
        team=team,
        first_name="Olivia",
        last_name="Ops",
        address_line1=line1,
        city="San Francisco",
        state="CA",
        postal_code="94105",
        phone_number="+14155550100",
    )


def test_edit_during_submit_is_not_overwritten(sandbox):
    user = get_user_model().objects.create_user("olivia", password="pw-olivia-123")
    team = Team.objects.create(name="Facilities")
    Membership.objects.create(user=user, team=team, role=Membership.Role.REQUESTER)
    old_address = _address(team, "1 Market St")
    new_address = _address(team, "500 Howard St")
    order = Order.objects.create(
        team=team,
        created_by=user,
        address=old_address,
        shipping_address=old_address.to_zinc(),
        max_price_cents=5_000,
    )
    OrderItem.objects.create(order=order, url=SHOP + "test-success")
    # Zinc is slow to respond to the unpaid request.
    sandbox.add_fault(target="create_order", kind="timeout", delay_seconds=2, count=1)

    def submit() -> None:
        client = Client(raise_request_exception=False)
        client.force_login(user)
        try:
            client.post(f"/orders/{order.pk}/submit/")
        finally:
            connection.close()

    thread = threading.Thread(target=submit)
    thread.start()
    time.sleep(1)
    # The requester notices the wrong address and fixes it in a second tab.
    order.refresh_from_db()
    assert order.status == Order.Status.DRAFT
    compose.update_draft(
        order,
        actor=user,
        address=new_address,
        items=[compose.ItemSpec(url=SHOP + "test-success")],
        max_price_cents=5_000,
    )
    thread.join(timeout=30)

    order.refresh_from_db()
    body = json.loads(order.request_body) if order.request_body else None
    print("status", order.status, "body address", body and body["shipping_address"])
    if order.status == Order.Status.AWAITING_PAYMENT:
        # What the payer will pay for must be what the order page shows.
        assert body["shipping_address"]["address_line1"] == "500 Howard St"
