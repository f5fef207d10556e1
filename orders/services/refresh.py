"""Poll Zinc for one order and apply what it returns.

Zinc sends no webhooks for MPP orders, so ``GET /orders/{id}`` with the
order-scoped API key is the only source of truth. Each poll:

1. requests the order with its own key over a shared httpx client,
2. applies the response idempotently: statuses only move forward, tracking
   numbers are upserted by Zinc's id, and a status change writes one event,
3. stores the next poll time on the row (the schedule lives in the database,
   not in the task queue), backing off on errors.

The cadence follows Zinc's guidance and comes from the POLL_* settings.
"""

import email.utils
import logging
import random
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from pydantic import ValidationError

from orders import notifications
from orders.models import (
    InvalidTransition,
    Order,
    OrderEvent,
    OrderItem,
    PaymentAttempt,
    StaleOrder,
    TrackingNumber,
)
from orders.services import placement
from orders.zinc import (
    OrderResponse,
    ZincClient,
    ZincError,
    ZincTransportError,
    parse_order,
)

logger = logging.getLogger(__name__)

Status = Order.Status

# Statuses after which Zinc reports nothing new, so polling stops.
STOP_STATUSES = frozenset(
    {Status.ORDER_FAILED, Status.CANCELLED, Status.CANCELLED_BY_RETAILER}
)
OPEN_STATUSES = frozenset({Status.PENDING, Status.IN_PROGRESS})
# Statuses in which an order may still be polled. An order whose payment
# outcome is unknown is "polled" by asking Zinc whether it holds the order.
# An order still awaiting payment is due only when a paid request was sent
# but its response was never recorded (placement._mark_sending).
POLLED_STATUSES = OPEN_STATUSES | {
    Status.ORDER_PLACED,
    Status.PAYMENT_UNKNOWN,
    Status.AWAITING_PAYMENT,
}
# Statuses that end with a full refund of the authorised amount.
REFUNDED_STATUSES = STOP_STATUSES
# A 404 may be Zinc's replication lag right after payment, so it is retried
# this many times in a row before polling stops.
NOT_FOUND_MAX_FAILURES = 3
# Shortest time between two immediate polls of one order.
REFRESH_MIN_SECONDS = 5
# Bounds for a Retry-After value, so a bad header can neither hammer Zinc nor
# park an order for days.
RETRY_AFTER_MIN_SECONDS = 1
RETRY_AFTER_MAX_SECONDS = 3600
TRACKING_STATUS_RANK = {
    TrackingNumber.Status.PENDING: 0,
    TrackingNumber.Status.IN_TRANSIT: 1,
    TrackingNumber.Status.DELIVERED: 2,
}


@dataclass(frozen=True)
class PollResult:
    """The outcome of one poll of one order, for logs, tasks and tests."""

    order_id: int
    outcome: str
    status: str
    next_poll_at: datetime | None


# --- claiming -------------------------------------------------------------------


def claim_lease_seconds(batch_size: int) -> int:
    """Return how long a claimed batch stays reserved for one worker.

    The lease covers the worst case, in which every poll in the batch runs
    into the full connect and read timeouts. When a worker dies mid-batch,
    its orders become due again once the lease passes.
    """
    per_poll = (
        settings.ZINC_CONNECT_TIMEOUT_SECONDS + settings.ZINC_READ_TIMEOUT_SECONDS
    )
    return settings.POLL_CHAIN_INTERVAL_SECONDS + per_poll * batch_size


def claim_due_orders(
    limit: int | None = None, *, now: datetime | None = None
) -> list[int]:
    """Reserve up to ``limit`` due orders for this worker and return their ids.

    A claim pushes ``next_poll_at`` forward by a lease with an update that is
    conditional on the value read, so when several workers race for one row,
    exactly one update matches. On PostgreSQL the candidate rows are also
    locked with SKIP LOCKED, so concurrent workers pick different rows.
    """
    now = now or timezone.now()
    limit = limit or settings.POLL_BATCH_SIZE
    lease_until = now + timedelta(seconds=claim_lease_seconds(limit))
    due = Order.objects.filter(
        next_poll_at__lte=now, status__in=POLLED_STATUSES, trackable=True
    ).order_by("next_poll_at", "pk")
    if connection.features.has_select_for_update_skip_locked:
        with transaction.atomic():
            rows = list(
                due.select_for_update(skip_locked=True).values_list(
                    "pk", "next_poll_at"
                )[:limit]
            )
            return _claim_rows(rows, lease_until)
    return _claim_rows(list(due.values_list("pk", "next_poll_at")[:limit]), lease_until)


def _claim_rows(rows: list[tuple[int, datetime]], lease_until: datetime) -> list[int]:
    claimed = []
    for pk, due_at in rows:
        won = Order.objects.filter(pk=pk, next_poll_at=due_at).update(
            next_poll_at=lease_until
        )
        if won:
            claimed.append(pk)
    return claimed


def claim_order(order_id: int, *, now: datetime | None = None) -> bool:
    """Reserve one open order for an immediate poll, whatever its schedule.

    Returns False when the order is not being polled any more, is backing
    off after an error, or was polled in the last REFRESH_MIN_SECONDS.
    """
    now = now or timezone.now()
    lease_until = now + timedelta(seconds=claim_lease_seconds(1))
    updated = (
        Order.objects.filter(
            pk=order_id,
            status__in=POLLED_STATUSES,
            trackable=True,
            next_poll_at__isnull=False,
        )
        # After a 429 or a failure, Zinc's Retry-After or the backoff stands,
        # and repeated clicks within REFRESH_MIN_SECONDS send one request.
        .exclude(poll_failures__gt=0, next_poll_at__gt=now)
        .exclude(last_polled_at__gt=now - timedelta(seconds=REFRESH_MIN_SECONDS))
        .update(next_poll_at=lease_until)
    )
    return updated == 1


# --- polling --------------------------------------------------------------------


def poll_order(
    order: Order, client: ZincClient, *, now: datetime | None = None
) -> PollResult:
    """Fetch ``order`` from Zinc, apply the response and schedule the next poll."""
    now = now or timezone.now()
    if order.status == Status.AWAITING_PAYMENT:
        return _recover_unrecorded_payment(order, now)
    if order.status == Status.PAYMENT_UNKNOWN:
        return _reconcile(order, now)
    api_key = order.get_api_key()
    if not order.zinc_order_id or not api_key:
        message = "This order has no Zinc order id or API key, so it cannot be checked."
        logger.error("Order %s cannot be polled: no Zinc order id or API key", order.pk)
        _save_schedule(order, next_poll_at=None, poll_error=message, last_polled_at=now)
        return _result(order, "not_pollable")

    try:
        response = client.get_order(order.zinc_order_id, api_key)
    except ZincTransportError as exc:
        return _back_off(order, now, f"the request failed ({_describe_transport(exc)})")

    if response.status_code == httpx.codes.OK:
        try:
            data = parse_order(response)
        except ValidationError as exc:
            logger.warning(
                "Order %s: Zinc returned an unreadable order body (%d errors)",
                order.pk,
                exc.error_count(),
            )
            return _back_off(
                order, now, "Zinc returned an order body we could not read"
            )
        return apply_order_response(order, data, now=now)

    error = ZincError.from_response(response)
    if response.status_code == httpx.codes.TOO_MANY_REQUESTS:
        return _rate_limited(order, now, response)
    if response.status_code in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
        return _key_rejected(order, now, error)
    if response.status_code == httpx.codes.NOT_FOUND:
        return _not_found(order, now, error)
    return _back_off(
        order, now, f"Zinc returned HTTP {response.status_code} ({error.code})"
    )


def poll_now(order_id: int) -> PollResult | None:
    """Claim one order and poll it at once; None when it is not being polled."""
    if not claim_order(order_id):
        return None
    with ZincClient() as client:
        return poll_order_by_id(order_id, client)


def _recover_unrecorded_payment(order: Order, now: datetime) -> PollResult:
    """Handle an order whose paid request left but whose response was not recorded."""
    if not order.payment_attempts.filter(state=PaymentAttempt.State.UNKNOWN).exists():
        _save_schedule(order, next_poll_at=None)
        return _result(order, "not_pollable")
    try:
        order.transition_to(
            Status.PAYMENT_UNKNOWN,
            message="A paid request was sent but its response was never recorded, "
            "so ZincDash asks Zinc whether it holds the order.",
        )
    except StaleOrder:
        order.refresh_from_db()
        return _result(order, "changed")
    logger.error(
        "Order %s: recovering a paid request with no recorded response", order.pk
    )
    return _reconcile(order, now)


def _reconcile(order: Order, now: datetime) -> PollResult:
    """Ask Zinc whether it holds an order whose payment outcome is unknown.

    This never pays: a 409 marks the order paid but untrackable, a 402 returns
    it to awaiting payment, anything else is retried with backoff.
    """
    result = placement.reconcile_unknown(order, actor=None)
    order.refresh_from_db()
    if result.outcome == "unknown":
        return _back_off(order, now, result.message)
    _save_schedule(order, next_poll_at=None, last_polled_at=now, poll_failures=0)
    logger.info("Order %s reconciled: %s", order.pk, result.outcome)
    return _result(order, "reconciled")


def poll_order_by_id(order_id: int, client: ZincClient) -> PollResult | None:
    """Load the order and poll it. Returns None when the order no longer exists."""
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        logger.warning(
            "Order %s was claimed for polling but no longer exists", order_id
        )
        return None
    return poll_order(order, client)


# --- applying a response ----------------------------------------------------------


def apply_order_response(
    order: Order, data: OrderResponse, *, now: datetime | None = None
) -> PollResult:
    """Apply one GET /orders/{id} response to ``order`` and schedule the next poll.

    Applying the same response twice changes nothing the second time. A
    response that is older than what was already applied, or whose status
    lies behind the order's, is ignored apart from the schedule.
    """
    now = now or timezone.now()
    for _ in range(3):
        try:
            return _apply(order, data, now)
        except StaleOrder:
            # Another process (a second worker, the Refresh now button) moved
            # the order first; reapply on top of what it wrote.
            order.refresh_from_db()
    logger.error(
        "Order %s kept changing under the poller; skipping this response", order.pk
    )
    return _result(order, "conflict")


def _apply(order: Order, data: OrderResponse, now: datetime) -> PollResult:
    if _is_stale(order, data):
        logger.info(
            "Order %s: ignoring a stale Zinc response (status %s, updated %s) "
            "behind the stored status %s (updated %s)",
            order.pk,
            data.status,
            data.updated_at,
            order.status,
            order.zinc_updated_at,
        )
        _save_schedule(
            order,
            next_poll_at=next_poll_time(order, now),
            last_polled_at=now,
            poll_error="",
            poll_failures=0,
            poll_attempts=order.poll_attempts + 1,
        )
        return _result(order, "stale")

    path = _status_path(order.status, data.status)
    with transaction.atomic():
        # Status first, so that a response carrying both the placement and
        # the first tracking number queues the "placed" email first.
        status_changed = _walk_status_path(order, data, path, now)
        items_changed = _sync_items(order, data)
        tracking_changed = _sync_tracking(order, data, now)
        details_changed = _update_details(order, data, now)
        changed = status_changed or items_changed or tracking_changed or details_changed
        _save_schedule(
            order,
            next_poll_at=next_poll_time(order, now),
            last_polled_at=now,
            poll_error="",
            poll_failures=0,
            poll_attempts=order.poll_attempts + 1,
        )
    return _result(order, "changed" if changed else "unchanged")


def _is_stale(order: Order, data: OrderResponse) -> bool:
    if data.status != order.status and not _status_path(order.status, data.status):
        return True
    return bool(
        data.updated_at
        and order.zinc_updated_at
        and data.updated_at < order.zinc_updated_at
    )


def _status_path(current: str, target: str) -> list[str]:
    """Return the legal statuses leading from ``current`` to ``target``.

    Zinc may move through several statuses between two polls, for example
    from pending straight to cancelled_by_retailer, so the order walks every
    step of the shortest legal path. An empty list means no forward path.
    """
    if current == target:
        return []
    queue: deque[tuple[str, list[str]]] = deque([(current, [])])
    seen = {current}
    while queue:
        status, path = queue.popleft()
        for following in Order.TRANSITIONS.get(status, ()):
            if following in seen or following not in Order.AT_ZINC:
                continue
            if following == target:
                return [*path, following]
            seen.add(following)
            queue.append((following, [*path, following]))
    return []


def _walk_status_path(
    order: Order, data: OrderResponse, path: list[str], now: datetime
) -> bool:
    for status in path:
        changes = _status_changes(order, data, status, now)
        try:
            order.transition_to(
                status,
                message=_status_message(status, data),
                data=_status_event_data(data, status),
                **changes,
            )
        except InvalidTransition:
            # The path was computed from the loaded status, so only a bug in
            # TRANSITIONS can land here. The order is left as it is.
            logger.exception("Order %s: no transition to %s", order.pk, status)
            return False
        notifications.order_status_changed(order, status)
    return bool(path)


def _status_changes(
    order: Order, data: OrderResponse, status: str, now: datetime
) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    job = data.job_result
    if status == Status.ORDER_PLACED:
        changes.update(_placed_details(order, data))
        changes["placed_at"] = order.placed_at or now
    if status in (Status.ORDER_FAILED, Status.CANCELLED_BY_RETAILER):
        changes["error_type"] = (job.error_type if job else None) or status
        changes["error_message"] = (job.error if job else None) or ""
    if status in REFUNDED_STATUSES and order.authorized_cents is not None:
        changes["charged_cents"] = 0
        changes["refunded_cents"] = order.authorized_cents
    return changes


def _placed_details(order: Order, data: OrderResponse) -> dict[str, Any]:
    details: dict[str, Any] = {}
    prices = data.effective_price_components()
    if prices is not None:
        details.update(
            subtotal_cents=prices.subtotal,
            tax_cents=prices.tax,
            shipping_cents=prices.shipping,
            total_cents=prices.total,
        )
        if prices.total is not None and order.fee_cents is not None:
            charged = prices.total + order.fee_cents
            details["charged_cents"] = charged
            if order.authorized_cents is not None:
                details["refunded_cents"] = max(order.authorized_cents - charged, 0)
    job = data.job_result
    merchant_ids = job.merchant_order_id_strings() if job else []
    if not merchant_ids and data.merchant_order_id:
        merchant_ids = [data.merchant_order_id]
    if merchant_ids:
        details["merchant_order_ids"] = merchant_ids
    if job and job.estimated_delivery:
        details["estimated_delivery"] = job.estimated_delivery
    return details


def _status_message(status: str, data: OrderResponse) -> str:
    job = data.job_result
    if status == Status.ORDER_FAILED:
        reason = (job.error_type if job else None) or "unknown reason"
        return f"Zinc could not place the order: {reason}."
    if status == Status.CANCELLED_BY_RETAILER:
        return "The retailer cancelled the order after it was placed."
    label = Order.Status(status).label.removesuffix(" at Zinc").lower()
    return f"Zinc reports the order as {label}."


def _status_event_data(data: OrderResponse, status: str) -> dict[str, Any]:
    event: dict[str, Any] = {"source": "poll", "zinc_status": data.status}
    if data.updated_at:
        event["zinc_updated_at"] = data.updated_at.isoformat()
    if data.job_result and data.job_result.error_type and status in STOP_STATUSES:
        event["error_type"] = data.job_result.error_type
    return event


def _update_details(order: Order, data: OrderResponse, now: datetime) -> bool:
    """Store fields that change without a status change. Returns True if any did."""
    changes: dict[str, Any] = {}
    if data.attempts > order.zinc_attempts:
        changes["zinc_attempts"] = data.attempts
    if data.updated_at and (
        order.zinc_updated_at is None or data.updated_at > order.zinc_updated_at
    ):
        changes["zinc_updated_at"] = data.updated_at
    if order.status == Status.ORDER_PLACED:
        # Zinc can fill in prices or the delivery estimate after placement.
        for name, value in _placed_details(order, data).items():
            if value is not None and getattr(order, name) != value:
                changes[name] = value
    if not changes:
        return False
    updated = Order.objects.filter(pk=order.pk, status=order.status).update(
        updated_at=now, **changes
    )
    if updated != 1:
        raise StaleOrder(f"Order {order.pk} changed while a poll was applied.")
    for name, value in changes.items():
        setattr(order, name, value)
    # Attempts and timestamps alone are bookkeeping, not news for the caller.
    return bool(set(changes) - {"zinc_attempts", "zinc_updated_at"})


def _sync_items(order: Order, data: OrderResponse) -> bool:
    """Copy Zinc's item ids and statuses onto the order's items, in request order."""
    items = list(order.items.all())
    by_zinc_id = {item.zinc_item_id: item for item in items if item.zinc_item_id}
    unmatched = [item for item in items if not item.zinc_item_id]
    changed_items = []
    for remote in data.items:
        local = by_zinc_id.get(remote.id) or (unmatched.pop(0) if unmatched else None)
        if local is None:
            continue
        if local.zinc_item_id != remote.id or local.zinc_status != remote.status:
            local.zinc_item_id = remote.id
            local.zinc_status = remote.status
            changed_items.append(local)
    if changed_items:
        OrderItem.objects.bulk_update(changed_items, ["zinc_item_id", "zinc_status"])
    return bool(changed_items)


def _sync_tracking(order: Order, data: OrderResponse, now: datetime) -> bool:
    """Upsert tracking numbers by Zinc's id, then set first tracking and delivery."""
    if not data.tracking_numbers:
        return False
    existing = {row.zinc_id: row for row in order.tracking_numbers.all()}
    added: list[TrackingNumber] = []
    changed = False
    for remote in data.tracking_numbers:
        status = _tracking_status(remote.status)
        row = existing.get(remote.id)
        if row is None:
            row, created = TrackingNumber.objects.get_or_create(
                order=order,
                zinc_id=remote.id,
                defaults={
                    "carrier": remote.carrier,
                    "tracking_number": remote.tracking_number,
                    "status": status,
                    "checkpoints": remote.checkpoints,
                    "zinc_created_at": remote.created_at,
                    "delivered_at": now
                    if status == TrackingNumber.Status.DELIVERED
                    else None,
                },
            )
            existing[remote.id] = row
            if created:
                added.append(row)
                continue
        changed = (
            _update_tracking_row(row, remote.status, remote.checkpoints, now) or changed
        )

    for row in added:
        order.record_event(
            OrderEvent.Kind.POLL,
            f"Tracking number {row.carrier.upper()} {row.tracking_number} added.",
            data={"zinc_tracking_id": row.zinc_id, "carrier": row.carrier},
        )
    if added and order.first_tracking_at is None:
        _set_first_tracking(order, now)
    if all(row.status == TrackingNumber.Status.DELIVERED for row in existing.values()):
        _set_delivered(order, now)
    return bool(added) or changed


def _tracking_status(raw: str) -> str:
    value = (raw or "").strip().lower()
    return value if value in TRACKING_STATUS_RANK else TrackingNumber.Status.PENDING


def _update_tracking_row(
    row: TrackingNumber,
    raw_status: str,
    checkpoints: list[dict[str, Any]],
    now: datetime,
) -> bool:
    status = _tracking_status(raw_status)
    fields = []
    # A stale response must not take a delivered parcel back to in transit.
    if TRACKING_STATUS_RANK[status] > TRACKING_STATUS_RANK.get(row.status, 0):
        row.status = status
        fields.append("status")
        if status == TrackingNumber.Status.DELIVERED and row.delivered_at is None:
            row.delivered_at = now
            fields.append("delivered_at")
    if len(checkpoints) > len(row.checkpoints):
        row.checkpoints = checkpoints
        fields.append("checkpoints")
    if fields:
        row.save(update_fields=[*fields, "updated_at"])
    return bool(fields)


def _set_first_tracking(order: Order, now: datetime) -> None:
    # Conditional, so the first-tracking email goes out once even when two
    # polls of the same order overlap.
    won = Order.objects.filter(pk=order.pk, first_tracking_at__isnull=True).update(
        first_tracking_at=now
    )
    order.first_tracking_at = order.first_tracking_at or now
    if won:
        notifications.order_tracking_received(order)


def _set_delivered(order: Order, now: datetime) -> None:
    won = Order.objects.filter(pk=order.pk, delivered_at__isnull=True).update(
        delivered_at=now
    )
    if won:
        order.delivered_at = now
        order.record_event(OrderEvent.Kind.POLL, "Every tracking number is delivered.")


# --- schedule ------------------------------------------------------------------


def next_poll_time(order: Order, now: datetime) -> datetime | None:
    """Return when to poll ``order`` next after a good response, or None to stop."""
    if order.status in STOP_STATUSES or order.status not in Order.AT_ZINC:
        return None
    if _past_max_age(order, now):
        return None
    if order.status in OPEN_STATUSES:
        return now + timedelta(seconds=settings.POLL_OPEN_INTERVAL_SECONDS)
    if order.delivered_at is not None:
        return None
    return now + timedelta(seconds=settings.POLL_PLACED_INTERVAL_SECONDS)


def _past_max_age(order: Order, now: datetime) -> bool:
    if order.status == Status.PAYMENT_UNKNOWN:
        # Zinc may hold a charged order; checking never gives up on it.
        return False
    started = order.paid_at or order.created_at
    return now - started > timedelta(seconds=settings.POLL_MAX_AGE_SECONDS)


def backoff_seconds(failures: int) -> float:
    """Return the delay after ``failures`` consecutive failures, with jitter.

    The delay doubles per failure from POLL_RETRY_BASE_SECONDS up to
    POLL_RETRY_MAX_SECONDS. A random factor between 0.5 and 1 spreads the
    retries of many orders that failed together.
    """
    exponent = min(max(failures, 1) - 1, 30)
    ceiling = min(
        settings.POLL_RETRY_BASE_SECONDS * 2**exponent, settings.POLL_RETRY_MAX_SECONDS
    )
    return ceiling * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not security


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Parse a Retry-After header given in seconds or as an HTTP date."""
    if not value:
        return None
    value = value.strip()
    # str.isdigit alone accepts "²" and other non-ASCII digits that float()
    # cannot read.
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max((moment - now).total_seconds(), 0.0)


def _save_schedule(order: Order, **fields: Any) -> None:
    Order.objects.filter(pk=order.pk).update(**fields)
    for name, value in fields.items():
        setattr(order, name, value)


def _stop_or(order: Order, now: datetime, when: datetime) -> datetime | None:
    return None if _past_max_age(order, now) else when


# --- errors --------------------------------------------------------------------


def _back_off(order: Order, now: datetime, reason: str) -> PollResult:
    failures = order.poll_failures + 1
    delay = backoff_seconds(failures)
    next_poll_at = _stop_or(order, now, now + timedelta(seconds=delay))
    logger.warning(
        "Poll of order %s failed (%d in a row): %s; next poll in %.0f s",
        order.pk,
        failures,
        reason,
        delay,
    )
    _save_schedule(
        order,
        next_poll_at=next_poll_at,
        last_polled_at=now,
        poll_failures=failures,
        poll_attempts=order.poll_attempts + 1,
        poll_error=_truncate(f"Last check failed: {reason}. Retrying automatically."),
    )
    return _result(order, "retry")


def _rate_limited(order: Order, now: datetime, response: httpx.Response) -> PollResult:
    retry_after = parse_retry_after(response.headers.get("Retry-After"), now)
    if retry_after is None:
        delay = backoff_seconds(order.poll_failures + 1)
    else:
        delay = min(max(retry_after, RETRY_AFTER_MIN_SECONDS), RETRY_AFTER_MAX_SECONDS)
    logger.warning(
        "Zinc rate-limited the poll of order %s (Retry-After %r); next poll in %.0f s",
        order.pk,
        response.headers.get("Retry-After"),
        delay,
    )
    _save_schedule(
        order,
        next_poll_at=_stop_or(order, now, now + timedelta(seconds=delay)),
        last_polled_at=now,
        poll_attempts=order.poll_attempts + 1,
        # Counted as a failure so that Refresh now also waits (claim_order).
        poll_failures=order.poll_failures + 1,
        poll_error=_truncate(
            f"Zinc asked us to slow down; checking again in {delay:.0f} seconds."
        ),
    )
    return _result(order, "rate_limited")


def _key_rejected(order: Order, now: datetime, error: ZincError) -> PollResult:
    message = (
        "Zinc no longer accepts this order's API key "
        f"({error.code}), so its status and tracking can no longer be updated. "
        "The last known status is shown."
    )
    logger.warning(
        "Order %s: Zinc rejected the order's API key with HTTP %d %s; polling stopped",
        order.pk,
        error.status_code,
        error.code,
    )
    _record_poll_problem(order, now, message, error, next_poll_at=None, trackable=False)
    return _result(order, "untrackable")


def _not_found(order: Order, now: datetime, error: ZincError) -> PollResult:
    failures = order.poll_failures + 1
    stop = failures >= NOT_FOUND_MAX_FAILURES
    if stop:
        message = (
            f"Zinc returned 404 not found for this order {failures} times in a row, "
            "so checking stopped."
        )
        next_poll_at = None
    else:
        message = "Zinc returned 404 not found for this order. Retrying automatically."
        next_poll_at = _stop_or(
            order, now, now + timedelta(seconds=backoff_seconds(failures))
        )
    logger.warning(
        "Order %s: Zinc returned 404 %s (%d in a row)%s",
        order.pk,
        error.code,
        failures,
        "; polling stopped" if stop else "",
    )
    _record_poll_problem(
        order, now, message, error, next_poll_at=next_poll_at, poll_failures=failures
    )
    return _result(order, "not_found")


def _record_poll_problem(
    order: Order, now: datetime, message: str, error: ZincError, **schedule: Any
) -> None:
    """Save the schedule and the error, and put the error on the timeline."""
    with transaction.atomic():
        _save_schedule(
            order,
            last_polled_at=now,
            poll_attempts=order.poll_attempts + 1,
            poll_error=_truncate(message),
            **schedule,
        )
        order.record_event(
            OrderEvent.Kind.POLL,
            message,
            data={"http_status": error.status_code, "code": error.code},
        )


def _describe_transport(exc: ZincTransportError) -> str:
    cause = exc.__cause__
    if isinstance(cause, httpx.TimeoutException):
        return "timed out"
    if isinstance(cause, httpx.ConnectError):
        return "could not connect"
    return type(cause).__name__ if cause else "transport error"


def _truncate(text: str) -> str:
    limit = Order._meta.get_field("poll_error").max_length or 255
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _result(order: Order, outcome: str) -> PollResult:
    return PollResult(order.pk, outcome, order.status, order.next_poll_at)
