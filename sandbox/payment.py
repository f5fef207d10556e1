"""Machine Payments Protocol (MPP) for ``POST /agent/orders``: challenges, credential
verification and settlement.

Challenges use pympp's HMAC-bound ids, so a credential can be checked without a
challenge store; only consumed and settled challenge ids are remembered. The
``digest`` parameter binds each challenge to the exact request body bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from mpp import Challenge, Credential, ParseError, Receipt
from mpp._canonical import canonical_b64url
from mpp.errors import (
    BadRequestError,
    CredentialReplayedError,
    InvalidChallengeError,
    InvalidPayloadError,
    MalformedCredentialError,
    PaymentActionRequiredError,
    PaymentError,
    PaymentExpiredError,
    VerificationFailedError,
)

from sandbox import stripe_service
from sandbox.state import SandboxConfig, SandboxState, StoredResponse, isoformat_z
from sandbox.validation import OrderCreate

logger = logging.getLogger(__name__)

STRIPE = "stripe"
TEMPO = "tempo"
METHODS = (STRIPE, TEMPO)
INTENT = "charge"
# Zinc adds a flat 1.00 USD API fee on top of max_price.
ZINC_FEE_CENTS = 100
# Tempo amounts use the token's 6 decimals: 1 cent is 10,000 base units.
TEMPO_UNITS_PER_CENT = 10_000
TEMPO_PATH_USD = "0x20c0000000000000000000000000000000000000"
TEMPO_TESTNET_CHAIN_ID = 42431
SPT_RE = re.compile(r"^spt_[A-Za-z0-9_]+$")
TX_HASH_RE = re.compile(r"^0x[0-9a-fA-F]{64}$")
SIGNED_TX_RE = re.compile(r"^0x76(?:[0-9a-fA-F]{2})+$")
PAYMENT_CREDENTIAL_RE = re.compile(
    r"(?:^|,)\s*payment\s+([A-Za-z0-9_\-=]+)", re.IGNORECASE
)


class PaymentFailure(Exception):
    """A rejected payment, rendered as problem+json plus Zinc's error envelope.

    ``reason`` goes to ``error.details.reason``. ``with_challenge`` is False for
    final responses (400, 403) that must not invite the client to pay again.
    """

    def __init__(
        self,
        error: PaymentError,
        reason: str,
        *,
        zinc_code: str = "payment_failed",
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(str(error))
        self.error = error
        # Set once the credential's challenge id is known, for logs.
        self.challenge_id: str | None = None
        self.reason = reason
        self.zinc_code = zinc_code
        self.details = {"reason": reason, **(details or {})}

    @property
    def with_challenge(self) -> bool:
        return self.error.status == 402


@dataclass(frozen=True)
class VerifiedCredential:
    challenge_id: str
    method: str
    payload: dict[str, Any]
    amount_cents: int


@dataclass(frozen=True)
class Settlement:
    method: str
    reference: str
    payment_intent: str | None
    receipt: Receipt


def authorized_amount_cents(max_price: int) -> int:
    return max_price + ZINC_FEE_CENTS


def payment_request(
    method: str, max_price: int, config: SandboxConfig
) -> dict[str, Any]:
    """Return the ``request`` object a challenge for this max_price carries."""
    amount = authorized_amount_cents(max_price)
    if method == STRIPE:
        return {
            "amount": str(amount),
            "currency": "usd",
            "methodDetails": {
                "networkId": config.network_id,
                "paymentMethodTypes": ["card"],
            },
        }
    return {
        "amount": str(amount * TEMPO_UNITS_PER_CENT),
        "currency": TEMPO_PATH_USD,
        "recipient": config.tempo_recipient,
        "methodDetails": {"chainId": TEMPO_TESTNET_CHAIN_ID, "feePayer": True},
    }


def body_digest(body: bytes) -> str:
    """Return the RFC 9530 SHA-256 digest of a body in its structured-field form."""
    encoded = base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")
    return f"sha-256=:{encoded}:"


def digest_matches(digest: str, body: bytes) -> bool:
    """Compare a digest with a body's SHA-256.

    Accepts the RFC 9530 form ``sha-256=:b64:`` and pympp's ``sha-256=b64``.
    """
    match = re.fullmatch(r"sha-256=:?([A-Za-z0-9+/=]+):?", digest.strip())
    if match is None:
        return False
    expected = base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")
    return hmac.compare_digest(match.group(1), expected)


def describe_order(order: OrderCreate) -> str:
    items = sum(product.quantity for product in order.products)
    noun = "item" if items == 1 else "items"
    return (
        f"Zinc order: {items} {noun}, max ${order.max_price / 100:.2f} "
        f"+ ${ZINC_FEE_CENTS / 100:.2f} fee"
    )


def issue_challenges(
    state: SandboxState, body: bytes, order: OrderCreate, methods: tuple[str, ...]
) -> list[Challenge]:
    """Create one HMAC-bound challenge per method for this exact request body."""
    config = state.config
    expires = isoformat_z(state.now() + timedelta(seconds=config.challenge_ttl_seconds))
    challenges = []
    for method in methods:
        challenge = Challenge.create(
            secret_key=config.secret,
            realm=config.realm,
            method=method,
            intent=INTENT,
            request=payment_request(method, order.max_price, config),
            expires=expires,
            digest=body_digest(body),
            description=describe_order(order),
            # A nonce makes every challenge id unique, even for identical bodies.
            meta={"_mpp_nonce": secrets.token_hex(32)},
        )
        challenges.append(challenge)
    logger.info(
        "Issued challenges %s", ", ".join(f"{c.method}:{c.id}" for c in challenges)
    )
    return challenges


def extract_credential(authorization_values: list[str]) -> str | None:
    """Return the token of the one ``Payment`` scheme in the Authorization header.

    Returns None when no Payment scheme is present. Raises PaymentFailure (400)
    when the header carries several Payment credentials.
    """
    tokens = []
    for value in authorization_values:
        tokens.extend(PAYMENT_CREDENTIAL_RE.findall(value))
    if len(tokens) > 1:
        raise PaymentFailure(
            BadRequestError("send exactly one Payment credential"),
            "multiple_credentials",
            zinc_code="bad_request",
        )
    return tokens[0] if tokens else None


def verify_credential(
    state: SandboxState, token: str, body: bytes, order: OrderCreate
) -> VerifiedCredential:
    """Check a credential against this request, in the order the MPP core spec gives.

    Raises PaymentFailure with the matching problem type. Consumes nothing.
    """
    try:
        credential = Credential.from_authorization(f"Payment {token}")
    except ParseError as error:
        raise PaymentFailure(
            MalformedCredentialError(str(error)), "malformed_credential"
        ) from None

    try:
        return _verify_parsed_credential(state, credential, body, order)
    except PaymentFailure as failure:
        failure.challenge_id = credential.challenge.id
        raise


def _verify_parsed_credential(
    state: SandboxState, credential: Credential, body: bytes, order: OrderCreate
) -> VerifiedCredential:
    config = state.config
    echo = credential.challenge
    if not isinstance(credential.payload, dict):
        raise PaymentFailure(
            MalformedCredentialError("payload must be a JSON object"),
            "malformed_credential",
        )
    try:
        echoed_request = _decode_b64url_json(echo.request)
        echoed_opaque = _decode_b64url_json(echo.opaque) if echo.opaque else None
    except ValueError:
        raise PaymentFailure(
            MalformedCredentialError(
                "challenge request or opaque is not base64url JSON"
            ),
            "malformed_credential",
        ) from None

    _check_challenge_binding(config, credential, echoed_request, echoed_opaque)
    if echo.id in state.settled_challenges:
        raise PaymentFailure(
            CredentialReplayedError("this challenge has already been paid and settled"),
            "credential_replayed",
            zinc_code="forbidden",
        )
    if echoed_request != payment_request(echo.method, order.max_price, config):
        raise _invalid_challenge(
            echo.id, "the amount, currency or recipient does not match this order"
        )
    if not echo.digest or not digest_matches(echo.digest, body):
        raise _invalid_challenge(
            echo.id, "the request body differs from the challenged one"
        )
    if echo.id in state.consumed_challenges:
        raise _invalid_challenge(echo.id, "the challenge has already been used")
    _check_expiry(state.now(), echo.id, echo.expires)
    _check_payload(echo.method, credential.payload)
    return VerifiedCredential(
        challenge_id=echo.id,
        method=echo.method,
        payload=credential.payload,
        amount_cents=authorized_amount_cents(order.max_price),
    )


def _decode_b64url_json(encoded: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        data = json.loads(raw)
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError("not base64url JSON") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


def _check_challenge_binding(
    config: SandboxConfig,
    credential: Credential,
    echoed_request: dict[str, Any],
    echoed_opaque: dict[str, Any] | None,
) -> None:
    echo = credential.challenge
    if echo.realm != config.realm:
        raise _invalid_challenge(echo.id, f"realm must be {config.realm!r}")
    if echo.method not in METHODS or echo.intent != INTENT:
        raise _invalid_challenge(
            echo.id, "method or intent was not offered for this route"
        )
    # Clients echo request unchanged, and pympp and mppx both send the issued JCS
    # string, so any other encoding of the same object means the echo was altered.
    if canonical_b64url(echoed_request) != echo.request:
        raise _invalid_challenge(echo.id, "the echoed request is not in canonical form")
    rebuilt = Challenge(
        id=echo.id,
        method=echo.method,
        intent=echo.intent,
        request=echoed_request,
        realm=echo.realm,
        request_b64=echo.request,
        digest=echo.digest,
        expires=echo.expires,
        opaque=echoed_opaque,
        header=echo.header,
    )
    if not rebuilt.verify(config.secret, config.realm):
        raise _invalid_challenge(
            echo.id, "the challenge id does not match its parameters"
        )


def _check_expiry(now: datetime, challenge_id: str, expires: str | None) -> None:
    if not expires:
        raise _invalid_challenge(challenge_id, "the challenge has no expires parameter")
    try:
        expires_at = datetime.fromisoformat(expires.replace("Z", "+00:00"))
    except ValueError:
        raise _invalid_challenge(
            challenge_id, "expires is not an RFC 3339 timestamp"
        ) from None
    if expires_at.tzinfo is None:
        raise _invalid_challenge(challenge_id, "expires has no time zone")
    if expires_at <= now:
        raise PaymentFailure(PaymentExpiredError(expires), "challenge_expired")


def _check_payload(method: str, payload: dict[str, Any]) -> None:
    if method == STRIPE:
        spt = payload.get("spt")
        if not isinstance(spt, str) or not SPT_RE.match(spt):
            raise PaymentFailure(
                InvalidPayloadError(
                    "stripe payload needs an spt matching ^spt_[A-Za-z0-9_]+$"
                ),
                "invalid_payload",
            )
        return
    kind = payload.get("type")
    tx_hash = payload.get("hash")
    if kind == "hash" and isinstance(tx_hash, str) and TX_HASH_RE.match(tx_hash):
        return
    signature = payload.get("signature")
    if (
        kind == "transaction"
        and isinstance(signature, str)
        and SIGNED_TX_RE.match(signature)
    ):
        return
    raise PaymentFailure(
        InvalidPayloadError(
            'tempo payload must be {"type":"hash","hash":"0x<64 hex>"} or '
            '{"type":"transaction","signature":"0x76..."}'
        ),
        "invalid_payload",
    )


def _invalid_challenge(challenge_id: str, reason: str) -> PaymentFailure:
    return PaymentFailure(
        InvalidChallengeError(challenge_id, reason), "invalid_challenge"
    )


def settle(state: SandboxState, verified: VerifiedCredential) -> Settlement:
    """Take the payment for a verified credential and consume its challenge.

    Raises PaymentFailure when the payment network rejects it. The caller holds
    ``state.lock`` from verification through order creation.
    """
    state.consumed_challenges.add(verified.challenge_id)
    try:
        if verified.method == STRIPE:
            return _settle_stripe(state, verified)
        return _settle_tempo(state, verified)
    except PaymentFailure as failure:
        failure.challenge_id = verified.challenge_id
        raise


def _settle_stripe(state: SandboxState, verified: VerifiedCredential) -> Settlement:
    spt = verified.payload["spt"]
    idempotency_key = f"mpp_{verified.challenge_id}_{spt}"
    if idempotency_key in state.stripe_idempotency:
        # Stripe would respond with Idempotent-Replayed: true, so this payment is spent.
        raise PaymentFailure(
            CredentialReplayedError("this credential has already been settled"),
            "credential_replayed",
            zinc_code="forbidden",
        )
    params = {
        "amount": verified.amount_cents,
        "currency": "usd",
        "confirm": "true",
        "shared_payment_granted_token": spt,
        "metadata": {"mpp_challenge_id": verified.challenge_id, "mpp_intent": INTENT},
    }
    try:
        intent = stripe_service.create_payment_intent(
            state,
            amount=verified.amount_cents,
            currency="usd",
            token_id=spt,
            seller_profile=state.config.network_id,
            metadata=params["metadata"],
        )
    except stripe_service.StripeError as error:
        _remember_stripe_response(
            state, idempotency_key, params, error.status, error.to_json()
        )
        logger.info(
            "Stripe rejected challenge %s: %s",
            verified.challenge_id,
            error.sandbox_reason,
        )
        details = {"decline_code": error.decline_code} if error.decline_code else None
        raise PaymentFailure(
            VerificationFailedError(error.message.rstrip(".")),
            error.sandbox_reason,
            details=details,
        ) from None
    body = stripe_service.payment_intent_json(intent)
    _remember_stripe_response(state, idempotency_key, params, 200, body)
    if intent.status == "requires_action":
        raise PaymentFailure(
            PaymentActionRequiredError(
                "the shared payment token needs customer authentication first"
            ),
            "requires_action",
        )
    external_id = verified.payload.get("externalId")
    receipt = Receipt.success(
        reference=intent.id,
        timestamp=state.now(),
        method=STRIPE,
        external_id=external_id if isinstance(external_id, str) else None,
    )
    return Settlement(STRIPE, intent.id, intent.id, receipt)


def _remember_stripe_response(
    state: SandboxState,
    idempotency_key: str,
    params: dict[str, Any],
    status: int,
    body: dict[str, Any],
) -> None:
    fingerprint = stripe_service.request_fingerprint("POST /v1/payment_intents", params)
    state.stripe_idempotency[idempotency_key] = StoredResponse(
        fingerprint, status, body
    )


def _settle_tempo(state: SandboxState, verified: VerifiedCredential) -> Settlement:
    payload = verified.payload
    if payload["type"] == "hash":
        reference = payload["hash"].lower()
    else:
        # A real transaction hash is keccak-256, which hashlib lacks, so SHA-256 of
        # the signed bytes serves as the sandbox's stable reference.
        signature = bytes.fromhex(payload["signature"][2:])
        reference = "0x" + hashlib.sha256(signature).hexdigest()
    if reference in state.used_tempo_references:
        raise PaymentFailure(
            CredentialReplayedError(
                "this transfer has already paid for another challenge"
            ),
            "transfer_reused",
            zinc_code="forbidden",
        )
    state.used_tempo_references.add(reference)
    receipt = Receipt.success(reference=reference, timestamp=state.now(), method=TEMPO)
    return Settlement(TEMPO, reference, None, receipt)
