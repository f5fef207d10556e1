"""Validation of the ``OrderCreate`` body of ``POST /agent/orders``.

Schema errors become FastAPI's 422 ``{"detail": [...]}`` shape, because Zinc's API is
built on FastAPI and pydantic produces the same ``loc``, ``msg`` and ``type`` values.
Semantic errors become Zinc's 400 envelope, raised as :class:`ZincError`.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError

from sandbox.scenarios import SUPPORTED_RETAILERS, retailer_host, scenario_for_url

logger = logging.getLogger(__name__)

# NOTE: integers and booleans are strict, so "5000" or 50.0 for max_price is a 422.
# FastAPI's default lax mode would accept both. The sandbox is stricter on purpose,
# so that a client sending the wrong JSON type fails here first.
StrictInt = Annotated[int, Strict()]
StrictBool = Annotated[bool, Strict()]

Condition = Literal[
    "New", "Refurbished", "UsedLikeNew", "UsedVeryGood", "UsedGood", "UsedAcceptable"
]

# USPS codes of the states, DC, the territories and the military post offices.
_US_STATE_CODE_TEXT = """
AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT
NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY
AS GU MP PR VI AA AE AP
"""
US_STATE_CODES = frozenset(_US_STATE_CODE_TEXT.split())
US_ZIP_RE = re.compile(r"^\d{5}(-\d{4})?$")
COUNTRY_CODE_RE = re.compile(r"^[A-Z]{2}$")


class ZincError(Exception):
    """An error that Zinc returns in its ``{code, message, details}`` envelope."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or []


class RequestValidationError(Exception):
    """A body that fails schema validation, with FastAPI-shaped error entries."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(errors)} validation error(s)")
        self.errors = errors


class ProductVariant(BaseModel):
    label: str = Field(min_length=1)
    value: str = Field(min_length=1)


class OrderProduct(BaseModel):
    url: str
    quantity: StrictInt = Field(default=1, ge=1, le=100)
    variant: list[ProductVariant] | None = None
    condition_in: list[Condition] | None = None
    condition_not_in: list[Condition] | None = None


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
    # FastAPI ignores unknown body fields by default, and so does Zinc.
    model_config = ConfigDict(extra="ignore")

    products: list[OrderProduct] = Field(min_length=1)
    shipping_address: Address
    max_price: StrictInt
    idempotency_key: str | None = Field(default=None, max_length=36)
    retailer_credentials_id: str | None = None
    metadata: dict[str, Any] | None = None
    po_number: str | None = None
    handling_days_max: StrictInt | None = Field(default=None, ge=1)
    is_gift: StrictBool = False


def parse_order_body(body: bytes) -> OrderCreate:
    """Parse and schema-validate a raw request body.

    Raises RequestValidationError with every error found, in FastAPI's shape.
    """
    if not body.strip():
        raise RequestValidationError(
            [
                {
                    "type": "missing",
                    "loc": ["body"],
                    "msg": "Field required",
                    "input": None,
                }
            ]
        )
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        position = error.pos if isinstance(error, json.JSONDecodeError) else 0
        reason = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
        raise RequestValidationError(
            [
                {
                    "type": "json_invalid",
                    "loc": ["body", position],
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": reason},
                }
            ]
        ) from None
    try:
        return OrderCreate.model_validate(data)
    except ValidationError as error:
        raise RequestValidationError(_fastapi_errors(error)) from None


def _fastapi_errors(error: ValidationError) -> list[dict[str, Any]]:
    # Round-trip through JSON so ctx values such as compiled patterns become strings.
    entries = json.loads(error.json(include_url=False))
    for entry in entries:
        entry["loc"] = ["body", *entry["loc"]]
    return entries


def check_order_semantics(order: OrderCreate) -> None:
    """Apply Zinc's pre-payment checks on URLs, retailers and the address.

    Raises ZincError(400) for the first problem found. Zinc runs these before it
    issues a payment challenge, so nothing is charged for a rejected body.
    """
    if order.max_price <= 0:
        raise _validation_error(
            "max_price", "max_price must be a positive number of cents."
        )
    hosts = [
        _check_product_url(index, product.url)
        for index, product in enumerate(order.products)
    ]
    if len(set(hosts)) > 1:
        found = ", ".join(sorted(set(hosts)))
        raise _validation_error(
            "products",
            f"All products in one order must come from one retailer; found {found}.",
        )
    _check_address(order.shipping_address)
    for index, product in enumerate(order.products):
        sync_error = scenario_for_url(product.url).sync_error
        if sync_error is None:
            continue
        field = sync_error.field
        if field == "url":
            field = f"products[{index}].url"
        raise ZincError(
            400,
            sync_error.code,
            sync_error.reason,
            {"field": field, "reason": sync_error.reason},
        )


def _validation_error(
    field: str, reason: str, code: str = "validation_error"
) -> ZincError:
    return ZincError(400, code, reason, {"field": field, "reason": reason})


def _check_product_url(index: int, url: str) -> str:
    field = f"products[{index}].url"
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    host = retailer_host(url) if scheme in ("http", "https") else ""
    if not host:
        raise _validation_error(
            field, f"Product URL must be an absolute http(s) URL, got {url!r}."
        )
    if host not in SUPPORTED_RETAILERS:
        raise _validation_error(
            field,
            f"Retailer {host!r} is not supported; GET /retailers lists supported ones.",
            code="invalid_product_url",
        )
    return host


def _check_address(address: Address) -> None:
    for field in ("first_name", "last_name", "address_line1", "city", "postal_code"):
        if not getattr(address, field).strip():
            raise _address_error(field, f"{field} must not be empty.")
    if not address.phone_number.strip():
        raise _address_error("phone_number", "phone_number must not be empty.")
    if not COUNTRY_CODE_RE.match(address.country):
        raise _address_error(
            "country",
            "country must be an ISO 3166-1 alpha-2 code such as 'US', "
            f"got {address.country!r}.",
        )
    if address.country != "US":
        return
    state = (address.state or "").strip()
    if not state:
        raise _address_error("state", "state is required for US addresses.")
    if state.upper() not in US_STATE_CODES:
        raise _address_error(
            "state",
            "state must be a 2-letter US state code such as 'CA', "
            f"got {address.state!r}.",
        )
    if not US_ZIP_RE.match(address.postal_code.strip()):
        raise _address_error(
            "postal_code",
            "postal_code must be a US ZIP code such as '94103' or '94103-1234', "
            f"got {address.postal_code!r}.",
        )


def _address_error(field: str, reason: str) -> ZincError:
    return ZincError(
        400, "invalid_shipping_address", reason, {"field": field, "reason": reason}
    )
