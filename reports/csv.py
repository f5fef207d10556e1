"""CSV exports of the report tables and of the order list, streamed row by row.

Header rows are stable snake_case names. Amounts are US dollars with two
decimals, formatted from integer cents, and durations are whole seconds.
"""

import csv
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Count, QuerySet
from django.http import StreamingHttpResponse

from orders.models import Order
from reports import queries
from reports.formatting import (
    format_datetime,
    format_dollars,
    format_percent,
    format_seconds,
)
from reports.queries import ReportScope

logger = logging.getLogger(__name__)

ORDER_EXPORT_CHUNK_SIZE = 2000

# Spreadsheet programs read a cell that starts with one of these as a formula.
_FORMULA_PREFIXES = ("=", "+", "-", "@")
_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def escape_formula(value: str) -> str:
    """Defuse CSV formula injection in a text cell.

    Spreadsheet programs run a cell that starts with = + - or @ as a formula,
    so a team name or PO number such as ``=HYPERLINK(...)`` could run when an
    admin opens the export. Such cells get a leading single quote, which makes
    the spreadsheet show the text as typed. A plain number such as "-15.05"
    cannot be a formula and is left alone.
    """
    if value.startswith(_FORMULA_PREFIXES) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        return escape_formula(value)
    return value


class _Echo:
    """A file-like object whose write returns the text instead of storing it."""

    def write(self, value: str) -> str:
        return value


def stream_csv(
    filename: str, header: list[str], rows: Iterable[list[Any]]
) -> StreamingHttpResponse:
    """Return a download response that writes ``rows`` as the client reads."""
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow([_cell(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@dataclass(frozen=True)
class CsvTable:
    """One report table as CSV: its header and a function building its rows."""

    header: list[str]
    rows: Callable[[ReportScope], Iterable[list[Any]]]


def _spend_rows(scope: ReportScope) -> Iterator[list[Any]]:
    for row in queries.spend_by_team_month(scope):
        yield [
            row["month"].strftime("%Y-%m"),
            row["team"],
            row["order_count"],
            format_dollars(row["authorized_cents"]),
            format_dollars(row["charged_cents"]),
            format_dollars(row["refunded_cents"]),
        ]


def _status_rows(scope: ReportScope) -> Iterator[list[Any]]:
    for row in queries.orders_by_status(scope):
        yield [row["status"], row["label"], row["order_count"]]


def _error_type_rows(scope: ReportScope) -> Iterator[list[Any]]:
    for row in queries.failures_by_error_type(scope):
        yield [row["error_type"], row["order_count"]]


def _retailer_rows(scope: ReportScope) -> Iterator[list[Any]]:
    for row in queries.failures_by_retailer(scope):
        yield [
            row["retailer"],
            row["failed_count"],
            row["finished_count"],
            format_percent(row["failed_count"], row["finished_count"]),
        ]


def _fulfilment_rows(scope: ReportScope) -> Iterator[list[Any]]:
    for summary in queries.fulfilment_times(scope):
        yield [
            summary.measure,
            summary.order_count,
            format_seconds(summary.median),
            format_seconds(summary.p90),
        ]


def _top_product_rows(by: str) -> Callable[[ReportScope], Iterator[list[Any]]]:
    def rows(scope: ReportScope) -> Iterator[list[Any]]:
        for row in queries.top_products(scope, by=by):
            yield [
                row["url"],
                row["retailer"],
                row["quantity"],
                row["order_count"],
                format_dollars(row["charged_cents"]),
            ]

    return rows


_TOP_PRODUCT_HEADER = ["url", "retailer", "quantity", "order_count", "charged_usd"]

REPORT_TABLES: dict[str, CsvTable] = {
    "spend": CsvTable(
        [
            "month",
            "team",
            "order_count",
            "authorized_usd",
            "charged_usd",
            "refunded_usd",
        ],
        _spend_rows,
    ),
    "statuses": CsvTable(["status", "status_label", "order_count"], _status_rows),
    "failures-by-error-type": CsvTable(
        ["error_type", "failed_orders"], _error_type_rows
    ),
    "failures-by-retailer": CsvTable(
        ["retailer", "failed_orders", "finished_orders", "failure_rate_percent"],
        _retailer_rows,
    ),
    "fulfilment-times": CsvTable(
        ["measure", "order_count", "median_seconds", "p90_seconds"],
        _fulfilment_rows,
    ),
    "top-products-by-quantity": CsvTable(
        _TOP_PRODUCT_HEADER, _top_product_rows("quantity")
    ),
    "top-products-by-spend": CsvTable(_TOP_PRODUCT_HEADER, _top_product_rows("spend")),
}


def report_filename(table: str, start: date, end: date) -> str:
    return f"{table}_{start.isoformat()}_{end.isoformat()}.csv"


ORDER_HEADER = [
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


def order_rows(orders: QuerySet[Order]) -> Iterator[list[Any]]:
    """Yield one CSV row per order, reading the rows in chunks.

    The request body and the order's API key are not exported.
    """
    orders = (
        orders.select_related("team", "created_by")
        .annotate(item_count=Count("items"))
        .order_by("-created_at", "-id")
    )
    for order in orders.iterator(chunk_size=ORDER_EXPORT_CHUNK_SIZE):
        yield [
            order.pk,
            format_datetime(order.created_at),
            order.team.name,
            order.created_by.get_username(),
            order.status,
            order.po_number,
            order.item_count,
            format_dollars(order.max_price_cents),
            format_dollars(order.authorized_cents),
            format_dollars(order.fee_cents),
            format_dollars(order.charged_cents),
            format_dollars(order.refunded_cents),
            format_dollars(order.subtotal_cents),
            format_dollars(order.tax_cents),
            format_dollars(order.shipping_cents),
            format_dollars(order.total_cents),
            order.zinc_order_id or "",
            order.error_type,
            format_datetime(order.paid_at),
            format_datetime(order.placed_at),
            format_datetime(order.first_tracking_at),
        ]
