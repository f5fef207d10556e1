"""Request validation on POST /agent/orders: 422 schema errors and 400 semantics."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sandbox_client import SandboxClient


def _body(**changes: Any) -> bytes:
    body = json.loads(SandboxClient.order_body())
    body.update(changes)
    return json.dumps(body).encode("utf-8")


def _address(**changes: Any) -> dict[str, Any]:
    address = json.loads(SandboxClient.order_body())["shipping_address"]
    address.update(changes)
    return address


def test_missing_city_is_422_with_fastapi_loc(sandbox_api: SandboxClient) -> None:
    address = _address()
    del address["city"]

    response = sandbox_api.post_order(_body(shipping_address=address))

    assert response.status_code == 422
    errors = response.json()["detail"]
    assert len(errors) == 1
    assert errors[0]["loc"] == ["body", "shipping_address", "city"]
    assert errors[0]["msg"] == "Field required"
    assert errors[0]["type"] == "missing"


def test_schema_errors_are_all_listed(sandbox_api: SandboxClient) -> None:
    body = {
        "products": [
            {"url": "https://zinc.com/shop/products/test-success", "quantity": 0},
            {
                "url": "https://zinc.com/shop/products/test-success",
                "quantity": 101,
                "variant": [{"label": "", "value": "Red"}],
            },
        ],
        "shipping_address": _address(),
        "max_price": "5000",
        "idempotency_key": "k" * 37,
    }

    response = sandbox_api.post_order(json.dumps(body).encode())

    assert response.status_code == 422
    found = {(tuple(e["loc"]), e["type"]) for e in response.json()["detail"]}
    assert found == {
        (("body", "products", 0, "quantity"), "greater_than_equal"),
        (("body", "products", 1, "quantity"), "less_than_equal"),
        (("body", "products", 1, "variant", 0, "label"), "string_too_short"),
        (("body", "max_price"), "int_type"),
        (("body", "idempotency_key"), "string_too_long"),
    }


def test_float_max_price_is_422(sandbox_api: SandboxClient) -> None:
    response = sandbox_api.post_order(_body(max_price=50.5))

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "max_price"]


def test_empty_products_is_422(sandbox_api: SandboxClient) -> None:
    response = sandbox_api.post_order(_body(products=[]))

    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail[0]["loc"] == ["body", "products"]
    assert detail[0]["type"] == "too_short"


def test_invalid_json_is_422_json_invalid(sandbox_api: SandboxClient) -> None:
    response = sandbox_api.post_order(b'{"products": [')

    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail[0]["type"] == "json_invalid"
    assert detail[0]["loc"][0] == "body"


def test_empty_body_is_422_missing(sandbox_api: SandboxClient) -> None:
    response = sandbox_api.post_order(b"")

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}
    ]


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        (
            _body(products=[{"url": "ftp://amazon.com/dp/B0001"}]),
            "validation_error",
            "products[0].url",
        ),
        (
            _body(products=[{"url": "https://example.com/item/1"}]),
            "invalid_product_url",
            "products[0].url",
        ),
        (
            _body(
                products=[
                    {"url": "https://www.amazon.com/dp/B0001"},
                    {"url": "https://www.walmart.com/ip/123"},
                ]
            ),
            "validation_error",
            "products",
        ),
        (
            _body(shipping_address=_address(state="California")),
            "invalid_shipping_address",
            "state",
        ),
        (
            _body(shipping_address=_address(state=None)),
            "invalid_shipping_address",
            "state",
        ),
        (
            _body(shipping_address=_address(postal_code="9410")),
            "invalid_shipping_address",
            "postal_code",
        ),
        (
            SandboxClient.order_body("test-invalid-address"),
            "invalid_shipping_address",
            "address_line1",
        ),
        (
            SandboxClient.order_body("test-url-unreachable"),
            "url_unreachable",
            "products[0].url",
        ),
        (_body(max_price=0), "validation_error", "max_price"),
    ],
    ids=[
        "not-http",
        "unsupported-retailer",
        "mixed-retailers",
        "state-not-code",
        "state-missing",
        "bad-zip",
        "test-invalid-address",
        "test-url-unreachable",
        "zero-max-price",
    ],
)
def test_semantic_error_is_400_envelope(
    sandbox_api: SandboxClient, body: bytes, code: str, field: str
) -> None:
    response = sandbox_api.post_order(body)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code
    assert error["details"]["field"] == field
    assert error["details"]["reason"] == error["message"]
    assert "www-authenticate" not in response.headers


def test_flat_envelope_puts_code_at_top_level(sandbox_api: SandboxClient) -> None:
    sandbox_api.configure(error_envelope="flat")

    response = sandbox_api.post_order(SandboxClient.order_body("test-url-unreachable"))

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "url_unreachable"
    assert body["details"]["field"] == "products[0].url"
    assert "error" not in body


def test_rejected_bodies_charge_nothing(sandbox_api: SandboxClient) -> None:
    sandbox_api.post_order(SandboxClient.order_body("test-invalid-address"))
    sandbox_api.post_order(b"{}")

    ledger = sandbox_api.ledger()

    assert ledger["charges"] == []
    assert ledger["orders"] == []


def test_non_us_address_skips_state_check(sandbox_api: SandboxClient) -> None:
    address = _address(country="DE", state=None, postal_code="10115")

    response = sandbox_api.post_order(_body(shipping_address=address))

    assert response.status_code == 402
