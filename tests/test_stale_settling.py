"""An edit after a payment looked abandoned must not let the old request pay."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders import stripe_payments
from orders.models import (
    Order,
    PaymentAttempt,
)
from orders.services import compose, placement
from tests import test_reconcile_slow_payment

# The same team, address and draft order as the slow-payment test; pytest
# finds fixtures by module-level name.
order_and_user = test_reconcile_slow_payment.order_and_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]

SHOP = "https://zinc.com/shop/products/"
State = PaymentAttempt.State


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
