"""An unknown payment of an order drafted long ago must keep being reconciled."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test.utils import override_settings
from django.utils import timezone

from orders.models import Address, Membership, Order, OrderItem, PaymentAttempt, Team
from orders.services import placement, refresh
from orders.zinc import ZincClient

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]

SHOP = "https://zinc.com/shop/products/"


@pytest.fixture
def old_order():
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
    # Drafted (or waiting for approval) for longer than POLL_MAX_AGE_SECONDS.
    created = timezone.now() - timedelta(seconds=settings.POLL_MAX_AGE_SECONDS + 86400)
    order = Order.objects.create(
        team=team,
        created_by=user,
        address=address,
        shipping_address=address.to_zinc(),
        max_price_cents=5000,
        created_at=created,
    )
    OrderItem.objects.create(order=order, url=SHOP + "test-success")
    return order, user


def test_unknown_payment_of_old_order_stays_scheduled(sandbox, old_order):
    order, user = old_order
    assert placement.submit_order(order, actor=user).accepted
    attempt = order.payment_attempts.get(
        method="stripe", state=PaymentAttempt.State.OFFERED
    )
    sandbox.add_fault(target="create_order", kind="timeout", delay_seconds=3)
    with override_settings(ZINC_READ_TIMEOUT_SECONDS=1):
        paid = placement.settle_payment(order, attempt.pk, "pm_card_visa", actor=user)
    assert paid.outcome == "unknown"
    order.refresh_from_db()
    assert order.status == Order.Status.PAYMENT_UNKNOWN

    # The worker's first reconcile falls inside the grace, so it backs off.
    order.next_poll_at = timezone.now()
    order.save(update_fields=["next_poll_at"])
    claimed = refresh.claim_due_orders()
    assert claimed == [order.pk]
    with ZincClient() as client:
        refresh.poll_order_by_id(order.pk, client)

    order.refresh_from_db()
    assert order.status == Order.Status.PAYMENT_UNKNOWN
    # Nothing else will ever check this order, and it cannot be edited or paid.
    assert order.next_poll_at is not None
