import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from orders.models import (
    Address,
    AuditEntry,
    Membership,
    Order,
    OrderEvent,
    PaymentAttempt,
    TrackingNumber,
)

# Fixtures come in by the star import; pytest finds them by name.
from tests.conftest_ui import *  # noqa: F403
from tests.conftest_ui import (
    HTMX_HEADERS,
    PASSWORD,
    SUCCESS_URL,
    address_data,
    create_address,
    create_order,
)

State = PaymentAttempt.State
AMAZON_URL = "https://www.amazon.com/dp/B000000001"


def compose_data(address, **overrides):
    data = {
        "address": str(address.pk) if address else "",
        "product_list": "",
        "max_price": "49.99",
        "po_number": "PO-7",
        "note": "For the front desk",
        "item_url": [SUCCESS_URL],
        "item_quantity": ["2"],
        "item_variants": ["Color: Red; Size: M"],
    }
    data.update(overrides)
    return data


def create_attempt(order, method="stripe", **fields):
    defaults = {
        "challenge_id": f"ch_{method}_{PaymentAttempt.objects.count()}",
        "method": method,
        "intent": "charge",
        "realm": "zinc.com",
        "www_authenticate": "Payment id=...",
        "amount": order.max_price_cents + 100,
        "currency": "usd",
        "payment_method_types": ["card"],
        "expires_at": timezone.now() + timedelta(minutes=5),
    }
    defaults.update(fields)
    return PaymentAttempt.objects.create(order=order, **defaults)


# --- login and teams ---------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["orders:order-list", "orders:order-create"],
)
def test_order_pages_redirect_anonymous_to_login(client, db, name):
    response = client.get(reverse(name))

    assert response.status_code == 302
    assert response.url.startswith("/login/?next=")


def test_login_page_renders_form(client, db):
    response = client.get(reverse("login"))

    assert response.status_code == 200
    assert '<label for="id_username">' in response.text
    assert '<label for="id_password">' in response.text


def test_login_with_password_lands_on_order_list(client, user):
    response = client.post(
        reverse("login"), {"username": "alice", "password": PASSWORD}, follow=True
    )

    assert response.redirect_chain[-1][0] == reverse("orders:order-list")
    assert "alice" in response.text


def test_user_without_team_gets_404(client, db):
    loner = get_user_model().objects.create_user("loner", password=PASSWORD)
    client.force_login(loner)

    response = client.get(reverse("orders:order-list"))

    assert response.status_code == 404


def test_team_switch_changes_current_team(member_client, user, other_team):
    Membership.objects.create(user=user, team=other_team)
    theirs = create_address(other_team, label="Theirs")

    page = member_client.get(reverse("orders:address-list"))
    assert '<select id="team-switch" name="team">' in page.text
    assert "Theirs" not in page.text

    response = member_client.post(
        reverse("orders:team-switch"),
        {"team": other_team.pk, "next": reverse("orders:address-list")},
    )

    assert response.status_code == 302
    assert response.url == reverse("orders:address-list")
    assert str(theirs) in member_client.get(response.url).text


def test_team_switch_to_foreign_team_is_404(member_client, other_team):
    response = member_client.post(
        reverse("orders:team-switch"), {"team": other_team.pk}
    )

    assert response.status_code == 404


# --- list --------------------------------------------------------------------


def test_order_list_shows_team_orders_only(
    member_client, team, user, outsider, other_team
):
    mine = create_order(team, user, po_number="PO-MINE")
    create_order(other_team, outsider, po_number="PO-THEIRS")

    response = member_client.get(reverse("orders:order-list"))

    assert response.status_code == 200
    assert list(response.context["orders"]) == [mine]
    assert "PO-THEIRS" not in response.text


def test_order_list_query_count_is_fixed(
    member_client, team, user, address, django_assert_max_num_queries
):
    def count_queries(order_count):
        Order.objects.all().delete()
        for _ in range(order_count):
            create_order(team, user, address, urls=(SUCCESS_URL, SUCCESS_URL))
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            response = member_client.get(reverse("orders:order-list"))
        assert response.status_code == 200
        return len(queries)

    few = count_queries(3)
    many = count_queries(30)

    assert many == few
    with django_assert_max_num_queries(few):
        member_client.get(reverse("orders:order-list"))


def test_order_list_paginates_by_25(member_client, team, user):
    for _ in range(27):
        create_order(team, user)

    first = member_client.get(reverse("orders:order-list"))
    second = member_client.get(reverse("orders:order-list"), {"page": 2})

    assert len(first.context["orders"]) == 25
    assert len(second.context["orders"]) == 2
    assert "Page 1 of 2" in first.text


def test_order_list_filters_by_status(member_client, team, user):
    create_order(team, user, status=Order.Status.DRAFT)
    failed = create_order(team, user, status=Order.Status.ORDER_FAILED)

    response = member_client.get(
        reverse("orders:order-list"), {"status": "order_failed"}
    )

    assert list(response.context["orders"]) == [failed]


@pytest.mark.parametrize(
    ("query", "expected"),
    [("PO-77", "po"), ("amazon.com/dp", "url"), ("zn-abc-123", "zinc")],
)
def test_order_list_search(member_client, team, user, query, expected):
    orders = {
        "po": create_order(team, user, po_number="PO-7781"),
        "url": create_order(team, user, urls=(AMAZON_URL, AMAZON_URL)),
        "zinc": create_order(team, user, zinc_order_id="zn-abc-123"),
    }

    response = member_client.get(reverse("orders:order-list"), {"q": query})

    assert list(response.context["orders"]) == [orders[expected]]


def test_order_list_filters_by_date_range(member_client, team, user):
    old = create_order(team, user)
    Order.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=10)
    )
    recent = create_order(team, user)
    today = timezone.localdate()

    response = member_client.get(
        reverse("orders:order-list"),
        {"created_from": str(today - timedelta(days=1)), "created_to": str(today)},
    )

    assert list(response.context["orders"]) == [recent]


def test_order_list_rejects_reversed_date_range(member_client, team, user):
    response = member_client.get(
        reverse("orders:order-list"),
        {"created_from": "2026-02-01", "created_to": "2026-01-01"},
    )

    assert response.status_code == 200
    assert "The “Created from” date is after the “Created until” date." in response.text


def test_order_list_htmx_returns_table_fragment(member_client, team, user):
    create_order(team, user, po_number="PO-FRAG")

    response = member_client.get(
        reverse("orders:order-list"), {"status": "draft"}, **HTMX_HEADERS
    )

    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="order-table"')
    assert "PO-FRAG" in response.text
    assert "<html" not in response.text
    assert response["Vary"] == "HX-Request, Cookie"


# --- detail ------------------------------------------------------------------


def test_order_detail_shows_tracking_events_and_attempts(
    member_client, team, user, address
):
    order = create_order(
        team, user, address, status=Order.Status.ORDER_PLACED, total_cents=4321
    )
    TrackingNumber.objects.create(
        order=order, zinc_id="t1", carrier="usps", tracking_number="9400111"
    )
    OrderEvent.objects.create(
        order=order, kind="status", from_status="pending", to_status="order_placed"
    )
    create_attempt(order, state=State.SUCCEEDED)

    response = member_client.get(reverse("orders:order-detail", args=[order.pk]))

    assert response.status_code == 200
    assert (
        "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400111" in response.text
    )
    assert "Pending at Zinc → <strong>Placed</strong>" in response.text
    assert "$43.21" in response.text
    assert '<span class="state state-succeeded">Succeeded</span>' in response.text
    assert "spt_" not in response.text


def test_order_detail_audit_trail_is_readable(member_client, team, user, address):
    order = create_order(team, user, address, status=Order.Status.PENDING)
    AuditEntry.objects.create(
        action=AuditEntry.Action.CREATE,
        team=team,
        object_type="orders.order",
        object_id=str(order.pk),
        object_repr=str(order),
        changes={
            "items": [None, [{"url": SUCCESS_URL, "quantity": 2, "variants": []}]],
            "max_price_cents": [None, 6000],
            "shipping_address": [
                None,
                {
                    "first_name": "Ada",
                    "last_name": "Trial",
                    "address_line1": "1 Test Way",
                    "address_line2": None,
                    "city": "Portland",
                    "state": "OR",
                    "postal_code": "97201",
                    "country": "US",
                },
            ],
        },
    )
    AuditEntry.objects.create(
        action=AuditEntry.Action.PAYMENT,
        team=team,
        object_type="orders.order",
        object_id=str(order.pk),
        object_repr=str(order),
        changes={
            "status": ["awaiting_payment", "pending"],
            "paid_at": [None, "2026-12-04T16:45:43.714088+00:00"],
            "merchant_order_ids": [[], ["TEST-1", "TEST-2"]],
            "api_key_encrypted": [None, "gAAAA-stored-by-an-old-version"],
        },
    )

    response = member_client.get(reverse("orders:order-detail", args=[order.pk]))

    assert response.status_code == 200
    assert "<dt>Max price</dt><dd>— → $60.00</dd>" in response.text
    assert f"<li>2 × {SUCCESS_URL}</li>" in response.text
    assert "<dd>— → Ada Trial, 1 Test Way, Portland, OR 97201, US</dd>" in response.text
    assert "<dt>Status</dt><dd>Awaiting payment → Pending at Zinc</dd>" in response.text
    assert "<dd>— → 2026-12-04 16:45:43 UTC</dd>" in response.text
    assert "<dt>Retailer order ids</dt><dd>— → TEST-1, TEST-2</dd>" in response.text
    assert "gAAAA" not in response.text
    assert "api_key" not in response.text.lower()
    assert "awaiting_payment" not in response.text


def test_order_detail_of_failed_order_gives_advice(member_client, team, user):
    order = create_order(
        team, user, status=Order.Status.ORDER_FAILED, error_type="max_price_exceeded"
    )

    response = member_client.get(reverse("orders:order-detail", args=[order.pk]))

    advice = (
        "The total exceeded your max price. Raise the max price or pick another "
        "product."
    )
    assert advice in response.text
    assert "Copy into a new draft" in response.text


def test_order_detail_unknown_error_type_gets_generic_advice(member_client, team, user):
    order = create_order(
        team, user, status=Order.Status.ORDER_FAILED, error_type="something_new"
    )

    response = member_client.get(reverse("orders:order-detail", args=[order.pk]))

    assert "Zinc could not place the order. Check the items and the address" in (
        response.text
    )


def test_order_detail_payment_unknown_warns(member_client, team, user):
    order = create_order(team, user, status=Order.Status.PAYMENT_UNKNOWN)

    response = member_client.get(reverse("orders:order-detail", args=[order.pk]))

    assert "The payment outcome is unknown." in response.text
    assert "Do not pay again" in response.text


def test_order_detail_htmx_returns_status_fragment(member_client, team, user):
    order = create_order(team, user)

    response = member_client.get(
        reverse("orders:order-detail", args=[order.pk]), **HTMX_HEADERS
    )

    assert response.text.lstrip().startswith('<section id="order-status"')


def test_order_pages_of_other_team_are_404(member_client, other_team, outsider):
    order = create_order(other_team, outsider, status=Order.Status.AWAITING_PAYMENT)
    attempt = create_attempt(order)
    for name in ["order-detail", "order-edit", "order-review", "order-pay"]:
        response = member_client.get(reverse(f"orders:{name}", args=[order.pk]))
        assert response.status_code == 404, name
    for name in [
        "order-edit",
        "order-submit",
        "order-copy",
        "order-pay-settle",
        "order-pay-continue",
        "order-pay-refresh",
    ]:
        response = member_client.post(
            reverse(f"orders:{name}", args=[order.pk]),
            {"attempt_id": attempt.pk, "payment_method_id": "pm_card_visa"},
        )
        assert response.status_code == 404, name
    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_PAYMENT


# --- composer ----------------------------------------------------------------


def test_order_create_page_renders_form(member_client, address):
    response = member_client.get(reverse("orders:order-create"))

    assert response.status_code == 200
    assert '<label for="item-url-0">Item 1: product URL</label>' in response.text
    assert '<label for="id_max_price">Max price (USD)' in response.text


def test_order_create_saves_draft(member_client, team, user, address):
    response = member_client.post(reverse("orders:order-create"), compose_data(address))

    order = Order.objects.get(team=team)
    assert response.status_code == 302
    assert response.url == reverse("orders:order-review", args=[order.pk])
    assert order.status == Order.Status.DRAFT
    assert order.max_price_cents == 4999
    assert order.po_number == "PO-7"
    assert order.shipping_address == address.to_zinc()
    item = order.items.get()
    assert (item.url, item.quantity, item.retailer) == (SUCCESS_URL, 2, "zinc")
    assert item.variants == [
        {"label": "Color", "value": "Red"},
        {"label": "Size", "value": "M"},
    ]


@pytest.mark.parametrize(
    ("max_price", "cents"),
    [("$1,200", 120000), ("1200", 120000), ("0.5", 50), (" $49.99 ", 4999)],
)
def test_order_create_parses_max_price(member_client, team, address, max_price, cents):
    member_client.post(
        reverse("orders:order-create"), compose_data(address, max_price=max_price)
    )

    assert Order.objects.get(team=team).max_price_cents == cents


@pytest.mark.parametrize(
    ("max_price", "message"),
    [
        ("49.999", "Enter the max price with at most 2 decimal places."),
        ("-5", "The max price cannot be negative."),
        ("$-5", "The max price cannot be negative."),
        ("0", "The max price must be more than zero."),
        ("0.00", "The max price must be more than zero."),
        ("1,20", "“1,20” is not a dollar amount. Enter it like 49.99 or $1,200."),
        ("abc", "“abc” is not a dollar amount. Enter it like 49.99 or $1,200."),
        ("", "Enter the max price in dollars, such as 49.99."),
    ],
)
def test_order_create_rejects_invalid_max_price(
    member_client, team, address, max_price, message
):
    response = member_client.post(
        reverse("orders:order-create"), compose_data(address, max_price=max_price)
    )

    assert response.status_code == 400
    assert message in response.text
    assert not Order.objects.exists()


def test_order_create_rejects_mixed_retailers(member_client, address):
    response = member_client.post(
        reverse("orders:order-create"),
        compose_data(
            address,
            item_url=[SUCCESS_URL, AMAZON_URL],
            item_quantity=["1", "1"],
            item_variants=["", ""],
        ),
    )

    assert response.status_code == 400
    assert (
        "All items of one order must come from the same retailer; found amazon, zinc."
        in (response.text)
    )


def test_order_create_rejects_unsupported_retailer_and_bad_rows(member_client, address):
    response = member_client.post(
        reverse("orders:order-create"),
        compose_data(
            address,
            item_url=["https://www.apple.com/shop/buy-iphone"],
            item_quantity=["101"],
            item_variants=["Color"],
        ),
    )

    assert response.status_code == 400
    assert "Zinc does not order from Apple." in response.text
    assert "Enter a quantity from 1 to 100." in response.text
    assert "Write each variant as label: value" in response.text


def test_order_create_requires_address(member_client, team):
    response = member_client.post(reverse("orders:order-create"), compose_data(None))

    assert response.status_code == 400
    assert "Choose a saved address or enter a new one." in response.text


def test_order_create_rejects_other_teams_address(member_client, other_address):
    response = member_client.post(
        reverse("orders:order-create"), compose_data(other_address)
    )

    assert response.status_code == 400
    assert "Choose one of your team&#x27;s addresses." in response.text


def test_order_create_with_inline_new_address(member_client, team):
    data = compose_data(None)
    data.update(
        {
            f"new_address-{key}": value
            for key, value in address_data(label="New").items()
        }
    )

    response = member_client.post(reverse("orders:order-create"), data)

    assert response.status_code == 302
    order = Order.objects.get(team=team)
    assert order.address.label == "New"
    assert order.shipping_address["phone_number"] == "+14155550100"


def test_order_create_inline_address_errors_in_place(member_client, team):
    data = compose_data(None)
    data.update(
        {f"new_address-{k}": v for k, v in address_data(postal_code="ABC").items()}
    )

    response = member_client.post(reverse("orders:order-create"), data)

    assert response.status_code == 400
    assert "Enter a US ZIP code as 12345 or 12345-6789." in response.text
    assert not Address.objects.exists()


def test_order_create_orders_whole_list_when_no_rows(
    member_client, team, address, product_list
):
    data = compose_data(
        address,
        product_list=str(product_list.pk),
        item_url=[""],
        item_quantity=["1"],
        item_variants=[""],
    )

    response = member_client.post(reverse("orders:order-create"), data)

    assert response.status_code == 302
    item = Order.objects.get(team=team).items.get()
    assert item.quantity == 2
    assert item.variants == [{"label": "Color", "value": "Red"}]


def test_order_create_load_list_adds_rows(member_client, address, product_list):
    response = member_client.post(
        reverse("orders:order-create"),
        compose_data(address, product_list=str(product_list.pk), load_list="1"),
        **HTMX_HEADERS,
    )

    assert response.status_code == 200
    assert response.text.lstrip().startswith('<form id="order-form"')
    assert response.text.count('name="item_url"') == 2
    assert 'value="Color: Red"' in response.text
    assert not Order.objects.exists()


def test_order_create_add_and_remove_item_rows(member_client, address):
    added = member_client.post(
        reverse("orders:order-create"), compose_data(address, add_item="1")
    )
    removed = member_client.post(
        reverse("orders:order-create"), compose_data(address, remove_item="0")
    )

    assert added.text.count('name="item_url"') == 2
    assert "The form was not saved" not in added.text
    assert removed.text.count('name="item_url"') == 1
    assert SUCCESS_URL not in removed.text
    assert not Order.objects.exists()


def test_composer_from_list_preselects_list(member_client, product_list):
    response = member_client.get(
        reverse("orders:order-create"), {"product_list": product_list.pk}
    )

    assert response.status_code == 200
    assert f'<option value="{product_list.pk}" selected>' in response.text
    assert response.text.count('name="item_url"') == 1


def test_composer_foreign_list_is_404(member_client, other_product_list):
    response = member_client.get(
        reverse("orders:order-create"), {"product_list": other_product_list.pk}
    )

    assert response.status_code == 404


def test_order_edit_updates_draft(member_client, team, user, address):
    order = create_order(team, user, address)

    response = member_client.post(
        reverse("orders:order-edit", args=[order.pk]),
        compose_data(address, max_price="60"),
    )

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.max_price_cents == 6000
    assert order.items.get().quantity == 2


def test_order_edit_returns_awaiting_payment_order_to_draft(
    member_client, team, user, address
):
    order = create_order(
        team,
        user,
        address,
        status=Order.Status.AWAITING_PAYMENT,
        request_body='{"max_price": 5000}',
    )
    old_key = order.idempotency_key
    attempt = create_attempt(order)

    member_client.post(
        reverse("orders:order-edit", args=[order.pk]), compose_data(address)
    )

    order.refresh_from_db()
    attempt.refresh_from_db()
    assert order.status == Order.Status.DRAFT
    assert order.request_body == ""
    # The key stays, so a late paid request for the old body and a new one
    # for the edited order can never both create an order at Zinc.
    assert order.idempotency_key == old_key
    assert attempt.state == State.SUPERSEDED
    assert order.events.filter(
        from_status="awaiting_payment", to_status="draft"
    ).exists()


def test_order_edit_of_placed_order_is_refused(member_client, team, user, address):
    order = create_order(team, user, address, status=Order.Status.PENDING)

    response = member_client.post(
        reverse("orders:order-edit", args=[order.pk]),
        compose_data(address),
        follow=True,
    )

    assert "can no longer be edited" in response.text
    order.refresh_from_db()
    assert order.max_price_cents == 5000


def test_order_edit_shows_stored_zinc_errors(member_client, team, user, address):
    order = create_order(
        team,
        user,
        address,
        validation_errors={
            "shipping_address.address_line1": ["The address could not be verified."],
            "products.0.url": ["The product page could not be reached."],
            "max_price": ["Too low."],
        },
    )

    response = member_client.get(reverse("orders:order-edit", args=[order.pk]))

    assert "Address line 1: The address could not be verified." in response.text
    assert "The product page could not be reached." in response.text
    assert 'id="item-url-0-error"' in response.text
    assert "Too low." in response.text
    assert "Zinc found problems with this order and charged nothing." in response.text
    assert "Enter the recipient" not in response.text


def test_order_copy_creates_new_draft(member_client, team, user, address):
    order = create_order(
        team, user, address, status=Order.Status.ORDER_FAILED, po_number="PO-9"
    )

    response = member_client.post(reverse("orders:order-copy", args=[order.pk]))

    copy = Order.objects.exclude(pk=order.pk).get()
    assert response.status_code == 302
    assert response.url == reverse("orders:order-edit", args=[copy.pk])
    assert copy.status == Order.Status.DRAFT
    assert copy.po_number == "PO-9"
    assert copy.items.get().url == SUCCESS_URL
    assert copy.idempotency_key != order.idempotency_key


def test_order_copy_of_draft_is_refused(member_client, team, user):
    order = create_order(team, user)

    member_client.post(reverse("orders:order-copy", args=[order.pk]))

    assert Order.objects.count() == 1


# --- review, submit and pay --------------------------------------------------


def test_order_review_shows_authorisation(member_client, team, user, address):
    order = create_order(team, user, address, max_price_cents=4999)

    response = member_client.get(reverse("orders:order-review", args=[order.pk]))

    assert response.status_code == 200
    fee = settings.ZINC_FEE_CENTS
    assert f"${(4999 + fee) / 100:.2f}" in response.text
    assert "Send to Zinc" in response.text
    assert "1 Market St" in response.text


def test_order_submit_accepted_redirects_to_pay(
    sandbox, member_client, team, user, address
):
    order = create_order(team, user, address)

    response = member_client.post(reverse("orders:order-submit", args=[order.pk]))

    assert response.status_code == 302
    assert response.url == reverse("orders:order-pay", args=[order.pk])
    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_PAYMENT


def test_order_submit_shows_zinc_errors_on_fields(
    sandbox, member_client, team, user, address
):
    order = create_order(
        team,
        user,
        address,
        urls=("https://zinc.com/shop/products/test-invalid-address",),
    )

    response = member_client.post(reverse("orders:order-submit", args=[order.pk]))

    assert response.status_code == 400
    assert '<form id="order-form"' in response.text
    assert "Address line 1: " in response.text
    order.refresh_from_db()
    assert order.status == Order.Status.DRAFT


def test_order_pay_page_renders_challenge(member_client, team, user, address):
    order = create_order(team, user, address, status=Order.Status.AWAITING_PAYMENT)
    stripe_attempt = create_attempt(order, amount=5100)
    create_attempt(
        order,
        method="tempo",
        amount=51000000,
        decimals=6,
        currency="0x20c0000000000000000000000000000000000000",
        recipient="0xabc",
        network_id="42431",
    )

    response = member_client.get(reverse("orders:order-pay", args=[order.pk]))

    assert response.status_code == 200
    data = json.loads(
        response.text.split('<script id="checkout-data" type="application/json">')[
            1
        ].split("</script>")[0]
    )
    assert data["attempt"]["id"] == stripe_attempt.pk
    assert data["attempt"]["amount"] == 5100
    assert data["attempt"]["currency"] == "usd"
    assert data["attempt"]["paymentMethodTypes"] == ["card"]
    assert f'<script src="{settings.STRIPE_JS_URL}">' in response.text
    assert '<div id="payment-element"' in response.text
    assert "$51.00" in response.text
    assert (
        '<span class="mono">51.000000</span> '
        '<span class="muted">(token with 6 decimals)</span>'
    ) in response.text
    assert (
        '<abbr class="mono" title="0x20c0000000000000000000000000000000000000">'
        "0x20c0…000000</abbr>"
    ) in response.text
    assert '<dd class="mono">42431</dd>' in response.text


def test_order_pay_page_of_draft_redirects(member_client, team, user):
    order = create_order(team, user)

    response = member_client.get(reverse("orders:order-pay", args=[order.pk]))

    assert response.status_code == 302
    assert response.url == reverse("orders:order-detail", args=[order.pk])


@pytest.mark.parametrize(
    ("attempt_id", "payment_method_id"),
    [
        ("other", "pm_card_visa"),
        ("own", "card_visa"),
        ("own", "pm_x;drop"),
        ("", "pm_a"),
    ],
)
def test_order_pay_settle_rejects_bad_input(
    member_client, team, user, outsider, other_team, attempt_id, payment_method_id
):
    order = create_order(team, user, status=Order.Status.AWAITING_PAYMENT)
    own = create_attempt(order)
    foreign = create_attempt(create_order(other_team, outsider))
    ids = {"own": own.pk, "other": foreign.pk, "": ""}

    response = member_client.post(
        reverse("orders:order-pay-settle", args=[order.pk]),
        {"attempt_id": ids[attempt_id], "payment_method_id": payment_method_id},
    )

    assert response.status_code == 400
    assert response.json()["outcome"] == "invalid"
    own.refresh_from_db()
    assert own.state == State.OFFERED


def test_order_pay_settle_declined_then_placed(
    sandbox, member_client, team, user, address
):
    order = create_order(team, user, address)
    member_client.post(reverse("orders:order-submit", args=[order.pk]))
    attempt = order.payment_attempts.get(method="stripe", state=State.OFFERED)
    url = reverse("orders:order-pay-settle", args=[order.pk])

    declined = member_client.post(
        url,
        {"attempt_id": attempt.pk, "payment_method_id": "pm_card_visa_chargeDeclined"},
    ).json()
    placed = member_client.post(
        url,
        {"attempt_id": declined["attempt"]["id"], "payment_method_id": "pm_card_visa"},
    ).json()

    assert declined["outcome"] == "declined"
    assert declined["attempt"]["id"] != attempt.pk
    assert placed["outcome"] == "placed"
    assert placed["orderUrl"] == reverse("orders:order-detail", args=[order.pk])
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert [c["amount"] for c in sandbox.ledger(order.idempotency_key)["charges"]] == [
        5100
    ]


def test_order_pay_refresh_returns_fresh_attempt(
    sandbox, member_client, team, user, address
):
    order = create_order(team, user, address)
    member_client.post(reverse("orders:order-submit", args=[order.pk]))
    old = order.payment_attempts.get(method="stripe", state=State.OFFERED)

    body = member_client.post(
        reverse("orders:order-pay-refresh", args=[order.pk])
    ).json()

    assert body["outcome"] == "refreshed"
    assert body["attempt"]["id"] != old.pk
    old.refresh_from_db()
    assert old.state == State.SUPERSEDED


def test_composer_load_list_without_list_shows_error(member_client, address):
    response = member_client.post(
        reverse("orders:order-create"), compose_data(address, load_list="1")
    )

    assert response.status_code == 200
    assert "Choose a product list, then add its items." in response.text
    assert not Order.objects.exists()


@pytest.mark.parametrize("text", ["٥٠", "５０", "50.٥"])
def test_max_price_rejects_non_ascii_digits(text):
    from django.core.exceptions import ValidationError

    from orders.forms import parse_dollars

    with pytest.raises(ValidationError, match="is not a dollar amount"):
        parse_dollars(text)
