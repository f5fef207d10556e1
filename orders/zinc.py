"""HTTP client for Zinc's ordering API and pydantic models of its payloads.

The same client talks to api.zinc.com in production and to the local sandbox
in development and tests; only ZINC_API_URL differs. Zinc's documentation
disagrees with itself in places (error envelopes, status spellings), so the
models here accept every shape seen in the wild and normalise it once.
"""

import json
import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

import httpx
from django.conf import settings
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

logger = logging.getLogger(__name__)


# --- request models ----------------------------------------------------------


class ProductVariant(BaseModel):
    label: str = Field(min_length=1)
    value: str = Field(min_length=1)


class OrderProduct(BaseModel):
    url: str = Field(min_length=1)
    quantity: int = Field(default=1, ge=1, le=100)
    variant: list[ProductVariant] | None = None


class Address(BaseModel):
    first_name: str
    last_name: str
    address_line1: str
    address_line2: str | None = None
    city: str
    state: str | None = None
    postal_code: str
    phone_number: str
    country: str = "US"


class OrderCreate(BaseModel):
    products: list[OrderProduct] = Field(min_length=1)
    shipping_address: Address
    max_price: int = Field(ge=0)
    idempotency_key: str | None = Field(default=None, max_length=36)
    retailer_credentials_id: str | None = None
    metadata: dict[str, Any] | None = None
    po_number: str | None = None

    def to_body(self) -> bytes:
        """Serialise once; the paid retry must resend exactly these bytes."""
        payload = self.model_dump(mode="json", exclude_none=True)
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


# --- response models ---------------------------------------------------------

# Zinc's documents use three vocabularies for order status; this maps every
# spelling seen to the order statuses of the OpenAPI schema.
_STATUS_ALIASES = {
    "pending": "pending",
    "queued": "pending",
    "in_progress": "in_progress",
    "processing": "in_progress",
    "order_placed": "order_placed",
    "placed": "order_placed",
    "ordered": "order_placed",
    "shipped": "order_placed",
    "delivered": "order_placed",
    "order_failed": "order_failed",
    "failed": "order_failed",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "cancelled_by_retailer": "cancelled_by_retailer",
    "canceled_by_retailer": "cancelled_by_retailer",
}

ZincStatus = Literal[
    "pending",
    "in_progress",
    "order_placed",
    "order_failed",
    "cancelled",
    "cancelled_by_retailer",
]


def normalise_status(raw: str) -> ZincStatus:
    """Map any of Zinc's status spellings to one order status, or raise."""
    value = _STATUS_ALIASES.get(raw.strip().lower())
    if value is None:
        raise ValueError(f"unknown Zinc order status {raw!r}")
    return value  # type: ignore[return-value]


class _Lenient(BaseModel):
    # Zinc adds fields weekly; unknown ones are kept, never rejected.
    model_config = ConfigDict(extra="allow")


class PriceComponents(_Lenient):
    subtotal: int | None = None
    tax: int | None = None
    shipping: int | None = None
    total: int | None = None
    currency: str | None = None


class JobResult(_Lenient):
    success: bool | None = None
    error: str | None = None
    error_type: str | None = None
    estimated_delivery: date | None = None
    merchant_order_ids: list[Any] = Field(default_factory=list)
    price_components: PriceComponents | None = None

    @field_validator("estimated_delivery", mode="before")
    @classmethod
    def _date_from_datetime(cls, value: Any) -> Any:
        if isinstance(value, str) and "T" in value:
            return value.split("T", 1)[0]
        return value

    def merchant_order_id_strings(self) -> list[str]:
        """Return merchant order ids whether Zinc sent strings or objects."""
        ids = []
        for entry in self.merchant_order_ids:
            if isinstance(entry, dict):
                entry = entry.get("merchant_order_id") or entry.get("id")
            if entry:
                ids.append(str(entry))
        return ids


class TrackingNumberResponse(_Lenient):
    id: str
    carrier: str
    tracking_number: str
    status: str = "pending"
    created_at: datetime | None = None
    checkpoints: list[dict[str, Any]] = Field(default_factory=list)


class OrderItemResponse(_Lenient):
    id: str
    url: str
    quantity: int
    status: str = "pending"
    variant: list[ProductVariant] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class OrderResponse(_Lenient):
    id: str
    status: ZincStatus
    max_price: int
    attempts: int = 0
    items: list[OrderItemResponse] = Field(default_factory=list)
    shipping_address: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] | None = None
    po_number: str | None = None
    retailer_credentials_id: str | None = None
    tracking_numbers: list[TrackingNumberResponse] = Field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    job_result: JobResult | None = None
    price_components: PriceComponents | None = None
    merchant_order_id: str | None = None

    @field_validator("status", mode="before")
    @classmethod
    def _normalise_status(cls, value: Any) -> Any:
        return normalise_status(value) if isinstance(value, str) else value

    def effective_price_components(self) -> PriceComponents | None:
        if self.job_result and self.job_result.price_components:
            return self.job_result.price_components
        return self.price_components


class ValidationDetail(_Lenient):
    loc: list[str | int]
    msg: str
    type: str = ""


@dataclass
class ZincError:
    """An error answer from Zinc in either envelope, or FastAPI's 422 shape."""

    status_code: int
    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    validation: list[ValidationDetail] = field(default_factory=list)

    @classmethod
    def from_response(cls, response: httpx.Response) -> "ZincError":
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return cls(response.status_code, "unexpected_response", _snippet(response))
        if isinstance(body.get("detail"), list):
            details = []
            for raw in body["detail"]:
                try:
                    details.append(ValidationDetail.model_validate(raw))
                except ValidationError:
                    logger.warning("Ignoring malformed 422 detail entry from Zinc")
            return cls(
                response.status_code,
                "validation_error",
                "Zinc rejected the order's fields.",
                validation=details,
            )
        # Zinc's docs show a flat {code, message, details}; its newer skills
        # document {error: {code, message, details}}. Accept both.
        envelope = body.get("error") if isinstance(body.get("error"), dict) else body
        code = envelope.get("code") or body.get("type") or "unknown_error"
        message = (
            envelope.get("message") or body.get("detail") or body.get("title") or ""
        )
        details = envelope.get("details")
        return cls(
            response.status_code,
            str(code),
            str(message),
            details=details if isinstance(details, dict) else {},
        )


def _snippet(response: httpx.Response) -> str:
    return response.text[:200] if response.text else f"HTTP {response.status_code}"


# --- client ------------------------------------------------------------------


class ZincTransportError(Exception):
    """The request may or may not have reached Zinc (timeout, dropped connection).

    ``sent`` is True when the request was written before the failure, so the
    outcome at Zinc is unknown.
    """

    def __init__(self, message: str, *, sent: bool) -> None:
        super().__init__(message)
        self.sent = sent


class ZincClient:
    """A thin synchronous client; one instance can be shared by many polls."""

    def __init__(self, http_client: httpx.Client | None = None) -> None:
        self._http = http_client or build_http_client()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "ZincClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def post_agent_order(
        self, body: bytes, *, authorization: str | None = None
    ) -> httpx.Response:
        """POST /agent/orders with the exact body bytes; returns the raw response.

        The caller interprets 201/400/402/409/422, because each needs the raw
        headers (challenges, X-Api-Key, Payment-Receipt).
        """
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if authorization:
            headers["Authorization"] = authorization
        return self._send("POST", "/agent/orders", content=body, headers=headers)

    def get_order(self, order_id: str, api_key: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
        return self._send("GET", f"/orders/{order_id}", headers=headers)

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ZincTransportError(
                f"Could not connect to Zinc at {settings.ZINC_API_URL}: {exc}",
                sent=False,
            ) from exc
        except httpx.TransportError as exc:
            # Read timeouts, resets and protocol errors happen after the
            # request left this machine: Zinc may have acted on it.
            raise ZincTransportError(
                f"Connection to Zinc failed after sending {method} {path}: {exc!r}",
                sent=True,
            ) from exc


def build_http_client() -> httpx.Client:
    timeout = httpx.Timeout(
        connect=settings.ZINC_CONNECT_TIMEOUT_SECONDS,
        read=settings.ZINC_READ_TIMEOUT_SECONDS,
        write=settings.ZINC_READ_TIMEOUT_SECONDS,
        pool=settings.ZINC_CONNECT_TIMEOUT_SECONDS,
    )
    return httpx.Client(
        base_url=settings.ZINC_API_URL,
        timeout=timeout,
        headers={"User-Agent": "ZincDash/0.1"},
        # A redirect must never carry a payment credential to another host.
        follow_redirects=False,
    )


def parse_order(response: httpx.Response) -> OrderResponse:
    """Parse a 200/201 order body; raises pydantic.ValidationError on a bad one."""
    return OrderResponse.model_validate_json(response.content)
