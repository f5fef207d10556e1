"""Zinc's HTTP API: ``POST /agent/orders`` paid through MPP and order look-ups."""

from __future__ import annotations

import logging
import time
from typing import Any

from mpp.errors import PaymentMethodUnsupportedError, PaymentRequiredError

from sandbox import lifecycle, payment, scenarios
from sandbox.server import App, Request, Response, Router, json_response
from sandbox.state import Fault, SandboxState
from sandbox.validation import (
    OrderCreate,
    RequestValidationError,
    ZincError,
    check_order_semantics,
    parse_order_body,
)

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PRE_REQUEST_FAULTS = ("status_429", "status_502", "status_500", "timeout")


def zinc_error_body(
    state: SandboxState, code: str, message: str, details: Any
) -> dict[str, Any]:
    """Return Zinc's error envelope in the configured nested or flat shape."""
    error = {"code": code, "message": message, "details": details}
    if state.config.error_envelope == "flat":
        return error
    return {"error": error}


def zinc_error_response(state: SandboxState, error: ZincError) -> Response:
    logger.info("Returning %s %s: %s", error.status, error.code, error.message)
    body = zinc_error_body(state, error.code, error.message, error.details)
    return json_response(error.status, body, headers=error.headers)


def fault_response(state: SandboxState, fault: Fault) -> Response | None:
    """Return the scripted failure response, or None after a ``timeout`` delay."""
    if fault.kind == "timeout":
        # Sleep outside the state lock so other requests keep flowing.
        time.sleep(fault.delay_seconds)
        return None
    if fault.kind == "status_429":
        error = ZincError(
            429,
            "rate_limited",
            f"Too many requests; retry after {fault.retry_after} seconds.",
            {"retry_after": fault.retry_after},
            headers=[("Retry-After", str(fault.retry_after))],
        )
    elif fault.kind == "status_502":
        error = ZincError(
            502,
            "external_service_error",
            "An upstream service failed; retry later.",
            None,
        )
    else:
        error = ZincError(
            500, "internal_error", "Internal server error; retry later.", None
        )
    return zinc_error_response(state, error)


# POST /agent/orders


def create_agent_order(state: SandboxState, request: Request) -> Response:
    fault = state.take_fault("create_order", None, PRE_REQUEST_FAULTS)
    if fault is not None:
        response = fault_response(state, fault)
        if response is not None:
            return response
    try:
        order_request = parse_order_body(request.body)
    except RequestValidationError as error:
        logger.info("Rejected order body with %s validation errors", len(error.errors))
        return json_response(422, {"detail": error.errors})
    try:
        methods = requested_methods(request)
    except payment.PaymentFailure as failure:
        return payment_failure_response(state, failure, request, None, payment.METHODS)

    with state.lock:
        try:
            response = _create_locked(state, request, order_request, methods)
        except ZincError as error:
            return zinc_error_response(state, error)
        except payment.PaymentFailure as failure:
            logger.info(
                "Payment rejected for challenge %s: %s (%s)",
                failure.challenge_id,
                failure.reason,
                failure.error.type,
            )
            return payment_failure_response(
                state, failure, request, order_request, methods
            )
    if response.status == 201:
        fault = state.take_fault("create_order", None, ("drop_after_commit",))
        if fault is not None:
            # The order and charge exist, but the client never learns its key.
            return Response(status=201, drop_connection=True)
    return response


def requested_methods(request: Request) -> tuple[str, ...]:
    """Return the methods to challenge with, honouring ``?method=``."""
    method = request.query_value("method")
    if method is None or method == "":
        return payment.METHODS
    if method not in payment.METHODS:
        raise payment.PaymentFailure(
            PaymentMethodUnsupportedError(method),
            "method_unsupported",
            zinc_code="bad_request",
        )
    return (method,)


def _create_locked(
    state: SandboxState,
    request: Request,
    order_request: OrderCreate,
    methods: tuple[str, ...],
) -> Response:
    check_order_semantics(order_request)
    token = payment.extract_credential(request.header_values("Authorization"))
    if token is None:
        _check_idempotency_key(state, order_request)
        return payment_required_response(state, request.body, order_request, methods)
    verified = payment.verify_credential(state, token, request.body, order_request)
    _check_idempotency_key(state, order_request)
    settlement = payment.settle(state, verified)
    order = lifecycle.create_order(
        state,
        order_request=order_request,
        settlement=settlement,
        challenge_id=verified.challenge_id,
        amount=verified.amount_cents,
    )
    headers = [
        ("X-Api-Key", order.api_key),
        ("Payment-Receipt", settlement.receipt.to_payment_receipt()),
        ("Cache-Control", "private"),
        ("Location", f"/orders/{order.id}"),
    ]
    return json_response(201, order.history[-1], headers=headers)


def _check_idempotency_key(state: SandboxState, order_request: OrderCreate) -> None:
    key = order_request.idempotency_key
    if key is None or key not in state.orders_by_idempotency_key:
        return
    raise ZincError(
        409,
        "already_exists",
        f"Order with idempotency key '{key}' already exists",
        {"resource": "Order", "identifier": key},
    )


def payment_required_response(
    state: SandboxState,
    body: bytes,
    order_request: OrderCreate,
    methods: tuple[str, ...],
) -> Response:
    challenges = payment.issue_challenges(state, body, order_request, methods)
    error = PaymentRequiredError(
        state.config.realm, payment.describe_order(order_request)
    )
    problem = error.to_problem_details(challenge_id=challenges[0].id)
    return json_response(
        402,
        problem,
        headers=_challenge_headers(state, challenges),
        content_type=PROBLEM_JSON,
    )


def payment_failure_response(
    state: SandboxState,
    failure: payment.PaymentFailure,
    request: Request,
    order_request: OrderCreate | None,
    methods: tuple[str, ...],
) -> Response:
    """Render a rejected payment; MPP requires fresh challenges on every 402."""
    headers: list[tuple[str, str]] = []
    challenge_id = None
    if failure.with_challenge and order_request is not None:
        challenges = payment.issue_challenges(
            state, request.body, order_request, methods
        )
        headers = _challenge_headers(state, challenges)
        challenge_id = challenges[0].id
    problem = failure.error.to_problem_details(challenge_id=challenge_id)
    envelope = zinc_error_body(
        state, failure.zinc_code, str(failure.error), failure.details
    )
    problem.update(envelope)
    return json_response(
        failure.error.status, problem, headers=headers, content_type=PROBLEM_JSON
    )


def _challenge_headers(
    state: SandboxState, challenges: list[Any]
) -> list[tuple[str, str]]:
    headers = [
        ("WWW-Authenticate", challenge.to_www_authenticate(state.config.realm))
        for challenge in challenges
    ]
    headers.append(("Cache-Control", "no-store"))
    return headers


# GET /orders/{order_id}


def get_order(state: SandboxState, request: Request) -> Response:
    order_id = request.path_params["order_id"]
    fault = state.take_fault("get_order", order_id, (*PRE_REQUEST_FAULTS, "stale"))
    stale = False
    if fault is not None:
        response = fault_response(state, fault) if fault.kind != "stale" else None
        if response is not None:
            return response
        stale = fault.kind == "stale"
    with state.lock:
        try:
            order = _authorized_order(state, request, order_id)
        except ZincError as error:
            return zinc_error_response(state, error)
        lifecycle.advance_all(state)
        history = order.history
        snapshot = history[-2] if stale and len(history) > 1 else history[-1]
        return json_response(200, snapshot)


def _authorized_order(state: SandboxState, request: Request, order_id: str) -> Any:
    api_key = _bearer_token(request)
    if api_key is None:
        raise ZincError(
            401, "unauthorized", "Missing Authorization: Bearer <api key>.", None
        )
    key = state.api_keys.get(api_key)
    if key is None:
        raise ZincError(401, "unauthorized", "The API key is invalid.", None)
    if key.expired:
        raise ZincError(401, "token_expired", "The API key has expired.", None)
    order = state.orders.get(order_id)
    if order is None or key.order_id != order_id:
        # A key of another order gets the same 404 as an unknown id, so a key
        # reveals nothing about orders it does not belong to.
        raise ZincError(
            404,
            "not_found",
            f"Order '{order_id}' not found.",
            {"resource": "Order", "identifier": order_id},
        )
    return order


def _bearer_token(request: Request) -> str | None:
    header = request.header("Authorization") or ""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


# Catalogue endpoints.


def list_test_products(state: SandboxState, request: Request) -> Response:
    if _bearer_token(request) is None:
        return zinc_error_response(
            state,
            ZincError(
                401, "unauthorized", "Missing Authorization: Bearer <api key>.", None
            ),
        )
    products = [
        {
            "url": scenario.url,
            "scenario": scenario.name,
            "name": scenario.title,
            "is_synchronous_error": scenario.sync_error is not None,
        }
        for scenario in scenarios.SCENARIOS
    ]
    return json_response(200, {"products": products})


def list_retailers(state: SandboxState, request: Request) -> Response:
    retailers = [
        {
            "retailer": host.split(".")[0],
            "display_name": name,
            "supported": True,
            "is_supported": True,
            "base_url": f"https://www.{host}",
            "supported_countries": ["US"],
        }
        for host, name in scenarios.SUPPORTED_RETAILERS.items()
    ]
    return json_response(200, {"retailers": retailers, "total": len(retailers)})


def _not_found(request: Request) -> Response:
    return json_response(
        404,
        {
            "error": {
                "code": "not_found",
                "message": f"No route for {request.path}.",
                "details": None,
            }
        },
    )


def build_zinc_app() -> App:
    """Return the Zinc port's API routes; sandbox.control adds the control routes."""
    router = Router(_not_found)
    router.add("POST", "/agent/orders", create_agent_order)
    router.add("GET", "/orders/test-products", list_test_products)
    router.add("GET", "/orders/{order_id}", get_order)
    router.add("GET", "/retailers", list_retailers)
    return App(name="zinc", router=router)
