"""Four orders of one team paid at the same moment stay within its budget."""

import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from orders.models import Address, Membership, Order, OrderItem, PaymentAttempt, Team

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

SHOP = "https://zinc.com/shop/products/"
BUDGET_CENTS = 100_000
MAX_PRICE_CENTS = 30_000
ORDERS = 4


def test_concurrent_payments_stay_within_budget(sandbox):
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
    for _ in range(ORDERS):
        order = Order.objects.create(
            team=team,
            created_by=user,
            address=address,
            shipping_address=address.to_zinc(),
            max_price_cents=MAX_PRICE_CENTS,
        )
        OrderItem.objects.create(order=order, url=SHOP + "test-success")
        orders.append(order)
    sandbox.add_fault(
        target="create_order", kind="timeout", delay_seconds=1, count=ORDERS
    )

    def run_all(action) -> None:
        barrier = threading.Barrier(ORDERS)

        def worker(order: Order) -> None:
            client = Client(raise_request_exception=False)
            client.force_login(user)
            barrier.wait()
            try:
                action(client, order)
            finally:
                connection.close()

        threads = [threading.Thread(target=worker, args=(o,)) for o in orders]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    run_all(lambda client, order: client.post(f"/orders/{order.pk}/submit/"))

    def pay(client: Client, order: Order) -> None:
        attempt = PaymentAttempt.objects.filter(
            order=order, method="stripe", state=PaymentAttempt.State.OFFERED
        ).first()
        if attempt is not None:
            client.post(
                f"/orders/{order.pk}/pay/settle/",
                {"attempt_id": attempt.pk, "payment_method_id": "pm_card_visa"},
            )

    run_all(pay)
    charged = sum(charge["amount"] for charge in sandbox.ledger()["charges"])
    print("charged", charged, [Order.objects.get(pk=o.pk).status for o in orders])
    assert charged <= BUDGET_CENTS
