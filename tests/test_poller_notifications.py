"""Emails to the requester when polling finds news, sent once per event."""

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import override_settings

from orders.models import Order
from orders.services import refresh
from orders.zinc import ZincClient
from tests.poller_helpers import FAST_POLLING, make_paid_order, make_requester, reload

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]

STEP = 60


@pytest.fixture
def client(sandbox):
    with override_settings(**FAST_POLLING), ZincClient() as zinc_client:
        yield zinc_client


def paid(product: str, requester=None) -> Order:
    with override_settings(**FAST_POLLING):
        return make_paid_order(requester or make_requester(), product)


def poll(order: Order, client: ZincClient) -> None:
    with override_settings(**FAST_POLLING):
        refresh.poll_order(reload(order), client)


def test_placed_and_tracking_emails_once(sandbox, client):
    order = paid("test-success")
    api_key = order.get_api_key()

    sandbox.advance(2 * STEP)
    poll(order, client)
    poll(order, client)
    sandbox.advance(STEP)
    poll(order, client)
    poll(order, client)

    subjects = [message.subject for message in mail.outbox]
    assert subjects == [
        f"Order {order.pk} was placed ({reload(order).merchant_order_ids[0]})",
        f"Order {order.pk} has shipped",
    ]
    placed, shipped = mail.outbox
    assert placed.to == ["olivia@example.com"]
    assert "Total: $49.00" in placed.body
    assert "Charged including Zinc's fee: $50.00" in placed.body
    assert f"http://127.0.0.1:8000/orders/{order.pk}/" in placed.body
    tracking = order.tracking_numbers.get()
    assert f"USPS {tracking.tracking_number}" in shipped.body
    for message in mail.outbox:
        assert api_key not in message.body
        assert order.receipt_reference not in message.body


def test_failed_email_gives_advice(sandbox, client):
    order = paid("test-out-of-stock")

    sandbox.advance(2 * STEP)
    poll(order, client)

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == f"Order {order.pk} failed: product_out_of_stock"
    assert "Try again later or pick another product." in message.body
    assert "refunded in full" in message.body


def test_cancelled_by_retailer_email(sandbox, client):
    order = paid("test-cancelled-by-retailer")

    sandbox.advance(2 * STEP)
    poll(order, client)
    sandbox.advance(2 * STEP)
    poll(order, client)

    assert [message.subject for message in mail.outbox][-1] == (
        f"Order {order.pk} was cancelled by the retailer"
    )
    assert "$51.00 is refunded in full" in mail.outbox[-1].body


def test_no_email_without_address(sandbox, client):
    requester = get_user_model().objects.create_user("noemail", password="pw-123456")
    order = paid("test-success", requester)

    sandbox.advance(2 * STEP)
    poll(order, client)

    assert reload(order).status == Order.Status.ORDER_PLACED
    assert mail.outbox == []
