"""Chart data for the reports page, in the shape static/reports/charts.js reads.

Each chart is ``{"labels": [...], "datasets": [{"label": ..., "data": [...]}]}``.
Amounts stay integer cents; the script divides by 100 when it draws.
"""

import logging
from typing import Any

from reports.queries import Report

logger = logging.getLogger(__name__)


def spend_chart(report: Report) -> dict[str, Any]:
    """Authorised, charged and refunded cents per month and team."""
    labels = [f"{row['month']:%Y-%m} {row['team']}" for row in report.spend]
    series = [
        ("Authorised", "authorized_cents"),
        ("Charged", "charged_cents"),
        ("Refunded", "refunded_cents"),
    ]
    return {
        "labels": labels,
        "datasets": [
            {"label": label, "data": [row[key] for row in report.spend]}
            for label, key in series
        ],
    }


def status_chart(report: Report) -> dict[str, Any]:
    return {
        "labels": [row["label"] for row in report.statuses],
        "datasets": [
            {
                "label": "Orders",
                "data": [row["order_count"] for row in report.statuses],
            }
        ],
    }


def failure_chart(report: Report) -> dict[str, Any]:
    return {
        "labels": [
            row["error_type"] or "unknown" for row in report.failures_by_error_type
        ],
        "datasets": [
            {
                "label": "Failed orders",
                "data": [row["order_count"] for row in report.failures_by_error_type],
            }
        ],
    }
