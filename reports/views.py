"""The reports page and its CSV exports.

Staff read every team's figures, team approvers and admins read their own
teams' figures, and requesters get 403.
"""

import logging
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from orders.filters import filter_orders
from orders.models import Order, Team
from reports import charts
from reports.csv import (
    ORDER_HEADER,
    REPORT_TABLES,
    order_rows,
    report_filename,
    stream_csv,
)
from reports.forms import OrderExportForm, ReportFilterForm
from reports.queries import build_report, visible_teams

logger = logging.getLogger(__name__)


def _readable_teams(request: HttpRequest) -> QuerySet[Team]:
    """Return the teams the user may read reports for, or raise PermissionDenied."""
    teams = visible_teams(request.user)
    if not request.user.is_staff and not teams.exists():
        raise PermissionDenied("Reports are for team approvers, team admins and staff.")
    return teams


def _filter_queries(form: ReportFilterForm) -> dict[str, str]:
    """Return the valid filters as query strings for the CSV links.

    The order export takes the order list's filters, so the period becomes a
    creation date range there.
    """
    team = form.cleaned_data["team"]
    team_id = team.pk if team else ""
    start = form.cleaned_data["start"].isoformat()
    end = form.cleaned_data["end"].isoformat()
    return {
        "filter_query": urlencode({"start": start, "end": end, "team": team_id}),
        "order_filter_query": urlencode(
            {"created_from": start, "created_to": end, "team": team_id}
        ),
    }


def _invalid_filters(form: forms.Form) -> HttpResponse:
    return HttpResponseBadRequest(
        f"Invalid report filters:\n{form.errors.as_text()}\n",
        content_type="text/plain; charset=utf-8",
    )


@login_required
@require_GET
def report_page(request: HttpRequest) -> HttpResponse:
    form = ReportFilterForm(request.GET, teams=_readable_teams(request))
    context: dict[str, object] = {"form": form, "report": None}
    if form.is_valid():
        report = build_report(form.scope(all_teams=request.user.is_staff))
        context.update(
            report=report,
            **_filter_queries(form),
            spend_chart=charts.spend_chart(report),
            status_chart=charts.status_chart(report),
            failure_chart=charts.failure_chart(report),
        )
    return render(request, "reports/report_page.html", context)


@login_required
@require_GET
def report_csv(request: HttpRequest, table: str) -> HttpResponse:
    csv_table = REPORT_TABLES.get(table)
    if csv_table is None:
        raise Http404(f"There is no report table named {table!r}.")
    form = ReportFilterForm(request.GET, teams=_readable_teams(request))
    if not form.is_valid():
        return _invalid_filters(form)
    scope = form.scope(all_teams=request.user.is_staff)
    logger.info(
        "User %s exported report table %s for %s to %s",
        request.user.pk,
        table,
        scope.start,
        scope.end,
    )
    return stream_csv(
        report_filename(table, scope.start, scope.end),
        csv_table.header,
        csv_table.rows(scope),
    )


@login_required
@require_GET
def order_csv(request: HttpRequest) -> HttpResponse:
    """Export the orders that the order list's filters select, as CSV."""
    form = OrderExportForm(request.GET, teams=_readable_teams(request))
    if not form.is_valid():
        return _invalid_filters(form)
    teams = form.selected_teams(all_teams=request.user.is_staff)
    orders = Order.objects.all()
    if teams is not None:
        orders = orders.filter(team__in=teams.values("pk"))
    logger.info(
        "User %s exported orders with filters %r",
        request.user.pk,
        request.GET.urlencode(),
    )
    filename = f"orders_{timezone.localdate().isoformat()}.csv"
    return stream_csv(filename, ORDER_HEADER, order_rows(filter_orders(orders, form)))
