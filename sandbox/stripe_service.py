"""Stripe objects and their rules: payment methods, shared payment tokens, payment
intents and refunds.

These functions are the single implementation behind both the Stripe HTTP port
and Zinc's in-process settlement. Callers hold ``state.lock``. Failures raise
:class:`StripeError`, which carries Stripe's error object and HTTP status.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable
from typing import Any

from sandbox import stripe_cards
from sandbox.state import (
    IssuedTokenRecord,
    PaymentIntentRecord,
    PaymentMethodRecord,
    RefundRecord,
    SandboxState,
    StoredResponse,
    new_id,
)

logger = logging.getLogger(__name__)

CURRENCY_RE = re.compile(r"^[a-z]{3}$")

# Reasons the sandbox attaches to token and card failures, so Zinc's settlement can
# report them in ``details.reason`` without parsing Stripe's messages.
TOKEN_NOT_FOUND = "token_not_found"
TOKEN_AMOUNT_EXCEEDED = "token_amount_exceeded"
TOKEN_CURRENCY_MISMATCH = "token_currency_mismatch"
TOKEN_SELLER_MISMATCH = "token_seller_mismatch"
CARD_DECLINED = "card_declined"


class StripeError(Exception):
    """A Stripe API error: ``{"error": {...}}`` with Stripe's HTTP status."""

    def __init__(
        self,
        status: int,
        error_type: str,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        payment_intent: dict[str, Any] | None = None,
        sandbox_reason: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.code = code
        self.param = param
        self.decline_code = decline_code
        self.payment_intent = payment_intent
        self.sandbox_reason = sandbox_reason or code or error_type

    def to_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.error_type, "message": self.message}
        if self.code is not None:
            error["code"] = self.code
        if self.param is not None:
            error["param"] = self.param
        if self.decline_code is not None:
            error["decline_code"] = self.decline_code
        if self.payment_intent is not None:
            error["payment_intent"] = self.payment_intent
        return {"error": error}


def invalid_request(
    message: str,
    *,
    param: str | None = None,
    code: str | None = None,
    status: int = 400,
) -> StripeError:
    return StripeError(status, "invalid_request_error", message, code=code, param=param)


def missing_param(param: str) -> StripeError:
    return invalid_request(
        f"Missing required param: {param}.", param=param, code="parameter_missing"
    )


def required_str(params: dict[str, Any], *path: str) -> str:
    """Return a required string parameter addressed by its bracket path."""
    value: Any = params
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    param = path[0] + "".join(f"[{key}]" for key in path[1:])
    if not isinstance(value, str) or not value:
        raise missing_param(param)
    return value


def optional_str(params: dict[str, Any], *path: str) -> str | None:
    value: Any = params
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, str) and value else None


def required_int(params: dict[str, Any], *path: str, minimum: int = 0) -> int:
    raw = required_str(params, *path)
    param = path[0] + "".join(f"[{key}]" for key in path[1:])
    try:
        value = int(raw)
    except ValueError:
        raise invalid_request(
            f"Invalid integer: {raw}", param=param, code="parameter_invalid_integer"
        ) from None
    if value < minimum:
        raise invalid_request(
            f"Invalid {param}: must be at least {minimum}.",
            param=param,
            code="parameter_invalid_integer",
        )
    return value


# Payment methods.


def create_payment_method(
    state: SandboxState, params: dict[str, Any]
) -> PaymentMethodRecord:
    """Validate card details like Stripe and store a PaymentMethod."""
    if params.get("type", "card") != "card":
        raise invalid_request(
            "The sandbox supports only type=card.",
            param="type",
            code="parameter_invalid",
        )
    number = re.sub(r"[\s-]", "", required_str(params, "card", "number"))
    exp_month_raw = required_str(params, "card", "exp_month")
    exp_year_raw = required_str(params, "card", "exp_year")
    cvc = optional_str(params, "card", "cvc")

    if (
        not number.isdigit()
        or not 12 <= len(number) <= 19
        or not stripe_cards.luhn_valid(number)
    ):
        raise _card_error(
            "invalid_number", "Your card number is invalid.", "card[number]"
        )

    try:
        exp_month = int(exp_month_raw)
        exp_year = int(exp_year_raw)
    except ValueError:
        raise _card_error(
            "invalid_expiry_month",
            "Your card's expiration date is invalid.",
            "card[exp_month]",
        ) from None
    if exp_year < 100:
        exp_year += 2000
    if not 1 <= exp_month <= 12:
        raise _card_error(
            "invalid_expiry_month",
            "Your card's expiration month is invalid.",
            "card[exp_month]",
        )
    now = state.now()
    if exp_year < now.year:
        raise _card_error(
            "invalid_expiry_year",
            "Your card's expiration year is invalid.",
            "card[exp_year]",
        )
    if exp_year == now.year and exp_month < now.month:
        raise _card_error(
            "invalid_expiry_month",
            "Your card's expiration month is invalid.",
            "card[exp_month]",
        )

    if cvc is not None and not re.fullmatch(r"\d{3,4}", cvc):
        raise _card_error(
            "invalid_cvc", "Your card's security code is invalid.", "card[cvc]"
        )

    record = PaymentMethodRecord(
        id=new_id("pm"),
        brand=stripe_cards.card_brand(number),
        last4=number[-4:],
        exp_month=exp_month,
        exp_year=exp_year,
        behaviour=stripe_cards.card_behaviour(number),
        created=state.unix_now(),
    )
    state.payment_methods[record.id] = record
    logger.info("Created payment method %s (%s)", record.id, record.brand)
    return record


def _card_error(code: str, message: str, param: str) -> StripeError:
    return StripeError(402, "card_error", message, code=code, param=param)


def get_payment_method(
    state: SandboxState, payment_method_id: str, param: str
) -> PaymentMethodRecord:
    """Return a stored or predefined (``pm_card_visa``...) PaymentMethod."""
    record = state.payment_methods.get(payment_method_id)
    if record is not None:
        return record
    predefined = stripe_cards.PREDEFINED_PAYMENT_METHODS.get(payment_method_id)
    if predefined is None:
        raise invalid_request(
            f"No such PaymentMethod: '{payment_method_id}'",
            param=param,
            code="resource_missing",
            status=404 if param == "id" else 400,
        )
    year = state.now().year + 3
    record = PaymentMethodRecord(
        id=payment_method_id,
        brand=predefined.brand,
        last4=predefined.last4,
        exp_month=12,
        exp_year=year,
        behaviour=predefined.behaviour,
        created=state.unix_now(),
    )
    state.payment_methods[record.id] = record
    return record


def payment_method_json(record: PaymentMethodRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "object": "payment_method",
        "type": "card",
        "card": {
            "brand": record.brand,
            "last4": record.last4,
            "exp_month": record.exp_month,
            "exp_year": record.exp_year,
        },
        "created": record.created,
        "livemode": False,
    }


# Shared payment tokens.


def create_issued_token(
    state: SandboxState, params: dict[str, Any]
) -> IssuedTokenRecord:
    """Issue a shared payment token scoped to one seller, currency and amount."""
    payment_method = get_payment_method(
        state, required_str(params, "payment_method"), "payment_method"
    )

    seller = (
        params.get("seller_details")
        if isinstance(params.get("seller_details"), dict)
        else {}
    )
    # Older Stripe docs name the seller field network_id; accept both spellings.
    seller_profile = optional_str(seller, "network_business_profile") or optional_str(
        seller, "network_id"
    )
    if seller_profile is None:
        raise missing_param("seller_details[network_business_profile]")

    currency = required_str(params, "usage_limits", "currency").lower()
    if not CURRENCY_RE.match(currency):
        raise invalid_request(
            f"Invalid currency: {currency}.",
            param="usage_limits[currency]",
            code="parameter_invalid",
        )

    max_amount = required_int(params, "usage_limits", "max_amount", minimum=1)
    expires_at = required_int(params, "usage_limits", "expires_at")
    if expires_at <= state.unix_now():
        raise invalid_request(
            "usage_limits[expires_at] must be in the future.",
            param="usage_limits[expires_at]",
            code="parameter_invalid",
        )

    shared_metadata = params.get("shared_metadata")
    token_id = new_id("spt")
    requires_action = payment_method.behaviour == stripe_cards.REQUIRES_ACTION
    record = IssuedTokenRecord(
        id=token_id,
        payment_method=payment_method.id,
        seller_profile=seller_profile,
        seller_external_id=optional_str(seller, "external_id"),
        currency=currency,
        max_amount=max_amount,
        expires_at=expires_at,
        shared_metadata=shared_metadata if isinstance(shared_metadata, dict) else {},
        return_url=optional_str(params, "return_url"),
        status="requires_action" if requires_action else "active",
        client_secret=f"{token_id}_secret_{new_id('cs')[3:]}",
        created=state.unix_now(),
    )
    state.issued_tokens[record.id] = record

    # Token ids are bearer credentials, so only the seller and status are logged.
    logger.info(
        "Issued a shared payment token for seller %s status=%s",
        record.seller_profile,
        record.status,
    )
    return record


def get_issued_token(
    state: SandboxState, token_id: str, param: str = "id"
) -> IssuedTokenRecord:
    record = state.issued_tokens.get(token_id)
    if record is None:
        raise StripeError(
            404 if param == "id" else 400,
            "invalid_request_error",
            "No such shared payment token.",
            code="resource_missing",
            param=param,
            sandbox_reason=TOKEN_NOT_FOUND,
        )
    _expire_if_due(state, record)
    return record


def _expire_if_due(state: SandboxState, record: IssuedTokenRecord) -> None:
    if record.status != "deactivated" and state.unix_now() >= record.expires_at:
        _deactivate(record, "expired", record.expires_at)


def _deactivate(record: IssuedTokenRecord, reason: str, at: int) -> None:
    record.status = "deactivated"
    record.deactivated_reason = reason
    record.deactivated_at = at


def revoke_issued_token(state: SandboxState, token_id: str) -> IssuedTokenRecord:
    record = get_issued_token(state, token_id)
    if record.status != "deactivated":
        _deactivate(record, "revoked", state.unix_now())
    return record


def confirm_token_action(
    state: SandboxState, token_id: str, client_secret: str | None, succeeded: bool
) -> IssuedTokenRecord:
    """Finish the simulated 3-D Secure step of a ``requires_action`` token."""
    record = get_issued_token(state, token_id)
    if client_secret != record.client_secret:
        raise invalid_request(
            "The client_secret does not match this shared payment token.",
            param="client_secret",
            code="parameter_invalid",
        )
    if record.status != "requires_action":
        raise invalid_request(
            f"This shared payment token is {record.status} and needs no action.",
            code="shared_payment_token_unexpected_state",
        )
    if succeeded:
        record.status = "active"
    else:
        # NOTE: Stripe's documented deactivated_reason values are consumed, expired,
        # resolved and revoked; none covers failed authentication, so this is invented.
        _deactivate(record, "authentication_failed", state.unix_now())
    return record


def issued_token_json(record: IssuedTokenRecord) -> dict[str, Any]:
    next_action = None
    if record.status == "requires_action":
        next_action = {
            "type": "use_stripe_sdk",
            "use_stripe_sdk": {"type": "sandbox_three_d_secure"},
        }
    return {
        "id": record.id,
        "object": "shared_payment.issued_token",
        "created": record.created,
        "livemode": False,
        "status": record.status,
        "payment_method": record.payment_method,
        "seller_details": {
            "network_business_profile": record.seller_profile,
            "external_id": record.seller_external_id,
        },
        "usage_limits": {
            "currency": record.currency,
            "max_amount": record.max_amount,
            "expires_at": record.expires_at,
        },
        "shared_metadata": record.shared_metadata,
        "return_url": record.return_url,
        "next_action": next_action,
        "client_secret": record.client_secret,
        "deactivated_at": record.deactivated_at,
        "deactivated_reason": record.deactivated_reason,
    }


# Payment intents and refunds.


def create_payment_intent(
    state: SandboxState,
    *,
    amount: int,
    currency: str,
    token_id: str,
    seller_profile: str,
    metadata: dict[str, Any],
) -> PaymentIntentRecord:
    """Confirm a payment intent paid with a shared payment token.

    Returns a ``succeeded`` or ``requires_action`` intent; raises StripeError for an
    unusable token (400) or a card decline (402, the failed intent in the error).
    """
    token = get_issued_token(state, token_id, param="shared_payment_granted_token")
    _check_token_usable(
        token, amount=amount, currency=currency, seller_profile=seller_profile
    )
    payment_method = get_payment_method(state, token.payment_method, "payment_method")
    intent = PaymentIntentRecord(
        id=new_id("pi"),
        amount=amount,
        currency=currency,
        status="processing",
        shared_payment_token=token.id,
        payment_method=payment_method.id,
        metadata=metadata,
        created=state.unix_now(),
    )
    state.payment_intents[intent.id] = intent
    if token.status == "requires_action":
        intent.status = "requires_action"
        return intent
    decline = stripe_cards.DECLINE_CODES.get(payment_method.behaviour)
    if decline is not None:
        decline_code, message = decline
        intent.status = "requires_payment_method"
        intent.last_payment_error = {
            "type": "card_error",
            "code": "card_declined",
            "decline_code": decline_code,
            "message": message,
        }
        logger.info("Payment intent %s declined (%s)", intent.id, decline_code)
        raise StripeError(
            402,
            "card_error",
            message,
            code="card_declined",
            decline_code=decline_code,
            payment_intent=payment_intent_json(intent),
            sandbox_reason=CARD_DECLINED,
        )
    intent.status = "succeeded"
    intent.latest_charge = new_id("ch")
    # SPTs are single-use: one successful charge consumes the token.
    _deactivate(token, "consumed", state.unix_now())
    logger.info("Payment intent %s succeeded amount=%s %s", intent.id, amount, currency)
    return intent


def _check_token_usable(
    token: IssuedTokenRecord, *, amount: int, currency: str, seller_profile: str
) -> None:
    param = "shared_payment_granted_token"
    if token.status == "deactivated":
        raise StripeError(
            400,
            "invalid_request_error",
            f"This shared payment token is deactivated ({token.deactivated_reason}).",
            code="shared_payment_token_deactivated",
            param=param,
            sandbox_reason=f"token_{token.deactivated_reason}",
        )
    if token.seller_profile != seller_profile:
        raise StripeError(
            400,
            "invalid_request_error",
            "This shared payment token was issued to a different seller profile.",
            code="shared_payment_token_seller_mismatch",
            param=param,
            sandbox_reason=TOKEN_SELLER_MISMATCH,
        )
    if token.currency != currency:
        raise StripeError(
            400,
            "invalid_request_error",
            f"This shared payment token is limited to {token.currency}, "
            f"not {currency}.",
            code="shared_payment_token_usage_limit_exceeded",
            param="currency",
            sandbox_reason=TOKEN_CURRENCY_MISMATCH,
        )
    if amount > token.max_amount:
        raise StripeError(
            400,
            "invalid_request_error",
            f"Amount {amount} exceeds the token's max_amount of {token.max_amount}.",
            code="shared_payment_token_usage_limit_exceeded",
            param="amount",
            sandbox_reason=TOKEN_AMOUNT_EXCEEDED,
        )


def payment_intent_json(intent: PaymentIntentRecord) -> dict[str, Any]:
    next_action = None
    if intent.status == "requires_action":
        next_action = {
            "type": "use_stripe_sdk",
            "use_stripe_sdk": {"type": "sandbox_three_d_secure"},
        }
    return {
        "id": intent.id,
        "object": "payment_intent",
        "amount": intent.amount,
        "amount_received": intent.amount if intent.status == "succeeded" else 0,
        "currency": intent.currency,
        "status": intent.status,
        "created": intent.created,
        "livemode": False,
        "capture_method": "automatic",
        "confirmation_method": "automatic",
        "payment_method": intent.payment_method,
        "payment_method_types": ["card"],
        "shared_payment_granted_token": intent.shared_payment_token,
        "latest_charge": intent.latest_charge,
        "last_payment_error": intent.last_payment_error,
        "next_action": next_action,
        "metadata": intent.metadata,
    }


def create_refund(
    state: SandboxState,
    payment_intent_id: str,
    amount: int | None,
    reason: str | None,
    metadata: dict[str, Any],
) -> RefundRecord:
    """Refund part or all of a succeeded payment intent."""
    intent = state.payment_intents.get(payment_intent_id)
    if intent is None:
        raise invalid_request(
            f"No such payment_intent: '{payment_intent_id}'",
            param="payment_intent",
            code="resource_missing",
        )
    if intent.status != "succeeded":
        raise invalid_request(
            f"This PaymentIntent is {intent.status} and has no charge to refund.",
            param="payment_intent",
            code="charge_not_refundable",
        )

    remaining = intent.amount - intent.amount_refunded
    if remaining <= 0:
        raise invalid_request(
            "This charge has already been refunded.", code="charge_already_refunded"
        )
    refund_amount = remaining if amount is None else amount
    if refund_amount <= 0 or refund_amount > remaining:
        raise invalid_request(
            f"Refund amount ({refund_amount}) must be between 1 and the unrefunded "
            f"amount ({remaining}).",
            param="amount",
            code="amount_too_large",
        )

    intent.amount_refunded += refund_amount
    refund = RefundRecord(
        id=new_id("re"),
        payment_intent=intent.id,
        amount=refund_amount,
        currency=intent.currency,
        reason=reason,
        metadata=metadata,
        created=state.unix_now(),
    )
    state.refunds[refund.id] = refund
    logger.info(
        "Refunded %s of payment intent %s as %s", refund_amount, intent.id, refund.id
    )
    return refund


def refund_json(refund: RefundRecord) -> dict[str, Any]:
    return {
        "id": refund.id,
        "object": "refund",
        "amount": refund.amount,
        "currency": refund.currency,
        "payment_intent": refund.payment_intent,
        "reason": refund.reason,
        "status": "succeeded",
        "metadata": refund.metadata,
        "created": refund.created,
    }


# Idempotency.


def run_idempotent(
    state: SandboxState,
    idempotency_key: str | None,
    endpoint: str,
    params: dict[str, Any],
    operation: Callable[[], tuple[int, dict[str, Any]]],
) -> tuple[int, dict[str, Any], bool]:
    """Run ``operation`` once per Idempotency-Key, like Stripe.

    Returns ``(status, body, replayed)``. A repeated key with the same endpoint and
    parameters returns the stored result, errors included; a repeated key with
    different parameters raises an ``idempotency_error``.
    """
    if not idempotency_key:
        status, body = _run_catching(operation)
        return status, body, False
    fingerprint = request_fingerprint(endpoint, params)
    stored = state.stripe_idempotency.get(idempotency_key)
    if stored is not None:
        if stored.fingerprint != fingerprint:
            raise StripeError(
                400,
                "idempotency_error",
                "Keys for idempotent requests can only be used with the same "
                "parameters they were first used with.",
            )
        return stored.status, stored.body, True
    status, body = _run_catching(operation)
    state.stripe_idempotency[idempotency_key] = StoredResponse(
        fingerprint, status, body
    )
    return status, body, False


def request_fingerprint(endpoint: str, params: dict[str, Any]) -> str:
    canonical = json.dumps([endpoint, params], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _run_catching(
    operation: Callable[[], tuple[int, dict[str, Any]]],
) -> tuple[int, dict[str, Any]]:
    try:
        return operation()
    except StripeError as error:
        return error.status, error.to_json()
