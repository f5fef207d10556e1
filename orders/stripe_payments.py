"""Minting Stripe Shared Payment Tokens (SPTs) for MPP stripe challenges.

The browser creates a PaymentMethod with the Payment Element; the backend,
which holds the secret key, issues an SPT that the seller (Zinc) may charge
once, up to the challenge amount, until the challenge expires. The GA stripe
SDK has no typed shared-payment resources, so the calls go through
StripeClient.raw_request.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import stripe
from django.conf import settings

logger = logging.getLogger(__name__)


class SptError(Exception):
    """Stripe refused to issue or read a Shared Payment Token.

    ``code`` is Stripe's error code (for example ``card_declined``) or a local
    code; ``retryable`` is True for network failures, where nothing can have
    been charged because an SPT alone moves no money.
    """

    def __init__(self, message: str, *, code: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable


@dataclass(frozen=True)
class IssuedToken:
    id: str
    status: str
    client_secret: str
    next_action_type: str

    @property
    def requires_action(self) -> bool:
        return self.status == "requires_action"

    @property
    def is_active(self) -> bool:
        return self.status == "active"


@cache
def _client(api_key: str, api_url: str, timeout: int) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_url},
        http_client=stripe.RequestsClient(timeout=timeout),
        # Retries belong to the caller, which uses idempotency keys.
        max_network_retries=0,
    )


def get_client() -> stripe.StripeClient:
    return _client(
        settings.STRIPE_SECRET_KEY,
        settings.STRIPE_API_URL,
        settings.STRIPE_TIMEOUT_SECONDS,
    )


def issue_token(
    *,
    payment_method: str,
    network_id: str,
    amount: int,
    currency: str,
    expires_at: datetime,
    idempotency_key: str,
    metadata: dict[str, str] | None = None,
) -> IssuedToken:
    """Issue an SPT that lets ``network_id`` charge at most ``amount`` once.

    ``idempotency_key`` makes a retried call return the first token instead of
    issuing a second one.
    """
    params: dict[str, Any] = {
        "payment_method": payment_method,
        "seller_details": {"network_business_profile": network_id},
        "usage_limits": {
            "currency": currency,
            "max_amount": amount,
            "expires_at": int(expires_at.timestamp()),
        },
    }
    if metadata:
        params["shared_metadata"] = metadata
    response = _request(
        "post",
        "/v1/shared_payment/issued_tokens",
        idempotency_key=idempotency_key,
        **params,
    )
    return _token(response)


def retrieve_token(token_id: str) -> IssuedToken:
    return _token(_request("get", f"/v1/shared_payment/issued_tokens/{token_id}"))


def revoke_token(token_id: str) -> None:
    """Revoke an unused SPT; failures are logged, because revoking is best effort."""
    try:
        _request("post", f"/v1/shared_payment/issued_tokens/{token_id}/revoke")
    except SptError as exc:
        logger.warning("Could not revoke an unused SPT: %s (%s)", exc, exc.code)


def _request(method: str, path: str, **params: Any) -> dict[str, Any]:
    client = get_client()
    try:
        response = client.raw_request(
            method, path, stripe_version=settings.STRIPE_API_VERSION, **params
        )
    except stripe.CardError as exc:
        raise SptError(
            exc.user_message or "The card was declined.",
            code=exc.code or "card_declined",
        ) from None
    except stripe.InvalidRequestError as exc:
        raise SptError(
            f"Stripe rejected the request: {exc.user_message or exc}",
            code=exc.code or "invalid_request",
        ) from None
    except stripe.AuthenticationError:
        raise SptError(
            "Stripe rejected the secret key; check STRIPE_SECRET_KEY.",
            code="authentication_failed",
        ) from None
    except stripe.APIConnectionError as exc:
        raise SptError(
            f"Could not reach Stripe at {settings.STRIPE_API_URL}: {exc.user_message}",
            code="connection_failed",
            retryable=True,
        ) from None
    except stripe.StripeError as exc:
        raise SptError(
            f"Stripe failed: {exc.user_message or exc}",
            code=exc.code or "stripe_error",
        ) from None
    return client.deserialize(response, api_mode="V1").to_dict()


def _token(data: dict[str, Any]) -> IssuedToken:
    next_action = data.get("next_action") or {}
    return IssuedToken(
        id=data["id"],
        status=data.get("status", ""),
        client_secret=data.get("client_secret") or "",
        next_action_type=next_action.get("type", "") if next_action else "",
    )
