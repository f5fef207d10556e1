"""Two orders of one team submitted at the same moment must not cross its budget."""

import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from orders.models import Address, Membership, Order, OrderItem, PaymentAttempt, Team

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]

SHOP = "https://zinc.com/shop/products/"
BUDGET_CENTS = 100_000
MAX_PRICE_CENTS = 60_000


@pytest.fixture
def team_orders():
    user = get_user_model().objects.create_user("olivia", password="pw-olivia-123")
    team = Team.objects.create(
        name="Facilities",
        monthly_budget_cents=BUDGET_CENTS,
        over_budget_policy=Team.OverBudgetPolicy.BLOCK,
    )
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
    orders = []
    for _ in range(2):
        order = Order.objects.create(
            team=team,
            created_by=user,
            address=address,
            shipping_address=address.to_zinc(),
            max_price_cents=MAX_PRICE_CENTS,
        )
        OrderItem.objects.create(order=order, url=SHOP + "test-success")
        orders.append(order)
    return user, orders


def test_concurrent_submits_stay_within_budget(sandbox, team_orders):
    user, orders = team_orders
    # One second of latency on each unpaid request stands in for a slow
    # network, so that both submits run their budget check before either
    # order is stored as waiting for payment.
    sandbox.add_fault(target="create_order", kind="timeout", delay_seconds=1, count=2)
    barrier = threading.Barrier(2)

    def submit(order: Order) -> None:
        client = Client()
        client.force_login(user)
        barrier.wait()
        try:
            client.post(f"/orders/{order.pk}/submit/")
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(order,)) for order in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    client = Client()
    client.force_login(user)
    for order in orders:
        order.refresh_from_db()
        attempt = order.payment_attempts.filter(
            method="stripe", state=PaymentAttempt.State.OFFERED
        ).first()
        if attempt is not None:
            client.post(
                f"/orders/{order.pk}/pay/settle/",
                {"attempt_id": attempt.pk, "payment_method_id": "pm_card_visa"},
            )

    charged = sum(charge["amount"] for charge in sandbox.ledger()["charges"])
    assert charged <= BUDGET_CENTS
