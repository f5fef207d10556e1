"""Stripe test cards and the sandbox outcome each one produces."""

from __future__ import annotations

import logging
from dataclasses import dataclass

logger = logging.getLogger(__name__)

SUCCEEDS = "succeeds"
DECLINED = "declined"
INSUFFICIENT_FUNDS = "insufficient_funds"
REQUIRES_ACTION = "requires_action"
CARD_BEHAVIOURS = (SUCCEEDS, DECLINED, INSUFFICIENT_FUNDS, REQUIRES_ACTION)

# Test card numbers and the sandbox outcome of each; other valid numbers succeed.
TEST_CARD_BEHAVIOURS: dict[str, str] = {
    "4242424242424242": SUCCEEDS,
    "5555555555554444": SUCCEEDS,
    "4000000000000002": DECLINED,
    "4000000000009995": INSUFFICIENT_FUNDS,
    "4000002500003155": REQUIRES_ACTION,
}


@dataclass(frozen=True)
class PredefinedCard:
    brand: str
    last4: str
    behaviour: str


# Stripe's ready-made test PaymentMethod ids, usable without creating them first.
PREDEFINED_PAYMENT_METHODS: dict[str, PredefinedCard] = {
    "pm_card_visa": PredefinedCard("visa", "4242", SUCCEEDS),
    "pm_card_mastercard": PredefinedCard("mastercard", "4444", SUCCEEDS),
    "pm_card_visa_chargeDeclined": PredefinedCard("visa", "0002", DECLINED),
    "pm_card_chargeDeclined": PredefinedCard("visa", "0002", DECLINED),
    "pm_card_chargeDeclinedInsufficientFunds": PredefinedCard(
        "visa", "9995", INSUFFICIENT_FUNDS
    ),
    "pm_card_authenticationRequired": PredefinedCard("visa", "3155", REQUIRES_ACTION),
}

DECLINE_CODES: dict[str, tuple[str, str]] = {
    DECLINED: ("generic_decline", "Your card was declined."),
    INSUFFICIENT_FUNDS: ("insufficient_funds", "Your card has insufficient funds."),
}


def luhn_valid(number: str) -> bool:
    """Return whether a digit string passes the Luhn checksum."""
    total = 0
    for position, character in enumerate(reversed(number)):
        digit = int(character)
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def card_brand(number: str) -> str:
    """Return Stripe's brand name for a card number's prefix."""
    if number.startswith("4"):
        return "visa"
    if number[:2] in {"51", "52", "53", "54", "55"} or "2221" <= number[:4] <= "2720":
        return "mastercard"
    if number[:2] in {"34", "37"}:
        return "amex"
    if number.startswith("6011") or number.startswith("65"):
        return "discover"
    return "unknown"


def card_behaviour(number: str) -> str:
    """Return the sandbox outcome for a card number; unlisted valid numbers succeed."""
    return TEST_CARD_BEHAVIOURS.get(number, SUCCEEDS)
