"""HTTP helpers for the sandbox tests: both ports and the MPP purchase steps."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import httpx
from mpp import Challenge, Credential

STEP_SECONDS = 60
SECRET_KEY = "sk_test_sandboxsuite"
PUBLISHABLE_KEY = "pk_test_sandboxsuite"
NETWORK_ID = "profile_test_zincsandbox"
TEST_PRODUCT_URL = "https://zinc.com/shop/products/{}"


class SandboxClient:
    """HTTP clients for both ports plus the steps of the MPP purchase flow."""

    def __init__(self, zinc_url: str, stripe_url: str) -> None:
        self.zinc_url = zinc_url
        self.stripe_url = stripe_url
        self.zinc = httpx.Client(base_url=zinc_url, timeout=10)
        self.stripe = httpx.Client(
            base_url=stripe_url,
            timeout=10,
            headers={"Authorization": f"Bearer {SECRET_KEY}"},
        )

    def close(self) -> None:
        self.zinc.close()
        self.stripe.close()

    # Request bodies.

    @staticmethod
    def order_body(
        product: str = "test-success",
        *,
        max_price: int = 5000,
        quantity: int = 1,
        idempotency_key: str | None = None,
        urls: list[str] | None = None,
        address: dict[str, Any] | None = None,
    ) -> bytes:
        """Return a JSON body; callers keep the bytes for the paid retry."""
        product_urls = urls or [TEST_PRODUCT_URL.format(product)]
        body: dict[str, Any] = {
            "products": [{"url": url, "quantity": quantity} for url in product_urls],
            "shipping_address": address
            or {
                "first_name": "Ada",
                "last_name": "Lovelace",
                "address_line1": "1 Market St",
                "city": "San Francisco",
                "state": "CA",
                "postal_code": "94105",
                "phone_number": "+14155550100",
                "country": "US",
            },
            "max_price": max_price,
        }
        if idempotency_key is not None:
            body["idempotency_key"] = idempotency_key
        return json.dumps(body).encode("utf-8")

    # Zinc port.

    def post_order(
        self,
        body: bytes,
        *,
        authorization: str | None = None,
        method: str | None = None,
    ) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if authorization is not None:
            headers["Authorization"] = authorization
        params = {"method": method} if method else None
        return self.zinc.post(
            "/agent/orders", content=body, headers=headers, params=params
        )

    def get_order(self, order_id: str, api_key: str) -> httpx.Response:
        return self.zinc.get(
            f"/orders/{order_id}", headers={"Authorization": f"Bearer {api_key}"}
        )

    def advance(self, seconds: float) -> None:
        self.zinc.post(
            "/_sandbox/clock/advance", json={"seconds": seconds}
        ).raise_for_status()

    def advance_steps(self, steps: int) -> None:
        self.advance(steps * STEP_SECONDS)

    def ledger(self, idempotency_key: str | None = None) -> dict[str, Any]:
        params = {"idempotency_key": idempotency_key} if idempotency_key else None
        response = self.zinc.get("/_sandbox/ledger", params=params)
        response.raise_for_status()
        return response.json()

    def add_fault(self, **fault: Any) -> dict[str, Any]:
        response = self.zinc.post("/_sandbox/faults", json=fault)
        response.raise_for_status()
        return response.json()

    def configure(self, **settings: Any) -> None:
        self.zinc.post("/_sandbox/config", json=settings).raise_for_status()

    # MPP flow.

    @staticmethod
    def challenge(response: httpx.Response, method: str = "stripe") -> Challenge:
        """Parse the response's challenge for ``method`` from its header lines."""
        for value in response.headers.get_list("www-authenticate"):
            challenge = Challenge.from_www_authenticate(value)
            if challenge.method == method:
                return challenge
        raise AssertionError(f"no {method} challenge in {response.headers}")

    def mint_spt(
        self,
        challenge: Challenge,
        payment_method: str = "pm_card_visa",
        *,
        max_amount: int | None = None,
        network_id: str | None = None,
    ) -> dict[str, Any]:
        """Issue a shared payment token for a challenge, the way the dashboard would."""
        details = challenge.request["methodDetails"]
        expires = datetime.fromisoformat(str(challenge.expires).replace("Z", "+00:00"))
        response = self.stripe.post(
            "/v1/shared_payment/issued_tokens",
            data={
                "payment_method": payment_method,
                "seller_details[network_business_profile]": network_id
                or details["networkId"],
                "usage_limits[currency]": challenge.request["currency"],
                "usage_limits[max_amount]": str(
                    max_amount or int(challenge.request["amount"])
                ),
                "usage_limits[expires_at]": str(int(expires.timestamp())),
            },
        )
        assert response.status_code == 200, response.text
        return response.json()

    @staticmethod
    def authorization(challenge: Challenge, payload: dict[str, Any]) -> str:
        return Credential(
            challenge=challenge.to_echo(), payload=payload
        ).to_authorization()

    def stripe_credential(
        self, body: bytes, payment_method: str = "pm_card_visa"
    ) -> tuple[Challenge, str]:
        """Get a challenge for ``body`` and a credential paying it with a card."""
        unpaid = self.post_order(body)
        assert unpaid.status_code == 402, unpaid.text
        challenge = self.challenge(unpaid)
        token = self.mint_spt(challenge, payment_method)
        return challenge, self.authorization(challenge, {"spt": token["id"]})

    def create_paid_order(
        self, product: str = "test-success", **body_args: Any
    ) -> httpx.Response:
        body = self.order_body(product, **body_args)
        _, authorization = self.stripe_credential(body)
        response = self.post_order(body, authorization=authorization)
        assert response.status_code == 201, response.text
        return response
