"""The Stripe.js stand-in, driven in Debian's Chromium through Playwright."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sandbox_client import NETWORK_ID, SandboxClient

pytestmark = pytest.mark.e2e

CHROMIUM_PATH = "/usr/bin/chromium"
# Flags for running as root on a machine without outside network access.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SETUP_ELEMENTS = """
() => {
  window.stripe = Stripe("pk_test_browser");
  window.elements = stripe.elements({
    mode: "payment",
    amount: 5100,
    currency: "usd",
    paymentMethodTypes: ["card"],
    paymentMethodCreation: "manual",
  });
  window.paymentElement = elements.create("payment");
  paymentElement.mount("#payment-element");
}
"""
SUBMIT_AND_CREATE = """
async () => {
  const submitted = await elements.submit();
  if (submitted.error) {
    return {stage: "submit", error: submitted.error};
  }
  const result = await stripe.createPaymentMethod({elements});
  return {stage: "create", ...result};
}
"""
# Starts the action without awaiting it, so the test can click inside the dialog.
START_NEXT_ACTION = """
secret => {
  window.actionResult = stripe.handleNextAction({clientSecret: secret});
}
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM_PATH):
        pytest.skip(f"Chromium is missing at {CHROMIUM_PATH}")
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS
    )
    try:
        yield browser
    finally:
        browser.close()
        playwright.stop()


@pytest.fixture
def page(browser: Browser, sandbox_api: SandboxClient) -> Iterator[Page]:
    context = browser.new_context()
    page = context.new_page()
    page.set_content('<main><div id="payment-element"></div></main>')
    page.add_script_tag(url=f"{sandbox_api.stripe_url}/stripe.js")
    page.evaluate(SETUP_ELEMENTS)
    try:
        yield page
    finally:
        context.close()


def _fill_card(
    page: Page, number: str, expiry: str = "12 / 34", cvc: str = "123"
) -> None:
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiry MM / YY").fill(expiry)
    page.get_by_label("CVC").fill(cvc)


def test_card_form_has_labelled_fields(page: Page) -> None:
    number = page.get_by_label("Card number")

    assert number.get_attribute("autocomplete") == "cc-number"
    assert number.get_attribute("name") == "cardnumber"
    assert page.get_by_label("Expiry MM / YY").get_attribute("name") == "exp-date"
    assert page.get_by_label("CVC").get_attribute("autocomplete") == "cc-csc"
    assert page.get_by_text("Sandbox card form — test cards only").is_visible()


def test_valid_card_creates_payment_method(page: Page) -> None:
    _fill_card(page, "4242424242424242")

    result = page.evaluate(SUBMIT_AND_CREATE)

    assert result["stage"] == "create"
    assert result["paymentMethod"]["id"].startswith("pm_")
    assert result["paymentMethod"]["card"]["last4"] == "4242"


def test_incomplete_card_fails_submit(page: Page) -> None:
    _fill_card(page, "4242", expiry="", cvc="")

    result = page.evaluate(SUBMIT_AND_CREATE)

    assert result["stage"] == "submit"
    assert result["error"]["type"] == "validation_error"
    assert result["error"]["message"] == "Your card number is invalid."
    alert = page.get_by_role("alert")
    assert alert.text_content() == "Your card number is invalid."


def test_create_without_submit_is_rejected(page: Page) -> None:
    _fill_card(page, "4242424242424242")

    result = page.evaluate("() => stripe.createPaymentMethod({elements})")

    assert result["error"]["type"] == "invalid_request_error"


def _requires_action_token(sandbox_api: SandboxClient) -> dict:
    response = sandbox_api.stripe.post(
        "/v1/shared_payment/issued_tokens",
        data={
            "payment_method": "pm_card_authenticationRequired",
            "seller_details[network_business_profile]": NETWORK_ID,
            "usage_limits[currency]": "usd",
            "usage_limits[max_amount]": "5100",
            "usage_limits[expires_at]": str(int(time.time()) + 600),
        },
    )
    return response.json()


@pytest.mark.parametrize(
    ("button", "status", "error_code"),
    [
        ("Complete authentication", "active", None),
        ("Fail authentication", "deactivated", "payment_intent_authentication_failure"),
    ],
)
def test_next_action_dialog_confirms_token(
    page: Page,
    sandbox_api: SandboxClient,
    button: str,
    status: str,
    error_code: str | None,
) -> None:
    token = _requires_action_token(sandbox_api)
    page.evaluate(START_NEXT_ACTION, token["client_secret"])

    dialog = page.get_by_role("dialog", name="Sandbox 3-D Secure check")
    dialog.get_by_role("button", name=button).click()
    result = page.evaluate("() => window.actionResult")

    assert result.get("error", {}).get("code") == error_code
    assert dialog.count() == 0
    stored = sandbox_api.stripe.get(
        f"/v1/shared_payment/issued_tokens/{token['id']}"
    ).json()
    assert stored["status"] == status
