"""Polling one order through the sandbox's scripted faults.

These tests call the refresh service in the test process over a real HTTP
client to the sandbox, so each fault can be checked poll by poll.
"""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from django.test import override_settings
from django.utils import timezone

from orders.models import Order, OrderEvent, TrackingNumber
from orders.services import refresh
from orders.zinc import ZincClient, parse_order
from tests.poller_helpers import FAST_POLLING, make_paid_order, make_requester, reload

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]

Status = Order.Status
STEP = 60


@pytest.fixture
def client(sandbox):
    with override_settings(**FAST_POLLING), ZincClient() as zinc_client:
        yield zinc_client


@pytest.fixture
def order(sandbox):
    with override_settings(**FAST_POLLING):
        return make_paid_order(make_requester())


def poll(order: Order, client: ZincClient) -> refresh.PollResult:
    with override_settings(**FAST_POLLING):
        return refresh.poll_order(reload(order), client)


def seconds_until(moment: datetime | None) -> float:
    assert moment is not None
    return (moment - timezone.now()).total_seconds()


def test_rate_limit_honours_retry_after(sandbox, client, order):
    sandbox.add_fault(
        target="get_order",
        order_id=order.zinc_order_id,
        kind="status_429",
        retry_after=7,
    )

    result = poll(order, client)

    order = reload(order)
    assert result.outcome == "rate_limited"
    assert 6 <= seconds_until(order.next_poll_at) <= 7
    assert order.status == Status.PENDING
    # Counted as a failure, so that Refresh now waits out Retry-After too.
    assert order.poll_failures == 1
    assert (
        order.poll_error == "Zinc asked us to slow down; checking again in 7 seconds."
    )


def test_retry_after_http_date():
    now = datetime(2026, 12, 4, 12, 0, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)

    assert refresh.parse_retry_after(later, now) == 90
    assert refresh.parse_retry_after("120", now) == 120
    assert refresh.parse_retry_after("soon", now) is None
    assert refresh.parse_retry_after(None, now) is None


@pytest.mark.parametrize(
    ("kind", "status_code"), [("status_502", 502), ("status_500", 500)]
)
def test_server_error_backs_off_then_recovers(
    sandbox, client, order, kind, status_code
):
    sandbox.add_fault(
        target="get_order", order_id=order.zinc_order_id, kind=kind, count=2
    )

    first = poll(order, client)
    first_delay = seconds_until(reload(order).next_poll_at)
    second = poll(order, client)
    failed = reload(order)
    second_delay = seconds_until(failed.next_poll_at)
    sandbox.advance(STEP)
    recovered_result = poll(order, client)
    recovered = reload(order)

    assert first.outcome == second.outcome == "retry"
    # Base 1 s, so the first delay is 0.5-1 s and the second 1-2 s.
    assert 0 < first_delay <= 1
    assert 0.5 < second_delay <= 2
    assert failed.poll_failures == 2
    assert f"Zinc returned HTTP {status_code}" in failed.poll_error
    assert recovered_result.outcome == "changed"
    assert recovered.status == Status.IN_PROGRESS
    assert recovered.poll_failures == 0
    assert recovered.poll_error == ""


def test_backoff_is_capped():
    with override_settings(POLL_RETRY_BASE_SECONDS=30, POLL_RETRY_MAX_SECONDS=600):
        delays = [refresh.backoff_seconds(failures) for failures in (1, 2, 3, 10, 50)]

    assert 15 <= delays[0] <= 30
    assert 30 <= delays[1] <= 60
    assert 60 <= delays[2] <= 120
    assert 300 <= delays[3] <= 600
    assert 300 <= delays[4] <= 600


def test_timeout_backs_off(sandbox, order):
    sandbox.add_fault(
        target="get_order",
        order_id=order.zinc_order_id,
        kind="timeout",
        delay_seconds=3,
    )
    with override_settings(ZINC_READ_TIMEOUT_SECONDS=1), ZincClient() as client:
        result = poll(order, client)

    order = reload(order)
    assert result.outcome == "retry"
    assert order.poll_failures == 1
    assert order.poll_error == (
        "Last check failed: the request failed (timed out). Retrying automatically."
    )
    assert order.status == Status.PENDING


def test_expired_key_stops_polling(sandbox, client, order):
    with sandbox.control as control:
        control.post(
            f"/_sandbox/orders/{order.zinc_order_id}/expire_key"
        ).raise_for_status()

    result = poll(order, client)

    order = reload(order)
    assert result.outcome == "untrackable"
    assert order.trackable is False
    assert order.next_poll_at is None
    assert order.is_open is False
    assert "token_expired" in order.poll_error
    assert order.poll_error.startswith("Zinc no longer accepts this order's API key")
    assert order.events.filter(kind=OrderEvent.Kind.POLL).count() == 1
    assert refresh.claim_due_orders(now=timezone.now() + timedelta(days=1)) == []


def test_not_found_retries_then_stops(sandbox, client, order):
    # The sandbox returns 404 when the key belongs to another order.
    Order.objects.filter(pk=order.pk).update(
        zinc_order_id="00000000-0000-4000-8000-000000000000"
    )

    outcomes = [poll(order, client).outcome for _ in range(3)]

    order = reload(order)
    assert outcomes == ["not_found"] * 3
    assert order.next_poll_at is None
    assert order.poll_failures == 3
    assert order.poll_error == (
        "Zinc returned 404 not found for this order 3 times in a row, "
        "so checking stopped."
    )
    assert order.events.filter(kind=OrderEvent.Kind.POLL).count() == 3
    assert order.status == Status.PENDING


def test_stale_response_never_moves_backwards(sandbox, client, order):
    sandbox.advance(3 * STEP)
    poll(order, client)
    shipped = reload(order)
    events_before = shipped.events.count()
    sandbox.add_fault(target="get_order", order_id=order.zinc_order_id, kind="stale")

    result = poll(order, client)

    after = reload(order)
    assert shipped.status == Status.ORDER_PLACED
    assert result.outcome == "stale"
    assert after.status == Status.ORDER_PLACED
    assert after.events.count() == events_before
    assert TrackingNumber.objects.filter(order=order).count() == 1
    assert after.next_poll_at is not None


def test_stale_tracking_keeps_delivered(sandbox, client, order):
    sandbox.advance(5 * STEP)
    poll(order, client)
    delivered = reload(order)
    sandbox.add_fault(target="get_order", order_id=order.zinc_order_id, kind="stale")

    poll(order, client)

    tracking = TrackingNumber.objects.get(order=order)
    assert delivered.delivered_at is not None
    assert tracking.status == TrackingNumber.Status.DELIVERED
    assert reload(order).delivered_at == delivered.delivered_at


def test_out_of_order_status_is_ignored(sandbox, client, order):
    sandbox.advance(STEP)
    in_progress = client.get_order(order.zinc_order_id, order.get_api_key())
    sandbox.advance(STEP)
    poll(order, client)
    placed = reload(order)
    events_before = placed.events.count()

    result = refresh.apply_order_response(placed, parse_order(in_progress))

    after = reload(order)
    assert placed.status == Status.ORDER_PLACED
    assert result.outcome == "stale"
    assert after.status == Status.ORDER_PLACED
    assert after.events.count() == events_before
    assert after.total_cents == placed.total_cents


def test_same_response_twice_changes_nothing(sandbox, client, order):
    sandbox.advance(3 * STEP)
    response = client.get_order(order.zinc_order_id, order.get_api_key())
    data = parse_order(response)

    first = refresh.apply_order_response(reload(order), data)
    snapshot = reload(order)
    events = snapshot.events.count()
    second = refresh.apply_order_response(reload(order), data)

    after = reload(order)
    assert first.outcome == "changed"
    assert second.outcome == "unchanged"
    assert after.events.count() == events
    assert TrackingNumber.objects.filter(order=order).count() == 1
    assert after.status == snapshot.status == Status.ORDER_PLACED
    assert after.first_tracking_at == snapshot.first_tracking_at
    assert after.charged_cents == snapshot.charged_cents


def test_pending_to_cancelled_by_retailer_walks_placed(sandbox, client):
    with override_settings(**FAST_POLLING):
        order = make_paid_order(make_requester(), "test-cancelled-by-retailer")
    sandbox.advance(4 * STEP)

    result = poll(order, client)

    order = reload(order)
    transitions = list(
        order.events.filter(kind=OrderEvent.Kind.STATUS)
        .order_by("id")
        .values_list("to_status", flat=True)
    )
    assert result.outcome == "changed"
    assert transitions[-2:] == [Status.ORDER_PLACED, Status.CANCELLED_BY_RETAILER]
    assert order.total_cents == 4900
    assert order.placed_at is not None
    assert order.charged_cents == 0
    assert order.refunded_cents == 5100
    assert order.next_poll_at is None


@pytest.mark.parametrize("value", ["²", "٣", "1.5", "-3", "soon"])
def test_retry_after_non_ascii_or_garbled_is_ignored(value):
    assert refresh.parse_retry_after(value, timezone.now()) is None


def test_retry_after_seconds_and_date_are_read():
    now = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)

    assert refresh.parse_retry_after("7", now) == 7.0
    assert refresh.parse_retry_after("Fri, 04 Dec 2026 12:00:30 GMT", now) == 30.0
