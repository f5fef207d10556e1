"""Spend and fulfilment figures, computed by the database.

Every function here runs a fixed number of aggregate queries, whatever the
number of orders, and returns at most one row per group (month and team,
status, error type, retailer or product URL). Amounts stay integer cents.

Which orders count:

- The period selects orders by ``paid_at``, the moment the payer authorised
  the money, except for the status table, which counts every order created in
  the period (drafts and unpaid orders included).
- "Charged" leaves out orders refunded in full (failed, cancelled, cancelled
  by the retailer), so that for every final order authorised = charged +
  refunded. An order still at Zinc is authorised but neither charged nor
  refunded yet.

TODO: the queries read every order in the range, about 20 ms per 1,000 paid
orders on SQLite (docs/benchmarks.md); a daily rollup table kept up to date
by Order.transition_to would make long ranges as fast as short ones.
"""

import logging
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connections
from django.db.models import (
    Aggregate,
    BigIntegerField,
    Count,
    DurationField,
    Expression,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.expressions import Window
from django.db.models.functions import (
    Cast,
    Coalesce,
    Round,
    RowNumber,
    Substr,
    TruncMonth,
)
from django.utils import timezone

from orders.models import Membership, Order, OrderItem, Team
from orders.retailers import retailer_for_url

logger = logging.getLogger(__name__)

Status = Order.Status

# Zinc refunds the whole authorisation of orders in these statuses, so their
# charged amount does not count as spent.
REFUNDED_IN_FULL = frozenset(
    {Status.ORDER_FAILED, Status.CANCELLED, Status.CANCELLED_BY_RETAILER}
)
# Orders whose attempt at the retailer has an outcome. An order cancelled
# before Zinc placed it never reached the retailer, so it is left out.
FINISHED_AT_RETAILER = frozenset(
    {Status.ORDER_PLACED, Status.ORDER_FAILED, Status.CANCELLED_BY_RETAILER}
)
PERCENTILES = (0.5, 0.9)
MILLISECONDS_PER_DAY = 86_400_000
TOP_PRODUCTS_LIMIT = 10


def visible_teams(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Team]:
    """Return the teams whose figures ``user`` may read.

    Staff see every team; anyone else sees the teams where they are an
    approver or an admin. Requesters see none.
    """
    if not user.is_authenticated:
        return Team.objects.none()
    if user.is_staff:
        return Team.objects.all()
    return Team.objects.filter(
        memberships__user=user,
        memberships__role__in=[Membership.Role.APPROVER, Membership.Role.ADMIN],
    ).distinct()


@dataclass(frozen=True)
class ReportScope:
    """The orders a report covers: a date range and, optionally, some teams.

    ``start`` and ``end`` are dates in the current time zone, both included.
    ``teams`` of None means every team.
    """

    start: date
    end: date
    teams: QuerySet[Team] | None = None

    @property
    def start_at(self) -> datetime:
        return datetime.combine(
            self.start, time.min, tzinfo=timezone.get_current_timezone()
        )

    @property
    def end_before(self) -> datetime:
        """Midnight after ``end``, the first instant outside the range."""
        return datetime.combine(
            self.end + timedelta(days=1),
            time.min,
            tzinfo=timezone.get_current_timezone(),
        )

    def team_q(self, prefix: str = "") -> Q:
        if self.teams is None:
            return Q()
        return Q(**{f"{prefix}team__in": self.teams.values("pk")})

    def paid_q(self, prefix: str = "") -> Q:
        """Match orders paid in the range, through ``prefix`` from another model."""
        return self.team_q(prefix) & Q(
            **{
                f"{prefix}paid_at__gte": self.start_at,
                f"{prefix}paid_at__lt": self.end_before,
            }
        )

    def created_q(self) -> Q:
        return self.team_q() & Q(
            created_at__gte=self.start_at, created_at__lt=self.end_before
        )


def _charged_sum(prefix: str = "") -> Coalesce:
    return Coalesce(
        Sum(
            f"{prefix}charged_cents",
            filter=~Q(**{f"{prefix}status__in": REFUNDED_IN_FULL}),
        ),
        0,
    )


def _paid_month(vendor: str) -> Func:
    """Return the calendar month of ``paid_at`` in the current time zone.

    On SQLite, Django's TruncMonth calls a Python function for every row.
    SQLite stores datetimes in UTC as text starting "YYYY-MM", so when the
    current time zone is UTC the first seven characters are the month.
    """
    if vendor == "sqlite" and timezone.get_current_timezone_name() == "UTC":
        return Substr("paid_at", 1, 7)
    return TruncMonth("paid_at")


def _month_start(value: str | datetime) -> date:
    if isinstance(value, str):
        year, month = value.split("-")
        return date(int(year), int(month), 1)
    return value.date()


def spend_by_team_month(scope: ReportScope) -> list[dict[str, Any]]:
    """Return authorised, charged and refunded cents and order counts.

    One row per calendar month (in the current time zone) and team, oldest
    month first, teams by name.
    """
    orders = Order.objects.filter(scope.paid_q())
    rows = (
        orders.annotate(month=_paid_month(connections[orders.db].vendor))
        .values("month", "team_id", "team__name")
        .annotate(
            order_count=Count("id"),
            authorized_cents=Coalesce(Sum("authorized_cents"), 0),
            charged_cents=_charged_sum(),
            refunded_cents=Coalesce(Sum("refunded_cents"), 0),
        )
        .order_by("month", "team__name", "team_id")
    )
    return [
        {
            "month": _month_start(row["month"]),
            "team": row["team__name"],
            "order_count": row["order_count"],
            "authorized_cents": row["authorized_cents"],
            "charged_cents": row["charged_cents"],
            "refunded_cents": row["refunded_cents"],
        }
        for row in rows
    ]


def orders_by_status(scope: ReportScope) -> list[dict[str, Any]]:
    """Count the orders created in the range by their current status."""
    rows = (
        Order.objects.filter(scope.created_q())
        .values("status")
        .annotate(order_count=Count("id"))
        .order_by("-order_count", "status")
    )
    labels = dict(Status.choices)
    return [
        {
            "status": row["status"],
            "label": labels.get(row["status"], row["status"]),
            "order_count": row["order_count"],
        }
        for row in rows
    ]


def failures_by_error_type(scope: ReportScope) -> list[dict[str, Any]]:
    """Count failed orders by Zinc's ``error_type``, most frequent first."""
    rows = (
        Order.objects.filter(scope.paid_q(), status=Status.ORDER_FAILED)
        .values("error_type")
        .annotate(order_count=Count("id"))
        .order_by("-order_count", "error_type")
    )
    return [
        {"error_type": row["error_type"], "order_count": row["order_count"]}
        for row in rows
    ]


def failures_by_retailer(scope: ReportScope) -> list[dict[str, Any]]:
    """Return failed and finished orders per retailer, with the failure rate.

    The rate is failed / finished, where finished means placed, failed or
    cancelled by the retailer. Zinc takes one retailer per order, so each
    order counts once, under the retailer of its first item; grouping orders
    rather than items also avoids a COUNT(DISTINCT) over the join.
    """
    first_retailer = Subquery(
        OrderItem.objects.filter(order=OuterRef("pk"))
        .order_by("position", "pk")
        .values("retailer")[:1]
    )
    rows = (
        Order.objects.filter(scope.paid_q(), status__in=FINISHED_AT_RETAILER)
        .annotate(retailer=first_retailer)
        .values("retailer")
        .annotate(
            failed_count=Count("pk", filter=Q(status=Status.ORDER_FAILED)),
            finished_count=Count("pk"),
        )
        .order_by("-failed_count", "retailer")
    )
    return [
        {
            "retailer": row["retailer"],
            "failed_count": row["failed_count"],
            "finished_count": row["finished_count"],
        }
        for row in rows
    ]


class PercentileCont(Aggregate):
    """PostgreSQL's ``percentile_cont(fraction) WITHIN GROUP (ORDER BY ...)``."""

    function = "PERCENTILE_CONT"
    name = "PercentileCont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError(f"fraction must be between 0 and 1, got {fraction!r}")
        # The fraction goes into the SQL text, so it must be a real number.
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


@dataclass
class DurationSummary:
    """Percentiles of the time from payment to a later milestone."""

    measure: str
    label: str
    order_count: int
    percentiles: dict[float, timedelta | None] = field(default_factory=dict)

    @property
    def median(self) -> timedelta | None:
        return self.percentiles.get(0.5)

    @property
    def p90(self) -> timedelta | None:
        return self.percentiles.get(0.9)


DURATION_MEASURES = (
    ("paid_to_placed", "Payment to order placed", "placed_at"),
    ("paid_to_first_tracking", "Payment to first tracking number", "first_tracking_at"),
)


def fulfilment_times(scope: ReportScope) -> list[DurationSummary]:
    """Return the median and 90th percentile of each duration measure.

    Interpolates between neighbouring rows like ``percentile_cont``. Runs one
    query per measure.
    """
    summaries = []
    for measure, label, end_field in DURATION_MEASURES:
        orders = Order.objects.filter(scope.paid_q(), **{f"{end_field}__isnull": False})
        vendor = connections[orders.db].vendor
        orders = orders.annotate(duration=_duration(end_field, vendor))
        if vendor == "postgresql":
            count, percentiles = _percentiles_postgresql(orders)
        else:
            count, percentiles = _percentiles_by_window(orders)
        summaries.append(DurationSummary(measure, label, count, percentiles))
    return summaries


def _duration(end_field: str, vendor: str) -> Expression:
    """Return the time from ``paid_at`` to ``end_field``.

    On SQLite this is whole milliseconds from the native julianday(), because
    Django's datetime subtraction there calls a Python function for every
    row. Elsewhere it is a DurationField.
    """
    if vendor != "sqlite":
        return ExpressionWrapper(
            F(end_field) - F("paid_at"), output_field=DurationField()
        )
    days = Func(end_field, function="JULIANDAY", output_field=FloatField()) - Func(
        "paid_at", function="JULIANDAY", output_field=FloatField()
    )
    return Cast(Round(days * MILLISECONDS_PER_DAY), output_field=BigIntegerField())


def _as_timedelta(value: timedelta | int) -> timedelta:
    if isinstance(value, timedelta):
        return value
    return timedelta(milliseconds=value)


def _percentiles_postgresql(
    orders: QuerySet[Order],
) -> tuple[int, dict[float, timedelta | None]]:
    aggregates = {
        f"p{index}": PercentileCont("duration", fraction, output_field=DurationField())
        for index, fraction in enumerate(PERCENTILES)
    }
    result = orders.aggregate(order_count=Count("id"), **aggregates)
    percentiles = {
        fraction: result[f"p{index}"] for index, fraction in enumerate(PERCENTILES)
    }
    return result["order_count"], percentiles


def _percentiles_by_window(
    orders: QuerySet[Order],
) -> tuple[int, dict[float, timedelta | None]]:
    """Compute percentiles with window functions, for databases without them.

    Numbers the rows by duration and keeps only the one or two rows next to
    each percentile's position, so at most two rows per percentile leave the
    database.
    """
    ranked = orders.order_by().annotate(
        position=Window(RowNumber(), order_by=[F("duration").asc(), F("pk").asc()]),
        row_count=Window(Count("pk")),
    )
    # The rows around fraction p sit at 0-based indexes floor(t) and ceil(t),
    # where t = p * (row_count - 1); with position = index + 1 both satisfy
    # t < position < t + 2.
    near_any = Q()
    for fraction in PERCENTILES:
        target = ExpressionWrapper(
            (F("row_count") - 1) * Value(fraction), output_field=FloatField()
        )
        near_any |= Q(position__gt=target, position__lt=target + 2)
    rows = ranked.filter(near_any).values_list("position", "row_count", "duration")
    durations = {}
    count = 0
    for position, row_count, duration in rows:
        durations[position - 1] = _as_timedelta(duration)
        count = row_count
    percentiles: dict[float, timedelta | None] = {}
    for fraction in PERCENTILES:
        if count == 0:
            percentiles[fraction] = None
            continue
        target = (count - 1) * fraction
        lower = durations[math.floor(target)]
        upper = durations[math.ceil(target)]
        percentiles[fraction] = lower + (upper - lower) * (target - math.floor(target))
    return count, percentiles


def top_products(scope: ReportScope, *, by: str) -> list[dict[str, Any]]:
    """Return the most ordered product URLs, by ``quantity`` or by ``spend``.

    Spend is the sum of the charged amount (as in the spend table) of every
    order containing the URL. Each URL in an order gets the whole order's
    charge, fee, tax and shipping included. An order that lists a URL twice
    counts twice.
    """
    if by not in {"quantity", "spend"}:
        raise ValueError(f"by must be 'quantity' or 'spend', got {by!r}")
    primary = "-quantity" if by == "quantity" else "-charged_cents"
    secondary = "-charged_cents" if by == "quantity" else "-quantity"
    rows = (
        OrderItem.objects.filter(scope.paid_q("order__"))
        .values("url")
        .annotate(
            quantity=Sum("quantity"),
            order_count=Count("order", distinct=True),
            charged_cents=_charged_sum("order__"),
        )
        .order_by(primary, secondary, "url")[:TOP_PRODUCTS_LIMIT]
    )
    products = []
    for row in rows:
        retailer = retailer_for_url(row["url"])
        products.append(
            {
                "url": row["url"],
                "retailer": retailer.name if retailer else "",
                "quantity": row["quantity"],
                "order_count": row["order_count"],
                "charged_cents": row["charged_cents"],
            }
        )
    return products


@dataclass
class Report:
    scope: ReportScope
    spend: list[dict[str, Any]]
    statuses: list[dict[str, Any]]
    failures_by_error_type: list[dict[str, Any]]
    failures_by_retailer: list[dict[str, Any]]
    fulfilment_times: list[DurationSummary]
    top_by_quantity: list[dict[str, Any]]
    top_by_spend: list[dict[str, Any]]


def build_report(scope: ReportScope) -> Report:
    """Run every report query for ``scope``: eight queries in all."""
    return Report(
        scope=scope,
        spend=spend_by_team_month(scope),
        statuses=orders_by_status(scope),
        failures_by_error_type=failures_by_error_type(scope),
        failures_by_retailer=failures_by_retailer(scope),
        fulfilment_times=fulfilment_times(scope),
        top_by_quantity=top_products(scope, by="quantity"),
        top_by_spend=top_products(scope, by="spend"),
    )
