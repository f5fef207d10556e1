"""Exact vectors for the MPP client codec in orders.mpp."""

import base64
import json
from datetime import UTC, datetime

import pytest
from mpp import Challenge

from orders import mpp as codec

SECRET = "test-secret"
STRIPE_REQUEST = {
    "amount": "5100",
    "currency": "usd",
    "methodDetails": {
        "networkId": "profile_test_zinc",
        "paymentMethodTypes": ["card", "link"],
    },
}
TEMPO_REQUEST = {
    "amount": "51000000",
    "currency": "0x20c0000000000000000000000000000000000000",
    "recipient": "0x" + "ab" * 20,
    "methodDetails": {"chainId": 42431},
}


def _b64(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_credential(authorization: str) -> dict:
    token = authorization.removeprefix("Payment ")
    padded = token + "=" * (-len(token) % 4)
    return json.loads(base64.urlsafe_b64decode(padded))


def _header(method: str, request: dict, **extra: str) -> str:
    challenge = Challenge.create(
        secret_key=SECRET,
        realm="api.zinc.com",
        method=method,
        intent="charge",
        request=request,
        expires=extra.pop("expires", "2026-12-04T12:05:00Z"),
        **extra,
    )
    return challenge.to_www_authenticate("api.zinc.com")


def test_parse_stripe_challenge_reads_typed_fields():
    offered = codec.parse_challenge(_header("stripe", STRIPE_REQUEST))

    assert offered.method == "stripe"
    assert offered.intent == "charge"
    assert offered.realm == "api.zinc.com"
    assert offered.amount == 5100
    assert offered.currency == "usd"
    assert offered.decimals == 2
    assert offered.network_id == "profile_test_zinc"
    assert offered.payment_method_types == ("card", "link")
    assert offered.expires_at == datetime(2026, 12, 4, 12, 5, tzinfo=UTC)


def test_parse_tempo_challenge_uses_six_decimals():
    offered = codec.parse_challenge(_header("tempo", TEMPO_REQUEST))

    assert offered.amount == 51_000_000
    assert offered.decimals == 6
    assert offered.recipient == "0x" + "ab" * 20
    assert codec.format_amount(offered.amount, offered.decimals) == "51.000000"


def test_split_separate_header_lines():
    lines = [_header("stripe", STRIPE_REQUEST), _header("tempo", TEMPO_REQUEST)]

    offered = codec.parse_challenges(lines)

    assert [challenge.method for challenge in offered] == ["stripe", "tempo"]


def test_split_folded_header_with_quoted_commas():
    stripe = _header("stripe", STRIPE_REQUEST, description="Max $50, plus fee, ok")
    tempo = _header("tempo", TEMPO_REQUEST)
    folded = f'Bearer realm="other", {stripe}, {tempo}'

    offered = codec.parse_challenges([folded])

    assert [challenge.method for challenge in offered] == ["stripe", "tempo"]
    assert offered[0].description == "Max $50, plus fee, ok"


def test_unknown_parameters_are_ignored():
    header = _header("stripe", STRIPE_REQUEST) + ', future_param="x", other=token'

    offered = codec.parse_challenge(header)

    assert offered.amount == 5100


def test_unicode_escape_in_description_is_decoded():
    header = (
        f'Payment id="abc", realm="api.zinc.com", method="stripe", '
        f'intent="charge", request="{_b64(STRIPE_REQUEST)}", '
        'description="Caf\\u00e9 order \\u2014 2 items"'
    )

    offered = codec.parse_challenge(header)

    assert offered.description == "Café order — 2 items"


@pytest.mark.parametrize(
    ("expires", "expected"),
    [
        ("2026-12-04T12:05:00Z", datetime(2026, 12, 4, 12, 5, tzinfo=UTC)),
        ("2026-12-04T12:05:00.000Z", datetime(2026, 12, 4, 12, 5, tzinfo=UTC)),
        (
            "2026-12-04T12:05:00.123456789Z",
            datetime(2026, 12, 4, 12, 5, 0, 123456, tzinfo=UTC),
        ),
        ("2026-12-04T13:05:00+01:00", datetime(2026, 12, 4, 12, 5, tzinfo=UTC)),
    ],
)
def test_expires_accepts_any_precision(expires, expected):
    assert codec.parse_expires(expires) == expected


def test_expires_without_time_zone_is_rejected():
    with pytest.raises(codec.ChallengeError, match="no time zone"):
        codec.parse_expires("2026-12-04T12:05:00")


def test_missing_realm_is_rejected():
    header = (
        f'Payment id="abc", method="stripe", intent="charge", '
        f'request="{_b64(STRIPE_REQUEST)}"'
    )

    with pytest.raises(codec.ChallengeError, match="realm"):
        codec.parse_challenge(header)


def test_malformed_base64_request_is_rejected():
    header = (
        'Payment id="abc", realm="r", method="stripe", intent="charge", '
        'request="!!!not-base64!!!"'
    )

    with pytest.raises(codec.ChallengeError, match="malformed"):
        codec.parse_challenge(header)


def test_oversize_challenge_is_rejected():
    header = _header("stripe", {**STRIPE_REQUEST, "pad": "x" * 40_000})

    with pytest.raises(codec.ChallengeError, match="over the"):
        codec.parse_challenge(header)


def test_stripe_challenge_without_network_id_is_rejected():
    request = {"amount": "100", "currency": "usd", "methodDetails": {}}

    with pytest.raises(codec.ChallengeError, match="networkId"):
        codec.parse_challenge(_header("stripe", request))


def test_non_numeric_amount_is_rejected():
    request = {**STRIPE_REQUEST, "amount": "51.00"}

    with pytest.raises(codec.ChallengeError, match="whole number"):
        codec.parse_challenge(_header("stripe", request))


def test_malformed_challenges_are_skipped_not_fatal():
    good = _header("stripe", STRIPE_REQUEST)
    bad = 'Payment id="x", realm="r", method="stripe"'

    offered = codec.parse_challenges([bad, good])

    assert len(offered) == 1
    assert offered[0].amount == 5100


def test_credential_echoes_every_parameter_verbatim():
    # opaque is deliberately not canonical JSON (keys unsorted, spaces), so a
    # re-encoding echo would differ from what the server signed.
    opaque = base64.urlsafe_b64encode(b'{"z": "1", "a": "2"}').decode().rstrip("=")
    request = _b64(STRIPE_REQUEST)
    header = (
        f'Payment id="id-1", realm="api.zinc.com", method="stripe", '
        f'intent="charge", request="{request}", expires="2026-12-04T12:05:00.000Z", '
        f'description="Caf\\u00e9", digest="sha-256=:abc=:", opaque="{opaque}"'
    )

    credential = _decode_credential(codec.build_credential(header, {"spt": "spt_1"}))

    assert credential["challenge"] == {
        "id": "id-1",
        "realm": "api.zinc.com",
        "method": "stripe",
        "intent": "charge",
        "request": request,
        "expires": "2026-12-04T12:05:00.000Z",
        "description": "Café",
        "digest": "sha-256=:abc=:",
        "opaque": opaque,
    }
    assert credential["payload"] == {"spt": "spt_1"}


def test_credential_for_pympp_challenge_verifies_on_server_side():
    header = _header("stripe", STRIPE_REQUEST)

    credential = _decode_credential(codec.build_credential(header, {"spt": "spt_2"}))
    echoed = Challenge(
        id=credential["challenge"]["id"],
        method=credential["challenge"]["method"],
        intent=credential["challenge"]["intent"],
        request=STRIPE_REQUEST,
        realm=credential["challenge"]["realm"],
        expires=credential["challenge"]["expires"],
    )

    assert echoed.verify(SECRET, "api.zinc.com") is True


def test_receipt_is_read():
    receipt = _b64(
        {
            "status": "success",
            "method": "stripe",
            "timestamp": "2026-12-04T12:04:32Z",
            "reference": "pi_123",
        }
    )

    info = codec.parse_receipt(receipt)

    assert info.method == "stripe"
    assert info.reference == "pi_123"
    assert info.timestamp == datetime(2026, 12, 4, 12, 4, 32, tzinfo=UTC)


def test_malformed_receipt_is_rejected():
    with pytest.raises(codec.ChallengeError, match="Payment-Receipt"):
        codec.parse_receipt(_b64({"status": "failed"}))


def test_overlong_challenge_id_is_rejected():
    header = (
        f'Payment id="{"x" * 300}", realm="api.zinc.com", method="stripe", '
        f'intent="charge", request="{_b64(STRIPE_REQUEST)}"'
    )

    with pytest.raises(codec.ChallengeError, match="id is over 255"):
        codec.parse_challenge(header)


def test_overlong_currency_is_rejected():
    request = {**STRIPE_REQUEST, "currency": "u" * 65}

    with pytest.raises(codec.ChallengeError, match="currency"):
        codec.parse_challenge(_header("stripe", request))
