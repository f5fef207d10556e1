"""Order look-ups, the clock-driven lifecycle, the ledger and scripted faults."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from sandbox_client import SandboxClient


def _place(
    sandbox_api: SandboxClient, product: str, **body_args: Any
) -> tuple[str, str]:
    response = sandbox_api.create_paid_order(product, **body_args)
    return response.json()["id"], response.headers["x-api-key"]


def _order_after(
    sandbox_api: SandboxClient, product: str, steps: int, **body_args: Any
) -> dict:
    order_id, api_key = _place(sandbox_api, product, **body_args)
    sandbox_api.advance_steps(steps)
    response = sandbox_api.get_order(order_id, api_key)
    assert response.status_code == 200, response.text
    return response.json()


def _refunds(sandbox_api: SandboxClient, order_id: str) -> list[tuple[int, str]]:
    refunds = sandbox_api.ledger()["refunds"]
    return [(r["amount"], r["reason"]) for r in refunds if r["order_id"] == order_id]


# Reading orders.


def test_get_order_with_its_key(sandbox_api: SandboxClient) -> None:
    order_id, api_key = _place(sandbox_api, "test-success")

    response = sandbox_api.get_order(order_id, api_key)

    assert response.status_code == 200
    assert response.json()["id"] == order_id
    assert response.json()["status"] == "pending"
    assert response.json()["job_result"] is None


def test_get_order_with_other_orders_key_is_404(sandbox_api: SandboxClient) -> None:
    first_id, _ = _place(sandbox_api, "test-success", idempotency_key="first")
    _, second_key = _place(sandbox_api, "test-success", idempotency_key="second")

    response = sandbox_api.get_order(first_id, second_key)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_get_order_without_key_is_401(sandbox_api: SandboxClient) -> None:
    order_id, _ = _place(sandbox_api, "test-success")

    response = sandbox_api.zinc.get(f"/orders/{order_id}")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_get_order_with_unknown_key_is_401(sandbox_api: SandboxClient) -> None:
    order_id, _ = _place(sandbox_api, "test-success")

    response = sandbox_api.get_order(order_id, "zn_test_" + "0" * 32)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_expired_key_is_401_token_expired(sandbox_api: SandboxClient) -> None:
    order_id, api_key = _place(sandbox_api, "test-success")
    sandbox_api.zinc.post(f"/_sandbox/orders/{order_id}/expire_key").raise_for_status()

    response = sandbox_api.get_order(order_id, api_key)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_expired"


def test_test_products_lists_every_scenario(sandbox_api: SandboxClient) -> None:
    response = sandbox_api.zinc.get(
        "/orders/test-products", headers={"Authorization": "Bearer anything"}
    )

    products = {p["scenario"]: p for p in response.json()["products"]}
    assert set(products) == {
        "success",
        "split_shipment",
        "slow",
        "cancelled_by_retailer",
        "price_exceeded",
        "shipping_unavailable",
        "invalid_variant",
        "out_of_stock",
        "url_unreachable",
        "invalid_address",
    }
    assert products["invalid_address"]["is_synchronous_error"] is True
    assert products["out_of_stock"]["is_synchronous_error"] is False
    assert products["success"]["url"] == "https://zinc.com/shop/products/test-success"


def test_retailers_needs_no_auth(sandbox_api: SandboxClient) -> None:
    response = sandbox_api.zinc.get("/retailers")

    assert response.status_code == 200
    retailers = {r["retailer"] for r in response.json()["retailers"]}
    assert {"amazon", "walmart", "zinc"} <= retailers


# Lifecycle per scenario.


def test_order_is_in_progress_after_one_step(sandbox_api: SandboxClient) -> None:
    order = _order_after(sandbox_api, "test-success", 1)

    assert order["status"] == "in_progress"
    assert order["attempts"] == 1
    assert order["items"][0]["status"] == "processing"


def test_success_is_placed_after_two_steps(sandbox_api: SandboxClient) -> None:
    order = _order_after(sandbox_api, "test-success", 2, max_price=5000)

    assert order["status"] == "order_placed"
    assert order["merchant_order_id"].startswith("TEST-")
    assert order["price_components"] == {
        "subtotal": 4500,
        "tax": 250,
        "shipping": 150,
        "total": 4900,
        "currency": "usd",
    }
    job = order["job_result"]
    assert job["success"] is True
    assert job["error"] is None
    assert job["merchant_order_ids"] == [order["merchant_order_id"]]
    assert job["price_components"] == order["price_components"]
    assert len(job["estimated_delivery"]) == 10
    assert order["tracking_numbers"] == []


def test_success_refunds_unused_max_price(sandbox_api: SandboxClient) -> None:
    order = _order_after(sandbox_api, "test-success", 2, max_price=6000)

    assert _refunds(sandbox_api, order["id"]) == [(1100, "unused_max_price")]
    charge = sandbox_api.ledger()["charges"][0]
    assert charge["amount"] == 6100


def test_success_ships_with_usps_then_delivers(sandbox_api: SandboxClient) -> None:
    order_id, api_key = _place(sandbox_api, "test-success")

    sandbox_api.advance_steps(3)
    shipped = sandbox_api.get_order(order_id, api_key).json()
    sandbox_api.advance_steps(2)
    delivered = sandbox_api.get_order(order_id, api_key).json()

    assert len(shipped["tracking_numbers"]) == 1
    tracking = shipped["tracking_numbers"][0]
    assert tracking["carrier"] == "usps"
    assert tracking["tracking_number"].startswith("ZINC_TEST_")
    assert tracking["status"] == "in_transit"
    assert shipped["items"][0]["status"] == "shipped"
    assert delivered["tracking_numbers"][0]["status"] == "delivered"
    assert delivered["tracking_numbers"][0]["checkpoints"][0]["status"] == "delivered"
    assert delivered["items"][0]["status"] == "delivered"
    assert delivered["status"] == "order_placed"


@pytest.mark.parametrize(
    ("product", "error_type"),
    [
        ("test-out-of-stock", "product_out_of_stock"),
        ("test-invalid-variant", "invalid_variant"),
        ("test-shipping-unavailable", "shipping_unavailable"),
        ("test-price-exceeded", "max_price_exceeded"),
    ],
)
def test_async_failure_refunds_everything(
    sandbox_api: SandboxClient, product: str, error_type: str
) -> None:
    order = _order_after(sandbox_api, product, 2, max_price=5000)

    assert order["status"] == "order_failed"
    assert order["job_result"]["success"] is False
    assert order["job_result"]["error_type"] == error_type
    assert order["job_result"]["price_components"] is None
    assert order["items"][0]["status"] == "failed"
    assert _refunds(sandbox_api, order["id"]) == [(5100, "order_failed")]


def test_price_exceeded_message_names_both_amounts(sandbox_api: SandboxClient) -> None:
    order = _order_after(sandbox_api, "test-price-exceeded", 2, max_price=5000)

    assert order["job_result"]["error"] == (
        "Order total of $52.99 exceeds max_price of $50.00"
    )


def test_low_max_price_fails_success_product(sandbox_api: SandboxClient) -> None:
    order = _order_after(sandbox_api, "test-success", 2, max_price=4000)

    assert order["status"] == "order_failed"
    assert order["job_result"]["error_type"] == "max_price_exceeded"
    assert _refunds(sandbox_api, order["id"]) == [(4100, "order_failed")]


def test_failed_order_gets_no_tracking(sandbox_api: SandboxClient) -> None:
    order = _order_after(sandbox_api, "test-out-of-stock", 6)

    assert order["tracking_numbers"] == []


def test_split_shipment_has_two_carriers(sandbox_api: SandboxClient) -> None:
    order = _order_after(sandbox_api, "test-split-shipment", 3)

    assert order["status"] == "order_placed"
    assert len(order["job_result"]["merchant_order_ids"]) == 2
    carriers = sorted(t["carrier"] for t in order["tracking_numbers"])
    assert carriers == ["fedex", "ups"]


def test_cancelled_by_retailer_refunds_everything(sandbox_api: SandboxClient) -> None:
    order_id, api_key = _place(
        sandbox_api, "test-cancelled-by-retailer", max_price=5000
    )

    sandbox_api.advance_steps(2)
    placed = sandbox_api.get_order(order_id, api_key).json()
    sandbox_api.advance_steps(2)
    cancelled = sandbox_api.get_order(order_id, api_key).json()

    assert placed["status"] == "order_placed"
    assert cancelled["status"] == "cancelled_by_retailer"
    assert cancelled["items"][0]["status"] == "cancelled"
    assert cancelled["job_result"]["error_type"] == "cancelled_by_retailer"
    assert _refunds(sandbox_api, order_id) == [
        (100, "unused_max_price"),
        (5000, "cancelled_by_retailer"),
    ]


def test_slow_order_stays_in_progress_with_retries(sandbox_api: SandboxClient) -> None:
    order_id, api_key = _place(sandbox_api, "test-slow")

    sandbox_api.advance_steps(10)
    waiting = sandbox_api.get_order(order_id, api_key).json()
    sandbox_api.advance_steps(1)
    placed = sandbox_api.get_order(order_id, api_key).json()

    assert waiting["status"] == "in_progress"
    assert waiting["attempts"] == 5
    assert placed["status"] == "order_placed"


def test_worst_product_decides_the_scenario(sandbox_api: SandboxClient) -> None:
    urls = [
        "https://zinc.com/shop/products/test-success",
        "https://zinc.com/shop/products/test-out-of-stock",
    ]

    order = _order_after(sandbox_api, "", 2, urls=urls, max_price=20000)

    assert order["status"] == "order_failed"
    assert order["job_result"]["error_type"] == "product_out_of_stock"


def test_other_retailer_is_placed_with_stable_price(sandbox_api: SandboxClient) -> None:
    urls = ["https://www.amazon.com/dp/B000000001"]

    first = _order_after(
        sandbox_api, "", 2, urls=urls, max_price=20000, idempotency_key="a"
    )
    second = _order_after(
        sandbox_api, "", 2, urls=urls, max_price=20000, idempotency_key="b"
    )

    assert first["status"] == "order_placed"
    subtotal = first["price_components"]["subtotal"]
    assert 1000 <= subtotal <= 9000
    assert second["price_components"] == first["price_components"]


def test_ledger_filters_by_idempotency_key(sandbox_api: SandboxClient) -> None:
    _place(sandbox_api, "test-out-of-stock", idempotency_key="keep")
    _place(sandbox_api, "test-out-of-stock", idempotency_key="skip")
    sandbox_api.advance_steps(2)

    ledger = sandbox_api.ledger("keep")

    assert [o["idempotency_key"] for o in ledger["orders"]] == ["keep"]
    assert [c["idempotency_key"] for c in ledger["charges"]] == ["keep"]
    assert len(ledger["refunds"]) == 1


def test_background_ticker_applies_lifecycle(sandbox_api: SandboxClient) -> None:
    sandbox_api.configure(step_seconds=0.05)
    order_id, _ = _place(sandbox_api, "test-out-of-stock")

    deadline = time.monotonic() + 1
    statuses: list[str] = []
    while time.monotonic() < deadline:
        response = sandbox_api.zinc.get("/_sandbox/ledger")
        statuses = [o["status"] for o in response.json()["orders"]]
        if statuses == ["order_failed"]:
            break
        time.sleep(0.05)

    assert statuses == ["order_failed"]


# Faults.


def test_429_fault_sends_retry_after(sandbox_api: SandboxClient) -> None:
    order_id, api_key = _place(sandbox_api, "test-success")
    sandbox_api.add_fault(target="get_order", kind="status_429", retry_after=7)

    limited = sandbox_api.get_order(order_id, api_key)
    normal = sandbox_api.get_order(order_id, api_key)

    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "7"
    assert limited.json()["error"]["code"] == "rate_limited"
    assert normal.status_code == 200


def test_502_fault_uses_count(sandbox_api: SandboxClient) -> None:
    order_id, api_key = _place(sandbox_api, "test-success")
    sandbox_api.add_fault(target="get_order", kind="status_502", count=2)

    statuses = [sandbox_api.get_order(order_id, api_key).status_code for _ in range(3)]

    assert statuses == [502, 502, 200]


def test_fault_for_other_order_is_ignored(sandbox_api: SandboxClient) -> None:
    order_id, api_key = _place(sandbox_api, "test-success")
    sandbox_api.add_fault(target="get_order", kind="status_500", order_id="other")

    response = sandbox_api.get_order(order_id, api_key)

    assert response.status_code == 200


def test_stale_fault_returns_previous_step(sandbox_api: SandboxClient) -> None:
    order_id, api_key = _place(sandbox_api, "test-success")
    sandbox_api.advance_steps(2)
    sandbox_api.add_fault(target="get_order", kind="stale")

    stale = sandbox_api.get_order(order_id, api_key).json()
    fresh = sandbox_api.get_order(order_id, api_key).json()

    assert stale["status"] == "in_progress"
    assert fresh["status"] == "order_placed"


def test_timeout_fault_delays_response(sandbox_api: SandboxClient) -> None:
    order_id, api_key = _place(sandbox_api, "test-success")
    sandbox_api.add_fault(target="get_order", kind="timeout", delay_seconds=0.5)

    started = time.monotonic()
    response = sandbox_api.get_order(order_id, api_key)
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert elapsed >= 0.5


def test_timeout_fault_trips_short_client_timeout(sandbox_api: SandboxClient) -> None:
    order_id, api_key = _place(sandbox_api, "test-success")
    sandbox_api.add_fault(target="get_order", kind="timeout", delay_seconds=0.6)

    with pytest.raises(httpx.ReadTimeout):
        sandbox_api.zinc.get(
            f"/orders/{order_id}",
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=0.2,
        )


def test_create_order_fault_precedes_validation(sandbox_api: SandboxClient) -> None:
    sandbox_api.add_fault(target="create_order", kind="status_502")

    failed = sandbox_api.post_order(sandbox_api.order_body())
    normal = sandbox_api.post_order(sandbox_api.order_body())

    assert failed.status_code == 502
    assert failed.json()["error"]["code"] == "external_service_error"
    assert normal.status_code == 402


def test_invalid_fault_is_400(sandbox_api: SandboxClient) -> None:
    response = sandbox_api.zinc.post(
        "/_sandbox/faults", json={"target": "get_order", "kind": "drop_after_commit"}
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_reset_clears_orders_and_faults(sandbox_api: SandboxClient) -> None:
    _place(sandbox_api, "test-success")
    sandbox_api.add_fault(target="get_order", kind="status_502")

    sandbox_api.zinc.post("/_sandbox/reset").raise_for_status()

    assert sandbox_api.ledger()["orders"] == []
    assert sandbox_api.zinc.get("/_sandbox/faults").json() == {"faults": []}
