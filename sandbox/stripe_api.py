"""Stripe's HTTP API on the sandbox's Stripe port, plus the Stripe.js stand-in.

Requests are form-encoded with Stripe's bracket notation and responses are JSON.
Secret endpoints take any ``sk_test_`` or ``rk_test_`` key. Browser endpoints also
take a ``pk_test_`` key, either in the Authorization header or as the ``key`` form
field, which is how Stripe.js sends it.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from sandbox import stripe_service
from sandbox.server import (
    App,
    Request,
    Response,
    Router,
    json_response,
    redact_secrets,
)
from sandbox.state import SandboxState
from sandbox.stripe_service import StripeError, invalid_request

logger = logging.getLogger(__name__)

STRIPE_JS_PATH = Path(__file__).parent / "static" / "stripe.js"
SECRET_KEY_PREFIXES = ("sk_test_", "rk_test_")
PUBLISHABLE_KEY_PREFIX = "pk_test_"
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")
_FORM_KEY_RE = re.compile(r"([^\[\]]+)((?:\[[^\[\]]*\])*)")


def parse_form(body: bytes) -> dict[str, Any]:
    """Decode a form body, nesting ``a[b][c]=v`` into dicts and ``a[]=v`` into lists."""
    result: dict[str, Any] = {}
    for key, value in parse_qsl(
        body.decode("utf-8", "replace"), keep_blank_values=True
    ):
        match = _FORM_KEY_RE.fullmatch(key)
        if match is None:
            result[key] = value
            continue
        path = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        node = result
        for part, next_part in zip(path, path[1:], strict=False):
            default: Any = [] if next_part == "" else {}
            child = node.get(part) if isinstance(node, dict) else None
            if not isinstance(child, type(default)):
                child = default
                node[part] = child
            node = child
        last = path[-1]
        if isinstance(node, list):
            node.append(value)
        else:
            node[last] = value
    return result


def _api_key(request: Request, form: dict[str, Any]) -> str | None:
    header = request.header("Authorization") or ""
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    if scheme.lower() == "basic" and credentials.strip():
        try:
            decoded = base64.b64decode(credentials.strip()).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[0] or None
    key = form.get("key")
    return key if isinstance(key, str) and key else None


def _check_key(request: Request, form: dict[str, Any], *, publishable_ok: bool) -> None:
    key = _api_key(request, form)
    if key is None:
        raise invalid_request(
            "You did not provide an API key. "
            "Send it as 'Authorization: Bearer sk_test_...'.",
            status=401,
        )
    if key.startswith(SECRET_KEY_PREFIXES):
        return
    if key.startswith(PUBLISHABLE_KEY_PREFIX):
        if publishable_ok:
            return
        raise invalid_request(
            "This API call cannot be made with a publishable API key. "
            "Use a secret API key (sk_test_...).",
            status=401,
        )
    # Never echo the key back: it may be a real secret pasted by mistake.
    raise invalid_request(
        "Invalid API key: the sandbox accepts only test-mode keys "
        "(sk_test_, rk_test_ or pk_test_).",
        status=401,
    )


StripeHandler = Callable[[SandboxState, Request, dict[str, Any]], Response]


def stripe_endpoint(*, publishable_ok: bool = False) -> Callable[[StripeHandler], Any]:
    """Wrap a handler with form parsing, key checks and StripeError rendering."""

    def decorate(handler: StripeHandler) -> Any:
        def wrapped(state: SandboxState, request: Request) -> Response:
            form = parse_form(request.body) if request.method == "POST" else {}
            try:
                _check_key(request, form, publishable_ok=publishable_ok)
                with state.lock:
                    return handler(state, request, form)
            except StripeError as error:
                logger.info(
                    "Stripe %s %s failed: %s %s",
                    request.method,
                    redact_secrets(request.path),
                    error.status,
                    error.code or error.error_type,
                )
                return json_response(error.status, error.to_json())

        wrapped.__name__ = handler.__name__
        return wrapped

    return decorate


def _idempotent(
    state: SandboxState,
    request: Request,
    form: dict[str, Any],
    operation: Callable[[], tuple[int, dict[str, Any]]],
) -> Response:
    key = request.header("Idempotency-Key")
    params = {name: value for name, value in form.items() if name != "key"}
    status, body, replayed = stripe_service.run_idempotent(
        state, key, f"{request.method} {request.path}", params, operation
    )
    headers = [("Idempotency-Key", key)] if key else []
    if replayed:
        headers.append(("Idempotent-Replayed", "true"))
    return json_response(status, body, headers=headers)


# Payment methods.


@stripe_endpoint(publishable_ok=True)
def create_payment_method(
    state: SandboxState, request: Request, form: dict[str, Any]
) -> Response:
    def operation() -> tuple[int, dict[str, Any]]:
        record = stripe_service.create_payment_method(state, form)
        return 200, stripe_service.payment_method_json(record)

    return _idempotent(state, request, form, operation)


@stripe_endpoint()
def get_payment_method(
    state: SandboxState, request: Request, form: dict[str, Any]
) -> Response:
    record = stripe_service.get_payment_method(state, request.path_params["id"], "id")
    return json_response(200, stripe_service.payment_method_json(record))


# Shared payment tokens.


@stripe_endpoint()
def create_issued_token(
    state: SandboxState, request: Request, form: dict[str, Any]
) -> Response:
    def operation() -> tuple[int, dict[str, Any]]:
        record = stripe_service.create_issued_token(state, form)
        return 200, stripe_service.issued_token_json(record)

    return _idempotent(state, request, form, operation)


@stripe_endpoint()
def get_issued_token(
    state: SandboxState, request: Request, form: dict[str, Any]
) -> Response:
    record = stripe_service.get_issued_token(state, request.path_params["id"])
    return json_response(200, stripe_service.issued_token_json(record))


@stripe_endpoint()
def get_granted_token(
    state: SandboxState, request: Request, form: dict[str, Any]
) -> Response:
    record = stripe_service.get_issued_token(state, request.path_params["id"])
    body = stripe_service.issued_token_json(record)
    # The seller's view of a token never includes the issuer's client secret.
    body.pop("client_secret")
    body["object"] = "shared_payment.granted_token"
    return json_response(200, body)


@stripe_endpoint()
def revoke_issued_token(
    state: SandboxState, request: Request, form: dict[str, Any]
) -> Response:
    record = stripe_service.revoke_issued_token(state, request.path_params["id"])
    logger.info("Revoked a shared payment token")
    return json_response(200, stripe_service.issued_token_json(record))


@stripe_endpoint(publishable_ok=True)
def confirm_token_action(
    state: SandboxState, request: Request, form: dict[str, Any]
) -> Response:
    result = form.get("result", "success")
    if result not in ("success", "fail"):
        raise invalid_request(
            f"result must be 'success' or 'fail', got {result!r}.",
            param="result",
            code="parameter_invalid",
        )
    client_secret = form.get("client_secret")
    record = stripe_service.confirm_token_action(
        state,
        request.path_params["id"],
        client_secret if isinstance(client_secret, str) else None,
        succeeded=result == "success",
    )
    logger.info("Confirmed token action result=%s status=%s", result, record.status)
    body = stripe_service.issued_token_json(record)
    body.pop("client_secret")
    return json_response(200, body)


# Payment intents and refunds.


@stripe_endpoint()
def create_payment_intent(
    state: SandboxState, request: Request, form: dict[str, Any]
) -> Response:
    def operation() -> tuple[int, dict[str, Any]]:
        amount = stripe_service.required_int(form, "amount", minimum=1)
        currency = stripe_service.required_str(form, "currency").lower()
        if str(form.get("confirm", "")).lower() != "true":
            raise invalid_request(
                "The sandbox supports only confirm=true payment intents.",
                param="confirm",
                code="parameter_invalid",
            )
        token_id = stripe_service.optional_str(
            form, "shared_payment_granted_token"
        ) or stripe_service.optional_str(
            form, "payment_method_data", "shared_payment_granted_token"
        )
        if token_id is None:
            raise stripe_service.missing_param("shared_payment_granted_token")
        metadata = form.get("metadata")
        intent = stripe_service.create_payment_intent(
            state,
            amount=amount,
            currency=currency,
            token_id=token_id,
            seller_profile=state.config.network_id,
            metadata=metadata if isinstance(metadata, dict) else {},
        )
        if intent.status == "succeeded":
            state.record_charge(
                method="stripe",
                reference=intent.id,
                payment_intent=intent.id,
                amount=amount,
                challenge_id=intent.metadata.get("mpp_challenge_id"),
                order_id=None,
                idempotency_key=None,
            )
        return 200, stripe_service.payment_intent_json(intent)

    return _idempotent(state, request, form, operation)


@stripe_endpoint()
def get_payment_intent(
    state: SandboxState, request: Request, form: dict[str, Any]
) -> Response:
    intent = state.payment_intents.get(request.path_params["id"])
    if intent is None:
        raise invalid_request(
            f"No such payment_intent: '{request.path_params['id']}'",
            param="id",
            code="resource_missing",
            status=404,
        )
    return json_response(200, stripe_service.payment_intent_json(intent))


@stripe_endpoint()
def create_refund(
    state: SandboxState, request: Request, form: dict[str, Any]
) -> Response:
    def operation() -> tuple[int, dict[str, Any]]:
        intent_id = stripe_service.required_str(form, "payment_intent")
        amount = (
            stripe_service.required_int(form, "amount", minimum=1)
            if "amount" in form
            else None
        )
        reason = stripe_service.optional_str(form, "reason")
        if reason is not None and reason not in REFUND_REASONS:
            raise invalid_request(
                f"reason must be one of {', '.join(REFUND_REASONS)}.",
                param="reason",
                code="parameter_invalid",
            )
        metadata = form.get("metadata")
        refund = stripe_service.create_refund(
            state,
            intent_id,
            amount,
            reason,
            metadata if isinstance(metadata, dict) else {},
        )
        order = next(
            (o for o in state.orders.values() if o.payment_reference == intent_id), None
        )
        if order is not None:
            order.refunded_amount += refund.amount
        state.record_refund(
            refund_id=refund.id,
            method="stripe",
            reference=intent_id,
            payment_intent=intent_id,
            amount=refund.amount,
            reason=reason or "manual",
            order_id=order.id if order is not None else None,
        )
        return 200, stripe_service.refund_json(refund)

    return _idempotent(state, request, form, operation)


# Stripe.js stand-in and CORS.


def serve_stripe_js(state: SandboxState, request: Request) -> Response:
    return Response(
        status=200,
        body=STRIPE_JS_PATH.read_bytes(),
        headers=[
            ("Content-Type", "application/javascript; charset=utf-8"),
            ("Cache-Control", "no-cache"),
        ],
    )


def _preflight(request: Request) -> Response:
    return Response(
        status=204,
        headers=[
            ("Access-Control-Allow-Methods", "GET, POST, OPTIONS"),
            (
                "Access-Control-Allow-Headers",
                "Authorization, Content-Type, Idempotency-Key, Stripe-Version",
            ),
            ("Access-Control-Max-Age", "600"),
        ],
    )


def _common_headers(request: Request) -> list[tuple[str, str]]:
    # Browser pages on other origins (the dashboard) call this port directly.
    return [
        ("Access-Control-Allow-Origin", "*"),
        ("Request-Id", f"req_{secrets.token_hex(7)}"),
    ]


def _not_found(request: Request) -> Response:
    return json_response(
        404,
        {
            "error": {
                "type": "invalid_request_error",
                "message": (
                    f"Unrecognized request URL ({request.method}: {request.path})."
                ),
            }
        },
    )


def build_stripe_app() -> App:
    router = Router(_not_found)
    router.add("POST", "/v1/payment_methods", create_payment_method)
    router.add("GET", "/v1/payment_methods/{id}", get_payment_method)
    router.add("POST", "/v1/shared_payment/issued_tokens", create_issued_token)
    router.add("GET", "/v1/shared_payment/issued_tokens/{id}", get_issued_token)
    router.add(
        "POST", "/v1/shared_payment/issued_tokens/{id}/revoke", revoke_issued_token
    )
    router.add(
        "POST",
        "/v1/shared_payment/issued_tokens/{id}/confirm_action",
        confirm_token_action,
    )
    router.add("GET", "/v1/shared_payment/granted_tokens/{id}", get_granted_token)
    router.add("POST", "/v1/payment_intents", create_payment_intent)
    router.add("GET", "/v1/payment_intents/{id}", get_payment_intent)
    router.add("POST", "/v1/refunds", create_refund)
    for path in ("/stripe.js", "/v3", "/v3/", "/clover/stripe.js"):
        router.add("GET", path, serve_stripe_js)
    return App(
        name="stripe",
        router=router,
        extra_headers=_common_headers,
        preflight=_preflight,
        error_response=lambda: json_response(
            500, {"error": {"type": "api_error", "message": "Internal sandbox error."}}
        ),
    )
