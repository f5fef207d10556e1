"""An edit after a payment looked abandoned must not let the old request pay."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from orders import stripe_payments
from orders.models import (
    Address,
    Membership,
    Order,
    OrderItem,
    PaymentAttempt,
    Team,
)
from orders.services import compose, placement

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]

SHOP = "https://zinc.com/shop/products/"
State = PaymentAttempt.State


@pytest.fixture
def order_and_user():
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
        po_number="PO-1",
    )
    OrderItem.objects.create(order=order, url=SHOP + "test-success")
    return order, user, address


def test_slow_token_then_edit_charges_once(sandbox, order_and_user, monkeypatch):
    order, user, address = order_and_user
    assert placement.submit_order(order, actor=user).accepted
    attempt = order.payment_attempts.get(method="stripe", state=State.OFFERED)
    real_issue_token = stripe_payments.issue_token
    edited = []

    def slow_issue_token(**kwargs):
        token = real_issue_token(**kwargs)
        if not edited:
            edited.append(True)
            # Stripe took over two minutes to mint the token. Meanwhile the
            # attempt looks abandoned, so a colleague edits the order and
            # pays the new version.
            PaymentAttempt.objects.filter(pk=attempt.pk).update(
                updated_at=timezone.now() - timedelta(minutes=3)
            )
            other = Order.objects.get(pk=order.pk)
            compose.update_draft(
                other,
                actor=user,
                address=address,
                items=[compose.ItemSpec(url=SHOP + "test-success")],
                max_price_cents=5000,
                po_number="PO-2",
            )
            other.refresh_from_db()
            assert placement.submit_order(other, actor=user).accepted
            fresh = other.payment_attempts.get(method="stripe", state=State.OFFERED)
            placement.settle_payment(other, fresh.pk, "pm_card_visa", actor=user)
        return token

    monkeypatch.setattr(stripe_payments, "issue_token", slow_issue_token)
    late = placement.settle_payment(order, attempt.pk, "pm_card_visa", actor=user)

    order.refresh_from_db()
    assert late.outcome == "failed"
    assert order.status == Order.Status.PENDING
    assert order.po_number == "PO-2"
    assert len(sandbox.ledger()["charges"]) == 1
