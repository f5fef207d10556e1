"""Placing an order at Zinc and paying its MPP challenge exactly once.

The flow: build the request body once and freeze its bytes; POST it unpaid;
store each 402 challenge as a PaymentAttempt; when the browser hands over a
Stripe PaymentMethod, mint a Shared Payment Token scoped to the stored
challenge, and resend the same bytes with the credential.

Exactly-once rests on three rules:
- an attempt is claimed with a conditional UPDATE, and only while no other
  attempt of the order is in flight, so concurrent submits and second tabs
  lose the race instead of paying;
- an attempt is marked UNKNOWN *before* the paid request is sent, so a crash
  or a dropped connection after that point can never lead to paying again
  automatically;
- amount, currency, network id and expiry come from the stored challenge,
  never from the browser.
"""

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from pydantic import ValidationError

from orders import crypto, mpp, stripe_payments
from orders.models import Order, OrderEvent, PaymentAttempt, StaleOrder, Team
from orders.services import policy
from orders.zinc import (
    OrderCreate,
    ZincClient,
    ZincError,
    ZincTransportError,
    parse_order,
)

logger = logging.getLogger(__name__)

State = PaymentAttempt.State
Status = Order.Status

# A challenge this close to expiry is refreshed instead of paid, so that the
# paid retry cannot arrive after Zinc's deadline.
EXPIRY_MARGIN = timedelta(seconds=15)
# An attempt stuck in SETTLING this long was abandoned before its credential
# was sent (the state changes to UNKNOWN first), so it may be claimed again.
SETTLING_TIMEOUT = timedelta(minutes=2)
# How long after a paid request leaves the poller checks its outcome, in case
# the process that sent it never records the response. Longer than any read
# timeout, so a live request always gets its response first.
RECOVERY_DELAY = timedelta(minutes=5)
# A 402 to the unpaid re-send proves that a lost paid request created no
# order only once that request cannot still be running at Zinc.
RECONCILE_GRACE = timedelta(minutes=15)
# Attempt states in which money may have moved or is about to.
IN_FLIGHT = (State.SETTLING, State.SUCCEEDED, State.UNKNOWN)


@dataclass
class SubmitResult:
    accepted: bool
    field_errors: dict[str, list[str]] = field(default_factory=dict)
    message: str = ""
    attempts: list[PaymentAttempt] = field(default_factory=list)


@dataclass
class SettleResult:
    outcome: str  # placed, declined, action_required, expired, unknown, busy, failed
    message: str
    attempt: PaymentAttempt | None = None
    client_secret: str = ""


# --- request body -----------------------------------------------------------


def build_request(order: Order) -> OrderCreate:
    """Return Zinc's OrderCreate for ``order``; raise ValidationError if invalid."""
    return OrderCreate.model_validate(
        {
            "products": [item.to_zinc() for item in order.items.all()],
            "shipping_address": order.shipping_address,
            "max_price": order.max_price_cents,
            "idempotency_key": order.idempotency_key,
            "metadata": {**order.metadata, "zincdash_order_id": str(order.pk)},
            "po_number": order.po_number or None,
        }
    )


def _errors_from_pydantic(exc: ValidationError) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for error in exc.errors():
        key = _field_key([str(part) for part in error["loc"]])
        errors.setdefault(key, []).append(error["msg"])
    return errors


def _field_key(loc: list[str]) -> str:
    """Map a Zinc error location to the composer's field name."""
    parts = [part for part in loc if part != "body"]
    if not parts:
        return "__all__"
    if parts[0] == "products" and len(parts) >= 3:
        return f"products.{parts[1]}.{parts[2]}"
    if parts[0] == "shipping_address" and len(parts) >= 2:
        return f"shipping_address.{parts[1]}"
    if parts[0] in {"max_price", "po_number", "products", "shipping_address"}:
        return parts[0]
    return "__all__"


def _field_from_detail(raw_field: Any) -> list[str]:
    """Turn Zinc's ``details.field`` ("products[0].url", "state") into a location."""
    if not isinstance(raw_field, str) or not raw_field:
        return []
    text = raw_field.replace("[", ".").replace("]", "")
    parts = [part for part in text.split(".") if part]
    address_fields = {
        "first_name",
        "last_name",
        "address_line1",
        "address_line2",
        "city",
        "state",
        "postal_code",
        "phone_number",
        "country",
    }
    if len(parts) == 1 and parts[0] in address_fields:
        return ["shipping_address", parts[0]]
    return parts


def _errors_from_zinc(error: ZincError) -> dict[str, list[str]]:
    if error.validation:
        errors: dict[str, list[str]] = {}
        for detail in error.validation:
            key = _field_key([str(part) for part in detail.loc])
            errors.setdefault(key, []).append(detail.msg)
        return errors
    message = error.message or error.code.replace("_", " ")
    location = _field_from_detail(error.details.get("field"))
    if not location and error.code in {"invalid_shipping_address"}:
        location = ["shipping_address"]
    reason = error.details.get("reason")
    text = f"{message} ({reason})" if reason and reason not in message else message
    return {_field_key(location) if location else "__all__": [text]}


# --- unpaid request ----------------------------------------------------------


def submit_order(order: Order, *, actor: Any) -> SubmitResult:
    """Send the order to Zinc unpaid and store the payment challenges it returns.

    Moves DRAFT or APPROVED orders to AWAITING_PAYMENT. Zinc validates before
    asking for payment, so 400 and 422 come back as field errors and nothing
    is charged.
    """
    if order.status not in {Status.DRAFT, Status.APPROVED}:
        return SubmitResult(
            False,
            message=f"An order that is {order.get_status_display().lower()} "
            "cannot be sent to Zinc.",
        )
    try:
        body = build_request(order).to_body()
    except ValidationError as exc:
        errors = _errors_from_pydantic(exc)
        _store_validation_errors(order, errors)
        return SubmitResult(False, errors, "Fix the highlighted fields and try again.")
    return _request_challenges(order, body, actor=actor)


def refresh_challenge(order: Order, *, actor: Any) -> SubmitResult:
    """Ask Zinc for fresh challenges with the same body; never pays anything."""
    if order.status != Status.AWAITING_PAYMENT or not order.request_body:
        return SubmitResult(False, message="This order is not waiting for payment.")
    return _request_challenges(order, order.request_body.encode(), actor=actor)


def _request_challenges(order: Order, body: bytes, *, actor: Any) -> SubmitResult:
    with ZincClient() as client:
        try:
            response = client.post_agent_order(body)
        except ZincTransportError as exc:
            logger.warning("Unpaid request for order %s failed: %s", order.pk, exc)
            return SubmitResult(
                False,
                message="Could not reach Zinc, and nothing was charged. Try again "
                "in a minute.",
            )

    if response.status_code == 402:
        return _store_challenges(order, body, response, actor=actor)
    error = ZincError.from_response(response)
    if response.status_code in {400, 422}:
        errors = _errors_from_zinc(error)
        _store_validation_errors(order, errors)
        logger.info("Zinc rejected order %s before payment: %s", order.pk, error.code)
        return SubmitResult(
            False,
            errors,
            "Zinc rejected the order before payment; nothing was charged. "
            "Fix the highlighted fields and try again.",
        )
    if response.status_code == 409:
        logger.warning(
            "Zinc already has an order with the idempotency key of order %s",
            order.pk,
        )
        return SubmitResult(
            False,
            message="Zinc already has an order with this order's key, so it was "
            "paid before. It will not be paid again; check the order's history.",
        )
    logger.warning(
        "Unpaid request for order %s got HTTP %s (%s)",
        order.pk,
        response.status_code,
        error.code,
    )
    return SubmitResult(
        False,
        message=f"Zinc responded with HTTP {response.status_code} ({error.code}); "
        "nothing was charged. Try again later.",
    )


def _store_validation_errors(order: Order, errors: dict[str, list[str]]) -> None:
    Order.objects.filter(pk=order.pk).update(
        validation_errors=errors, updated_at=timezone.now()
    )
    order.validation_errors = errors


def _store_challenges(
    order: Order, body: bytes, response: httpx.Response, *, actor: Any
) -> SubmitResult:
    offered = mpp.parse_challenges(response.headers.get_list("www-authenticate"))
    if not offered:
        logger.error("Zinc's 402 for order %s had no usable challenge", order.pk)
        return SubmitResult(
            False,
            message="Zinc asked for payment but sent no usable payment challenge. "
            "Nothing was charged; try again later.",
        )
    now = timezone.now()
    with transaction.atomic():
        # Lock the row (PostgreSQL), then read it into the caller's object.
        list(Order.objects.select_for_update().filter(pk=order.pk).values("pk"))
        order.refresh_from_db()
        if not _body_is_current(order, body):
            logger.info("Order %s changed while its request was at Zinc", order.pk)
            return SubmitResult(
                False,
                message="The order changed while it was being sent, so nothing was "
                "stored. Review it and send it again.",
            )
        order.payment_attempts.filter(
            state__in=[State.OFFERED, State.ACTION_REQUIRED]
        ).update(state=State.SUPERSEDED, updated_at=now)
        attempts = [_attempt_from_challenge(order, challenge) for challenge in offered]
        attempts.sort(key=lambda attempt: attempt.method != "stripe")
        changes = {
            "request_body": body.decode(),
            "request_sent_at": now,
            "validation_errors": {},
        }
        summary = ", ".join(
            f"{a.method} {mpp.format_amount(a.amount, a.decimals)} {a.currency[:10]}"
            for a in attempts
        )
        if order.status == Status.AWAITING_PAYMENT:
            Order.objects.filter(pk=order.pk).update(updated_at=now, **changes)
            order.record_event(
                OrderEvent.Kind.PAYMENT,
                f"Zinc sent fresh payment challenges: {summary}.",
                actor=actor,
            )
        else:
            order.transition_to(
                Status.AWAITING_PAYMENT,
                actor=actor,
                message=f"Zinc accepted the order and asked for payment: {summary}.",
                **changes,
            )
    logger.info("Order %s received %d payment challenges", order.pk, len(attempts))
    return SubmitResult(True, message="Zinc accepted the order.", attempts=attempts)


def _body_is_current(order: Order, body: bytes) -> bool:
    """Return True if ``body`` still describes ``order`` as it is now.

    An edit saved while the unpaid request was at Zinc must win: storing the
    challenges would freeze the old body, and the paid retry would buy it.
    """
    if order.status == Status.AWAITING_PAYMENT:
        return order.request_body == body.decode()
    if order.status not in {Status.DRAFT, Status.APPROVED}:
        return False
    try:
        return build_request(order).to_body() == body
    except ValidationError:
        return False


def _attempt_from_challenge(
    order: Order, challenge: mpp.OfferedChallenge
) -> PaymentAttempt:
    attempt, _ = PaymentAttempt.objects.get_or_create(
        order=order,
        challenge_id=challenge.id,
        defaults={
            "method": challenge.method,
            "intent": challenge.intent,
            "realm": challenge.realm,
            "www_authenticate": challenge.raw,
            "amount": challenge.amount,
            "currency": challenge.currency,
            "decimals": challenge.decimals,
            "network_id": challenge.network_id,
            "recipient": challenge.recipient,
            "payment_method_types": list(challenge.payment_method_types),
            "description": challenge.description,
            "expires_at": challenge.expires_at,
        },
    )
    return attempt


# --- paying ------------------------------------------------------------------


def settle_payment(
    order: Order, attempt_id: int, payment_method_id: str, *, actor: Any
) -> SettleResult:
    """Pay the stored challenge ``attempt_id`` with a Stripe PaymentMethod."""
    attempt = _claim(order, attempt_id, {State.OFFERED, State.ACTION_REQUIRED})
    if isinstance(attempt, SettleResult):
        return attempt

    problem = _check_payable(order, attempt)
    if problem:
        return problem

    if attempt.spt_encrypted:
        # Leaving an authentication step for another card: the old token is
        # unused, so revoke it rather than leave a spendable token behind.
        stripe_payments.revoke_token(_decrypt_spt(attempt))
    try:
        token = stripe_payments.issue_token(
            payment_method=payment_method_id,
            network_id=attempt.network_id,
            amount=attempt.amount,
            currency=attempt.currency,
            expires_at=attempt.expires_at or timezone.now() + timedelta(hours=1),
            idempotency_key=f"zincdash-spt-{attempt.pk}-{payment_method_id}",
            metadata={"zincdash_order_id": str(order.pk)},
        )
    except stripe_payments.SptError as exc:
        logger.info(
            "Stripe rejected an SPT for order %s attempt %s: %s",
            order.pk,
            attempt.pk,
            exc.code,
        )
        _release(attempt, State.OFFERED, exc.code, str(exc))
        outcome = "failed" if exc.retryable else "declined"
        return SettleResult(outcome, str(exc), attempt)

    attempt.spt_encrypted = _encrypt(token.id)
    attempt.save(update_fields=["spt_encrypted", "updated_at"])
    if token.requires_action:
        _release(attempt, State.ACTION_REQUIRED, "requires_action", "")
        order.record_event(
            OrderEvent.Kind.PAYMENT,
            "The card needs an extra authentication step.",
            actor=actor,
        )
        return SettleResult(
            "action_required",
            "Your bank wants to confirm this payment.",
            attempt,
            client_secret=token.client_secret,
        )
    if not token.is_active:
        _release(attempt, State.OFFERED, "token_" + token.status, "")
        return SettleResult(
            "declined", "Stripe could not authorise this card; try another.", attempt
        )
    return _send_paid_request(order, attempt, token.id, actor=actor)


def continue_after_action(order: Order, attempt_id: int, *, actor: Any) -> SettleResult:
    """Finish paying once the browser completed the card's authentication step."""
    attempt = _claim(order, attempt_id, {State.ACTION_REQUIRED})
    if isinstance(attempt, SettleResult):
        return attempt
    problem = _check_payable(order, attempt)
    if problem:
        return problem
    try:
        token = stripe_payments.retrieve_token(_decrypt_spt(attempt))
    except stripe_payments.SptError as exc:
        _release(attempt, State.ACTION_REQUIRED, exc.code, str(exc))
        return SettleResult("failed", str(exc), attempt)
    if token.requires_action:
        _release(attempt, State.ACTION_REQUIRED, "requires_action", "")
        return SettleResult(
            "action_required",
            "The authentication step is not finished yet.",
            attempt,
            client_secret=token.client_secret,
        )
    if not token.is_active:
        _release(
            attempt,
            State.OFFERED,
            "authentication_failed",
            "The card's authentication failed.",
        )
        return SettleResult(
            "declined",
            "The card's authentication failed. Try again or use another card.",
            attempt,
        )
    return _send_paid_request(order, attempt, token.id, actor=actor)


def payment_in_flight(order: Order) -> bool:
    """Return True while a paid request for ``order`` may be at Zinc or be sent.

    Call it inside the transaction that locks the order row, as ``_claim``
    does, so that no payment can start between the check and the caller's
    write.
    """
    abandoned = Q(
        state=State.SETTLING, updated_at__lt=timezone.now() - SETTLING_TIMEOUT
    )
    in_flight = order.payment_attempts.filter(state__in=IN_FLIGHT)
    return in_flight.exclude(abandoned).exists()


def _claim(
    order: Order, attempt_id: int, from_states: set[str]
) -> PaymentAttempt | SettleResult:
    """Move the attempt to SETTLING unless anything for this order is in flight."""
    now = timezone.now()
    with transaction.atomic():
        # Locks the order row on PostgreSQL; SQLite's IMMEDIATE transactions
        # already serialise writers.
        locked = Order.objects.select_for_update().filter(pk=order.pk).first()
        if locked is None or locked.status != Status.AWAITING_PAYMENT:
            return SettleResult(
                "busy" if locked and locked.status in Order.AT_ZINC else "failed",
                "This order is not waiting for payment any more.",
            )
        if payment_in_flight(locked):
            return SettleResult(
                "busy", "A payment for this order is already in progress."
            )
        # Claims of one team run one at a time, so the budget check below
        # sees every payment that started before it.
        Team.objects.select_for_update().filter(pk=locked.team_id).first()
        attempt = locked.payment_attempts.filter(pk=attempt_id).first()
        over_budget = policy.budget_blocks_payment(
            locked, attempt.amount if attempt else 0
        )
        if over_budget:
            logger.info("Payment of order %s rejected: over the team budget", order.pk)
            return SettleResult("failed", over_budget)
        claimed = PaymentAttempt.objects.filter(
            pk=attempt_id, order=order, state__in=from_states
        ).update(state=State.SETTLING, updated_at=now)
        if claimed != 1:
            return SettleResult(
                "failed", "This payment challenge can no longer be paid; reload."
            )
    order.refresh_from_db()
    return PaymentAttempt.objects.get(pk=attempt_id)


def _release(attempt: PaymentAttempt, state: str, code: str, message: str) -> None:
    attempt.state = state
    attempt.failure_code = code
    attempt.failure_message = message
    attempt.save(
        update_fields=["state", "failure_code", "failure_message", "updated_at"]
    )


def _check_payable(order: Order, attempt: PaymentAttempt) -> SettleResult | None:
    if attempt.method != "stripe":
        _release(attempt, State.OFFERED, "", "")
        return SettleResult(
            "failed", f"The {attempt.method} challenge cannot be paid by card.", attempt
        )
    if attempt.intent != "charge":
        # Only the one-time charge intent is understood; a session or
        # subscription intent would authorise something else entirely.
        _release(attempt, State.FAILED, "unsupported_intent", "")
        return SettleResult(
            "failed",
            f"Zinc asked for a {attempt.intent!r} payment, which ZincDash does not "
            "support. Nothing was paid.",
            attempt,
        )
    if attempt.expires_at and attempt.expires_at <= timezone.now() + EXPIRY_MARGIN:
        _release(attempt, State.EXPIRED, "expired", "The challenge expired unpaid.")
        refreshed = refresh_challenge(order, actor=None)
        fresh = next((a for a in refreshed.attempts if a.method == "stripe"), None)
        return SettleResult(
            "expired" if fresh else "failed",
            "The payment request expired, so a fresh one was fetched. Check the "
            "amount and pay again."
            if fresh
            else refreshed.message,
            fresh,
        )
    # A payer authorises at most the approved max price plus Zinc's fee, so a
    # challenge that requests more is rejected rather than paid.
    ceiling = (
        order.approved_max_price_cents or order.max_price_cents
    ) + settings.ZINC_FEE_CENTS
    if attempt.currency != "usd" or attempt.amount > ceiling:
        _release(
            attempt,
            State.FAILED,
            "amount_mismatch",
            f"Challenge asks for {attempt.amount} {attempt.currency}; at most "
            f"{ceiling} usd was authorised.",
        )
        logger.error(
            "Order %s: challenge %s asks for more than authorised",
            order.pk,
            attempt.pk,
        )
        return SettleResult(
            "failed",
            f"Zinc asked for {mpp.format_amount(attempt.amount, 2)} "
            f"{attempt.currency.upper()}, more than the "
            f"{mpp.format_amount(ceiling, 2)} USD authorised. Nothing was paid.",
            attempt,
        )
    return None


def _mark_sending(order: Order, attempt: PaymentAttempt) -> bool:
    """Move the claimed attempt to UNKNOWN just before its paid request leaves.

    The move is conditional, under the order's row lock: an edit that
    superseded an abandoned SETTLING attempt, or changed the body, wins, and
    the stale settle then sends nothing.
    """
    with transaction.atomic():
        locked = Order.objects.select_for_update().filter(pk=order.pk).first()
        if (
            locked is None
            or locked.status != Status.AWAITING_PAYMENT
            or locked.request_body != order.request_body
        ):
            return False
        moved = PaymentAttempt.objects.filter(
            pk=attempt.pk, state=State.SETTLING
        ).update(state=State.UNKNOWN, updated_at=timezone.now())
        if moved == 1:
            # Should this process die before Zinc's response is recorded, the
            # poller finds the order then and asks Zinc whether it holds it.
            Order.objects.filter(pk=order.pk).update(
                next_poll_at=timezone.now() + RECOVERY_DELAY
            )
    attempt.state = State.UNKNOWN
    return moved == 1


def _cancel_recovery_poll(order: Order) -> None:
    """Drop the poll that _mark_sending scheduled, once the outcome is known."""
    Order.objects.filter(pk=order.pk, status=Status.AWAITING_PAYMENT).update(
        next_poll_at=None
    )


def _send_paid_request(
    order: Order, attempt: PaymentAttempt, spt: str, *, actor: Any
) -> SettleResult:
    authorization = mpp.build_credential(attempt.www_authenticate, {"spt": spt})
    # From here on the outcome is unknown until Zinc responds.
    if not _mark_sending(order, attempt):
        stripe_payments.revoke_token(spt)
        logger.warning(
            "Order %s changed while attempt %s was settling; nothing was sent",
            order.pk,
            attempt.pk,
        )
        return SettleResult(
            "failed",
            "The order changed while it was being paid, so nothing was charged. "
            "Reload the page.",
            attempt,
        )
    with ZincClient() as client:
        try:
            response = client.post_agent_order(
                order.request_body.encode(), authorization=authorization
            )
        except ZincTransportError as exc:
            if not exc.sent:
                _release(attempt, State.OFFERED, "connection_failed", str(exc))
                _cancel_recovery_poll(order)
                stripe_payments.revoke_token(spt)
                return SettleResult(
                    "failed",
                    "Could not reach Zinc; nothing was charged. Try again.",
                    attempt,
                )
            return _mark_unknown(order, attempt, str(exc), actor=actor)

    status = response.status_code
    if status == 201:
        return _record_paid(order, attempt, response, actor=actor)
    if status == 402:
        return _record_declined(order, attempt, response, actor=actor)
    error = ZincError.from_response(response)
    if status in {400, 422}:
        errors = _errors_from_zinc(error)
        _release(attempt, State.FAILED, error.code, error.message)
        _cancel_recovery_poll(order)
        _store_validation_errors(order, errors)
        stripe_payments.revoke_token(spt)
        return SettleResult(
            "failed",
            "Zinc rejected the order; nothing was charged. Edit the order and "
            "send it again.",
            attempt,
        )
    # 403 (credential already used), 409 (key already used) and 5xx all mean
    # Zinc may hold a paid order we did not hear about.
    return _mark_unknown(
        order, attempt, f"HTTP {status} {error.code}: {error.message}", actor=actor
    )


def _mark_unknown(
    order: Order, attempt: PaymentAttempt, reason: str, *, actor: Any
) -> SettleResult:
    logger.error(
        "Payment outcome for order %s attempt %s is unknown: %s",
        order.pk,
        attempt.pk,
        reason,
    )
    _release(attempt, State.UNKNOWN, "outcome_unknown", reason[:500])
    try:
        order.transition_to(
            Status.PAYMENT_UNKNOWN,
            actor=actor,
            message="The paid request was sent but no response arrived, so the "
            "payment's outcome is unknown. It will not be paid again "
            "automatically.",
            # The poller then checks, unpaid, whether Zinc has the order.
            next_poll_at=timezone.now()
            + timedelta(seconds=settings.POLL_OPEN_INTERVAL_SECONDS),
        )
    except StaleOrder:
        order.refresh_from_db()
    return SettleResult(
        "unknown",
        "The connection to Zinc was lost after the payment was sent. Do not pay "
        "again: the order page shows what Zinc reports.",
        attempt,
    )


def _record_paid(
    order: Order, attempt: PaymentAttempt, response: httpx.Response, *, actor: Any
) -> SettleResult:
    now = timezone.now()
    api_key = response.headers.get("x-api-key", "")
    receipt_reference = ""
    receipt_header = response.headers.get("payment-receipt")
    if receipt_header:
        try:
            receipt_reference = mpp.parse_receipt(receipt_header).reference
        except mpp.ChallengeError as exc:
            logger.warning("Order %s: %s", order.pk, exc)
    try:
        zinc_order = parse_order(response)
    except ValidationError:
        zinc_order = None
        logger.error("Order %s: Zinc's 201 body could not be parsed", order.pk)

    attempt.state = State.SUCCEEDED
    attempt.receipt_reference = receipt_reference
    attempt.settled_at = now
    attempt.failure_code = attempt.failure_message = ""
    attempt.save()
    changes: dict[str, Any] = {
        "zinc_order_id": zinc_order.id if zinc_order else None,
        "authorized_cents": attempt.amount,
        "fee_cents": max(attempt.amount - order.max_price_cents, 0),
        "currency": attempt.currency,
        "receipt_reference": receipt_reference,
        "paid_at": now,
        "trackable": bool(api_key and zinc_order),
        "next_poll_at": (
            now + timedelta(seconds=settings.POLL_FIRST_DELAY_SECONDS)
            if api_key and zinc_order
            else None
        ),
        "poll_error": ""
        if api_key
        else "Zinc sent no order key, so the order cannot be tracked here.",
    }
    if api_key:
        order.set_api_key(api_key)
        changes["api_key_encrypted"] = order.api_key_encrypted
    with transaction.atomic():
        order.transition_to(
            Status.PENDING,
            actor=actor,
            message=f"Paid {mpp.format_amount(attempt.amount, 2)} USD; Zinc "
            "accepted the order.",
            **changes,
        )
        if zinc_order:
            _link_items(order, zinc_order.items)
        order.payment_attempts.filter(
            state__in=[State.OFFERED, State.ACTION_REQUIRED]
        ).update(state=State.SUPERSEDED, updated_at=now)
    logger.info("Order %s paid and placed at Zinc", order.pk)
    return SettleResult("placed", "Paid. Zinc is placing the order.", attempt)


def _link_items(order: Order, zinc_items: list[Any]) -> None:
    items = list(order.items.all())
    for item, zinc_item in zip(items, zinc_items, strict=False):
        item.zinc_item_id = zinc_item.id
        item.zinc_status = zinc_item.status
        item.save(update_fields=["zinc_item_id", "zinc_status"])


def _record_declined(
    order: Order, attempt: PaymentAttempt, response: httpx.Response, *, actor: Any
) -> SettleResult:
    """Handle a 402 to a paid retry: the payment failed and nothing was placed."""
    code, reason = _payment_failure(response)
    expired = code.endswith("payment-expired")
    _cancel_recovery_poll(order)
    _release(
        attempt,
        State.EXPIRED if expired else State.DECLINED,
        reason or code,
        _decline_message(code, reason),
    )
    order.record_event(
        OrderEvent.Kind.PAYMENT,
        f"Payment failed: {_decline_message(code, reason)}",
        actor=actor,
        data={"problem": code, "reason": reason},
    )
    # Every 402 carries fresh challenges; store them so the payer can retry.
    body = order.request_body.encode()
    stored = _store_challenges(order, body, response, actor=actor)
    fresh = next((a for a in stored.attempts if a.method == "stripe"), None)
    return SettleResult(
        "expired" if expired else "declined",
        _decline_message(code, reason),
        fresh,
    )


def _payment_failure(response: httpx.Response) -> tuple[str, str]:
    """Read the failure type and reason from a 402 body, whatever its shape."""
    try:
        body = response.json()
    except ValueError:
        return "", ""
    if not isinstance(body, dict):
        return "", ""
    code = str(body.get("type") or "")
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    details = error.get("details") if isinstance(error.get("details"), dict) else {}
    reason = str(details.get("reason") or "")
    if not code:
        code = str(error.get("code") or "")
    return code, reason


_DECLINE_MESSAGES = {
    "card_declined": "The card was declined. Try another card.",
    "insufficient_funds": "The card has insufficient funds. Try another card.",
    "expired_card": "The card has expired. Try another card.",
}


def _decline_message(code: str, reason: str) -> str:
    if reason in _DECLINE_MESSAGES:
        return _DECLINE_MESSAGES[reason]
    if code.endswith("payment-expired"):
        return "The payment request expired before it was paid. Pay the fresh one."
    if code.endswith("payment-action-required"):
        return "The card needs authentication that could not be completed."
    return "The payment was not accepted. Try again or use another card."


# --- unknown outcomes ---------------------------------------------------------


def reconcile_unknown(order: Order, *, actor: Any) -> SettleResult:
    """Find out whether an order whose payment outcome is unknown exists at Zinc.

    Sends the same body unpaid: a 409 means Zinc holds the order (paid, but its
    order key was lost with the connection); a 402 more than RECONCILE_GRACE
    after the lost request means no order exists for this key, so the payer
    may pay a fresh challenge by hand. Nothing is paid.
    """
    if order.status != Status.PAYMENT_UNKNOWN:
        return SettleResult("failed", "This order's payment outcome is known.")
    with ZincClient() as client:
        try:
            response = client.post_agent_order(order.request_body.encode())
        except ZincTransportError as exc:
            logger.warning("Reconciling order %s failed: %s", order.pk, exc)
            return SettleResult("unknown", "Zinc could not be reached; try later.")

    unknown = order.payment_attempts.filter(state=State.UNKNOWN)
    if (
        response.status_code == 402
        and unknown.filter(updated_at__gt=timezone.now() - RECONCILE_GRACE).exists()
    ):
        # The lost paid request may still be running at Zinc, so a 402 now
        # proves nothing yet.
        return SettleResult(
            "unknown",
            "Zinc has no order for this key yet, but the lost payment may still "
            "be processing. ZincDash checks again later.",
        )
    try:
        with transaction.atomic():
            return _apply_reconcile_answer(order, unknown, response, actor=actor)
    except StaleOrder:
        # A worker and a Refresh now click reconciled at the same moment; the
        # other one already applied Zinc's response.
        order.refresh_from_db()
        return SettleResult("unknown", "The order was updated meanwhile; reload.")


def _apply_reconcile_answer(
    order: Order, unknown: Any, response: httpx.Response, *, actor: Any
) -> SettleResult:
    if response.status_code == 409:
        attempt = unknown.first()
        unknown.update(state=State.SUCCEEDED, settled_at=timezone.now())
        order.transition_to(
            Status.PENDING,
            actor=actor,
            message="Zinc confirms it holds this order, so the payment went "
            "through. Its order key was lost, so Zinc's dashboard is the only "
            "place to follow it.",
            authorized_cents=attempt.amount if attempt else None,
            paid_at=timezone.now(),
            trackable=False,
            next_poll_at=None,
            poll_error="The order key was lost with the connection; this order "
            "cannot be tracked from ZincDash.",
        )
        return SettleResult("placed", "Zinc holds this order.", attempt)
    if response.status_code == 402:
        unknown.update(
            state=State.FAILED,
            failure_code="not_charged",
            failure_message="Zinc has no order for this key, so it was not charged.",
        )
        order.transition_to(
            Status.AWAITING_PAYMENT,
            actor=actor,
            message="Zinc has no order for this key: the lost payment did not "
            "go through. The order can be paid again.",
            next_poll_at=None,
        )
        stored = _store_challenges(
            order, order.request_body.encode(), response, actor=actor
        )
        fresh = next((a for a in stored.attempts if a.method == "stripe"), None)
        return SettleResult(
            "declined", "The earlier payment did not go through.", fresh
        )
    error = ZincError.from_response(response)
    return SettleResult(
        "unknown", f"Zinc answered HTTP {response.status_code} ({error.code})."
    )


def _encrypt(value: str) -> str:
    return crypto.encrypt(value)


def _decrypt_spt(attempt: PaymentAttempt) -> str:
    return crypto.decrypt(attempt.spt_encrypted)
