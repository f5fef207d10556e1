"""A real worker process keeps paid orders fresh with no request from the test.

Each test pays an order through the placement service against the sandbox,
starts ``manage.py run_worker`` on the test database file, and then only moves
the sandbox clock and waits for the worker's polls to land in the database.
"""

import pytest
from django.test import override_settings
from django_tasks_db.models import DBTaskResult

from orders.models import Order, OrderEvent, PollerHeartbeat, TrackingNumber
from tests.poller_helpers import (
    FAST_POLLING,
    make_paid_order,
    make_requester,
    reload,
    running_worker,
    wait_for,
    worker_env,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(120),
]

Status = Order.Status
STEP = 60  # The sandbox fixture's lifecycle step, in sandbox seconds.


@pytest.fixture
def fast_polling():
    with override_settings(**FAST_POLLING):
        yield


def status_events(order: Order) -> list[tuple[str, str]]:
    return list(
        OrderEvent.objects.filter(order=order, kind=OrderEvent.Kind.STATUS)
        .order_by("id")
        .values_list("from_status", "to_status")
    )


def test_paid_order_reaches_placed_and_delivered(sandbox, fast_polling, tmp_path):
    requester = make_requester()
    order = make_paid_order(requester, "test-split-shipment")

    log_path = tmp_path / "worker.log"
    with running_worker(worker_env(sandbox), log_path):
        sandbox.advance(STEP)
        wait_for(
            lambda: reload(order).status == Status.IN_PROGRESS,
            describe="in_progress",
        )
        sandbox.advance(STEP)
        placed = wait_for(
            lambda: (o := reload(order)).status == Status.ORDER_PLACED and o,
            describe="order_placed",
        )
        sandbox.advance(STEP)
        wait_for(
            lambda: TrackingNumber.objects.filter(order=order).count() == 2,
            describe="two tracking numbers",
        )
        sandbox.advance(2 * STEP)
        delivered = wait_for(
            lambda: (o := reload(order)).delivered_at and o.next_poll_at is None and o,
            describe="delivery and the end of polling",
        )

    assert placed.total_cents == 4900
    assert placed.subtotal_cents == 4500
    assert placed.tax_cents == 250
    assert placed.shipping_cents == 150
    assert placed.charged_cents == 5000
    assert placed.refunded_cents == 100
    assert len(placed.merchant_order_ids) == 2
    assert placed.estimated_delivery is not None
    assert placed.placed_at is not None
    assert status_events(order) == [
        (Status.DRAFT, Status.AWAITING_PAYMENT),
        (Status.AWAITING_PAYMENT, Status.PENDING),
        (Status.PENDING, Status.IN_PROGRESS),
        (Status.IN_PROGRESS, Status.ORDER_PLACED),
    ]
    tracking = TrackingNumber.objects.filter(order=order).order_by("carrier")
    assert [row.carrier for row in tracking] == ["fedex", "ups"]
    assert {row.status for row in tracking} == {TrackingNumber.Status.DELIVERED}
    assert delivered.first_tracking_at is not None
    assert delivered.status == Status.ORDER_PLACED
    assert delivered.is_final is True
    assert delivered.poll_error == ""
    # The worker runs with the console email backend, so its mail is in its log.
    log = log_path.read_text()
    assert log.count(f"Subject: Order {order.pk} was placed") == 1
    assert log.count(f"Subject: Order {order.pk} has shipped") == 1
    assert "To: olivia@example.com" in log


@pytest.mark.parametrize(
    ("product", "error_type"),
    [
        ("test-out-of-stock", "product_out_of_stock"),
        ("test-shipping-unavailable", "shipping_unavailable"),
        ("test-price-exceeded", "max_price_exceeded"),
    ],
)
def test_failing_scenario_ends_failed(
    sandbox, fast_polling, tmp_path, product, error_type
):
    order = make_paid_order(make_requester(), product)

    with running_worker(worker_env(sandbox), tmp_path / "worker.log"):
        sandbox.advance(5 * STEP)
        failed = wait_for(
            lambda: (o := reload(order)).status == Status.ORDER_FAILED and o,
            describe="order_failed",
        )

    assert failed.error_type == error_type
    assert failed.error_message != ""
    assert failed.next_poll_at is None
    assert failed.charged_cents == 0
    assert failed.refunded_cents == failed.authorized_cents == 5100
    assert failed.is_final is True
    assert status_events(order)[-1] == (Status.PENDING, Status.ORDER_FAILED)


def test_cancelled_by_retailer_after_placement(sandbox, fast_polling, tmp_path):
    order = make_paid_order(make_requester(), "test-cancelled-by-retailer")

    with running_worker(worker_env(sandbox), tmp_path / "worker.log"):
        sandbox.advance(2 * STEP)
        wait_for(
            lambda: reload(order).status == Status.ORDER_PLACED,
            describe="order_placed",
        )
        sandbox.advance(2 * STEP)
        cancelled = wait_for(
            lambda: (o := reload(order)).status == Status.CANCELLED_BY_RETAILER and o,
            describe="cancelled_by_retailer",
        )

    assert cancelled.next_poll_at is None
    assert cancelled.error_type == "cancelled_by_retailer"
    assert cancelled.refunded_cents == 5100
    assert status_events(order)[-2:] == [
        (Status.PENDING, Status.ORDER_PLACED),
        (Status.ORDER_PLACED, Status.CANCELLED_BY_RETAILER),
    ]


def test_sweeper_restarts_lost_chain(sandbox, fast_polling, tmp_path):
    order = make_paid_order(make_requester())

    with running_worker(worker_env(sandbox), tmp_path / "first.log") as worker:
        sandbox.advance(STEP)
        wait_for(lambda: reload(order).status == Status.IN_PROGRESS, describe="start")
        worker.kill()
        worker.wait(timeout=10)
    # A crash that also loses the queued next run: only the sweeper can help.
    DBTaskResult.objects.all().delete()
    heartbeat = PollerHeartbeat.objects.get()

    sandbox.advance(STEP)
    with running_worker(worker_env(sandbox), tmp_path / "second.log"):
        placed = wait_for(
            lambda: (o := reload(order)).status == Status.ORDER_PLACED and o,
            describe="order_placed after a restart",
        )

    assert placed.total_cents == 4900
    assert PollerHeartbeat.objects.get().chain_id != heartbeat.chain_id
