"""MPP on POST /agent/orders: challenges, credentials, settlement and replays."""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import httpx
import pytest
from mpp import Challenge, Credential, Receipt
from sandbox_client import NETWORK_ID, PUBLISHABLE_KEY, SandboxClient

PROBLEMS = "https://paymentauth.org/problems/"


def _decode_b64url(value: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))


# The unpaid request.


def test_unpaid_order_gets_two_challenge_lines(sandbox_api: SandboxClient) -> None:
    response = sandbox_api.post_order(sandbox_api.order_body(max_price=5000))

    assert response.status_code == 402
    lines = response.headers.get_list("www-authenticate")
    assert len(lines) == 2
    methods = [Challenge.from_www_authenticate(line).method for line in lines]
    assert methods == ["stripe", "tempo"]
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"] == "application/problem+json"


def test_unpaid_order_body_is_payment_required_problem(
    sandbox_api: SandboxClient,
) -> None:
    response = sandbox_api.post_order(sandbox_api.order_body())

    body = response.json()
    stripe_challenge = sandbox_api.challenge(response)
    assert body["type"] == PROBLEMS + "payment-required"
    assert body["title"] == "Payment Required"
    assert body["status"] == 402
    assert body["challengeId"] == stripe_challenge.id
    assert "error" not in body


def test_stripe_challenge_requests_max_price_plus_fee(
    sandbox_api: SandboxClient,
) -> None:
    response = sandbox_api.post_order(
        sandbox_api.order_body(max_price=5000, quantity=2)
    )

    challenge = sandbox_api.challenge(response)
    assert challenge.realm == "api.zinc.com"
    assert challenge.intent == "charge"
    assert challenge.request == {
        "amount": "5100",
        "currency": "usd",
        "methodDetails": {"networkId": NETWORK_ID, "paymentMethodTypes": ["card"]},
    }
    assert challenge.description == "Zinc order: 2 items, max $50.00 + $1.00 fee"
    assert challenge.expires is not None
    assert challenge.expires.endswith("Z")
    assert challenge.digest is not None
    assert challenge.digest.startswith("sha-256=:")


def test_tempo_challenge_uses_six_decimal_units(sandbox_api: SandboxClient) -> None:
    response = sandbox_api.post_order(sandbox_api.order_body(max_price=5000))

    request = sandbox_api.challenge(response, "tempo").request
    assert request["amount"] == "51000000"
    assert request["currency"] == "0x20c0000000000000000000000000000000000000"
    assert request["methodDetails"] == {"chainId": 42431, "feePayer": True}
    assert request["recipient"].startswith("0x")
    assert len(request["recipient"]) == 42


def test_method_query_returns_one_challenge(sandbox_api: SandboxClient) -> None:
    response = sandbox_api.post_order(sandbox_api.order_body(), method="stripe")

    lines = response.headers.get_list("www-authenticate")
    assert len(lines) == 1
    assert Challenge.from_www_authenticate(lines[0]).method == "stripe"


def test_unknown_method_is_400_method_unsupported(sandbox_api: SandboxClient) -> None:
    response = sandbox_api.post_order(sandbox_api.order_body(), method="x402")

    assert response.status_code == 400
    assert response.json()["type"] == PROBLEMS + "method-unsupported"
    assert "www-authenticate" not in response.headers


# The paid retry.


def test_paid_retry_creates_pending_order(sandbox_api: SandboxClient) -> None:
    body = sandbox_api.order_body(max_price=5000, idempotency_key="paid-1")
    _, authorization = sandbox_api.stripe_credential(body)

    response = sandbox_api.post_order(body, authorization=authorization)

    assert response.status_code == 201
    order = response.json()
    assert order["status"] == "pending"
    assert order["max_price"] == 5000
    assert order["attempts"] == 0
    assert order["items"][0]["status"] == "pending"
    assert order["tracking_numbers"] == []
    assert order["shipping_address"]["city"] == "San Francisco"
    assert response.headers["cache-control"] == "private"
    assert response.headers["x-api-key"].startswith("zn_test_")
    assert len(response.headers["x-api-key"]) == len("zn_test_") + 32


def test_paid_retry_returns_stripe_receipt(sandbox_api: SandboxClient) -> None:
    body = sandbox_api.order_body()
    _, authorization = sandbox_api.stripe_credential(body)

    response = sandbox_api.post_order(body, authorization=authorization)

    receipt = Receipt.from_payment_receipt(response.headers["payment-receipt"])
    assert receipt.status == "success"
    assert receipt.method == "stripe"
    assert receipt.reference.startswith("pi_")
    ledger = sandbox_api.ledger()
    assert ledger["charges"][0]["payment_intent"] == receipt.reference


def test_paid_order_charges_max_price_plus_fee(sandbox_api: SandboxClient) -> None:
    response = sandbox_api.create_paid_order(max_price=6000, idempotency_key="charge-1")

    charges = sandbox_api.ledger("charge-1")["charges"]
    assert len(charges) == 1
    assert charges[0]["amount"] == 6100
    assert charges[0]["currency"] == "usd"
    assert charges[0]["order_id"] == response.json()["id"]


def test_authorization_with_bearer_and_payment_is_accepted(
    sandbox_api: SandboxClient,
) -> None:
    body = sandbox_api.order_body()
    _, authorization = sandbox_api.stripe_credential(body)

    response = sandbox_api.post_order(
        body, authorization=f"Bearer abc, {authorization}"
    )

    assert response.status_code == 201


def test_two_payment_credentials_are_400(sandbox_api: SandboxClient) -> None:
    body = sandbox_api.order_body()
    _, authorization = sandbox_api.stripe_credential(body)

    response = sandbox_api.post_order(
        body, authorization=f"{authorization}, {authorization}"
    )

    assert response.status_code == 400
    assert response.json()["type"] == PROBLEMS + "bad-request"


def test_tempo_hash_payload_creates_order(sandbox_api: SandboxClient) -> None:
    body = sandbox_api.order_body()
    challenge = sandbox_api.challenge(sandbox_api.post_order(body), "tempo")
    tx_hash = "0x" + "ab" * 32
    authorization = sandbox_api.authorization(
        challenge, {"type": "hash", "hash": tx_hash}
    )

    response = sandbox_api.post_order(body, authorization=authorization)

    assert response.status_code == 201
    receipt = Receipt.from_payment_receipt(response.headers["payment-receipt"])
    assert receipt.method == "tempo"
    assert receipt.reference == tx_hash


def test_tempo_hash_reused_for_new_challenge_is_403(sandbox_api: SandboxClient) -> None:
    tx_hash = "0x" + "cd" * 32
    for index, expected_status in enumerate((201, 403)):
        body = sandbox_api.order_body(idempotency_key=f"tempo-{index}")
        challenge = sandbox_api.challenge(sandbox_api.post_order(body), "tempo")
        authorization = sandbox_api.authorization(
            challenge, {"type": "hash", "hash": tx_hash}
        )

        response = sandbox_api.post_order(body, authorization=authorization)

        assert response.status_code == expected_status


# Credential failures.


def _assert_402_problem(response: httpx.Response, slug: str, reason: str) -> None:
    assert response.status_code == 402
    body = response.json()
    assert body["type"] == PROBLEMS + slug
    assert body["error"]["code"] == "payment_failed"
    assert body["error"]["details"]["reason"] == reason
    lines = response.headers.get_list("www-authenticate")
    assert len(lines) == 2
    assert body["challengeId"] == Challenge.from_www_authenticate(lines[0]).id
    assert response.headers["cache-control"] == "no-store"


def test_garbage_credential_is_malformed(sandbox_api: SandboxClient) -> None:
    response = sandbox_api.post_order(
        sandbox_api.order_body(), authorization="Payment bm90IGpzb24"
    )

    _assert_402_problem(response, "malformed-credential", "malformed_credential")


def test_tampered_amount_is_invalid_challenge(sandbox_api: SandboxClient) -> None:
    body = sandbox_api.order_body(max_price=5000)
    challenge = sandbox_api.challenge(sandbox_api.post_order(body))
    cheaper = {**challenge.request, "amount": "101"}
    tampered = replace(
        challenge,
        request=cheaper,
        request_b64=base64.urlsafe_b64encode(
            json.dumps(cheaper, separators=(",", ":"), sort_keys=True).encode()
        )
        .decode()
        .rstrip("="),
    )
    token = sandbox_api.mint_spt(tampered)

    response = sandbox_api.post_order(
        body, authorization=sandbox_api.authorization(tampered, {"spt": token["id"]})
    )

    _assert_402_problem(response, "invalid-challenge", "invalid_challenge")


def test_challenge_for_other_max_price_is_invalid(sandbox_api: SandboxClient) -> None:
    challenge, authorization = sandbox_api.stripe_credential(
        sandbox_api.order_body(max_price=1000)
    )

    response = sandbox_api.post_order(
        sandbox_api.order_body(max_price=9000), authorization=authorization
    )

    _assert_402_problem(response, "invalid-challenge", "invalid_challenge")


def test_changed_body_with_same_amount_is_invalid(sandbox_api: SandboxClient) -> None:
    _, authorization = sandbox_api.stripe_credential(
        sandbox_api.order_body(idempotency_key="a")
    )

    response = sandbox_api.post_order(
        sandbox_api.order_body(idempotency_key="b"), authorization=authorization
    )

    _assert_402_problem(response, "invalid-challenge", "invalid_challenge")


def test_expired_challenge_is_payment_expired(sandbox_api: SandboxClient) -> None:
    body = sandbox_api.order_body()
    _, authorization = sandbox_api.stripe_credential(body)
    sandbox_api.advance(301)

    response = sandbox_api.post_order(body, authorization=authorization)

    _assert_402_problem(response, "payment-expired", "challenge_expired")


def test_payload_without_spt_is_invalid_payload(sandbox_api: SandboxClient) -> None:
    body = sandbox_api.order_body()
    challenge = sandbox_api.challenge(sandbox_api.post_order(body))

    response = sandbox_api.post_order(
        body, authorization=sandbox_api.authorization(challenge, {"token": "tok_1"})
    )

    _assert_402_problem(response, "invalid-payload", "invalid_payload")


def test_settled_credential_replay_is_403(sandbox_api: SandboxClient) -> None:
    body = sandbox_api.order_body()
    _, authorization = sandbox_api.stripe_credential(body)
    assert sandbox_api.post_order(body, authorization=authorization).status_code == 201

    response = sandbox_api.post_order(body, authorization=authorization)

    assert response.status_code == 403
    assert response.json()["type"] == PROBLEMS + "verification-failed"
    assert "www-authenticate" not in response.headers
    assert len(sandbox_api.ledger()["charges"]) == 1


@pytest.mark.parametrize(
    ("payment_method", "decline_code"),
    [
        ("pm_card_visa_chargeDeclined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
    ],
)
def test_declined_card_is_verification_failed(
    sandbox_api: SandboxClient, payment_method: str, decline_code: str
) -> None:
    body = sandbox_api.order_body()
    _, authorization = sandbox_api.stripe_credential(body, payment_method)

    response = sandbox_api.post_order(body, authorization=authorization)

    _assert_402_problem(response, "verification-failed", "card_declined")
    assert response.json()["error"]["details"]["decline_code"] == decline_code
    assert sandbox_api.ledger()["charges"] == []


def test_declined_challenge_cannot_be_reused(sandbox_api: SandboxClient) -> None:
    body = sandbox_api.order_body()
    _, authorization = sandbox_api.stripe_credential(body, "pm_card_chargeDeclined")
    sandbox_api.post_order(body, authorization=authorization)

    response = sandbox_api.post_order(body, authorization=authorization)

    _assert_402_problem(response, "invalid-challenge", "invalid_challenge")


def test_fresh_challenge_after_decline_can_be_paid(sandbox_api: SandboxClient) -> None:
    body = sandbox_api.order_body()
    _, declined = sandbox_api.stripe_credential(body, "pm_card_chargeDeclined")
    failure = sandbox_api.post_order(body, authorization=declined)
    challenge = sandbox_api.challenge(failure)
    token = sandbox_api.mint_spt(challenge, "pm_card_visa")

    response = sandbox_api.post_order(
        body, authorization=sandbox_api.authorization(challenge, {"spt": token["id"]})
    )

    assert response.status_code == 201


def test_requires_action_token_then_confirm_succeeds(
    sandbox_api: SandboxClient,
) -> None:
    body = sandbox_api.order_body()
    challenge = sandbox_api.challenge(sandbox_api.post_order(body))
    token = sandbox_api.mint_spt(challenge, "pm_card_authenticationRequired")
    assert token["status"] == "requires_action"
    assert token["next_action"]["type"] == "use_stripe_sdk"

    first = sandbox_api.post_order(
        body, authorization=sandbox_api.authorization(challenge, {"spt": token["id"]})
    )
    _assert_402_problem(first, "payment-action-required", "requires_action")

    confirmed = sandbox_api.stripe.post(
        f"/v1/shared_payment/issued_tokens/{token['id']}/confirm_action",
        data={"client_secret": token["client_secret"], "key": PUBLISHABLE_KEY},
        headers={"Authorization": ""},
    )
    assert confirmed.json()["status"] == "active"
    fresh = sandbox_api.challenge(first)
    second = sandbox_api.post_order(
        body, authorization=sandbox_api.authorization(fresh, {"spt": token["id"]})
    )
    assert second.status_code == 201


@pytest.mark.parametrize(
    ("mint_args", "reason"),
    [
        ({"network_id": "profile_test_someoneelse"}, "token_seller_mismatch"),
        ({"max_amount": 100}, "token_amount_exceeded"),
    ],
    ids=["other-seller", "limit-too-low"],
)
def test_unusable_token_is_verification_failed(
    sandbox_api: SandboxClient, mint_args: dict, reason: str
) -> None:
    body = sandbox_api.order_body()
    challenge = sandbox_api.challenge(sandbox_api.post_order(body))
    token = sandbox_api.mint_spt(challenge, **mint_args)

    response = sandbox_api.post_order(
        body, authorization=sandbox_api.authorization(challenge, {"spt": token["id"]})
    )

    _assert_402_problem(response, "verification-failed", reason)


def test_revoked_token_is_verification_failed(sandbox_api: SandboxClient) -> None:
    body = sandbox_api.order_body()
    challenge = sandbox_api.challenge(sandbox_api.post_order(body))
    token = sandbox_api.mint_spt(challenge)
    sandbox_api.stripe.post(f"/v1/shared_payment/issued_tokens/{token['id']}/revoke")

    response = sandbox_api.post_order(
        body, authorization=sandbox_api.authorization(challenge, {"spt": token["id"]})
    )

    _assert_402_problem(response, "verification-failed", "token_revoked")


def test_unknown_token_is_verification_failed(sandbox_api: SandboxClient) -> None:
    body = sandbox_api.order_body()
    challenge = sandbox_api.challenge(sandbox_api.post_order(body))

    response = sandbox_api.post_order(
        body, authorization=sandbox_api.authorization(challenge, {"spt": "spt_unknown"})
    )

    _assert_402_problem(response, "verification-failed", "token_not_found")


def test_used_token_is_verification_failed(sandbox_api: SandboxClient) -> None:
    first_body = sandbox_api.order_body(idempotency_key="first")
    challenge = sandbox_api.challenge(sandbox_api.post_order(first_body))
    token = sandbox_api.mint_spt(challenge, max_amount=100_000)
    paid = sandbox_api.post_order(
        first_body,
        authorization=sandbox_api.authorization(challenge, {"spt": token["id"]}),
    )
    assert paid.status_code == 201
    second_body = sandbox_api.order_body(idempotency_key="second")
    second_challenge = sandbox_api.challenge(sandbox_api.post_order(second_body))

    response = sandbox_api.post_order(
        second_body,
        authorization=sandbox_api.authorization(second_challenge, {"spt": token["id"]}),
    )

    _assert_402_problem(response, "verification-failed", "token_consumed")


def test_flat_envelope_applies_to_payment_failures(sandbox_api: SandboxClient) -> None:
    sandbox_api.configure(error_envelope="flat")

    response = sandbox_api.post_order(
        sandbox_api.order_body(), authorization="Payment e30"
    )

    body = response.json()
    assert body["code"] == "payment_failed"
    assert body["details"]["reason"] == "malformed_credential"
    assert body["type"] == PROBLEMS + "malformed-credential"


# Idempotency, concurrency and lost responses.


def test_reused_idempotency_key_is_409_without_charge(
    sandbox_api: SandboxClient,
) -> None:
    sandbox_api.create_paid_order(idempotency_key="dup-1")
    body = sandbox_api.order_body(idempotency_key="dup-1", max_price=7000)

    unpaid = sandbox_api.post_order(body)

    assert unpaid.status_code == 409
    assert unpaid.json() == {
        "error": {
            "code": "already_exists",
            "message": "Order with idempotency key 'dup-1' already exists",
            "details": {"resource": "Order", "identifier": "dup-1"},
        }
    }
    assert len(sandbox_api.ledger()["charges"]) == 1


def test_paid_reused_key_is_409(sandbox_api: SandboxClient) -> None:
    body = sandbox_api.order_body(idempotency_key="dup-2")
    _, authorization = sandbox_api.stripe_credential(body)
    sandbox_api.create_paid_order(idempotency_key="dup-2", max_price=4000)

    response = sandbox_api.post_order(body, authorization=authorization)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "already_exists"
    charges = sandbox_api.ledger()["charges"]
    assert len(charges) == 1
    assert charges[0]["amount"] == 4100


def test_concurrent_paid_retries_create_one_order(sandbox_api: SandboxClient) -> None:
    body = sandbox_api.order_body(idempotency_key="race-1")
    _, authorization = sandbox_api.stripe_credential(body)

    def send(_: int) -> int:
        with httpx.Client(base_url=sandbox_api.zinc_url, timeout=10) as http:
            response = http.post(
                "/agent/orders",
                content=body,
                headers={
                    "Content-Type": "application/json",
                    "Authorization": authorization,
                },
            )
            return response.status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(send, range(20)))

    assert statuses.count(201) == 1
    assert statuses.count(403) == 19
    ledger = sandbox_api.ledger()
    assert len(ledger["orders"]) == 1
    assert len(ledger["charges"]) == 1


def test_drop_after_commit_keeps_order_and_charge(sandbox_api: SandboxClient) -> None:
    body = sandbox_api.order_body(idempotency_key="dropped-1")
    _, authorization = sandbox_api.stripe_credential(body)
    sandbox_api.add_fault(target="create_order", kind="drop_after_commit")

    with pytest.raises(httpx.RemoteProtocolError):
        sandbox_api.post_order(body, authorization=authorization)

    ledger = sandbox_api.ledger("dropped-1")
    assert len(ledger["orders"]) == 1
    assert len(ledger["charges"]) == 1
    assert ledger["orders"][0]["status"] == "pending"


def test_request_counter_counts_paid_retries(sandbox_api: SandboxClient) -> None:
    sandbox_api.create_paid_order()

    response = sandbox_api.zinc.get(
        "/_sandbox/requests", params={"path": "/agent/orders"}
    )

    assert response.json() == {"path": "/agent/orders", "count": 2, "paid_count": 1}


def test_credential_round_trips_through_pympp(sandbox_api: SandboxClient) -> None:
    body = sandbox_api.order_body()
    challenge, authorization = sandbox_api.stripe_credential(body)

    parsed = Credential.from_authorization(authorization)

    assert parsed.challenge.id == challenge.id
    assert parsed.challenge.request == challenge.request_b64
    assert _decode_b64url(parsed.challenge.request)["amount"] == "5100"
