"""Composing, paying and following an order in Chromium against the sandbox."""

import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import ConsoleMessage, Page, expect

from orders.models import Address, Membership, Order, PaymentAttempt, Team
from orders.services import refresh

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/zincdash-shots")
SHOP = "https://zinc.com/shop/products/"
GOOD_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"
THREE_D_SECURE_CARD = "4000 0025 0000 3155"
PASSWORD = "correct-horse-battery"


@pytest.fixture
def member(db):
    team = Team.objects.create(name="Operations")
    user = get_user_model().objects.create_user("olivia", password=PASSWORD)
    Membership.objects.create(user=user, team=team)
    return user


@pytest.fixture
def saved_address(member):
    return Address.objects.create(
        team=member.memberships.get().team,
        label="HQ",
        first_name="Olivia",
        last_name="Ops",
        address_line1="1 Market St",
        city="San Francisco",
        state="CA",
        postal_code="94105",
        phone_number="+14155550100",
        country="US",
    )


@pytest.fixture
def csp_errors(page: Page) -> list[str]:
    errors: list[str] = []

    def record(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            errors.append(message.text)

    page.on("console", record)
    return errors


def screenshot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def log_in(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base_url}/")


def compose(page: Page, base_url: str, product: str, max_price: str = "49.99") -> None:
    """Compose an order for the saved address with one product, then save it."""
    page.goto(f"{base_url}/orders/new/")
    page.get_by_label("Saved address").select_option(label="HQ: Olivia Ops")
    page.get_by_label("Item 1: product URL").fill(SHOP + product)
    page.get_by_label("Max price (USD)").fill(max_price)
    page.get_by_role("button", name="Save draft and review").click()
    page.wait_for_url(re.compile(r"/orders/\d+/review/$"))


def send_to_zinc(page: Page) -> None:
    page.get_by_role("button", name="Send to Zinc").click()
    page.wait_for_url(re.compile(r"/orders/\d+/pay/$"))
    expect(page.get_by_label("Card number")).to_be_visible()


def pay_with(page: Page, card: str) -> None:
    page.get_by_label("Card number").fill(card)
    page.get_by_label("Expiry").fill("12 / 34")
    page.get_by_label("CVC").fill("123")
    page.locator("#pay-button").click()


def order_from(page: Page) -> Order:
    pk = int(re.search(r"/orders/(\d+)/", page.url)[1])
    return Order.objects.get(pk=pk)


def test_full_checkout_from_empty_account(
    page: Page, live_server, sandbox, member, csp_errors
):
    base = live_server.url
    log_in(page, base)

    page.get_by_role("link", name="Addresses").click()
    page.get_by_role("link", name="Add an address").click()
    page.get_by_label("Label").fill("HQ")
    page.get_by_label("First name").fill("Olivia")
    page.get_by_label("Last name").fill("Ops")
    page.get_by_label("Address line 1").fill("1 Market St")
    page.get_by_label("City").fill("San Francisco")
    page.get_by_label("State or province").fill("CA")
    page.get_by_label("Postal code").fill("94105")
    page.get_by_label("Phone number").fill("(415) 555-0100")
    page.get_by_role("button", name="Save address").click()
    expect(page.get_by_text("Saved the address “HQ: Olivia Ops”.")).to_be_visible()

    page.get_by_role("link", name="Product lists").click()
    page.get_by_role("link", name="New product list").click()
    page.get_by_label("Name").fill("Front desk")
    page.get_by_role("button", name="Save list").click()
    page.get_by_role("link", name="Add an item").click()
    page.get_by_label("Product URL").fill(SHOP + "test-success")
    expect(page.get_by_text("Retailer: Zinc test shop")).to_be_visible()
    page.get_by_label("Quantity").fill("2")
    page.get_by_label("Variant 1 label").fill("Color")
    page.get_by_label("Variant 1 value").fill("Red")
    page.get_by_role("button", name="Save item").click()
    expect(page.get_by_role("cell", name="Color: Red")).to_be_visible()

    page.get_by_role("link", name="New order").click()
    page.get_by_label("Saved address").select_option(label="HQ: Olivia Ops")
    page.get_by_label("Product list").select_option(label="Front desk")
    page.get_by_role("button", name="Add the list's items").click()
    expect(page.get_by_label("Item 1: product URL")).to_have_value(
        SHOP + "test-success"
    )
    page.get_by_label("Max price (USD)").fill("$120.00")
    page.get_by_label("PO number").fill("PO-E2E-1")
    screenshot(page, "composer")
    page.get_by_role("button", name="Save draft and review").click()
    page.wait_for_url(re.compile(r"/orders/\d+/review/$"))
    expect(page.get_by_text("$121.00")).to_be_visible()

    send_to_zinc(page)
    expect(page.locator("#checkout-amount")).to_have_text("$121.00")
    expect(page.locator("#checkout-expiry")).to_have_text(re.compile(r"in \d+:\d\d"))
    screenshot(page, "checkout")
    pay_with(page, GOOD_CARD)

    page.wait_for_url(re.compile(r"/orders/\d+/$"))
    expect(page.locator("#order-status").get_by_text("Pending at Zinc")).to_be_visible()
    screenshot(page, "order")
    order = order_from(page)
    assert order.status == Order.Status.PENDING
    assert order.po_number == "PO-E2E-1"
    charges = sandbox.ledger(order.idempotency_key)["charges"]
    assert [charge["amount"] for charge in charges] == [12100]
    assert csp_errors == []


def test_declined_card_then_good_card(page: Page, live_server, sandbox, saved_address):
    log_in(page, live_server.url)
    compose(page, live_server.url, "test-success")
    send_to_zinc(page)

    pay_with(page, DECLINED_CARD)

    expect(page.locator("#payment-message")).to_contain_text("declined")
    expect(page.locator("#pay-button")).to_be_enabled()
    order = order_from(page)
    assert sandbox.ledger(order.idempotency_key)["charges"] == []

    pay_with(page, GOOD_CARD)

    page.wait_for_url(re.compile(r"/orders/\d+/$"))
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert len(sandbox.ledger(order.idempotency_key)["charges"]) == 1


def test_order_page_shows_placement_without_reload(
    page: Page, live_server, sandbox, saved_address
):
    log_in(page, live_server.url)
    compose(page, live_server.url, "test-success")
    send_to_zinc(page)
    pay_with(page, GOOD_CARD)
    page.wait_for_url(re.compile(r"/orders/\d+/$"))
    order = order_from(page)
    expect(page.locator("#order-status")).to_contain_text("Pending at Zinc")

    # Two lifecycle steps later Zinc has placed the order and the parcel
    # shipped; the worker's poll stores that, and the page's htmx polling
    # must show it with no action from the user.
    sandbox.advance(60 * 3)
    refresh.poll_now(order.pk)

    status = page.locator("#order-status")
    expect(status).to_contain_text("Placed", timeout=15_000)
    expect(status).to_contain_text("ZINC_TEST_", timeout=15_000)
    # The status change reloads the page once, so the amounts are current.
    expect(page.get_by_text("$49.00", exact=True)).to_be_visible()


def test_three_d_secure_card_is_authenticated_then_placed(
    page: Page, live_server, sandbox, saved_address
):
    log_in(page, live_server.url)
    compose(page, live_server.url, "test-success")
    send_to_zinc(page)

    pay_with(page, THREE_D_SECURE_CARD)
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Complete authentication").click()

    page.wait_for_url(re.compile(r"/orders/\d+/$"))
    order = order_from(page)
    assert order.status == Order.Status.PENDING
    assert len(sandbox.ledger(order.idempotency_key)["charges"]) == 1


def test_invalid_address_errors_shown_on_form(
    page: Page, live_server, sandbox, saved_address
):
    log_in(page, live_server.url)
    compose(page, live_server.url, "test-invalid-address")

    page.get_by_role("button", name="Send to Zinc").click()

    expect(page.locator("#order-form")).to_be_visible()
    expect(page.locator("#id_address_error")).to_contain_text("Address line 1:")
    expect(page.get_by_role("link", name="Correct this saved address")).to_be_visible()
    screenshot(page, "composer-zinc-errors")
    order = Order.objects.get()
    assert order.status == Order.Status.DRAFT
    assert sandbox.ledger()["charges"] == []


def test_expired_challenge_is_refreshed_not_paid(
    page: Page, live_server, sandbox, saved_address
):
    sandbox.configure(challenge_ttl_seconds=3)
    log_in(page, live_server.url)
    compose(page, live_server.url, "test-success")
    send_to_zinc(page)
    order = order_from(page)
    stale = order.payment_attempts.get(method="stripe", state="offered")
    # Challenges fetched from now on live long enough to be paid.
    sandbox.configure(challenge_ttl_seconds=300)

    expect(page.locator("#payment-message")).to_contain_text(
        "A new payment request arrived", timeout=15_000
    )
    pay_with(page, GOOD_CARD)

    page.wait_for_url(re.compile(r"/orders/\d+/$"))
    stale.refresh_from_db()
    assert stale.state in {
        PaymentAttempt.State.SUPERSEDED,
        PaymentAttempt.State.EXPIRED,
    }
    paid = order.payment_attempts.get(state=PaymentAttempt.State.SUCCEEDED)
    assert paid.pk != stale.pk
    assert len(sandbox.ledger(order.idempotency_key)["charges"]) == 1


def test_pages_render_key_elements(page: Page, live_server, saved_address, member):
    team = saved_address.team
    order = Order.objects.create(
        team=team,
        created_by=member,
        address=saved_address,
        shipping_address=saved_address.to_zinc(),
        max_price_cents=5000,
        status=Order.Status.ORDER_FAILED,
        error_type="product_out_of_stock",
    )
    order.items.create(url=SHOP + "test-out-of-stock", quantity=1)
    base = live_server.url
    log_in(page, base)

    expect(page.get_by_role("heading", name="Orders")).to_be_visible()
    expect(page.get_by_role("link", name=f"#{order.pk}")).to_be_visible()
    expect(page.get_by_role("cell", name="Failed")).to_be_visible()
    page.get_by_label("Status").select_option("order_failed")
    page.wait_for_url(re.compile(r"status=order_failed"))
    expect(page.get_by_text("1 order matches the filters.")).to_be_visible()
    screenshot(page, "order-list")

    page.goto(f"{base}/orders/new/")
    for label in [
        "Saved address",
        "Product list",
        "Item 1: product URL",
        "Max price (USD)",
    ]:
        expect(page.get_by_label(label)).to_be_visible()
    page.get_by_label("Item 1: product URL").fill("https://www.apple.com/shop/x")
    page.get_by_label("Item 1: product URL").dispatch_event("change")
    expect(page.get_by_text("Warning: Zinc does not order from Apple.")).to_be_visible()

    page.goto(f"{base}/orders/{order.pk}/")
    expect(page.get_by_role("heading", name=f"Order #{order.pk}")).to_be_visible()
    expect(page.get_by_text("The product was out of stock.")).to_be_visible()
    expect(page.get_by_role("button", name="Copy into a new draft")).to_be_visible()
    screenshot(page, "order-failed")
    page.get_by_role("button", name="Copy into a new draft").click()
    page.wait_for_url(re.compile(r"/orders/\d+/edit/$"))
    expect(page.get_by_label("Item 1: product URL")).to_have_value(
        SHOP + "test-out-of-stock"
    )


def test_phone_width_pages_fit_screen(browser, live_server, saved_address, member):
    order = Order.objects.create(
        team=saved_address.team,
        created_by=member,
        address=saved_address,
        shipping_address=saved_address.to_zinc(),
        max_price_cents=5000,
        po_number="PO-A-LONG-PURCHASE-ORDER-REFERENCE-0001",
        status=Order.Status.ORDER_FAILED,
        error_type="product_out_of_stock",
    )
    order.items.create(url=SHOP + "test-out-of-stock", quantity=1)
    paths = ["/", f"/orders/{order.pk}/", "/orders/new/", "/product-lists/"]
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        log_in(page, live_server.url)
        widths = {}
        for path in paths:
            page.goto(live_server.url + path)
            widths[path] = page.evaluate("document.documentElement.scrollWidth")
        page.goto(live_server.url + "/")
        wrapper = page.locator("#order-table .table-scroll")
        wrapper_box = wrapper.bounding_box()
        table_width = wrapper.evaluate("element => element.scrollWidth")
    finally:
        context.close()

    assert widths == dict.fromkeys(paths, 390)
    assert wrapper_box is not None
    assert wrapper_box["width"] <= 390
    # The table is wider than the screen and scrolls inside its wrapper.
    assert table_width > wrapper_box["width"]
