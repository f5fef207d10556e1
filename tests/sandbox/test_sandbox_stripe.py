"""The Stripe port: payment methods, shared payment tokens, intents, refunds, CORS."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sandbox_client import NETWORK_ID, PUBLISHABLE_KEY, SandboxClient


def _card(number: str = "4242424242424242", **changes: str) -> dict[str, str]:
    card = {
        "type": "card",
        "card[number]": number,
        "card[exp_month]": "12",
        "card[exp_year]": "2099",
        "card[cvc]": "123",
    }
    card.update(changes)
    return card


def _publishable(sandbox_api: SandboxClient, path: str, data: dict[str, str]) -> Any:
    return sandbox_api.stripe.post(
        path, data={**data, "key": PUBLISHABLE_KEY}, headers={"Authorization": ""}
    )


def _token_params(**changes: str) -> dict[str, str]:
    params = {
        "payment_method": "pm_card_visa",
        "seller_details[network_business_profile]": NETWORK_ID,
        "usage_limits[currency]": "usd",
        "usage_limits[max_amount]": "5100",
        "usage_limits[expires_at]": str(int(time.time()) + 600),
    }
    params.update(changes)
    return params


def _issue_token(sandbox_api: SandboxClient, **changes: str) -> dict[str, Any]:
    response = sandbox_api.stripe.post(
        "/v1/shared_payment/issued_tokens", data=_token_params(**changes)
    )
    assert response.status_code == 200, response.text
    return response.json()


# Payment methods.


def test_payment_method_from_publishable_key(sandbox_api: SandboxClient) -> None:
    response = _publishable(sandbox_api, "/v1/payment_methods", _card())

    assert response.status_code == 200
    body = response.json()
    assert body["id"].startswith("pm_")
    assert body["object"] == "payment_method"
    assert body["card"] == {
        "brand": "visa",
        "last4": "4242",
        "exp_month": 12,
        "exp_year": 2099,
    }


@pytest.mark.parametrize(
    ("changes", "code", "param"),
    [
        ({"card[number]": "4242424242424241"}, "invalid_number", "card[number]"),
        ({"card[exp_month]": "13"}, "invalid_expiry_month", "card[exp_month]"),
        ({"card[exp_year]": "2001"}, "invalid_expiry_year", "card[exp_year]"),
        ({"card[cvc]": "12"}, "invalid_cvc", "card[cvc]"),
    ],
    ids=["luhn", "month", "past-year", "cvc"],
)
def test_invalid_card_is_402_card_error(
    sandbox_api: SandboxClient, changes: dict[str, str], code: str, param: str
) -> None:
    response = _publishable(sandbox_api, "/v1/payment_methods", _card(**changes))

    assert response.status_code == 402
    error = response.json()["error"]
    assert error["type"] == "card_error"
    assert error["code"] == code
    assert error["param"] == param


def test_missing_card_number_is_400(sandbox_api: SandboxClient) -> None:
    data = _card()
    del data["card[number]"]

    response = _publishable(sandbox_api, "/v1/payment_methods", data)

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "card[number]"
    assert response.json()["error"]["code"] == "parameter_missing"


def test_predefined_payment_method_is_retrievable(sandbox_api: SandboxClient) -> None:
    response = sandbox_api.stripe.get("/v1/payment_methods/pm_card_visa")

    assert response.status_code == 200
    assert response.json()["card"]["last4"] == "4242"


def test_unknown_payment_method_is_404(sandbox_api: SandboxClient) -> None:
    response = sandbox_api.stripe.get("/v1/payment_methods/pm_nope")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "resource_missing"


# Keys.


def test_request_without_key_is_401(sandbox_api: SandboxClient) -> None:
    response = sandbox_api.stripe.get(
        "/v1/payment_methods/pm_card_visa", headers={"Authorization": ""}
    )

    assert response.status_code == 401
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_publishable_key_on_secret_endpoint_is_401(sandbox_api: SandboxClient) -> None:
    response = sandbox_api.stripe.post(
        "/v1/shared_payment/issued_tokens",
        data=_token_params(),
        headers={"Authorization": f"Bearer {PUBLISHABLE_KEY}"},
    )

    assert response.status_code == 401


def test_live_key_is_401_and_not_echoed(sandbox_api: SandboxClient) -> None:
    response = sandbox_api.stripe.get(
        "/v1/payment_methods/pm_card_visa",
        headers={"Authorization": "Bearer sk_live_realsecret"},
    )

    assert response.status_code == 401
    assert "realsecret" not in response.text


# Shared payment tokens.


def test_issued_token_shape(sandbox_api: SandboxClient) -> None:
    token = _issue_token(sandbox_api)

    assert token["id"].startswith("spt_")
    assert token["object"] == "shared_payment.issued_token"
    assert token["status"] == "active"
    assert token["next_action"] is None
    assert token["usage_limits"]["max_amount"] == 5100
    assert token["usage_limits"]["currency"] == "usd"
    assert token["seller_details"]["network_business_profile"] == NETWORK_ID
    assert token["client_secret"].startswith(token["id"] + "_secret_")
    assert token["livemode"] is False


@pytest.mark.parametrize(
    ("changes", "param"),
    [
        ({"usage_limits[max_amount]": "ten"}, "usage_limits[max_amount]"),
        ({"usage_limits[expires_at]": "1000"}, "usage_limits[expires_at]"),
        (
            {"seller_details[network_business_profile]": ""},
            "seller_details[network_business_profile]",
        ),
        ({"payment_method": "pm_missing"}, "payment_method"),
    ],
    ids=["amount-not-int", "expired", "no-seller", "unknown-pm"],
)
def test_invalid_token_params_are_400(
    sandbox_api: SandboxClient, changes: dict[str, str], param: str
) -> None:
    response = sandbox_api.stripe.post(
        "/v1/shared_payment/issued_tokens", data=_token_params(**changes)
    )

    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert response.json()["error"]["param"] == param


def test_token_idempotency_key_replays_same_token(sandbox_api: SandboxClient) -> None:
    headers = {"Idempotency-Key": "issue-1"}
    first = sandbox_api.stripe.post(
        "/v1/shared_payment/issued_tokens", data=_token_params(), headers=headers
    )
    second = sandbox_api.stripe.post(
        "/v1/shared_payment/issued_tokens", data=_token_params(), headers=headers
    )

    assert second.json()["id"] == first.json()["id"]
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers


def test_idempotency_key_with_other_params_is_400(sandbox_api: SandboxClient) -> None:
    headers = {"Idempotency-Key": "issue-2"}
    sandbox_api.stripe.post(
        "/v1/shared_payment/issued_tokens", data=_token_params(), headers=headers
    )

    response = sandbox_api.stripe.post(
        "/v1/shared_payment/issued_tokens",
        data=_token_params(**{"usage_limits[max_amount]": "9999"}),
        headers=headers,
    )

    assert response.status_code == 400
    assert response.json()["error"]["type"] == "idempotency_error"


def test_revoked_token_reads_deactivated(sandbox_api: SandboxClient) -> None:
    token = _issue_token(sandbox_api)

    sandbox_api.stripe.post(f"/v1/shared_payment/issued_tokens/{token['id']}/revoke")
    response = sandbox_api.stripe.get(f"/v1/shared_payment/issued_tokens/{token['id']}")

    assert response.json()["status"] == "deactivated"
    assert response.json()["deactivated_reason"] == "revoked"


def test_token_expires_on_sandbox_clock(sandbox_api: SandboxClient) -> None:
    token = _issue_token(sandbox_api)
    sandbox_api.advance(601)

    response = sandbox_api.stripe.get(f"/v1/shared_payment/issued_tokens/{token['id']}")

    assert response.json()["status"] == "deactivated"
    assert response.json()["deactivated_reason"] == "expired"


def test_failed_authentication_deactivates_token(sandbox_api: SandboxClient) -> None:
    token = _issue_token(sandbox_api, payment_method="pm_card_authenticationRequired")

    response = _publishable(
        sandbox_api,
        f"/v1/shared_payment/issued_tokens/{token['id']}/confirm_action",
        {"client_secret": token["client_secret"], "result": "fail"},
    )

    assert response.json()["status"] == "deactivated"
    assert response.json()["deactivated_reason"] == "authentication_failed"


def test_confirm_action_with_wrong_secret_is_400(sandbox_api: SandboxClient) -> None:
    token = _issue_token(sandbox_api, payment_method="pm_card_authenticationRequired")

    response = _publishable(
        sandbox_api,
        f"/v1/shared_payment/issued_tokens/{token['id']}/confirm_action",
        {"client_secret": "spt_x_secret_y"},
    )

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "client_secret"


def test_requires_action_card_number_issues_requires_action(
    sandbox_api: SandboxClient,
) -> None:
    payment_method = _publishable(
        sandbox_api, "/v1/payment_methods", _card("4000002500003155")
    ).json()

    token = _issue_token(sandbox_api, payment_method=payment_method["id"])

    assert token["status"] == "requires_action"
    assert token["next_action"]["type"] == "use_stripe_sdk"


# Payment intents and refunds.


def _charge(
    sandbox_api: SandboxClient, token_id: str, amount: int = 5100, **headers: str
) -> Any:
    return sandbox_api.stripe.post(
        "/v1/payment_intents",
        data={
            "amount": str(amount),
            "currency": "usd",
            "confirm": "true",
            "shared_payment_granted_token": token_id,
            "metadata[order]": "x1",
        },
        headers=headers,
    )


def test_payment_intent_succeeds_and_consumes_token(sandbox_api: SandboxClient) -> None:
    token = _issue_token(sandbox_api)

    response = _charge(sandbox_api, token["id"])
    again = _charge(sandbox_api, token["id"])

    assert response.status_code == 200
    assert response.json()["status"] == "succeeded"
    assert response.json()["amount_received"] == 5100
    assert response.json()["metadata"] == {"order": "x1"}
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "shared_payment_token_deactivated"


def test_payment_intent_accepts_nested_token_param(sandbox_api: SandboxClient) -> None:
    token = _issue_token(sandbox_api)

    response = sandbox_api.stripe.post(
        "/v1/payment_intents",
        data={
            "amount": "5100",
            "currency": "usd",
            "confirm": "true",
            "payment_method_data[shared_payment_granted_token]": token["id"],
        },
    )

    assert response.json()["status"] == "succeeded"


def test_payment_intent_over_limit_is_400(sandbox_api: SandboxClient) -> None:
    token = _issue_token(sandbox_api)

    response = _charge(sandbox_api, token["id"], amount=5101)

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "amount"


@pytest.mark.parametrize(
    ("card_number", "decline_code"),
    [
        ("4000000000000002", "generic_decline"),
        ("4000000000009995", "insufficient_funds"),
    ],
)
def test_declined_card_is_402_with_intent(
    sandbox_api: SandboxClient, card_number: str, decline_code: str
) -> None:
    payment_method = _publishable(
        sandbox_api, "/v1/payment_methods", _card(card_number)
    ).json()
    token = _issue_token(sandbox_api, payment_method=payment_method["id"])

    response = _charge(sandbox_api, token["id"])

    assert response.status_code == 402
    error = response.json()["error"]
    assert error["type"] == "card_error"
    assert error["code"] == "card_declined"
    assert error["decline_code"] == decline_code
    assert error["payment_intent"]["status"] == "requires_payment_method"


def test_payment_intent_idempotency_replays(sandbox_api: SandboxClient) -> None:
    token = _issue_token(sandbox_api)

    first = _charge(sandbox_api, token["id"], **{"Idempotency-Key": "pi-1"})
    second = _charge(sandbox_api, token["id"], **{"Idempotency-Key": "pi-1"})

    assert second.json()["id"] == first.json()["id"]
    assert second.headers["idempotent-replayed"] == "true"


def test_refund_partial_then_rest(sandbox_api: SandboxClient) -> None:
    intent = _charge(sandbox_api, _issue_token(sandbox_api)["id"]).json()

    partial = sandbox_api.stripe.post(
        "/v1/refunds", data={"payment_intent": intent["id"], "amount": "100"}
    )
    rest = sandbox_api.stripe.post("/v1/refunds", data={"payment_intent": intent["id"]})
    extra = sandbox_api.stripe.post(
        "/v1/refunds", data={"payment_intent": intent["id"]}
    )

    assert partial.json()["amount"] == 100
    assert rest.json()["amount"] == 5000
    assert extra.status_code == 400
    assert extra.json()["error"]["code"] == "charge_already_refunded"
    refunds = sandbox_api.ledger()["refunds"]
    assert [r["amount"] for r in refunds] == [100, 5000]


def test_get_payment_intent(sandbox_api: SandboxClient) -> None:
    intent = _charge(sandbox_api, _issue_token(sandbox_api)["id"]).json()

    response = sandbox_api.stripe.get(f"/v1/payment_intents/{intent['id']}")

    assert response.json()["status"] == "succeeded"


# Browser support.


@pytest.mark.parametrize("path", ["/stripe.js", "/v3/", "/clover/stripe.js"])
def test_stripe_js_is_served(sandbox_api: SandboxClient, path: str) -> None:
    response = sandbox_api.stripe.get(path, headers={"Authorization": ""})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/javascript")
    assert "window.Stripe" in response.text
    assert response.headers["access-control-allow-origin"] == "*"


def test_preflight_allows_any_origin(sandbox_api: SandboxClient) -> None:
    response = sandbox_api.stripe.options(
        "/v1/payment_methods",
        headers={
            "Origin": "http://127.0.0.1:8000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        },
    )

    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "Authorization" in response.headers["access-control-allow-headers"]


def test_unknown_stripe_path_is_404(sandbox_api: SandboxClient) -> None:
    response = sandbox_api.stripe.get("/v1/customers")

    assert response.status_code == 404
    assert response.json()["error"]["type"] == "invalid_request_error"
