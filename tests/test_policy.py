"""Team policy: the approval threshold and the monthly budget, in exact cents."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings

from orders.models import Address, Order, Team
from orders.services import policy

pytestmark = pytest.mark.django_db

Status = Order.Status
FEE = 100  # ZINC_FEE_CENTS in every test below

# 12:00 on 15 March 2026 in New York (EDT since 8 March, UTC-4).
NOW = datetime(2026, 3, 15, 16, 0, tzinfo=UTC)
# The first instant of March in New York is 05:00 UTC (EST, UTC-5), and the
# first instant of April is 04:00 UTC (EDT).
MARCH_START = datetime(2026, 3, 1, 5, 0, tzinfo=UTC)
APRIL_START = datetime(2026, 4, 1, 4, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fixed_settings():
    with override_settings(ZINC_FEE_CENTS=FEE, TIME_ZONE="America/New_York"):
        yield


@pytest.fixture
def user():
    return get_user_model().objects.create_user("olivia", password="pw-olivia-123")


@pytest.fixture
def team():
    return Team.objects.create(
        name="Facilities",
        approval_threshold_cents=20_000,
        monthly_budget_cents=100_000,
    )


@pytest.fixture
def address(team):
    return Address.objects.create(
        team=team,
        first_name="Olivia",
        last_name="Ops",
        address_line1="1 Market St",
        city="San Francisco",
        state="CA",
        postal_code="94105",
        phone_number="+14155550100",
    )


@pytest.fixture
def make_order(team, user, address):
    def make(
        max_price_cents: int,
        *,
        status: str = Status.DRAFT,
        paid_at: datetime | None = None,
        authorized_cents: int | None = None,
        order_team: Team | None = None,
    ) -> Order:
        return Order.objects.create(
            team=order_team or team,
            created_by=user,
            address=address,
            shipping_address=address.to_zinc(),
            max_price_cents=max_price_cents,
            status=status,
            paid_at=paid_at,
            authorized_cents=authorized_cents,
        )

    return make


# --- threshold --------------------------------------------------------------


def test_threshold_equal_needs_no_approval(make_order):
    decision = policy.evaluate(make_order(20_000), now=NOW)

    assert decision.needs_approval is False
    assert decision.blocked is False
    assert decision.requires_admin is False
    assert decision.reasons == []


def test_threshold_exceeded_needs_approval(make_order):
    decision = policy.evaluate(make_order(20_001), now=NOW)

    assert decision.needs_approval is True
    assert decision.requires_admin is False
    assert decision.blocked is False
    assert decision.reasons == [
        "The max price $200.01 is above the team's approval threshold of $200.00."
    ]


def test_no_threshold_never_needs_approval(make_order, team):
    team.approval_threshold_cents = None
    team.save()

    decision = policy.evaluate(make_order(99_000), now=NOW)

    assert decision.needs_approval is False
    assert decision.order_cents == 99_100


# --- month-to-date spend ----------------------------------------------------


def test_month_bounds_follow_time_zone():
    start, end = policy.month_bounds(NOW)

    assert start == MARCH_START
    assert end == APRIL_START


def test_spend_counts_only_this_month_paid_orders(make_order, team):
    # Paid one second before March began in New York (already March in UTC).
    make_order(
        40_000,
        status=Status.ORDER_PLACED,
        paid_at=datetime(2026, 3, 1, 4, 59, 59, tzinfo=UTC),
        authorized_cents=40_100,
    )
    # Paid at the first instant of March and later in March.
    make_order(
        10_000,
        status=Status.ORDER_PLACED,
        paid_at=MARCH_START,
        authorized_cents=10_100,
    )
    make_order(
        5_000,
        status=Status.PENDING,
        paid_at=datetime(2026, 3, 14, 9, 30, tzinfo=UTC),
        authorized_cents=5_100,
    )
    # Paid in April: not this month either.
    make_order(
        7_000,
        status=Status.ORDER_PLACED,
        paid_at=APRIL_START,
        authorized_cents=7_100,
    )
    # Never paid.
    for status in (Status.DRAFT, Status.APPROVED, Status.REJECTED):
        make_order(30_000, status=status)
    make_order(20_000, status=Status.AWAITING_APPROVAL)
    make_order(25_000, status=Status.DISCARDED)

    spend = policy.team_spend(team, now=NOW)

    assert spend.month_to_date_cents == 15_200
    assert spend.committed_cents == 0


def test_spend_ignores_other_teams(make_order):
    other = Team.objects.create(name="Studio")
    make_order(
        50_000,
        status=Status.ORDER_PLACED,
        paid_at=MARCH_START,
        authorized_cents=50_100,
        order_team=other,
    )

    decision = policy.evaluate(make_order(1_000), now=NOW)

    assert decision.month_to_date_cents == 0
    assert decision.committed_cents == 0


def test_orders_waiting_for_payment_count_as_committed(make_order, team):
    make_order(30_000, status=Status.AWAITING_PAYMENT)
    make_order(10_000, status=Status.PAYMENT_UNKNOWN)

    spend = policy.team_spend(team, now=NOW)

    assert spend.month_to_date_cents == 0
    assert spend.committed_cents == 40_200


def test_spend_is_one_query(make_order, team):
    order = make_order(1_000)

    with CaptureQueriesContext(connection) as queries:
        policy.team_spend(team, exclude_order=order, now=NOW)

    assert len(queries.captured_queries) == 1


# --- budget -----------------------------------------------------------------


def _spend_in_march(make_order, authorized_cents: int) -> None:
    make_order(
        authorized_cents - FEE,
        status=Status.ORDER_PLACED,
        paid_at=MARCH_START,
        authorized_cents=authorized_cents,
    )


def test_budget_reached_exactly_passes(make_order):
    _spend_in_march(make_order, 89_900)

    # 89,900 + 10,000 + 100 fee = 100,000: exactly the budget.
    decision = policy.evaluate(make_order(10_000), now=NOW)

    assert decision.blocked is False
    assert decision.needs_approval is False
    assert decision.month_to_date_cents == 89_900
    assert decision.order_cents == 10_100


def test_budget_crossed_by_one_cent_blocks(make_order):
    _spend_in_march(make_order, 89_901)

    decision = policy.evaluate(make_order(10_000), now=NOW)

    assert decision.blocked is True
    assert decision.needs_approval is False
    assert decision.requires_admin is False
    assert decision.month_to_date_cents == 89_901
    assert decision.reasons == [
        "This order ($101.00 with Zinc's fee) would bring the month's total to "
        "$1,000.01: $899.01 paid and $0.00 waiting for payment. That is over the "
        "monthly budget of $1,000.00."
    ]


def test_last_month_spend_does_not_block(make_order):
    make_order(
        95_000,
        status=Status.ORDER_PLACED,
        paid_at=datetime(2026, 2, 27, 12, 0, tzinfo=UTC),
        authorized_cents=95_100,
    )

    decision = policy.evaluate(make_order(10_000), now=NOW)

    assert decision.blocked is False
    assert decision.month_to_date_cents == 0


def test_unpaid_orders_do_not_block(make_order):
    for status in (Status.DRAFT, Status.APPROVED, Status.AWAITING_APPROVAL):
        make_order(90_000, status=status)

    decision = policy.evaluate(make_order(10_000), now=NOW)

    assert decision.blocked is False
    assert decision.month_to_date_cents == 0
    assert decision.committed_cents == 0


def test_committed_orders_block(make_order):
    _spend_in_march(make_order, 50_000)
    make_order(39_800, status=Status.AWAITING_PAYMENT)

    # 50,000 paid + 39,900 committed + 10,101 = 100,001.
    decision = policy.evaluate(make_order(10_001), now=NOW)

    assert decision.blocked is True
    assert decision.month_to_date_cents == 50_000
    assert decision.committed_cents == 39_900


def test_order_itself_is_not_counted_twice(make_order):
    order = make_order(99_900, status=Status.AWAITING_PAYMENT)

    decision = policy.evaluate(order, now=NOW)

    assert decision.committed_cents == 0
    assert decision.blocked is False


def test_admin_approval_policy_requires_admin(make_order, team):
    team.over_budget_policy = Team.OverBudgetPolicy.ADMIN_APPROVAL
    team.save()
    _spend_in_march(make_order, 95_000)

    decision = policy.evaluate(make_order(5_000), now=NOW)

    assert decision.blocked is False
    assert decision.needs_approval is True
    assert decision.requires_admin is True
    assert decision.over_budget is True
    assert len(decision.reasons) == 1


def test_threshold_and_budget_reasons_together(make_order, team):
    team.over_budget_policy = Team.OverBudgetPolicy.ADMIN_APPROVAL
    team.save()

    decision = policy.evaluate(make_order(150_000), now=NOW)

    assert decision.needs_approval is True
    assert decision.requires_admin is True
    assert len(decision.reasons) == 2
    assert decision.reasons[0].startswith("The max price $1,500.00 is above")
    assert decision.reasons[1].startswith("This order ($1,501.00 with Zinc's fee)")


def test_no_budget_never_blocks(make_order, team):
    team.monthly_budget_cents = None
    team.save()
    _spend_in_march(make_order, 5_000_000)

    decision = policy.evaluate(make_order(10_000), now=NOW)

    assert decision.blocked is False
    assert decision.budget_cents is None
    assert decision.month_to_date_cents == 5_000_000
