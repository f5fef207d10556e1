"""The team's spending rules, checked on the server before an order goes to Zinc.

``decide`` is the only place the rules are written, and ``evaluate`` applies
them with fresh spend figures. The approval service calls ``evaluate`` before
the first unpaid request is sent, and again when an approver decides, so a
rule cannot be skipped by a browser or another view. Pages call ``decide`` only
to show what the rules say.

Rules, per team:

- Approval threshold: an order whose max price is above
  ``approval_threshold_cents`` needs an approver. An empty threshold means no
  order needs one.
- Monthly budget: ``monthly_budget_cents`` caps the amount authorised (max price
  plus Zinc's fee) in one calendar month in ``settings.TIME_ZONE``. An order is
  over budget when month-to-date spend + committed amount + this order's
  estimate is above the budget. An empty budget means no cap. Over budget, the
  team's ``over_budget_policy`` either blocks the order or requires an admin's
  approval.

What counts against the budget:

- Month-to-date spend is the ``authorized_cents`` of the team's paid orders
  whose ``paid_at`` falls in the current month. Unpaid orders, and orders paid
  in an earlier month, are not spend.
- Committed amount is the estimate (max price + fee) of the team's orders that
  were already sent to Zinc and wait for payment (AWAITING_PAYMENT or
  PAYMENT_UNKNOWN). Each passed this check when it was sent and can be paid at
  any moment, so leaving them out would let several orders pass one by one and
  then cross the budget together. Approved orders that were not sent yet are
  not counted: they meet this check when they are sent.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from orders.models import Membership, Order, PaymentAttempt, Team
from orders.templatetags.money import cents

logger = logging.getLogger(__name__)

# Orders that passed the policy, went to Zinc and may be paid at any moment.
COMMITTED_STATUSES = (Order.Status.AWAITING_PAYMENT, Order.Status.PAYMENT_UNKNOWN)


@dataclass(frozen=True)
class PolicyDecision:
    """The conditions the team's rules set before ``order`` may be sent to Zinc."""

    needs_approval: bool
    blocked: bool
    reasons: list[str] = field(default_factory=list)
    month_to_date_cents: int = 0
    requires_admin: bool = False
    committed_cents: int = 0
    order_cents: int = 0
    budget_cents: int | None = None

    @property
    def over_budget(self) -> bool:
        return self.blocked or self.requires_admin


@dataclass(frozen=True)
class TeamSpend:
    """A team's month-to-date spend and committed amount, in cents."""

    month_to_date_cents: int
    committed_cents: int


def month_bounds(now: datetime | None = None) -> tuple[datetime, datetime]:
    """Return the start of this calendar month and of the next one.

    Months follow ``settings.TIME_ZONE``, not UTC and not the time zone that
    happens to be active for the request.
    """
    zone = ZoneInfo(settings.TIME_ZONE)
    local = timezone.localtime(now or timezone.now(), zone)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if start.month == 12:
        end = start.replace(year=start.year + 1, month=1)
    else:
        end = start.replace(month=start.month + 1)
    return start, end


def team_spend(
    team: Team, *, exclude_order: Order | None = None, now: datetime | None = None
) -> TeamSpend:
    """Sum the team's month-to-date spend and committed amount in one query."""
    start, end = month_bounds(now)
    orders = Order.objects.filter(team=team)
    if exclude_order is not None and exclude_order.pk is not None:
        orders = orders.exclude(pk=exclude_order.pk)
    totals = orders.aggregate(
        spent=Coalesce(
            Sum(
                "authorized_cents",
                filter=Q(paid_at__gte=start, paid_at__lt=end),
            ),
            Value(0),
        ),
        committed=Coalesce(
            Sum(
                F("max_price_cents") + Value(settings.ZINC_FEE_CENTS),
                filter=Q(status__in=COMMITTED_STATUSES),
            ),
            Value(0),
        ),
    )
    return TeamSpend(int(totals["spent"]), int(totals["committed"]))


def budget_blocks_payment(order: Order, amount_cents: int) -> str:
    """Return why paying ``amount_cents`` now would cross the budget, or "".

    The check at submit time cannot see an order of the same team submitted
    at the same moment, so the payment claim runs this one too, inside its
    transaction: this month's paid spend, plus every other order of the team
    whose payment is in flight, plus this payment. Under the ADMIN_APPROVAL
    policy an order that a team admin approved may go over the budget; under
    BLOCK nothing may.
    """
    team = order.team
    budget = team.monthly_budget_cents
    if budget is None:
        return ""
    admin_may_exceed = team.over_budget_policy == Team.OverBudgetPolicy.ADMIN_APPROVAL
    if admin_may_exceed and _approved_by_admin(order):
        return ""
    start, end = month_bounds()
    in_flight = Exists(
        PaymentAttempt.objects.filter(
            order=OuterRef("pk"),
            state__in=[PaymentAttempt.State.SETTLING, PaymentAttempt.State.UNKNOWN],
        )
    )
    totals = (
        Order.objects.filter(team=team)
        .exclude(pk=order.pk)
        .aggregate(
            spent=Coalesce(
                Sum("authorized_cents", filter=Q(paid_at__gte=start, paid_at__lt=end)),
                Value(0),
            ),
            paying=Coalesce(
                Sum(
                    F("max_price_cents") + Value(settings.ZINC_FEE_CENTS),
                    filter=Q(paid_at__isnull=True) & Q(in_flight),
                ),
                Value(0),
            ),
        )
    )
    total = int(totals["spent"]) + int(totals["paying"]) + amount_cents
    if total <= budget:
        return ""
    return (
        f"Paying {cents(amount_cents)} now would bring the team's month to "
        f"{cents(total)}, over its monthly budget of {cents(budget)}, because "
        "other orders were paid in the meantime."
    )


def _approved_by_admin(order: Order) -> bool:
    if order.approved_by_id is None or order.approved_at is None:
        return False
    return Membership.objects.filter(
        user_id=order.approved_by_id, team=order.team, role=Membership.Role.ADMIN
    ).exists()


def evaluate(order: Order, *, now: datetime | None = None) -> PolicyDecision:
    """Apply the team's approval threshold and monthly budget to ``order``."""
    spend = team_spend(order.team, exclude_order=order, now=now)
    decision = decide(order, spend)
    logger.info(
        "Policy for order %s: approval=%s admin=%s blocked=%s",
        order.pk,
        decision.needs_approval,
        decision.requires_admin,
        decision.blocked,
    )
    return decision


def decide(order: Order, spend: TeamSpend) -> PolicyDecision:
    """Apply the rules of ``order.team`` given the team's ``spend``; no queries.

    ``spend`` must leave ``order`` itself out, as ``team_spend`` does with
    ``exclude_order``. Pages that list many orders of one team sum the spend
    once and call this for each order.
    """
    team = order.team
    reasons: list[str] = []
    needs_approval = False
    blocked = False
    requires_admin = False

    threshold = team.approval_threshold_cents
    if threshold is not None and order.max_price_cents > threshold:
        needs_approval = True
        reasons.append(
            f"The max price {cents(order.max_price_cents)} is above the team's "
            f"approval threshold of {cents(threshold)}."
        )

    order_cents = order.estimated_authorization_cents
    budget = team.monthly_budget_cents
    if budget is not None:
        total = spend.month_to_date_cents + spend.committed_cents + order_cents
        if total > budget:
            reasons.append(
                f"This order ({cents(order_cents)} with Zinc's fee) would bring "
                f"the month's total to {cents(total)}: "
                f"{cents(spend.month_to_date_cents)} paid and "
                f"{cents(spend.committed_cents)} waiting for payment. That is "
                f"over the monthly budget of {cents(budget)}."
            )
            if team.over_budget_policy == Team.OverBudgetPolicy.ADMIN_APPROVAL:
                needs_approval = True
                requires_admin = True
            else:
                blocked = True

    return PolicyDecision(
        needs_approval=needs_approval,
        blocked=blocked,
        reasons=reasons,
        month_to_date_cents=spend.month_to_date_cents,
        requires_admin=requires_admin,
        committed_cents=spend.committed_cents,
        order_cents=order_cents,
        budget_cents=budget,
    )
