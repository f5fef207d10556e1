"""Placement service against the real sandbox process over loopback."""

import threading
import time
from datetime import timedelta

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from orders.models import (
    Address,
    Order,
    OrderItem,
    PaymentAttempt,
    Team,
)
from orders.services import compose, placement, refresh
from orders.zinc import ZincClient, ZincError, parse_order

pytestmark = pytest.mark.django_db(transaction=True)

State = PaymentAttempt.State
SHOP = "https://zinc.com/shop/products/"


@pytest.fixture
def user():
    return get_user_model().objects.create_user("olivia", password="pw-olivia-123")


@pytest.fixture
def team():
    return Team.objects.create(name="Facilities")


@pytest.fixture
def address(team):
    return Address.objects.create(
        team=team,
        label="HQ",
        first_name="Olivia",
        last_name="Ops",
        address_line1="1 Market St",
        city="San Francisco",
        state="CA",
        postal_code="94105",
        phone_number="+14155550100",
        country="US",
    )


@pytest.fixture
def make_order(team, user, address):
    def make(*products: str, max_price_cents: int = 5000, quantity: int = 1) -> Order:
        order = Order.objects.create(
            team=team,
            created_by=user,
            address=address,
            shipping_address=address.to_zinc(),
            max_price_cents=max_price_cents,
            po_number="PO-1",
        )
        for position, product in enumerate(products or ("test-success",)):
            url = product if "://" in product else SHOP + product
            OrderItem.objects.create(
                order=order, url=url, quantity=quantity, position=position
            )
        return order

    return make


def _stripe_attempt(order: Order) -> PaymentAttempt:
    return order.payment_attempts.get(method="stripe", state=State.OFFERED)


def _submit_and_pay(order: Order, user, payment_method: str = "pm_card_visa"):
    submitted = placement.submit_order(order, actor=user)
    assert submitted.accepted, submitted.message
    attempt = _stripe_attempt(order)
    return placement.settle_payment(order, attempt.pk, payment_method, actor=user)


def test_submit_stores_one_attempt_per_challenge(sandbox, make_order, user):
    order = make_order(max_price_cents=5000)

    result = placement.submit_order(order, actor=user)

    order.refresh_from_db()
    assert result.accepted is True
    assert order.status == Order.Status.AWAITING_PAYMENT
    assert [attempt.method for attempt in result.attempts] == ["stripe", "tempo"]
    stripe = result.attempts[0]
    assert stripe.amount == 5100
    assert stripe.currency == "usd"
    assert stripe.decimals == 2
    assert stripe.network_id
    assert stripe.payment_method_types == ["card"]
    assert stripe.expires_at is not None
    assert order.request_body.startswith('{"products":[{"url":"https://zinc.com')
    assert f'"idempotency_key":"{order.idempotency_key}"' in order.request_body
    assert sandbox.ledger()["charges"] == []


def test_invalid_address_is_field_error_without_charge(sandbox, make_order, user):
    order = make_order("test-invalid-address")

    result = placement.submit_order(order, actor=user)

    order.refresh_from_db()
    assert result.accepted is False
    assert list(result.field_errors) == ["shipping_address.address_line1"]
    assert order.status == Order.Status.DRAFT
    assert order.request_body == ""
    assert order.validation_errors == result.field_errors
    assert sandbox.ledger()["charges"] == []


def test_unreachable_url_is_error_on_product_field(sandbox, make_order, user):
    order = make_order("test-success", "test-url-unreachable")

    result = placement.submit_order(order, actor=user)

    assert result.accepted is False
    assert list(result.field_errors) == ["products.1.url"]


def test_out_of_range_quantity_is_rejected_before_sending(sandbox, make_order, user):
    order = make_order(quantity=1)
    order.items.update(quantity=101)

    result = placement.submit_order(order, actor=user)

    assert result.accepted is False
    assert list(result.field_errors) == ["products.0.quantity"]
    assert sandbox.ledger()["charges"] == []


def test_zinc_422_detail_maps_to_fields(sandbox):
    body = b'{"products":[{"url":"https://zinc.com/shop/products/test-success"}],'
    body += b'"shipping_address":{"first_name":"A"},"max_price":"lots"}'

    with ZincClient() as client:
        response = client.post_agent_order(body)
    errors = placement._errors_from_zinc(ZincError.from_response(response))

    assert response.status_code == 422
    assert "shipping_address.city" in errors
    assert "max_price" in errors


def test_paid_order_is_placed_once(sandbox, make_order, user):
    order = make_order(max_price_cents=5000)

    result = _submit_and_pay(order, user)

    order.refresh_from_db()
    assert result.outcome == "placed"
    assert order.status == Order.Status.PENDING
    assert order.zinc_order_id
    assert order.get_api_key().startswith("zn_test_")
    assert order.receipt_reference.startswith("pi_")
    assert order.authorized_cents == 5100
    assert order.fee_cents == 100
    assert order.next_poll_at is not None
    assert result.attempt.state == State.SUCCEEDED
    ledger = sandbox.ledger(order.idempotency_key)
    assert [charge["amount"] for charge in ledger["charges"]] == [5100]
    assert len(ledger["orders"]) == 1


def test_api_key_is_stored_encrypted(sandbox, make_order, user):
    order = make_order()
    _submit_and_pay(order, user)
    order.refresh_from_db()

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT api_key_encrypted FROM orders_order WHERE id = %s", [order.pk]
        )
        (stored,) = cursor.fetchone()

    assert order.get_api_key() not in stored
    assert "zn_test_" not in stored


def test_declined_card_offers_fresh_challenge(sandbox, make_order, user):
    order = make_order()

    declined = _submit_and_pay(order, user, "pm_card_visa_chargeDeclined")

    assert declined.outcome == "declined"
    assert declined.message == "The card was declined. Try another card."
    assert declined.attempt is not None
    first = order.payment_attempts.get(state=State.DECLINED)
    assert declined.attempt.pk != first.pk
    assert declined.attempt.state == State.OFFERED
    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_PAYMENT
    assert sandbox.ledger(order.idempotency_key)["charges"] == []

    paid = placement.settle_payment(
        order, declined.attempt.pk, "pm_card_visa", actor=user
    )

    assert paid.outcome == "placed"
    charges = sandbox.ledger(order.idempotency_key)["charges"]
    assert [charge["amount"] for charge in charges] == [5100]


def test_action_required_then_continue(sandbox, make_order, user):
    order = make_order()

    first = _submit_and_pay(order, user, "pm_card_authenticationRequired")

    assert first.outcome == "action_required"
    assert first.client_secret.startswith("spt_")
    early = placement.continue_after_action(order, first.attempt.pk, actor=user)
    assert early.outcome == "action_required"

    token_id = first.client_secret.split("_secret_")[0]
    confirmed = httpx.post(
        f"{sandbox.stripe_url}/v1/shared_payment/issued_tokens/{token_id}/confirm_action",
        data={"client_secret": first.client_secret},
        headers={"Authorization": "Bearer pk_test_sandbox"},
    )
    assert confirmed.status_code == 200
    done = placement.continue_after_action(order, first.attempt.pk, actor=user)

    assert done.outcome == "placed"
    assert len(sandbox.ledger(order.idempotency_key)["charges"]) == 1


def test_expired_challenge_is_refreshed_not_paid(sandbox, make_order, user):
    sandbox.configure(challenge_ttl_seconds=5)
    order = make_order()
    placement.submit_order(order, actor=user)
    stale = _stripe_attempt(order)

    result = placement.settle_payment(order, stale.pk, "pm_card_visa", actor=user)

    stale.refresh_from_db()
    assert result.outcome == "expired"
    assert stale.state == State.EXPIRED
    assert result.attempt is not None
    assert result.attempt.pk != stale.pk
    assert sandbox.ledger(order.idempotency_key)["charges"] == []


def test_amount_comes_from_stored_challenge(sandbox, make_order, user):
    order = make_order(max_price_cents=5000)
    placement.submit_order(order, actor=user)
    attempt = _stripe_attempt(order)
    PaymentAttempt.objects.filter(pk=attempt.pk).update(amount=999_999)

    result = placement.settle_payment(order, attempt.pk, "pm_card_visa", actor=user)

    attempt.refresh_from_db()
    assert result.outcome == "failed"
    assert "more than the 51.00 USD authorised" in result.message
    assert attempt.state == State.FAILED
    assert sandbox.ledger()["charges"] == []


def test_twenty_concurrent_submits_charge_once(sandbox, make_order, user):
    order = make_order()
    placement.submit_order(order, actor=user)
    attempt = _stripe_attempt(order)
    outcomes: list[str] = []
    barrier = threading.Barrier(20)

    def pay() -> None:
        barrier.wait()
        try:
            fresh = Order.objects.get(pk=order.pk)
            result = placement.settle_payment(
                fresh, attempt.pk, "pm_card_visa", actor=user
            )
            outcomes.append(result.outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=pay) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(outcomes) == 20
    assert outcomes.count("placed") == 1
    assert set(outcomes) <= {"placed", "busy", "failed"}
    ledger = sandbox.ledger(order.idempotency_key)
    assert len(ledger["charges"]) == 1
    assert len(ledger["orders"]) == 1


def test_second_tab_cannot_pay_a_paid_order(sandbox, make_order, user):
    order = make_order()
    placement.submit_order(order, actor=user)
    attempt = _stripe_attempt(order)
    stale_tab = Order.objects.get(pk=order.pk)

    first = placement.settle_payment(order, attempt.pk, "pm_card_visa", actor=user)
    second = placement.settle_payment(stale_tab, attempt.pk, "pm_card_visa", actor=user)

    assert first.outcome == "placed"
    assert second.outcome == "busy"
    assert len(sandbox.ledger(order.idempotency_key)["charges"]) == 1


def test_dropped_connection_is_unknown_and_not_repaid(sandbox, make_order, user):
    order = make_order()
    placement.submit_order(order, actor=user)
    attempt = _stripe_attempt(order)
    sandbox.add_fault(target="create_order", kind="drop_after_commit", count=1)

    result = placement.settle_payment(order, attempt.pk, "pm_card_visa", actor=user)

    order.refresh_from_db()
    attempt.refresh_from_db()
    assert result.outcome == "unknown"
    assert order.status == Order.Status.PAYMENT_UNKNOWN
    assert attempt.state == State.UNKNOWN
    tempo = order.payment_attempts.get(method="tempo")
    again = placement.settle_payment(order, tempo.pk, "pm_card_visa", actor=user)
    assert again.outcome == "failed"
    assert len(sandbox.ledger(order.idempotency_key)["charges"]) == 1

    reconciled = placement.reconcile_unknown(order, actor=user)

    order.refresh_from_db()
    assert reconciled.outcome == "placed"
    assert order.status == Order.Status.PENDING
    assert order.trackable is False
    assert len(sandbox.ledger(order.idempotency_key)["charges"]) == 1


def test_read_timeout_after_credential_is_unknown(sandbox, make_order, user, settings):
    settings.ZINC_READ_TIMEOUT_SECONDS = 1
    order = make_order()
    placement.submit_order(order, actor=user)
    attempt = _stripe_attempt(order)
    sandbox.add_fault(target="create_order", kind="timeout", delay_seconds=3, count=1)

    result = placement.settle_payment(order, attempt.pk, "pm_card_visa", actor=user)

    order.refresh_from_db()
    assert result.outcome == "unknown"
    assert order.status == Order.Status.PAYMENT_UNKNOWN


def test_reconcile_without_zinc_order_allows_paying_again(sandbox, make_order, user):
    order = make_order()
    placement.submit_order(order, actor=user)
    attempt = _stripe_attempt(order)
    # Simulate a crash after the attempt was marked UNKNOWN but before the
    # paid request left this machine, longer ago than the reconcile grace.
    PaymentAttempt.objects.filter(pk=attempt.pk).update(
        state=State.UNKNOWN,
        updated_at=timezone.now() - placement.RECONCILE_GRACE - timedelta(minutes=1),
    )
    order.transition_to(Order.Status.PAYMENT_UNKNOWN)

    reconciled = placement.reconcile_unknown(order, actor=user)

    order.refresh_from_db()
    assert reconciled.outcome == "declined"
    assert order.status == Order.Status.AWAITING_PAYMENT
    assert reconciled.attempt is not None
    assert sandbox.ledger()["charges"] == []


@pytest.mark.parametrize(
    ("product", "status", "error_type"),
    [
        ("test-success", "order_placed", None),
        ("test-split-shipment", "order_placed", None),
        ("test-out-of-stock", "order_failed", "product_out_of_stock"),
        ("test-price-exceeded", "order_failed", "max_price_exceeded"),
        ("test-invalid-variant", "order_failed", "invalid_variant"),
        ("test-shipping-unavailable", "order_failed", "shipping_unavailable"),
        (
            "test-cancelled-by-retailer",
            "cancelled_by_retailer",
            "cancelled_by_retailer",
        ),
    ],
)
def test_scenario_reaches_documented_state(
    sandbox, make_order, user, product, status, error_type
):
    order = make_order(product, max_price_cents=10_000)
    assert _submit_and_pay(order, user).outcome == "placed"
    order.refresh_from_db()

    sandbox.advance(60 * 6)
    with ZincClient() as client:
        zinc_order = parse_order(
            client.get_order(order.zinc_order_id, order.get_api_key())
        )

    assert zinc_order.status == status
    job_error = zinc_order.job_result.error_type if zinc_order.job_result else None
    assert job_error == error_type
    ledger = sandbox.ledger(order.idempotency_key)
    assert [charge["amount"] for charge in ledger["charges"]] == [10_100]
    refunded = sum(refund["amount"] for refund in ledger["refunds"])
    if status == "order_placed":
        total = zinc_order.effective_price_components().total
        assert refunded == 10_000 - total
    else:
        assert refunded == 10_100


def test_poller_reconciles_unknown_outcome(sandbox, make_order, user):
    order = make_order()
    placement.submit_order(order, actor=user)
    attempt = _stripe_attempt(order)
    sandbox.add_fault(target="create_order", kind="drop_after_commit", count=1)
    placement.settle_payment(order, attempt.pk, "pm_card_visa", actor=user)
    order.refresh_from_db()
    assert order.is_open is True
    Order.objects.filter(pk=order.pk).update(next_poll_at=timezone.now())

    result = refresh.poll_now(order.pk)

    order.refresh_from_db()
    assert result is not None
    assert result.outcome == "reconciled"
    assert order.status == Order.Status.PENDING
    assert order.trackable is False
    assert order.next_poll_at is None
    assert len(sandbox.ledger(order.idempotency_key)["charges"]) == 1


def test_edit_during_paid_request_is_rejected(sandbox, make_order, user, address):
    order = make_order()
    placement.submit_order(order, actor=user)
    attempt = _stripe_attempt(order)
    # Zinc holds the paid request for 3 s, then charges and creates the order.
    sandbox.add_fault(target="create_order", kind="timeout", delay_seconds=3, count=1)
    outcome: dict[str, object] = {}

    def pay() -> None:
        try:
            outcome["result"] = placement.settle_payment(
                Order.objects.get(pk=order.pk), attempt.pk, "pm_card_visa", actor=user
            )
        finally:
            connection.close()

    payer = threading.Thread(target=pay)
    payer.start()
    time.sleep(1)
    with pytest.raises(compose.ComposeError, match="payment for this order is in"):
        compose.update_draft(
            Order.objects.get(pk=order.pk),
            actor=user,
            address=address,
            items=[compose.ItemSpec(url=order.items.get().url)],
            max_price_cents=4500,
        )
    payer.join(timeout=30)

    order.refresh_from_db()
    assert outcome["result"].outcome == "placed"
    assert order.status == Order.Status.PENDING
    assert order.max_price_cents == 5000
    assert order.zinc_order_id
    assert len(sandbox.ledger()["charges"]) == 1


def test_challenge_for_other_intent_is_not_paid(sandbox, make_order, user):
    order = make_order()
    placement.submit_order(order, actor=user)
    attempt = _stripe_attempt(order)
    PaymentAttempt.objects.filter(pk=attempt.pk).update(intent="session")

    result = placement.settle_payment(order, attempt.pk, "pm_card_visa", actor=user)

    assert result.outcome == "failed"
    assert "session" in result.message
    assert sandbox.ledger()["charges"] == []
