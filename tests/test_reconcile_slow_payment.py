"""Reconciling an unknown payment while the paid request is still at Zinc."""

import time

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.test.utils import override_settings

from orders.models import Address, Membership, Order, OrderItem, PaymentAttempt, Team
from orders.services import compose, placement

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]

SHOP = "https://zinc.com/shop/products/"
ZINC_DELAY_SECONDS = 3


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


def test_reconcile_during_slow_payment_charges_once(sandbox, order_and_user):
    order, user, address = order_and_user
    assert placement.submit_order(order, actor=user).accepted
    attempt = order.payment_attempts.get(
        method="stripe", state=PaymentAttempt.State.OFFERED
    )
    # Zinc takes longer than the read timeout to answer the paid request, but
    # it does process it and charges the card.
    sandbox.add_fault(
        target="create_order", kind="timeout", delay_seconds=ZINC_DELAY_SECONDS
    )
    with override_settings(ZINC_READ_TIMEOUT_SECONDS=1):
        paid = placement.settle_payment(order, attempt.pk, "pm_card_visa", actor=user)
    assert paid.outcome == "unknown"

    # The payer presses "Refresh now" at once; the poller would do the same
    # a few minutes later if Zinc were slower still.
    client = Client()
    client.force_login(user)
    client.post(f"/orders/{order.pk}/refresh/")
    order.refresh_from_db()

    if order.status == Order.Status.AWAITING_PAYMENT:
        # Should reconciliation wrongly report that the earlier payment did not
        # go through, the payer may edit and pay again; the order keeps its
        # idempotency key, so Zinc must not create or charge a second order.
        compose.update_draft(
            order,
            actor=user,
            address=address,
            items=[compose.ItemSpec(url=SHOP + "test-success")],
            max_price_cents=5000,
            po_number="PO-2",
        )
        order.refresh_from_db()
        assert placement.submit_order(order, actor=user).accepted
        fresh = order.payment_attempts.get(
            method="stripe", state=PaymentAttempt.State.OFFERED
        )
        placement.settle_payment(order, fresh.pk, "pm_card_visa", actor=user)

    time.sleep(ZINC_DELAY_SECONDS + 1)
    charges = sandbox.ledger()["charges"]
    assert len(charges) == 1
