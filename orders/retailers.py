"""Retailers that Zinc can order from, keyed by the host name of a product URL.

The list follows Zinc's public retailer catalogue (GET /retailers) as of 2026;
"zinc" is Zinc's own test shop whose product URLs select sandbox scenarios.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Retailer:
    code: str
    name: str
    supported: bool


_RETAILERS_BY_HOST: dict[str, Retailer] = {
    "1800flowers.com": Retailer("1800flowers", "1-800-Flowers", True),
    "acehardware.com": Retailer("acehardware", "Ace Hardware", True),
    "amazon.com": Retailer("amazon", "Amazon", True),
    "bestbuy.com": Retailer("bestbuy", "Best Buy", True),
    "ebay.com": Retailer("ebay", "eBay", True),
    "homedepot.com": Retailer("homedepot", "The Home Depot", True),
    "lowes.com": Retailer("lowes", "Lowe's", True),
    "pokemoncenter.com": Retailer("pokemoncenter", "Pokémon Center", True),
    "target.com": Retailer("target", "Target", True),
    "walmart.com": Retailer("walmart", "Walmart", True),
    "wayfair.com": Retailer("wayfair", "Wayfair", True),
    "zinc.com": Retailer("zinc", "Zinc test shop", True),
    "apple.com": Retailer("apple", "Apple", False),
    "macys.com": Retailer("macys", "Macy's", False),
    "walgreens.com": Retailer("walgreens", "Walgreens", False),
    "yamaha.com": Retailer("yamaha", "Yamaha", False),
}

SUPPORTED_RETAILERS = sorted(
    (retailer for retailer in _RETAILERS_BY_HOST.values() if retailer.supported),
    key=lambda retailer: retailer.name,
)


_RETAILERS_BY_CODE = {
    retailer.code: retailer for retailer in _RETAILERS_BY_HOST.values()
}


def retailer_name(code: str) -> str:
    """Return the display name for a retailer code, or the code itself."""
    retailer = _RETAILERS_BY_CODE.get(code)
    return retailer.name if retailer else code


def retailer_for_url(url: str) -> Retailer | None:
    """Return the retailer that sells at ``url``, or None for an unknown host."""
    host = (urlsplit(url.strip()).hostname or "").lower()
    if host.startswith("www."):
        host = host[4:]
    if host.startswith("smile."):
        host = host[6:]
    return _RETAILERS_BY_HOST.get(host)
