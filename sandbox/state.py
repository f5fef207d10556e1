"""Shared in-memory state of the sandbox: configuration, clock, records and ledger.

Both HTTP servers and the lifecycle thread use one :class:`SandboxState`. Every read
or write of its stores happens while holding ``state.lock``, so a paid request can
verify, consume, charge and create an order as one atomic step.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from sandbox.scenarios import PriceComponents, Scenario
from sandbox.validation import OrderCreate

logger = logging.getLogger(__name__)

ErrorEnvelope = Literal["nested", "flat"]
ERROR_ENVELOPES: tuple[str, ...] = ("nested", "flat")


def isoformat_z(moment: datetime) -> str:
    """Format an aware datetime as RFC 3339 UTC with milliseconds and a ``Z``."""
    return (
        moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def isodate(moment: datetime) -> str:
    return date.isoformat(moment.astimezone(UTC).date())


def new_id(prefix: str, length: int = 24) -> str:
    """Return a Stripe-style id such as ``pi_3f9c...`` with random hex characters."""
    return f"{prefix}_{secrets.token_hex(length // 2)}"


@dataclass
class SandboxConfig:
    """Sandbox settings; ``POST /_sandbox/config`` can change step, TTL, envelope."""

    secret: str
    step_seconds: float = 5.0
    challenge_ttl_seconds: float = 300.0
    error_envelope: ErrorEnvelope = "nested"
    realm: str = "api.zinc.com"
    network_id: str = "profile_test_zincsandbox"
    # Fixed payee address for Tempo challenges; no chain is ever contacted.
    tempo_recipient: str = "0x5a4dbd5a4dbd5a4dbd5a4dbd5a4dbd5a4dbd0001"


class SandboxClock:
    """Real UTC time shifted by an offset that only ever grows."""

    def __init__(self) -> None:
        self._offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    @property
    def offset_seconds(self) -> float:
        return self._offset.total_seconds()

    def advance(self, seconds: float) -> None:
        self._offset += timedelta(seconds=seconds)


@dataclass
class Fault:
    """A scripted failure that the next ``remaining`` matching requests get."""

    id: str
    target: Literal["get_order", "create_order"]
    kind: str
    order_id: str | None
    remaining: int
    retry_after: int
    delay_seconds: float

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class ItemRecord:
    id: str
    url: str
    quantity: int
    variant: list[dict[str, str]] | None
    status: str
    created_at: datetime
    updated_at: datetime


@dataclass
class TrackingRecord:
    id: str
    carrier: str
    tracking_number: str
    status: str
    created_at: datetime
    # Most recent first, as Zinc returns them.
    checkpoints: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class OrderRecord:
    """An order created by a paid ``POST /agent/orders``."""

    id: str
    idempotency_key: str
    request: OrderCreate
    scenario: Scenario
    price: PriceComponents
    created_at: datetime
    api_key: str
    payment_method: str
    payment_reference: str
    challenge_id: str
    charged_amount: int
    items: list[ItemRecord]
    updated_at: datetime
    status: str = "pending"
    attempts: int = 0
    tracking: list[TrackingRecord] = field(default_factory=list)
    job_result: dict[str, Any] | None = None
    merchant_order_ids: list[str] = field(default_factory=list)
    refunded_amount: int = 0
    applied_events: int = 0
    # Rendered order after creation and after every lifecycle event; the "stale"
    # fault serves the second-to-last entry.
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ApiKeyRecord:
    order_id: str
    expired: bool = False


@dataclass
class PaymentMethodRecord:
    id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    # One of sandbox.stripe_cards.CARD_BEHAVIOURS.
    behaviour: str
    created: int


@dataclass
class IssuedTokenRecord:
    """A shared payment token (SPT) as its issuer and its seller both see it."""

    id: str
    payment_method: str
    seller_profile: str
    seller_external_id: str | None
    currency: str
    max_amount: int
    expires_at: int
    shared_metadata: dict[str, Any]
    return_url: str | None
    status: str
    client_secret: str
    created: int
    deactivated_reason: str | None = None
    deactivated_at: int | None = None


@dataclass
class PaymentIntentRecord:
    id: str
    amount: int
    currency: str
    status: str
    shared_payment_token: str | None
    payment_method: str | None
    metadata: dict[str, Any]
    created: int
    latest_charge: str | None = None
    amount_refunded: int = 0
    last_payment_error: dict[str, Any] | None = None


@dataclass
class RefundRecord:
    id: str
    payment_intent: str
    amount: int
    currency: str
    reason: str | None
    metadata: dict[str, Any]
    created: int


@dataclass
class StoredResponse:
    """A Stripe response kept for ``Idempotency-Key`` replays."""

    fingerprint: str
    status: int
    body: dict[str, Any]


class SandboxState:
    """All mutable sandbox data. Callers hold ``lock`` while touching any store."""

    def __init__(self, config: SandboxConfig) -> None:
        self.lock = threading.RLock()
        self.initial_config = config
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.config = dataclasses.replace(self.initial_config)
            self.clock = SandboxClock()
            # Zinc side.
            self.orders: dict[str, OrderRecord] = {}
            self.orders_by_idempotency_key: dict[str, str] = {}
            self.api_keys: dict[str, ApiKeyRecord] = {}
            self.consumed_challenges: set[str] = set()
            self.settled_challenges: dict[str, str] = {}
            self.used_tempo_references: set[str] = set()
            # Stripe side.
            self.payment_methods: dict[str, PaymentMethodRecord] = {}
            self.issued_tokens: dict[str, IssuedTokenRecord] = {}
            self.payment_intents: dict[str, PaymentIntentRecord] = {}
            self.refunds: dict[str, RefundRecord] = {}
            self.stripe_idempotency: dict[str, StoredResponse] = {}
            # Control plane.
            self.ledger_charges: list[dict[str, Any]] = []
            self.ledger_refunds: list[dict[str, Any]] = []
            self.faults: list[Fault] = []
            self.request_counts: Counter[str] = Counter()
            self.paid_request_counts: Counter[str] = Counter()

    def now(self) -> datetime:
        return self.clock.now()

    def unix_now(self) -> int:
        return int(self.now().timestamp())

    def count_request(self, path: str, *, paid: bool) -> None:
        with self.lock:
            self.request_counts[path] += 1
            if paid:
                self.paid_request_counts[path] += 1

    def record_charge(
        self,
        *,
        method: str,
        reference: str,
        payment_intent: str | None,
        amount: int,
        challenge_id: str | None,
        order_id: str | None,
        idempotency_key: str | None,
    ) -> None:
        self.ledger_charges.append(
            {
                "payment_intent": payment_intent,
                "method": method,
                "reference": reference,
                "amount": amount,
                "currency": "usd",
                "challenge_id": challenge_id,
                "order_id": order_id,
                "idempotency_key": idempotency_key,
                "created_at": isoformat_z(self.now()),
            }
        )

    def record_refund(
        self,
        *,
        refund_id: str | None,
        method: str,
        reference: str,
        payment_intent: str | None,
        amount: int,
        reason: str,
        order_id: str | None,
    ) -> None:
        self.ledger_refunds.append(
            {
                "id": refund_id,
                "payment_intent": payment_intent,
                "method": method,
                "reference": reference,
                "amount": amount,
                "currency": "usd",
                "reason": reason,
                "order_id": order_id,
                "created_at": isoformat_z(self.now()),
            }
        )

    def take_fault(
        self, target: str, order_id: str | None, kinds: tuple[str, ...]
    ) -> Fault | None:
        """Return and use up one matching fault, or None when none applies."""
        with self.lock:
            for fault in self.faults:
                if fault.target != target or fault.kind not in kinds:
                    continue
                if fault.order_id is not None and fault.order_id != order_id:
                    continue
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.faults.remove(fault)
                logger.info(
                    "Injecting fault %s (%s) on %s order_id=%s",
                    fault.id,
                    fault.kind,
                    target,
                    order_id,
                )
                return fault
        return None
