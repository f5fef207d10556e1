"""A paid request whose response is never recorded must still be reconciled."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import OperationalError
from django.test import Client
from django.utils import timezone

from orders.models import Address, Membership, Order, OrderItem, PaymentAttempt, Team
from orders.services import placement, refresh

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]

SHOP = "https://zinc.com/shop/products/"


@pytest.fixture
def waiting_order():
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
    return order, user


def test_paid_order_lost_after_201_is_picked_up(sandbox, waiting_order, monkeypatch):
    order, user = waiting_order
    attempt = order.payment_attempts.get(
        method="stripe", state=PaymentAttempt.State.OFFERED
    )

    # Zinc returns 201 and charges the card, but the web process cannot write
    # the result (SQLite busy past its timeout, or the process is restarted).
    def locked(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(placement, "_record_paid", locked)
    client = Client(raise_request_exception=False)
    client.force_login(user)
    response = client.post(
        f"/orders/{order.pk}/pay/settle/",
        {"attempt_id": attempt.pk, "payment_method_id": "pm_card_visa"},
    )
    monkeypatch.undo()
    assert len(sandbox.ledger()["charges"]) == 1

    order.refresh_from_db()
    attempt.refresh_from_db()
    print("HTTP", response.status_code, order.status, attempt.state)
    # An hour later the worker has still not looked at the order: it is not
    # payable (a payment is in flight), not editable, and never reconciled.
    later = timezone.now() + timedelta(hours=1)
    assert order.pk in refresh.claim_due_orders(now=later)
