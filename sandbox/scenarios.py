"""Test products, their scripted outcomes and the sandbox's price rules.

A product URL ``https://zinc.com/shop/products/<slug>`` selects a scenario, as in
Zinc's own sandbox. Any other URL on a supported retailer behaves like
``test-success`` with a unit price derived from the URL.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

TEST_PRODUCT_HOST = "zinc.com"
TEST_PRODUCT_PREFIX = "/shop/products/"

# Retailer hosts Zinc lists as supported in its public /retailers catalogue.
SUPPORTED_RETAILERS: dict[str, str] = {
    "amazon.com": "Amazon",
    "walmart.com": "Walmart",
    "target.com": "Target",
    "bestbuy.com": "Best Buy",
    "homedepot.com": "The Home Depot",
    "lowes.com": "Lowe's",
    "wayfair.com": "Wayfair",
    "ebay.com": "eBay",
    "acehardware.com": "Ace Hardware",
    "1800flowers.com": "1-800-Flowers",
    "pokemoncenter.com": "Pokémon Center",
    "zinc.com": "Zinc (test retailer)",
}

# Timeline event names, applied in order by sandbox.lifecycle.
START = "start"
RETRY = "retry"
PLACE = "place"
SHIP = "ship"
DELIVER = "deliver"
FAIL = "fail"
CANCEL = "cancel"

SANDBOX_UNIT_PRICE_CENTS = 4500
SHIPPING_CENTS = 150
# 5.56 % turns Zinc's documented test subtotal of 4500 into its documented tax of 250.
TAX_RATE = Decimal("0.0556")
GENERIC_PRICE_MIN_CENTS = 1000
GENERIC_PRICE_SPAN_CENTS = 8001


@dataclass(frozen=True)
class SyncError:
    """A 400 that the scenario triggers before any payment is requested."""

    code: str
    field: str
    reason: str


@dataclass(frozen=True)
class Scenario:
    """Scripted behaviour of one test product.

    ``timeline`` lists ``(step, event)`` pairs, where an event fires once the order
    is ``step`` lifecycle steps old. ``severity`` ranks scenarios so an order
    with several products follows its worst one.
    """

    name: str
    slug: str
    title: str
    severity: int
    timeline: tuple[tuple[int, str], ...] = ()
    sync_error: SyncError | None = None
    failure_type: str | None = None
    failure_message: str | None = None
    carriers: tuple[str, ...] = ("usps",)
    exceeds_max_price: bool = False

    @property
    def url(self) -> str:
        return f"https://{TEST_PRODUCT_HOST}{TEST_PRODUCT_PREFIX}{self.slug}"


_PLACED_TIMELINE = ((1, START), (2, PLACE), (3, SHIP), (5, DELIVER))
_FAILED_TIMELINE = ((1, START), (2, FAIL))

SUCCESS = Scenario(
    name="success",
    slug="test-success",
    title="Order is placed and delivered",
    severity=0,
    timeline=_PLACED_TIMELINE,
)
GENERIC = SUCCESS

SCENARIOS: tuple[Scenario, ...] = (
    SUCCESS,
    Scenario(
        name="split_shipment",
        slug="test-split-shipment",
        title="Order ships in two packages with different carriers",
        severity=1,
        timeline=_PLACED_TIMELINE,
        carriers=("ups", "fedex"),
    ),
    Scenario(
        name="slow",
        slug="test-slow",
        title="Order stays in progress for ten steps, with retries",
        severity=2,
        timeline=(
            (1, START),
            (3, RETRY),
            (5, RETRY),
            (7, RETRY),
            (9, RETRY),
            (11, PLACE),
            (12, SHIP),
            (14, DELIVER),
        ),
    ),
    Scenario(
        name="cancelled_by_retailer",
        slug="test-cancelled-by-retailer",
        title="Order is placed, then cancelled by the retailer",
        severity=3,
        timeline=((1, START), (2, PLACE), (4, CANCEL)),
    ),
    Scenario(
        name="price_exceeded",
        slug="test-price-exceeded",
        title="Order fails because the total exceeds max_price",
        severity=4,
        timeline=_PLACED_TIMELINE,
        exceeds_max_price=True,
    ),
    Scenario(
        name="shipping_unavailable",
        slug="test-shipping-unavailable",
        title="Order fails because the retailer cannot ship to the address",
        severity=5,
        timeline=_FAILED_TIMELINE,
        failure_type="shipping_unavailable",
        failure_message="The retailer does not ship this product to the address.",
    ),
    Scenario(
        name="invalid_variant",
        slug="test-invalid-variant",
        title="Order fails because the variant is not on the product page",
        severity=6,
        timeline=_FAILED_TIMELINE,
        failure_type="invalid_variant",
        failure_message="The requested variant was not found on the product page.",
    ),
    Scenario(
        name="out_of_stock",
        slug="test-out-of-stock",
        title="Order fails because the product is out of stock",
        severity=7,
        timeline=_FAILED_TIMELINE,
        failure_type="product_out_of_stock",
        failure_message="The product is out of stock at the retailer.",
    ),
    Scenario(
        name="url_unreachable",
        slug="test-url-unreachable",
        title="Request is rejected because the product page cannot be reached",
        severity=8,
        sync_error=SyncError(
            code="url_unreachable",
            field="url",
            reason="The product page could not be reached.",
        ),
    ),
    Scenario(
        name="invalid_address",
        slug="test-invalid-address",
        title="Request is rejected because the address cannot be verified",
        severity=9,
        sync_error=SyncError(
            code="invalid_shipping_address",
            field="address_line1",
            reason="The shipping address could not be verified.",
        ),
    ),
)

_SCENARIOS_BY_SLUG = {scenario.slug: scenario for scenario in SCENARIOS}


def retailer_host(url: str) -> str:
    """Return the URL's host in lower case without a leading ``www.``."""
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def scenario_for_url(url: str) -> Scenario:
    """Return the scenario a product URL selects, or the generic success one."""
    if retailer_host(url) != TEST_PRODUCT_HOST:
        return GENERIC
    path = urlsplit(url).path
    if not path.startswith(TEST_PRODUCT_PREFIX):
        return GENERIC
    slug = path.removeprefix(TEST_PRODUCT_PREFIX).strip("/")
    return _SCENARIOS_BY_SLUG.get(slug, GENERIC)


def worst_scenario(urls: list[str]) -> Scenario:
    """Return the highest-severity scenario among the order's product URLs."""
    return max((scenario_for_url(url) for url in urls), key=lambda s: s.severity)


def unit_price_cents(url: str) -> int:
    """Return the sandbox unit price of a product in cents.

    Test products cost 4500, like Zinc's documented sandbox example. Other URLs get
    a stable price from 10.00 to 90.00, derived from a SHA-256 of the URL.
    """
    if retailer_host(url) == TEST_PRODUCT_HOST:
        return SANDBOX_UNIT_PRICE_CENTS
    digest = hashlib.sha256(url.encode("utf-8")).digest()
    offset = int.from_bytes(digest[:8], "big") % GENERIC_PRICE_SPAN_CENTS
    return GENERIC_PRICE_MIN_CENTS + offset


@dataclass(frozen=True)
class PriceComponents:
    """Retailer charges for one order, in cents."""

    subtotal: int
    tax: int
    shipping: int

    @property
    def total(self) -> int:
        return self.subtotal + self.tax + self.shipping

    def to_json(self) -> dict[str, int | str]:
        return {
            "subtotal": self.subtotal,
            "tax": self.tax,
            "shipping": self.shipping,
            "total": self.total,
            "currency": "usd",
        }


def tax_for(subtotal: int) -> int:
    return int((Decimal(subtotal) * TAX_RATE).quantize(Decimal(1), ROUND_HALF_UP))


def price_order(
    scenario: Scenario, lines: list[tuple[str, int]], max_price: int
) -> PriceComponents:
    """Compute the order's price from ``(url, quantity)`` lines.

    The ``price_exceeded`` scenario instead prices the order at max_price + 299
    cents, which reproduces Zinc's documented "$52.99 exceeds $50.00" example.
    """
    if scenario.exceeds_max_price:
        tax = 250
        subtotal = max(max_price + 299 - tax - SHIPPING_CENTS, 1)
        return PriceComponents(subtotal=subtotal, tax=tax, shipping=SHIPPING_CENTS)
    subtotal = sum(unit_price_cents(url) * quantity for url, quantity in lines)
    return PriceComponents(
        subtotal=subtotal, tax=tax_for(subtotal), shipping=SHIPPING_CENTS
    )
