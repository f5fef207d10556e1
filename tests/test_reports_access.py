"""Who may read which report figures, filter validation and the query count."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders.models import Membership, Order, OrderItem, Team

Status = Order.Status
PERIOD = {"start": "2026-10-01", "end": "2026-10-31"}
REPORT_URL = reverse("reports:report-page")
SPEND_CSV_URL = reverse("reports:report-csv", args=["spend"])


def make_paid_order(team: Team, user, authorized_cents: int, **fields) -> Order:
    paid_at = fields.pop("paid_at", datetime(2026, 10, 5, 12, tzinfo=UTC))
    order = Order.objects.create(
        team=team,
        created_by=user,
        status=fields.pop("status", Status.ORDER_PLACED),
        max_price_cents=authorized_cents - 100,
        authorized_cents=authorized_cents,
        fee_cents=100,
        charged_cents=authorized_cents - 200,
        refunded_cents=200,
        created_at=paid_at - timedelta(minutes=5),
        paid_at=paid_at,
        placed_at=paid_at + timedelta(minutes=30),
        **fields,
    )
    OrderItem.objects.create(order=order, url="https://www.amazon.com/dp/B0TEST0001")
    return order


@pytest.fixture
def teams(db) -> dict[str, Team]:
    return {
        "alpha": Team.objects.create(name="Alpha Ops"),
        "beta": Team.objects.create(name="Beta Labs"),
    }


@pytest.fixture
def buyer(db):
    return get_user_model().objects.create_user("buyer", password="x")


@pytest.fixture
def orders(teams, buyer) -> None:
    make_paid_order(teams["alpha"], buyer, 1234)
    make_paid_order(teams["beta"], buyer, 9876)


def member(username: str, team: Team, role: str):
    user = get_user_model().objects.create_user(username, password="x")
    Membership.objects.create(user=user, team=team, role=role)
    return user


def test_anonymous_is_redirected_to_login(client, db):
    response = client.get(REPORT_URL)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={REPORT_URL}"


def test_anonymous_csv_is_redirected_to_login(client, db):
    response = client.get(SPEND_CSV_URL)

    assert response.status_code == 302


def test_requester_gets_403(client, teams):
    client.force_login(member("req", teams["alpha"], Membership.Role.REQUESTER))

    assert client.get(REPORT_URL).status_code == 403
    assert client.get(SPEND_CSV_URL).status_code == 403


def test_user_without_team_gets_403(client, db):
    client.force_login(get_user_model().objects.create_user("loner", password="x"))

    assert client.get(REPORT_URL).status_code == 403


def test_approver_sees_only_own_team(client, teams, orders):
    client.force_login(member("appr", teams["alpha"], Membership.Role.APPROVER))

    response = client.get(REPORT_URL, PERIOD)

    assert response.status_code == 200
    spend = response.context["report"].spend
    assert [(row["team"], row["authorized_cents"]) for row in spend] == [
        ("Alpha Ops", 1234)
    ]
    html = response.content.decode()
    assert "$12.34" in html
    assert "Beta Labs" not in html
    assert "$98.76" not in html


def test_team_admin_sees_own_team(client, teams, orders):
    client.force_login(member("adm", teams["beta"], Membership.Role.ADMIN))

    response = client.get(REPORT_URL, PERIOD)

    assert response.status_code == 200
    spend = response.context["report"].spend
    assert [row["team"] for row in spend] == ["Beta Labs"]


def test_approver_of_one_team_and_requester_of_another(client, teams, orders):
    user = member("mixed", teams["alpha"], Membership.Role.APPROVER)
    Membership.objects.create(
        user=user, team=teams["beta"], role=Membership.Role.REQUESTER
    )
    client.force_login(user)

    response = client.get(REPORT_URL, PERIOD)

    spend = response.context["report"].spend
    assert [row["team"] for row in spend] == ["Alpha Ops"]


def test_approver_cannot_choose_another_team(client, teams, orders):
    client.force_login(member("appr", teams["alpha"], Membership.Role.APPROVER))

    response = client.get(REPORT_URL, {**PERIOD, "team": teams["beta"].pk})

    assert response.status_code == 200
    assert response.context["report"] is None
    assert "team" in response.context["form"].errors
    assert "$98.76" not in response.content.decode()


def test_approver_csv_of_another_team_is_rejected(client, teams, orders):
    client.force_login(member("appr", teams["alpha"], Membership.Role.APPROVER))

    response = client.get(SPEND_CSV_URL, {**PERIOD, "team": teams["beta"].pk})

    assert response.status_code == 400
    assert b"98.76" not in response.content


def test_approver_csv_contains_only_own_team(client, teams, orders):
    client.force_login(member("appr", teams["alpha"], Membership.Role.APPROVER))

    response = client.get(SPEND_CSV_URL, PERIOD)

    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines == [
        "month,team,order_count,authorized_usd,charged_usd,refunded_usd",
        "2026-10,Alpha Ops,1,12.34,10.34,2.00",
    ]


def test_staff_sees_every_team(client, teams, orders):
    staff = get_user_model().objects.create_user("staff", password="x", is_staff=True)
    client.force_login(staff)

    response = client.get(REPORT_URL, PERIOD)

    spend = response.context["report"].spend
    assert [(row["team"], row["authorized_cents"]) for row in spend] == [
        ("Alpha Ops", 1234),
        ("Beta Labs", 9876),
    ]


def test_staff_can_choose_one_team(client, teams, orders):
    staff = get_user_model().objects.create_user("staff", password="x", is_staff=True)
    client.force_login(staff)

    response = client.get(REPORT_URL, {**PERIOD, "team": teams["beta"].pk})

    spend = response.context["report"].spend
    assert [row["team"] for row in spend] == ["Beta Labs"]


def test_default_period_is_current_month_to_date(client, teams, buyer):
    make_paid_order(teams["alpha"], buyer, 5000, paid_at=datetime.now(UTC))
    client.force_login(member("appr", teams["alpha"], Membership.Role.APPROVER))

    response = client.get(REPORT_URL)

    form = response.context["form"]
    today = datetime.now(UTC).date()
    assert form.cleaned_data["start"] == today.replace(day=1)
    assert form.cleaned_data["end"] == today
    assert response.context["report"].spend[0]["authorized_cents"] == 5000


def test_end_before_start_is_a_validation_error(client, teams):
    client.force_login(member("appr", teams["alpha"], Membership.Role.APPROVER))

    response = client.get(REPORT_URL, {"start": "2026-10-10", "end": "2026-10-01"})

    assert response.status_code == 200
    assert response.context["report"] is None
    assert response.context["form"].errors["end"] == [
        "The end date must be on or after the start date."
    ]


def test_invalid_date_in_csv_is_400(client, teams):
    client.force_login(member("appr", teams["alpha"], Membership.Role.APPROVER))

    response = client.get(SPEND_CSV_URL, {"start": "October", "end": "2026-10-31"})

    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"


def test_unknown_csv_table_is_404(client, teams):
    client.force_login(member("appr", teams["alpha"], Membership.Role.APPROVER))

    response = client.get(reverse("reports:report-csv", args=["salaries"]))

    assert response.status_code == 404


def test_page_embeds_chart_data_and_static_scripts(client, teams, orders):
    client.force_login(member("appr", teams["alpha"], Membership.Role.APPROVER))

    response = client.get(REPORT_URL, PERIOD)

    html = response.content.decode()
    assert '<script id="spend-chart-data" type="application/json">' in html
    assert '<script id="status-chart-data" type="application/json">' in html
    assert '<script id="failure-chart-data" type="application/json">' in html
    assert response.context["spend_chart"] == {
        "labels": ["2026-10 Alpha Ops"],
        "datasets": [
            {"label": "Authorised", "data": [1234]},
            {"label": "Charged", "data": [1034]},
            {"label": "Refunded", "data": [200]},
        ],
    }
    assert 'src="/static/vendor/chart.umd.min.js"' in html
    assert 'src="/static/reports/charts.js"' in html
    assert "<script>" not in html


def count_page_queries(client) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(REPORT_URL, PERIOD)
    assert response.status_code == 200
    return len(context.captured_queries)


def test_query_count_does_not_grow_with_orders(
    client, teams, buyer, django_assert_max_num_queries
):
    client.force_login(member("appr", teams["alpha"], Membership.Role.APPROVER))
    statuses = [Status.ORDER_PLACED, Status.ORDER_FAILED, Status.PENDING]

    def add_orders(count: int) -> None:
        for index in range(count):
            make_paid_order(
                teams["alpha"],
                buyer,
                1000 + index,
                status=statuses[index % 3],
                error_type="product_out_of_stock" if index % 3 == 1 else "",
                first_tracking_at=datetime(2026, 10, 7, tzinfo=UTC),
            )

    add_orders(5)
    with django_assert_max_num_queries(15):
        small = count_page_queries(client)
    add_orders(45)
    with django_assert_max_num_queries(15):
        large = count_page_queries(client)

    assert large == small


def test_approver_order_csv_contains_only_own_team(client, teams, orders):
    client.force_login(member("appr", teams["alpha"], Membership.Role.APPROVER))

    response = client.get(reverse("reports:order-csv"))

    lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == 2
    assert ",Alpha Ops," in lines[1]


def test_approver_order_csv_of_another_team_is_rejected(client, teams, orders):
    client.force_login(member("appr", teams["alpha"], Membership.Role.APPROVER))

    response = client.get(reverse("reports:order-csv"), {"team": teams["beta"].pk})

    assert response.status_code == 400


def test_requester_order_csv_is_403(client, teams, orders):
    client.force_login(member("req", teams["alpha"], Membership.Role.REQUESTER))

    response = client.get(reverse("reports:order-csv"))

    assert response.status_code == 403
