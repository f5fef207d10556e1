"""Plain advice for the ``error_type`` that Zinc reports on a failed order.

The codes are Zinc's asynchronous ``job_result.error_type`` values plus the
request-time codes that its sandbox also uses for failed orders (for example
``invalid_variant``).
"""

import logging

logger = logging.getLogger(__name__)

_VARIANT_ADVICE = (
    "The size, colour or other option did not match the product page. Copy the "
    "variant's label and value exactly as the retailer shows them (for example "
    "“M”, not “Medium”)."
)
_ADDRESS_ADVICE = (
    "The retailer could not use the shipping address. Check the street, city and "
    "postal code; use a two-letter state code for the US and a two-letter ISO "
    "country code."
)

ERROR_ADVICE: dict[str, str] = {
    "max_price_exceeded": "The total exceeded your max price. Raise the max price "
    "or pick another product.",
    "product_out_of_stock": "The product was out of stock. Try again later or pick "
    "another product.",
    "out_of_stock": "The product was out of stock. Try again later or pick another "
    "product.",
    "product_unavailable": "The product is not available for sale. Pick another "
    "product.",
    "product_not_found": "The product page no longer exists. Check the URL or pick "
    "another product.",
    "invalid_product_url": "The URL is not a product page. Use the product's own "
    "page, not a search or category page.",
    "product_quantity_unavailable": "The retailer could not supply that quantity. "
    "Lower the quantity or split the order.",
    "quantity_limit_exceeded": "The retailer limits how many of this product one "
    "order may contain. Lower the quantity.",
    "order_limit_exceeded": "The retailer limits how many orders can be placed. "
    "Try again later.",
    "invalid_variant": _VARIANT_ADVICE,
    "product_variant_unavailable": "The chosen option (size, colour…) is not "
    "available. Pick another variant or product.",
    "product_variant_required": "The product needs an option such as size or "
    "colour. Add the variant to the item.",
    "invalid_shipping_address": _ADDRESS_ADVICE,
    "shipping_address_invalid": _ADDRESS_ADVICE,
    "shipping_unavailable": "The retailer does not ship this product to the "
    "address. Use another address or product.",
    "shipping_method_unavailable": "No shipping method was available for this "
    "order. Try another address or product.",
    "url_unreachable": "Zinc could not open the product page. Check the URL in a "
    "browser and try again.",
    "retailer_unavailable": "The retailer's site was unavailable. Try again later.",
    "retailer_not_supported": "Zinc does not order from this retailer. Pick a "
    "product from a supported retailer.",
    "retailer_rate_limited": "The retailer limited Zinc's requests. Try again later.",
    "add_to_cart_failed": "The product could not be added to the cart. Check the "
    "variant and quantity, then try again.",
    "cart_empty": "The retailer's cart was empty at checkout. Try again.",
    "checkout_blocked": "The retailer asked for a verification Zinc could not "
    "complete. Try again later.",
    "checkout_failed": "Checkout failed at the retailer. Try again later.",
    "payment_declined": "The retailer declined Zinc's payment. Try again later or "
    "contact Zinc support.",
    "payment_method_invalid": "The retailer rejected the payment method. Contact "
    "Zinc support.",
    "payment_failed": "The payment at the retailer failed. Try again later.",
    "login_failed": "Zinc could not sign in to the retailer account. Check the "
    "account's credentials.",
    "session_expired": "The retailer session expired during checkout. Try again.",
    "account_locked": "The retailer account is locked. Unlock it at the retailer, "
    "then try again.",
    "account_verification_required": "The retailer account needs verification. "
    "Complete it at the retailer, then try again.",
}

GENERIC_ADVICE = (
    "Zinc could not place the order. Check the items and the address, then copy "
    "the order into a new draft to try again."
)


def advice_for_error(error_type: str) -> str:
    """Return advice for ``error_type``, or generic advice for an unknown code."""
    return ERROR_ADVICE.get(error_type.strip().lower(), GENERIC_ADVICE)
