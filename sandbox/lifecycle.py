"""Order records and their clock-driven lifecycle.

An order's scenario lists timeline events by step; an event fires once
``created_at + step * step_seconds`` has passed on the sandbox clock. Events also
write the ledger: Zinc keeps the order total plus its fee and refunds the rest.
Callers hold ``state.lock``.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from sandbox import scenarios, stripe_service
from sandbox.payment import ZINC_FEE_CENTS, Settlement
from sandbox.state import (
    ApiKeyRecord,
    ItemRecord,
    OrderRecord,
    SandboxState,
    TrackingRecord,
    isodate,
    isoformat_z,
)
from sandbox.validation import OrderCreate

logger = logging.getLogger(__name__)

ESTIMATED_DELIVERY_DAYS = 5
TERMINAL_STATUSES = frozenset(
    {"order_placed", "order_failed", "cancelled", "cancelled_by_retailer"}
)
# City, state and ZIP of each carrier's first scan in sandbox tracking data.
ORIGIN_CHECKPOINTS = {
    "usps": ("Kansas City", "MO", "64121"),
    "ups": ("Louisville", "KY", "40223"),
    "fedex": ("Memphis", "TN", "38118"),
}


def create_order(
    state: SandboxState,
    *,
    order_request: OrderCreate,
    settlement: Settlement,
    challenge_id: str,
    amount: int,
) -> OrderRecord:
    """Store a paid order with its order-scoped API key and record the charge."""
    now = state.now()
    urls = [product.url for product in order_request.products]
    scenario = scenarios.worst_scenario(urls)
    lines = [(product.url, product.quantity) for product in order_request.products]
    order = OrderRecord(
        id=str(uuid.uuid4()),
        idempotency_key=order_request.idempotency_key or str(uuid.uuid4()),
        request=order_request,
        scenario=scenario,
        price=scenarios.price_order(scenario, lines, order_request.max_price),
        created_at=now,
        api_key=f"zn_test_{secrets.token_hex(16)}",
        payment_method=settlement.method,
        payment_reference=settlement.reference,
        challenge_id=challenge_id,
        charged_amount=amount,
        items=_new_items(order_request, now),
        updated_at=now,
    )

    state.orders[order.id] = order
    state.orders_by_idempotency_key[order.idempotency_key] = order.id
    state.api_keys[order.api_key] = ApiKeyRecord(order_id=order.id)
    state.settled_challenges[challenge_id] = order.id
    state.record_charge(
        method=settlement.method,
        reference=settlement.reference,
        payment_intent=settlement.payment_intent,
        amount=amount,
        challenge_id=challenge_id,
        order_id=order.id,
        idempotency_key=order.idempotency_key,
    )
    order.history.append(render_order(order))

    logger.info(
        "Created order %s scenario=%s challenge=%s",
        order.id,
        scenario.name,
        challenge_id,
    )
    return order


def _new_items(order_request: OrderCreate, now: datetime) -> list[ItemRecord]:
    return [
        ItemRecord(
            id=str(uuid.uuid4()),
            url=product.url,
            quantity=product.quantity,
            variant=(
                [variant.model_dump() for variant in product.variant]
                if product.variant is not None
                else None
            ),
            status="pending",
            created_at=now,
            updated_at=now,
        )
        for product in order_request.products
    ]


def advance_all(state: SandboxState) -> None:
    """Fire every lifecycle event that is due on the sandbox clock."""
    now = state.now()
    step = timedelta(seconds=state.config.step_seconds)
    for order in state.orders.values():
        timeline = order.scenario.timeline
        while order.applied_events < len(timeline):
            step_number, event = timeline[order.applied_events]
            due_at = order.created_at + step * step_number
            if due_at > now:
                break
            _apply_event(state, order, event, due_at)
            order.applied_events += 1
            order.history.append(render_order(order))


def _apply_event(
    state: SandboxState, order: OrderRecord, event: str, at: datetime
) -> None:
    if event == scenarios.START:
        order.status = "in_progress"
        order.attempts = 1
        _set_item_status(order, "processing", at)
    elif event == scenarios.RETRY:
        order.attempts += 1
    elif event == scenarios.PLACE:
        _place(state, order, at)
    elif event == scenarios.SHIP:
        _ship(order, at)
    elif event == scenarios.DELIVER:
        _deliver(order, at)
    elif event == scenarios.FAIL:
        _fail(
            state,
            order,
            at,
            order.scenario.failure_type or "checkout_failed",
            order.scenario.failure_message or "Checkout failed.",
        )
    elif event == scenarios.CANCEL:
        _cancel_by_retailer(state, order, at)
    else:
        raise ValueError(f"unknown lifecycle event {event!r}")
    order.updated_at = max(order.updated_at, at)
    logger.info("Order %s: %s -> status %s", order.id, event, order.status)


def _set_item_status(order: OrderRecord, status: str, at: datetime) -> None:
    for item in order.items:
        item.status = status
        item.updated_at = at


def _place(state: SandboxState, order: OrderRecord, at: datetime) -> None:
    total = order.price.total
    max_price = order.request.max_price
    if total > max_price:
        message = (
            f"Order total of ${total / 100:.2f} "
            f"exceeds max_price of ${max_price / 100:.2f}"
        )
        _fail(state, order, at, "max_price_exceeded", message)
        return
    merchant_count = len(order.scenario.carriers)
    order.merchant_order_ids = [
        f"TEST-{secrets.randbelow(10**10):010d}" for _ in range(merchant_count)
    ]
    order.status = "order_placed"
    order.job_result = {
        "success": True,
        "error": None,
        "error_type": None,
        "estimated_delivery": isodate(at + timedelta(days=ESTIMATED_DELIVERY_DAYS)),
        "merchant_order_ids": list(order.merchant_order_ids),
        "price_components": order.price.to_json(),
    }
    _set_item_status(order, "ordered", at)
    # The payer is charged the real total plus the fee; the unused part goes back.
    surplus = order.charged_amount - (total + ZINC_FEE_CENTS)
    _refund(state, order, surplus, "unused_max_price")


def _fail(
    state: SandboxState, order: OrderRecord, at: datetime, error_type: str, message: str
) -> None:
    order.status = "order_failed"
    order.job_result = {
        "success": False,
        "error": message,
        "error_type": error_type,
        "estimated_delivery": None,
        "merchant_order_ids": [],
        "price_components": None,
    }
    _set_item_status(order, "failed", at)
    _refund(state, order, order.charged_amount - order.refunded_amount, "order_failed")


def _ship(order: OrderRecord, at: datetime) -> None:
    if order.status != "order_placed":
        return
    for carrier in order.scenario.carriers:
        city, region, postal_code = ORIGIN_CHECKPOINTS[carrier]
        tracking = TrackingRecord(
            id=str(uuid.uuid4()),
            carrier=carrier,
            tracking_number=_tracking_number(order, carrier),
            status="in_transit",
            created_at=at,
        )
        tracking.checkpoints.insert(
            0,
            _checkpoint(
                at, "in_transit", "Picked up by carrier", city, region, postal_code
            ),
        )
        order.tracking.append(tracking)
    _set_item_status(order, "shipped", at)


def _deliver(order: OrderRecord, at: datetime) -> None:
    if order.status != "order_placed":
        return
    address = order.request.shipping_address
    for tracking in order.tracking:
        tracking.status = "delivered"
        tracking.checkpoints.insert(
            0,
            _checkpoint(
                at,
                "delivered",
                "Delivered",
                address.city,
                address.state or "",
                address.postal_code,
            ),
        )
    _set_item_status(order, "delivered", at)


def _cancel_by_retailer(state: SandboxState, order: OrderRecord, at: datetime) -> None:
    if order.status != "order_placed":
        return
    order.status = "cancelled_by_retailer"
    if order.job_result is not None:
        order.job_result["success"] = False
        order.job_result["error"] = "The retailer cancelled the order after placing it."
        order.job_result["error_type"] = "cancelled_by_retailer"
    _set_item_status(order, "cancelled", at)
    remaining = order.charged_amount - order.refunded_amount
    _refund(state, order, remaining, "cancelled_by_retailer")


def _tracking_number(order: OrderRecord, carrier: str) -> str:
    if carrier == "ups":
        return "1Z" + secrets.token_hex(8).upper()
    if carrier == "fedex":
        return f"{secrets.randbelow(10**12):012d}"
    if scenarios.retailer_host(order.items[0].url) == scenarios.TEST_PRODUCT_HOST:
        # Zinc's sandbox documents test tracking numbers such as ZINC_TEST_123456789.
        return f"ZINC_TEST_{secrets.randbelow(10**9):09d}"
    return f"9400{secrets.randbelow(10**18):018d}"


def _checkpoint(
    at: datetime, status: str, message: str, city: str, region: str, postal_code: str
) -> dict[str, Any]:
    return {
        "checkpoint_time": isoformat_z(at),
        "status": status,
        "message": message,
        "city": city,
        "state": region,
        "country": "US",
        "zip": postal_code,
        "location": f"{city}, {region}".strip(", "),
    }


def _refund(state: SandboxState, order: OrderRecord, amount: int, reason: str) -> None:
    if amount <= 0:
        return
    refund_id = None
    if order.payment_method == "stripe":
        try:
            refund = stripe_service.create_refund(
                state,
                order.payment_reference,
                amount,
                "requested_by_customer",
                {"order_id": order.id, "sandbox_reason": reason},
            )
        except stripe_service.StripeError as error:
            # Someone refunded this intent by hand through POST /v1/refunds.
            logger.warning(
                "Could not refund %s for order %s: %s", amount, order.id, error.message
            )
            return
        refund_id = refund.id
    order.refunded_amount += amount
    state.record_refund(
        refund_id=refund_id,
        method=order.payment_method,
        reference=order.payment_reference,
        payment_intent=order.payment_reference
        if order.payment_method == "stripe"
        else None,
        amount=amount,
        reason=reason,
        order_id=order.id,
    )


def render_order(order: OrderRecord) -> dict[str, Any]:
    """Return the order as Zinc's OrderResponse JSON."""
    request = order.request
    body: dict[str, Any] = {
        "id": order.id,
        "status": order.status,
        "max_price": request.max_price,
        "attempts": order.attempts,
        "items": [
            {
                "id": item.id,
                "url": item.url,
                "quantity": item.quantity,
                "variant": item.variant,
                "status": item.status,
                "created_at": isoformat_z(item.created_at),
                "updated_at": isoformat_z(item.updated_at),
            }
            for item in order.items
        ],
        "shipping_address": request.shipping_address.model_dump(),
        "metadata": request.metadata or {},
        "po_number": request.po_number,
        "retailer_credentials_id": request.retailer_credentials_id,
        "tracking_numbers": [
            {
                "id": tracking.id,
                "carrier": tracking.carrier,
                "tracking_number": tracking.tracking_number,
                "status": tracking.status,
                "created_at": isoformat_z(tracking.created_at),
                "checkpoints": [
                    dict(checkpoint) for checkpoint in tracking.checkpoints
                ],
            }
            for tracking in order.tracking
        ],
        "job_result": dict(order.job_result) if order.job_result is not None else None,
        "created_at": isoformat_z(order.created_at),
        "updated_at": isoformat_z(order.updated_at),
    }
    if order.merchant_order_ids:
        body["merchant_order_id"] = order.merchant_order_ids[0]
        body["price_components"] = order.price.to_json()
    return body
