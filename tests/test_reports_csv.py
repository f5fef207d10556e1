"""CSV exports: headers, every row, quoting, amounts and formula escaping."""

import csv
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.http import StreamingHttpResponse
from django.urls import reverse

from orders.models import Order, OrderItem, Team
from reports.csv import escape_formula
from reports.formatting import format_dollars, format_percent, format_seconds

Status = Order.Status
PERIOD = {"start": "2026-10-01", "end": "2026-10-31"}
ORDER_PERIOD = {"created_from": "2026-10-01", "created_to": "2026-10-31"}
ORDER_CSV_URL = reverse("reports:order-csv")
EAST = 'Ops, "East"'
AMAZON_URL = "https://www.amazon.com/dp/B0CSV00001"
TARGET_URL = "https://www.target.com/p/t/-/A-9"
WALMART_URL = "https://www.walmart.com/ip/w/9"


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def make_order(team, user, item, **fields) -> Order:
    fields.setdefault("created_at", fields["paid_at"] - timedelta(minutes=5))
    order = Order.objects.create(team=team, created_by=user, **fields)
    url, quantity = item
    OrderItem.objects.create(order=order, url=url, quantity=quantity)
    return order


@pytest.fixture
def staff_client(client, db):
    user_model = get_user_model()
    client.force_login(user_model.objects.create_user("boss", is_staff=True))
    buyer = user_model.objects.create_user("buyer")
    east = Team.objects.create(name=EAST)
    formula_team = Team.objects.create(name="=SUM(1+1)")
    make_order(
        east,
        buyer,
        (AMAZON_URL, 2),
        status=Status.ORDER_PLACED,
        po_number='PO 7, "rush"',
        zinc_order_id="zn_1",
        max_price_cents=10000,
        authorized_cents=10100,
        fee_cents=100,
        charged_cents=8550,
        refunded_cents=1550,
        subtotal_cents=7500,
        tax_cents=600,
        shipping_cents=350,
        total_cents=8450,
        paid_at=at(2026, 10, 3, 9),
        placed_at=at(2026, 10, 3, 9, 20),
        first_tracking_at=at(2026, 10, 4, 9),
    )
    make_order(
        east,
        buyer,
        (WALMART_URL, 1),
        status=Status.ORDER_FAILED,
        error_type="product_out_of_stock",
        po_number='=HYPERLINK("http://example.invalid")',
        zinc_order_id="zn_2",
        max_price_cents=2500,
        authorized_cents=2600,
        fee_cents=100,
        refunded_cents=2600,
        paid_at=at(2026, 10, 20, 12),
    )
    make_order(
        formula_team,
        buyer,
        (TARGET_URL, 1),
        status=Status.PENDING,
        po_number="-2+3",
        max_price_cents=505,
        authorized_cents=605,
        fee_cents=100,
        paid_at=at(2026, 10, 25),
    )
    return client


def download(client, url: str, params=PERIOD) -> tuple[StreamingHttpResponse, str]:
    response = client.get(url, params)
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    return response, b"".join(response.streaming_content).decode()


def table_url(table: str) -> str:
    return reverse("reports:report-csv", args=[table])


def test_spend_csv_rows(staff_client):
    response, text = download(staff_client, table_url("spend"))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="spend_2026-10-01_2026-10-31.csv"'
    )
    assert text.splitlines() == [
        "month,team,order_count,authorized_usd,charged_usd,refunded_usd",
        "2026-10,'=SUM(1+1),1,6.05,0.00,0.00",
        '2026-10,"Ops, ""East""",2,127.00,85.50,41.50',
    ]


def test_spend_csv_parses_back_to_team_name(staff_client):
    _, text = download(staff_client, table_url("spend"))

    rows = list(csv.reader(text.splitlines()))

    assert rows[2][1] == EAST
    assert len(rows[2]) == 6


def test_statuses_csv_rows(staff_client):
    _, text = download(staff_client, table_url("statuses"))

    assert text.splitlines() == [
        "status,status_label,order_count",
        "order_failed,Failed,1",
        "order_placed,Placed,1",
        "pending,Pending at Zinc,1",
    ]


def test_failures_by_error_type_csv_rows(staff_client):
    _, text = download(staff_client, table_url("failures-by-error-type"))

    assert text.splitlines() == [
        "error_type,failed_orders",
        "product_out_of_stock,1",
    ]


def test_failures_by_retailer_csv_rows(staff_client):
    _, text = download(staff_client, table_url("failures-by-retailer"))

    assert text.splitlines() == [
        "retailer,failed_orders,finished_orders,failure_rate_percent",
        "walmart,1,1,100.0",
        "amazon,0,1,0.0",
    ]


def test_fulfilment_times_csv_rows(staff_client):
    _, text = download(staff_client, table_url("fulfilment-times"))

    assert text.splitlines() == [
        "measure,order_count,median_seconds,p90_seconds",
        "paid_to_placed,1,1200,1200",
        "paid_to_first_tracking,1,86400,86400",
    ]


def test_top_products_by_quantity_csv_rows(staff_client):
    _, text = download(staff_client, table_url("top-products-by-quantity"))

    assert text.splitlines() == [
        "url,retailer,quantity,order_count,charged_usd",
        f"{AMAZON_URL},Amazon,2,1,85.50",
        f"{TARGET_URL},Target,1,1,0.00",
        f"{WALMART_URL},Walmart,1,1,0.00",
    ]


def test_top_products_by_spend_csv_rows(staff_client):
    _, text = download(staff_client, table_url("top-products-by-spend"))

    assert text.splitlines()[:2] == [
        "url,retailer,quantity,order_count,charged_usd",
        f"{AMAZON_URL},Amazon,2,1,85.50",
    ]


def test_csv_respects_team_filter(staff_client):
    team = Team.objects.get(name=EAST)

    _, text = download(staff_client, table_url("spend"), {**PERIOD, "team": team.pk})

    assert text.splitlines()[1:] == ['2026-10,"Ops, ""East""",2,127.00,85.50,41.50']


def test_csv_of_empty_period_has_only_header(staff_client):
    _, text = download(
        staff_client, table_url("spend"), {"start": "2025-01-01", "end": "2025-01-31"}
    )

    assert text.splitlines() == [
        "month,team,order_count,authorized_usd,charged_usd,refunded_usd"
    ]


def test_order_csv_rows(staff_client):
    response, text = download(staff_client, ORDER_CSV_URL, ORDER_PERIOD)

    assert response["Content-Disposition"].startswith('attachment; filename="orders_')
    rows = list(csv.reader(text.splitlines()))
    assert rows[0] == [
        "id",
        "created_at",
        "team",
        "created_by",
        "status",
        "po_number",
        "item_count",
        "max_price_usd",
        "authorized_usd",
        "fee_usd",
        "charged_usd",
        "refunded_usd",
        "subtotal_usd",
        "tax_usd",
        "shipping_usd",
        "total_usd",
        "zinc_order_id",
        "error_type",
        "paid_at",
        "placed_at",
        "first_tracking_at",
    ]
    placed, failed, pending = (
        Order.objects.get(zinc_order_id="zn_1"),
        Order.objects.get(zinc_order_id="zn_2"),
        Order.objects.get(status=Status.PENDING),
    )
    assert rows[1] == [
        str(pending.pk),
        "2026-10-24T23:55:00+00:00",
        "'=SUM(1+1)",
        "buyer",
        "pending",
        "'-2+3",
        "1",
        "5.05",
        "6.05",
        "1.00",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "2026-10-25T00:00:00+00:00",
        "",
        "",
    ]
    assert rows[2] == [
        str(failed.pk),
        "2026-10-20T11:55:00+00:00",
        EAST,
        "buyer",
        "order_failed",
        '\'=HYPERLINK("http://example.invalid")',
        "1",
        "25.00",
        "26.00",
        "1.00",
        "",
        "26.00",
        "",
        "",
        "",
        "",
        "zn_2",
        "product_out_of_stock",
        "2026-10-20T12:00:00+00:00",
        "",
        "",
    ]
    assert rows[3] == [
        str(placed.pk),
        "2026-10-03T08:55:00+00:00",
        EAST,
        "buyer",
        "order_placed",
        'PO 7, "rush"',
        "1",
        "100.00",
        "101.00",
        "1.00",
        "85.50",
        "15.50",
        "75.00",
        "6.00",
        "3.50",
        "84.50",
        "zn_1",
        "",
        "2026-10-03T09:00:00+00:00",
        "2026-10-03T09:20:00+00:00",
        "2026-10-04T09:00:00+00:00",
    ]
    assert len(rows) == 4


def test_order_csv_quotes_comma_and_quote(staff_client):
    _, text = download(staff_client, ORDER_CSV_URL, ORDER_PERIOD)

    assert ',"PO 7, ""rush""",' in text
    assert ',"Ops, ""East""",' in text


def test_order_csv_never_contains_api_key(staff_client):
    order = Order.objects.get(zinc_order_id="zn_1")
    order.set_api_key("zk_live_secret_value")
    order.request_body = '{"secret": "request body"}'
    order.save()

    _, text = download(staff_client, ORDER_CSV_URL, ORDER_PERIOD)

    assert "zk_live_secret_value" not in text
    assert order.api_key_encrypted not in text
    assert "request body" not in text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+cmd", "'+cmd"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("-15.05", "-15.05"),
        ("-3", "-3"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_escape_formula(value, expected):
    assert escape_formula(value) == expected


@pytest.mark.parametrize(
    ("cents", "expected"),
    [
        (0, "0.00"),
        (5, "0.05"),
        (100, "1.00"),
        (123456, "1234.56"),
        (-5, "-0.05"),
        (-1505, "-15.05"),
        (None, ""),
    ],
)
def test_format_dollars(cents, expected):
    assert format_dollars(cents) == expected


@pytest.mark.parametrize(
    ("part", "whole", "expected"),
    [(1, 3, "33.3"), (2, 3, "66.7"), (1, 8, "12.5"), (0, 4, "0.0"), (1, 0, "")],
)
def test_format_percent(part, whole, expected):
    assert format_percent(part, whole) == expected


def test_format_seconds_rounds_half_up():
    assert format_seconds(timedelta(seconds=10, microseconds=500_000)) == "11"
    assert format_seconds(timedelta(seconds=10, microseconds=499_999)) == "10"
    assert format_seconds(timedelta(days=1, seconds=1)) == "86401"
    assert format_seconds(None) == ""


def test_order_csv_uses_order_list_filters(staff_client):
    params = {"status": "order_failed", "q": "zn_2"}

    _, text = download(staff_client, ORDER_CSV_URL, params)

    rows = list(csv.reader(text.splitlines()))
    assert [row[16] for row in rows[1:]] == ["zn_2"]


def test_order_csv_team_filter(staff_client):
    team = Team.objects.get(name="=SUM(1+1)")

    _, text = download(staff_client, ORDER_CSV_URL, {"team": team.pk})

    rows = list(csv.reader(text.splitlines()))
    assert [row[2] for row in rows[1:]] == ["'=SUM(1+1)"]


def test_order_csv_invalid_filter_is_400(staff_client):
    response = staff_client.get(ORDER_CSV_URL, {"created_from": "tomorrow"})

    assert response.status_code == 400
    assert b"created_from" in response.content


def test_order_csv_outside_period_is_empty(staff_client):
    _, text = download(staff_client, ORDER_CSV_URL, {"created_from": "2026-11-01"})

    assert len(text.splitlines()) == 1
