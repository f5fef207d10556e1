"""Control endpoints under ``/_sandbox/`` on the Zinc port, for tests and demos.

They move the clock, script faults, expire order keys, show the ledger and request
counts, change settings at run time and reset everything. They have no
authentication, which is why the sandbox binds loopback addresses only.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from sandbox import lifecycle
from sandbox.server import Request, Response, Router, json_response
from sandbox.state import ERROR_ENVELOPES, Fault, SandboxState, isoformat_z, new_id

logger = logging.getLogger(__name__)

FAULT_KINDS: dict[str, tuple[str, ...]] = {
    "get_order": ("status_429", "status_502", "status_500", "timeout", "stale"),
    "create_order": (
        "status_429",
        "status_502",
        "status_500",
        "timeout",
        "drop_after_commit",
    ),
}
MAX_FAULT_DELAY_SECONDS = 300


class ControlError(Exception):
    pass


def _bad_request(message: str) -> Response:
    return json_response(
        400, {"error": {"code": "validation_error", "message": message}}
    )


def _read_json(request: Request) -> dict[str, Any]:
    try:
        return request.json_object()
    except ValueError as error:
        raise ControlError(f"Body must be a JSON object: {error}.") from None


def _number(
    data: dict[str, Any], name: str, default: float | None, minimum: float
) -> float:
    value = data.get(name, default)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
    ):
        raise ControlError(f"{name} must be a number, got {value!r}.")
    if value < minimum:
        raise ControlError(f"{name} must be at least {minimum}, got {value!r}.")
    return float(value)


def _integer(data: dict[str, Any], name: str, default: int, minimum: int) -> int:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ControlError(f"{name} must be an integer, got {value!r}.")
    if value < minimum:
        raise ControlError(f"{name} must be at least {minimum}, got {value!r}.")
    return value


def _handle_errors(handler: Any) -> Any:
    def wrapped(state: SandboxState, request: Request) -> Response:
        try:
            return handler(state, request)
        except ControlError as error:
            logger.info("Rejected %s %s: %s", request.method, request.path, error)
            return _bad_request(str(error))

    wrapped.__name__ = handler.__name__
    return wrapped


@_handle_errors
def advance_clock(state: SandboxState, request: Request) -> Response:
    seconds = _number(_read_json(request), "seconds", None, 0)
    with state.lock:
        state.clock.advance(seconds)
        lifecycle.advance_all(state)
        logger.info("Advanced the sandbox clock by %s s", seconds)
        return _clock_json(state)


def get_clock(state: SandboxState, request: Request) -> Response:
    with state.lock:
        return _clock_json(state)


def _clock_json(state: SandboxState) -> Response:
    return json_response(
        200,
        {"now": isoformat_z(state.now()), "offset_seconds": state.clock.offset_seconds},
    )


@_handle_errors
def add_fault(state: SandboxState, request: Request) -> Response:
    data = _read_json(request)
    target = data.get("target")
    if target not in FAULT_KINDS:
        raise ControlError(
            f"target must be one of {sorted(FAULT_KINDS)}, got {target!r}."
        )

    kind = data.get("kind")
    if kind not in FAULT_KINDS[target]:
        raise ControlError(
            f"kind for {target} must be one of {FAULT_KINDS[target]}, got {kind!r}."
        )

    order_id = data.get("order_id")
    if order_id is not None and not isinstance(order_id, str):
        raise ControlError(f"order_id must be a string, got {order_id!r}.")
    if order_id is not None and target != "get_order":
        raise ControlError("order_id applies only to target get_order.")

    fault = Fault(
        id=new_id("fault", 12),
        target=target,
        kind=kind,
        order_id=order_id,
        remaining=_integer(data, "count", 1, 1),
        retry_after=_integer(data, "retry_after", 7, 0),
        delay_seconds=_number(data, "delay_seconds", 10, 0),
    )
    if fault.delay_seconds > MAX_FAULT_DELAY_SECONDS:
        raise ControlError(f"delay_seconds must be at most {MAX_FAULT_DELAY_SECONDS}.")

    with state.lock:
        state.faults.append(fault)
    logger.info("Added fault %s: %s on %s x%s", fault.id, kind, target, fault.remaining)
    return json_response(201, fault.to_json())


def list_faults(state: SandboxState, request: Request) -> Response:
    with state.lock:
        return json_response(
            200, {"faults": [fault.to_json() for fault in state.faults]}
        )


def clear_faults(state: SandboxState, request: Request) -> Response:
    with state.lock:
        state.faults.clear()
    return json_response(200, {"faults": []})


def expire_key(state: SandboxState, request: Request) -> Response:
    order_id = request.path_params["order_id"]
    with state.lock:
        order = state.orders.get(order_id)
        if order is None:
            return json_response(
                404,
                {"error": {"code": "not_found", "message": f"No order {order_id}."}},
            )
        state.api_keys[order.api_key].expired = True
    logger.info("Expired the API key of order %s", order_id)
    return json_response(200, {"order_id": order_id, "key_expired": True})


def get_ledger(state: SandboxState, request: Request) -> Response:
    key = request.query_value("idempotency_key")
    with state.lock:
        lifecycle.advance_all(state)
        orders = [
            order
            for order in state.orders.values()
            if key is None or order.idempotency_key == key
        ]
        order_ids = {order.id for order in orders}
        charges = [
            dict(charge)
            for charge in state.ledger_charges
            if key is None or charge["idempotency_key"] == key
        ]
        refunds = [
            dict(refund)
            for refund in state.ledger_refunds
            if key is None or refund["order_id"] in order_ids
        ]
        return json_response(
            200,
            {
                "charges": charges,
                "refunds": refunds,
                "orders": [
                    {
                        "id": order.id,
                        "idempotency_key": order.idempotency_key,
                        "status": order.status,
                        "scenario": order.scenario.name,
                        "max_price": order.request.max_price,
                        "charged": order.charged_amount,
                        "refunded": order.refunded_amount,
                        "total": order.price.total,
                    }
                    for order in orders
                ],
            },
        )


def get_request_counts(state: SandboxState, request: Request) -> Response:
    path = request.query_value("path")
    with state.lock:
        if path is not None:
            return json_response(
                200,
                {
                    "path": path,
                    "count": state.request_counts[path],
                    "paid_count": state.paid_request_counts[path],
                },
            )
        return json_response(
            200,
            {
                "counts": dict(state.request_counts),
                "paid_counts": dict(state.paid_request_counts),
            },
        )


def reset(state: SandboxState, request: Request) -> Response:
    state.reset()
    logger.info("Reset all sandbox state")
    return json_response(200, {"reset": True})


def get_config(state: SandboxState, request: Request) -> Response:
    with state.lock:
        return _config_json(state)


@_handle_errors
def update_config(state: SandboxState, request: Request) -> Response:
    data = _read_json(request)
    unknown = set(data) - {"challenge_ttl_seconds", "step_seconds", "error_envelope"}
    if unknown:
        raise ControlError(f"Unknown settings: {sorted(unknown)}.")
    envelope = data.get("error_envelope")
    if envelope is not None and envelope not in ERROR_ENVELOPES:
        raise ControlError(
            f"error_envelope must be one of {ERROR_ENVELOPES}, got {envelope!r}."
        )
    ttl = (
        _number(data, "challenge_ttl_seconds", 1, 1)
        if "challenge_ttl_seconds" in data
        else None
    )
    step = _number(data, "step_seconds", 0.01, 0.01) if "step_seconds" in data else None
    with state.lock:
        if ttl is not None:
            state.config.challenge_ttl_seconds = ttl
        if step is not None:
            state.config.step_seconds = step
        if envelope is not None:
            state.config.error_envelope = envelope
        logger.info("Updated settings: %s", sorted(data))
        return _config_json(state)


def _config_json(state: SandboxState) -> Response:
    config = state.config
    return json_response(
        200,
        {
            "challenge_ttl_seconds": config.challenge_ttl_seconds,
            "step_seconds": config.step_seconds,
            "error_envelope": config.error_envelope,
            "realm": config.realm,
            "network_id": config.network_id,
        },
    )


def add_control_routes(router: Router) -> None:
    router.add("POST", "/_sandbox/clock/advance", advance_clock)
    router.add("GET", "/_sandbox/clock", get_clock)
    router.add("POST", "/_sandbox/faults", add_fault)
    router.add("GET", "/_sandbox/faults", list_faults)
    router.add("DELETE", "/_sandbox/faults", clear_faults)
    router.add("POST", "/_sandbox/orders/{order_id}/expire_key", expire_key)
    router.add("GET", "/_sandbox/ledger", get_ledger)
    router.add("GET", "/_sandbox/requests", get_request_counts)
    router.add("POST", "/_sandbox/reset", reset)
    router.add("GET", "/_sandbox/config", get_config)
    router.add("POST", "/_sandbox/config", update_config)
