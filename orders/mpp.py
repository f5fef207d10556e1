"""Client side of the Machine Payments Protocol (the HTTP "Payment" auth scheme).

Parsing and encoding go through pympp's core primitives; this module adds what
a careful payer needs on top: splitting challenges that an intermediary folded
into one comma-joined header line, reading the charge request into typed
amounts, and echoing the challenge back byte for byte in the credential.
Nothing here trusts the 402 body: only the WWW-Authenticate headers count.
"""

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import mpp
from mpp import _parsing as mpp_parsing
from mpp.client.transport import _payment_challenges

logger = logging.getLogger(__name__)

# pympp refuses larger encoded values; a challenge line longer than this is
# not worth parsing at all.
MAX_CHALLENGE_LENGTH = 32 * 1024
_DECIMALS_BY_METHOD = {"stripe": 2, "tempo": 6}
_AMOUNT_RE = re.compile(r"^[0-9]{1,18}$")
# RFC 3339 allows any number of fractional digits; Python keeps microseconds.
_FRACTION_RE = re.compile(r"(\.\d{6})\d+")


class ChallengeError(ValueError):
    """A Payment challenge that is malformed or unsafe to pay.

    The message never contains the header value, which may be large or crafted.
    """


@dataclass(frozen=True)
class OfferedChallenge:
    """One Payment challenge, with its charge request read into typed fields."""

    raw: str
    id: str
    realm: str
    method: str
    intent: str
    amount: int
    currency: str
    decimals: int
    expires_at: datetime | None
    description: str
    network_id: str
    recipient: str
    payment_method_types: tuple[str, ...]
    request: dict[str, Any]


@dataclass(frozen=True)
class ReceiptInfo:
    method: str
    reference: str
    timestamp: datetime
    external_id: str | None


def split_challenges(header_values: list[str]) -> list[str]:
    """Return one string per Payment challenge across all WWW-Authenticate lines.

    A line may carry several challenges (and other schemes) joined by commas;
    commas inside quoted values do not split.
    """
    challenges: list[str] = []
    for value in header_values:
        challenges.extend(_payment_challenges(value))
    return challenges


def parse_expires(value: str) -> datetime:
    """Parse an RFC 3339 ``expires`` with any fractional precision."""
    text = _FRACTION_RE.sub(r"\1", value.strip())
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ChallengeError(
            f"expires {value[:40]!r} is not an RFC 3339 time"
        ) from None
    if parsed.tzinfo is None:
        raise ChallengeError(f"expires {value[:40]!r} has no time zone")
    return parsed


def parse_challenge(raw: str) -> OfferedChallenge:
    """Parse one ``Payment ...`` challenge; raise ChallengeError when unusable."""
    if len(raw) > MAX_CHALLENGE_LENGTH:
        raise ChallengeError(
            f"challenge is {len(raw)} characters, over the {MAX_CHALLENGE_LENGTH} limit"
        )
    try:
        challenge = mpp.Challenge.from_www_authenticate(raw)
    except mpp.ParseError as exc:
        raise ChallengeError(f"malformed Payment challenge: {exc}") from None

    # Limits of the columns that store a challenge (orders.PaymentAttempt).
    for name, value, limit in (
        ("id", challenge.id, 255),
        ("realm", challenge.realm, 255),
        ("method", challenge.method, 32),
        ("intent", challenge.intent, 32),
    ):
        if len(value) > limit:
            raise ChallengeError(f"challenge {name} is over {limit} characters")
    request = challenge.request
    if not isinstance(request, dict):
        raise ChallengeError("challenge request is not a JSON object")
    raw_amount = request.get("amount")
    if not isinstance(raw_amount, str) or not _AMOUNT_RE.match(raw_amount):
        raise ChallengeError("challenge amount is missing or not a whole number")
    currency = request.get("currency")
    if not isinstance(currency, str) or not currency or len(currency) > 64:
        raise ChallengeError("challenge currency is missing or over 64 characters")

    details = request.get("methodDetails")
    details = details if isinstance(details, dict) else {}
    for key in ("networkId", "chainId"):
        if len(str(details.get(key) or "")) > 255:
            raise ChallengeError(f"challenge {key} is over 255 characters")
    if len(str(request.get("recipient") or "")) > 255:
        raise ChallengeError("challenge recipient is over 255 characters")
    types = details.get("paymentMethodTypes") or []
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        raise ChallengeError("challenge paymentMethodTypes is not a list of strings")
    if challenge.method == "stripe":
        if not details.get("networkId"):
            raise ChallengeError("stripe challenge has no methodDetails.networkId")
        if not types:
            raise ChallengeError("stripe challenge has no paymentMethodTypes")

    return OfferedChallenge(
        raw=raw.strip(),
        id=challenge.id,
        realm=challenge.realm,
        method=challenge.method,
        intent=challenge.intent,
        amount=int(raw_amount),
        currency=currency.lower() if challenge.method == "stripe" else currency,
        decimals=_DECIMALS_BY_METHOD.get(challenge.method, 2),
        expires_at=parse_expires(challenge.expires) if challenge.expires else None,
        description=challenge.description or "",
        # Stripe names the seller profile; Tempo names the chain.
        network_id=str(details.get("networkId") or details.get("chainId") or ""),
        recipient=str(request.get("recipient") or ""),
        payment_method_types=tuple(types),
        request=request,
    )


def parse_challenges(header_values: list[str]) -> list[OfferedChallenge]:
    """Parse every usable challenge; skip and log the malformed ones."""
    offered = []
    for raw in split_challenges(header_values):
        try:
            offered.append(parse_challenge(raw))
        except ChallengeError as exc:
            logger.warning("Ignoring a Payment challenge: %s", exc)
    return offered


def build_credential(
    raw_challenge: str, payload: dict[str, Any], *, source: str | None = None
) -> str:
    """Return an ``Authorization`` value that pays ``raw_challenge`` with ``payload``.

    Every parameter is echoed exactly as received. pympp's own ``to_echo``
    re-encodes ``opaque`` canonically, which would break the binding with a
    server that encoded it differently, so the echo is built from the raw
    parameters here.
    """
    challenge = mpp.Challenge.from_www_authenticate(raw_challenge)
    params = mpp_parsing._parse_auth_params(raw_challenge.strip()[len("Payment ") :])
    echo = mpp.ChallengeEcho(
        id=challenge.id,
        realm=challenge.realm,
        method=challenge.method,
        intent=challenge.intent,
        request=params["request"],
        expires=params.get("expires"),
        digest=params.get("digest"),
        opaque=params.get("opaque"),
        header=challenge.header,
        description=params.get("description"),
    )
    return mpp.Credential(
        challenge=echo, payload=payload, source=source
    ).to_authorization()


def parse_receipt(header: str) -> ReceiptInfo:
    """Read a ``Payment-Receipt`` header; raise ChallengeError when malformed."""
    try:
        receipt = mpp.Receipt.from_payment_receipt(header)
    except (mpp.ParseError, ValueError) as exc:
        raise ChallengeError(f"malformed Payment-Receipt: {exc}") from None
    return ReceiptInfo(
        method=receipt.method,
        reference=receipt.reference,
        timestamp=receipt.timestamp,
        external_id=receipt.external_id,
    )


def format_amount(amount: int, decimals: int) -> str:
    """Format base units as a decimal string: (5100, 2) -> "51.00"."""
    if decimals == 0:
        return str(amount)
    whole, fraction = divmod(amount, 10**decimals)
    return f"{whole}.{fraction:0{decimals}d}"
