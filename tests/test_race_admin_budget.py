"""An admin's threshold approval must not lift a BLOCK budget at payment."""

import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from orders.models import Address, Membership, Order, OrderItem, PaymentAttempt, Team

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]

SHOP = "https://zinc.com/shop/products/"
BUDGET_CENTS = 100_000
THRESHOLD_CENTS = 10_000
MAX_PRICE_CENTS = 60_000


@pytest.fixture
def approved_orders():
    users = {
        name: get_user_model().objects.create_user(name, password=f"pw-{name}-123")
        for name in ("requester", "admin")
    }
    team = Team.objects.create(
        name="Facilities",
        monthly_budget_cents=BUDGET_CENTS,
        approval_threshold_cents=THRESHOLD_CENTS,
        over_budget_policy=Team.OverBudgetPolicy.BLOCK,
    )
    Membership.objects.create(
        user=users["requester"], team=team, role=Membership.Role.REQUESTER
    )
    Membership.objects.create(
        user=users["admin"], team=team, role=Membership.Role.ADMIN
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
    requester = Client()
    requester.force_login(users["requester"])
    admin = Client()
    admin.force_login(users["admin"])
    orders = []
    for _ in range(2):
        order = Order.objects.create(
            team=team,
            created_by=users["requester"],
            address=address,
            shipping_address=address.to_zinc(),
            max_price_cents=MAX_PRICE_CENTS,
        )
        OrderItem.objects.create(order=order, url=SHOP + "test-success")
        # Above the threshold, within the budget on its own: it waits for approval.
        requester.post(f"/orders/{order.pk}/submit/")
        order.refresh_from_db()
        assert order.status == Order.Status.AWAITING_APPROVAL
        admin.post(
            f"/orders/{order.pk}/approve/",
            {"comment": "Needed.", "version": order.version},
        )
        order.refresh_from_db()
        assert order.status == Order.Status.APPROVED
        orders.append(order)
    return users["requester"], orders


def test_admin_approved_orders_stay_within_block_budget(sandbox, approved_orders):
    user, orders = approved_orders
    # The same slow unpaid request as test_budget_race: both submits run
    # their budget check before either order is stored as committed.
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
