"""Approval flow in Chromium: compose above the threshold, approve, pay, place.

The requester and the approver use two browser contexts, so they have separate
sessions. The live server and the sandbox process are real; the card form is
the sandbox's stand-in for Stripe's Payment Element.
"""

import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test.utils import override_settings
from playwright.sync_api import Browser, BrowserContext, Page, expect

from orders.models import Address, Approval, Membership, Order, Team
from orders.services import refresh
from orders.zinc import ZincClient

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/zincdash-shots")
SHOP = "https://zinc.com/shop/products/"
PASSWORD = "pw-e2e-approvals-1"
# The sandbox moves an order one lifecycle step per 60 s of its clock.
STEP_SECONDS = 60


@pytest.fixture
def facilities(db) -> dict[str, object]:
    team = Team.objects.create(
        name="Facilities", approval_threshold_cents=20_000, monthly_budget_cents=500_000
    )
    users = {}
    for name, role in (
        ("ops", Membership.Role.REQUESTER),
        ("approver", Membership.Role.APPROVER),
    ):
        users[name] = get_user_model().objects.create_user(
            name, email=f"{name}@example.com", password=PASSWORD
        )
        Membership.objects.create(user=users[name], team=team, role=role)
    address = Address.objects.create(
        team=team,
        label="Head office",
        first_name="Olivia",
        last_name="Okafor",
        address_line1="500 Howard St",
        city="San Francisco",
        state="CA",
        postal_code="94105",
        phone_number="+14155550142",
    )
    return {"team": team, "address": address, **users}


def _screenshot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"approvals-{name}.png"), full_page=True)


def _log_in(context: BrowserContext, base_url: str, username: str) -> Page:
    page = context.new_page()
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Orders", exact=True)).to_be_visible()
    return page


def test_requester_approver_pay_and_place(
    browser: Browser, live_server, sandbox, facilities, mailoutbox
):
    requester_context = browser.new_context()
    approver_context = browser.new_context()
    requester = _log_in(requester_context, live_server.url, "ops")
    approver = _log_in(approver_context, live_server.url, "approver")

    # The requester composes an order whose max price is above the threshold.
    requester.get_by_role("link", name="New order").first.click()
    requester.get_by_label("Saved address").select_option(
        label="Head office: Olivia Okafor"
    )
    requester.get_by_label("Item 1: product URL").fill(SHOP + "test-success")
    requester.get_by_label("Max price (USD)").fill("250.00")
    requester.get_by_role("button", name="Save draft and review").click()
    expect(
        requester.get_by_role("heading", name=re.compile(r"Review order"))
    ).to_be_visible()
    order = Order.objects.get()
    expect(requester.get_by_text("needs an approver's approval")).to_be_visible()
    requester.get_by_role("button", name="Send for approval").click()
    expect(requester.get_by_text("Awaiting approval").first).to_be_visible()
    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_APPROVAL
    assert order.request_body == ""
    assert [message.to for message in mailoutbox] == [["approver@example.com"]]

    # The approver approves it from the queue, in a separate session.
    approver.get_by_role("link", name="Approvals").click()
    row = approver.locator(f"#approval-{order.pk}")
    expect(row.get_by_text("$251.00")).to_be_visible()
    _screenshot(approver, "queue")
    row.get_by_label("Comment").fill("Needed for the office move.")
    row.get_by_role("button", name="Approve").click()
    expect(
        approver.locator(f"#approval-{order.pk}").get_by_role("status")
    ).to_contain_text("Approved by approver")
    _screenshot(approver, "approved-row")
    approval = Approval.objects.get(order=order)
    assert approval.decided_by == facilities["approver"]
    assert approval.comment == "Needed for the office move."

    # The requester sends the approved order to Zinc and pays by card.
    requester.goto(f"{live_server.url}/orders/{order.pk}/review/")
    requester.get_by_role("button", name="Send to Zinc").click()
    expect(
        requester.get_by_role("heading", name=f"Pay order #{order.pk}")
    ).to_be_visible()
    expect(requester.locator("#checkout-amount")).to_have_text("$251.00")
    requester.get_by_label("Card number").fill("4242 4242 4242 4242")
    requester.get_by_label("Expiry MM / YY").fill("12 / 34")
    requester.get_by_label("CVC").fill("123")
    pay_button = requester.locator("#pay-button")
    expect(pay_button).to_be_enabled()
    pay_button.click()
    requester.wait_for_url(re.compile(rf"/orders/{order.pk}/$"))

    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert order.authorized_cents == 25_100
    assert order.authorized_cents <= order.approved_max_price_cents + 100
    ledger = sandbox.ledger(order.idempotency_key)
    assert ledger

    # Zinc places the order; the poller records it and the page shows it.
    sandbox.advance(2 * STEP_SECONDS)
    with override_settings(POLL_FIRST_DELAY_SECONDS=1), ZincClient() as client:
        refresh.poll_order(Order.objects.get(pk=order.pk), client)
    order.refresh_from_db()
    assert order.status == Order.Status.ORDER_PLACED
    requester.reload()
    expect(requester.locator("#order-status")).to_contain_text("Placed")
    _screenshot(requester, "order-placed")

    requester_context.close()
    approver_context.close()
