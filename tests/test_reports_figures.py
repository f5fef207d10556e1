"""Every report figure against a small data set computed by hand.

The data set, with the period 2026-10-01 to 2026-11-30:

=====  =====  =====================  ====================  ==========  =========
order  team   status                 paid_at               authorised  refunded
=====  =====  =====================  ====================  ==========  =========
1      Alpha  order_placed           2026-10-05 10:00      5100        400
2      Alpha  order_failed           2026-10-31 23:59:59   3100        3100
3      Alpha  order_placed           2026-11-01 00:00:00   2100        100
4      Beta   cancelled_by_retailer  2026-10-10 12:00      10100       10100
5      Beta   pending                2026-11-15 00:00      1100        -
6      Beta   draft                  (never paid)          -           -
7      Alpha  order_failed           2026-11-02 00:00      600         600
8      Alpha  order_placed           2026-09-30 23:59:59   (outside the period)
=====  =====  =====================  ====================  ==========  =========

Charged: order 1 4700, order 3 2000, order 4 9000 (set when it was placed,
before the retailer cancelled), order 8 1000.
"""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model

from orders.models import Order, OrderItem, Team
from reports import queries
from reports.queries import ReportScope

Status = Order.Status

X_URL = "https://www.amazon.com/dp/B0XXXXXXXX"
Y_URL = "https://www.amazon.com/dp/B0YYYYYYYY"
Z_URL = "https://www.walmart.com/ip/zzz/123"
W_URL = "https://www.target.com/p/widget/-/A-1"
V_URL = "https://www.target.com/p/vase/-/A-2"


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def make_order(team: Team, user, **fields) -> Order:
    items = fields.pop("items", [])
    paid_at = fields.get("paid_at")
    fields.setdefault(
        "created_at", paid_at - timedelta(hours=1) if paid_at else at(2026, 11, 20)
    )
    fields.setdefault("max_price_cents", 5000)
    order = Order.objects.create(team=team, created_by=user, **fields)
    for position, (url, quantity) in enumerate(items):
        OrderItem.objects.create(
            order=order, url=url, quantity=quantity, position=position
        )
    return order


@pytest.fixture
def data(db) -> dict[str, Team]:
    user = get_user_model().objects.create_user("buyer", password="x")
    alpha = Team.objects.create(name="Alpha")
    beta = Team.objects.create(name="Beta")
    make_order(
        alpha,
        user,
        status=Status.ORDER_PLACED,
        paid_at=at(2026, 10, 5, 10),
        placed_at=at(2026, 10, 5, 10, 30),
        first_tracking_at=at(2026, 10, 6, 10),
        authorized_cents=5100,
        fee_cents=100,
        charged_cents=4700,
        refunded_cents=400,
        items=[(X_URL, 2)],
    )
    make_order(
        alpha,
        user,
        status=Status.ORDER_FAILED,
        error_type="max_price_exceeded",
        created_at=at(2026, 10, 31, 23, 50),
        paid_at=at(2026, 10, 31, 23, 59, 59),
        authorized_cents=3100,
        fee_cents=100,
        refunded_cents=3100,
        items=[(Y_URL, 1)],
    )
    make_order(
        alpha,
        user,
        status=Status.ORDER_PLACED,
        created_at=at(2026, 10, 31, 23, 59),
        paid_at=at(2026, 11, 1, 0, 0, 0),
        placed_at=at(2026, 11, 1, 1),
        first_tracking_at=at(2026, 11, 3),
        authorized_cents=2100,
        fee_cents=100,
        charged_cents=2000,
        refunded_cents=100,
        items=[(Z_URL, 3), (X_URL, 1)],
    )
    make_order(
        beta,
        user,
        status=Status.CANCELLED_BY_RETAILER,
        paid_at=at(2026, 10, 10, 12),
        placed_at=at(2026, 10, 10, 14),
        authorized_cents=10100,
        fee_cents=100,
        charged_cents=9000,
        refunded_cents=10100,
        items=[(Z_URL, 1)],
    )
    make_order(
        beta,
        user,
        status=Status.PENDING,
        paid_at=at(2026, 11, 15),
        authorized_cents=1100,
        fee_cents=100,
        items=[(W_URL, 5)],
    )
    make_order(beta, user, status=Status.DRAFT, items=[(W_URL, 1)])
    make_order(
        alpha,
        user,
        status=Status.ORDER_FAILED,
        error_type="product_out_of_stock",
        paid_at=at(2026, 11, 2),
        authorized_cents=600,
        fee_cents=100,
        refunded_cents=600,
        items=[(V_URL, 1)],
    )
    make_order(
        alpha,
        user,
        status=Status.ORDER_PLACED,
        paid_at=at(2026, 9, 30, 23, 59, 59),
        placed_at=at(2026, 10, 1, 3),
        authorized_cents=1100,
        fee_cents=100,
        charged_cents=1000,
        refunded_cents=100,
        items=[(X_URL, 7)],
    )
    return {"alpha": alpha, "beta": beta}


def period(teams=None, start=date(2026, 10, 1), end=date(2026, 11, 30)):
    return ReportScope(start=start, end=end, teams=teams)


def test_spend_per_team_and_month(data):
    rows = queries.spend_by_team_month(period())

    assert rows == [
        {
            "month": date(2026, 10, 1),
            "team": "Alpha",
            "order_count": 2,
            "authorized_cents": 8200,
            "charged_cents": 4700,
            "refunded_cents": 3500,
        },
        {
            "month": date(2026, 10, 1),
            "team": "Beta",
            "order_count": 1,
            "authorized_cents": 10100,
            "charged_cents": 0,
            "refunded_cents": 10100,
        },
        {
            "month": date(2026, 11, 1),
            "team": "Alpha",
            "order_count": 2,
            "authorized_cents": 2700,
            "charged_cents": 2000,
            "refunded_cents": 700,
        },
        {
            "month": date(2026, 11, 1),
            "team": "Beta",
            "order_count": 1,
            "authorized_cents": 1100,
            "charged_cents": 0,
            "refunded_cents": 0,
        },
    ]


def test_spend_month_boundary_splits_last_second(data):
    october = queries.spend_by_team_month(
        period(teams=Team.objects.filter(name="Alpha"), end=date(2026, 10, 31))
    )
    november = queries.spend_by_team_month(
        period(teams=Team.objects.filter(name="Alpha"), start=date(2026, 11, 1))
    )

    assert [(row["month"], row["authorized_cents"]) for row in october] == [
        (date(2026, 10, 1), 8200)
    ]
    assert [(row["month"], row["authorized_cents"]) for row in november] == [
        (date(2026, 11, 1), 2700)
    ]


def test_spend_failed_order_counts_as_refunded_in_full(data):
    scope = period(start=date(2026, 10, 31), end=date(2026, 10, 31))

    rows = queries.spend_by_team_month(scope)

    assert len(rows) == 1
    assert rows[0]["authorized_cents"] == 3100
    assert rows[0]["charged_cents"] == 0
    assert rows[0]["refunded_cents"] == 3100


def test_spend_limited_to_one_team(data):
    rows = queries.spend_by_team_month(period(teams=Team.objects.filter(name="Beta")))

    assert [row["team"] for row in rows] == ["Beta", "Beta"]
    assert sum(row["authorized_cents"] for row in rows) == 11200


def test_orders_by_status(data):
    rows = queries.orders_by_status(period())

    assert [(row["status"], row["order_count"]) for row in rows] == [
        ("order_failed", 2),
        ("order_placed", 2),
        ("cancelled_by_retailer", 1),
        ("draft", 1),
        ("pending", 1),
    ]
    assert rows[0]["label"] == "Failed"


def test_failures_by_error_type(data):
    rows = queries.failures_by_error_type(period())

    assert rows == [
        {"error_type": "max_price_exceeded", "order_count": 1},
        {"error_type": "product_out_of_stock", "order_count": 1},
    ]


def test_failures_by_retailer_with_finished_orders(data):
    rows = queries.failures_by_retailer(period())

    # Each order counts under its first item's retailer. Amazon: orders 1 and
    # 2 finished and order 2 failed. Target: order 7 failed and order 5 is
    # still pending. Walmart: orders 3 (first item at Walmart) and 4, neither
    # failed.
    assert rows == [
        {"retailer": "amazon", "failed_count": 1, "finished_count": 2},
        {"retailer": "target", "failed_count": 1, "finished_count": 1},
        {"retailer": "walmart", "failed_count": 0, "finished_count": 2},
    ]


def test_fulfilment_times_median_and_p90(data):
    placed, tracking = queries.fulfilment_times(period())

    # Payment to placed: 1800 s, 3600 s and 7200 s. The median is the middle
    # one; the 90th percentile sits at index 1.8: 3600 + 0.8 * 3600.
    assert placed.measure == "paid_to_placed"
    assert placed.order_count == 3
    assert placed.median == timedelta(seconds=3600)
    assert placed.p90 == timedelta(seconds=6480)
    # Payment to first tracking: 86400 s and 172800 s.
    assert tracking.measure == "paid_to_first_tracking"
    assert tracking.order_count == 2
    assert tracking.median == timedelta(seconds=129600)
    assert tracking.p90 == timedelta(seconds=164160)


def test_fulfilment_times_with_no_orders(db):
    placed, tracking = queries.fulfilment_times(period())

    assert placed.order_count == 0
    assert placed.median is None
    assert placed.p90 is None
    assert tracking.order_count == 0


def test_fulfilment_times_with_one_order(data):
    placed, _ = queries.fulfilment_times(
        period(start=date(2026, 10, 5), end=date(2026, 10, 5))
    )

    assert placed.order_count == 1
    assert placed.median == timedelta(seconds=1800)
    assert placed.p90 == timedelta(seconds=1800)


def test_top_products_by_quantity(data):
    rows = queries.top_products(period(), by="quantity")

    assert [
        (row["url"], row["quantity"], row["order_count"], row["charged_cents"])
        for row in rows
    ] == [
        (W_URL, 5, 1, 0),
        (Z_URL, 4, 2, 2000),
        (X_URL, 3, 2, 6700),
        (Y_URL, 1, 1, 0),
        (V_URL, 1, 1, 0),
    ]
    assert rows[0]["retailer"] == "Target"


def test_top_products_by_spend(data):
    rows = queries.top_products(period(), by="spend")

    assert [(row["url"], row["charged_cents"]) for row in rows] == [
        (X_URL, 6700),
        (Z_URL, 2000),
        (W_URL, 0),
        (Y_URL, 0),
        (V_URL, 0),
    ]


def test_top_products_rejects_unknown_ordering(db):
    with pytest.raises(ValueError, match="'price'"):
        queries.top_products(period(), by="price")


def test_build_report_runs_eight_queries(data, django_assert_num_queries):
    with django_assert_num_queries(8):
        report = queries.build_report(period())

    assert len(report.spend) == 4
    assert len(report.top_by_spend) == 5
