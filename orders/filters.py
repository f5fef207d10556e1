"""Filtering of order lists, shared by the order list page and CSV exports.

OrderFilterForm reads GET parameters, so that every filtered view has a URL;
filter_orders applies whatever the form validated and ignores invalid fields.
"""

import logging
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db.models import Q, QuerySet
from django.utils import timezone

from orders.models import Order, OrderItem

logger = logging.getLogger(__name__)


# The filters add a day to the end date; 9999-12-31 would overflow Python's
# date type.
LAST_FILTER_DATE = MaxValueValidator(
    date(9998, 12, 31), message="Enter a date before 9999."
)


class OrderFilterForm(forms.Form):
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        help_text="Order number, Zinc order id, PO number or part of a product URL.",
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[("", "Any status"), *Order.Status.choices],
    )
    created_from = forms.DateField(
        label="Created from",
        required=False,
        validators=[LAST_FILTER_DATE],
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter the date as YYYY-MM-DD."},
    )
    created_to = forms.DateField(
        label="Created until",
        required=False,
        validators=[LAST_FILTER_DATE],
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter the date as YYYY-MM-DD."},
    )
    created_by = forms.ModelChoiceField(
        label="Created by",
        required=False,
        queryset=get_user_model().objects.none(),
        empty_label="Anyone",
    )

    def __init__(self, *args: Any, team: Any = None, **kwargs: Any) -> None:
        """Limit "Created by" to ``team``'s members, or to everyone without a team."""
        super().__init__(*args, **kwargs)
        users = get_user_model().objects.order_by("username")
        if team is not None:
            users = users.filter(memberships__team=team)
        self.fields["created_by"].queryset = users

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("created_from"), cleaned.get("created_to")
        if start and end and start > end:
            raise ValidationError(
                "The “Created from” date is after the “Created until” date.",
                code="date_range",
            )
        return cleaned


def _day_start(day: Any) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def filter_orders(queryset: QuerySet[Order], form: OrderFilterForm) -> QuerySet[Order]:
    """Apply the valid fields of a bound ``form`` to ``queryset``.

    Dates are whole days in the current time zone; the bounds are compared as
    datetimes so that the (team, created_at) index stays usable.
    """
    if not form.is_bound:
        return queryset
    form.is_valid()
    cleaned = form.cleaned_data
    if cleaned.get("status"):
        queryset = queryset.filter(status=cleaned["status"])
    if "__all__" not in form.errors:
        if cleaned.get("created_from"):
            queryset = queryset.filter(
                created_at__gte=_day_start(cleaned["created_from"])
            )
        if cleaned.get("created_to"):
            end = _day_start(cleaned["created_to"] + timedelta(days=1))
            queryset = queryset.filter(created_at__lt=end)
    if cleaned.get("created_by"):
        queryset = queryset.filter(created_by=cleaned["created_by"])
    search = (cleaned.get("q") or "").strip()
    if search:
        queryset = queryset.filter(_search_condition(search))
    return queryset


def _search_condition(search: str) -> Q:
    # One scan of the items table feeds an IN list; a correlated EXISTS would
    # scan an order's items once per order row instead.
    matching_orders = OrderItem.objects.filter(url__icontains=search).values("order_id")
    condition = (
        Q(zinc_order_id__iexact=search)
        | Q(po_number__icontains=search)
        | Q(pk__in=matching_orders)
    )
    number = search.removeprefix("#")
    if number.isascii() and number.isdigit():
        condition |= Q(pk=int(number))
    return condition
