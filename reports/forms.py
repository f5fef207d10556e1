"""The report filters: a date range and an optional team, read from the URL."""

import logging
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone

from orders.filters import LAST_FILTER_DATE, OrderFilterForm
from orders.models import Team
from reports.queries import ReportScope

logger = logging.getLogger(__name__)


class ReportFilterForm(forms.Form):
    """Filters for the reports page and its CSV exports.

    A missing or empty date falls back to the current month to date, so the
    page shows figures on the first visit and every link keeps its filters.
    """

    start = forms.DateField(
        label="From",
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[LAST_FILTER_DATE],
    )
    end = forms.DateField(
        label="To",
        validators=[LAST_FILTER_DATE],
        help_text="Both dates are included.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), required=False, empty_label="All teams"
    )

    def __init__(self, data: QueryDict, *, teams: QuerySet[Team], **kwargs: Any):
        data = data.copy()
        today = timezone.localdate()
        defaults = {"start": today.replace(day=1), "end": today}
        for name, value in defaults.items():
            if not data.get(name):
                data[name] = value.isoformat()
        super().__init__(data, **kwargs)
        self.teams = teams
        self.fields["team"].queryset = teams

    def clean(self) -> dict[str, Any]:
        cleaned_data = super().clean()
        start = cleaned_data.get("start")
        end = cleaned_data.get("end")
        if start and end and end < start:
            self.add_error("end", "The end date must be on or after the start date.")
        return cleaned_data

    def scope(self, *, all_teams: bool) -> ReportScope:
        """Return the orders the valid filters select.

        ``all_teams`` lifts the team restriction when no team is chosen, for
        staff who may read every team's figures.
        """
        return ReportScope(
            start=self.cleaned_data["start"],
            end=self.cleaned_data["end"],
            teams=selected_teams(self.cleaned_data["team"], self.teams, all_teams),
        )


class OrderExportForm(OrderFilterForm):
    """The order list's filters plus a team, for the order CSV export."""

    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), required=False, empty_label="All teams"
    )

    def __init__(self, data: QueryDict, *, teams: QuerySet[Team], **kwargs: Any):
        super().__init__(data, **kwargs)
        self.teams = teams
        self.fields["team"].queryset = teams

    def selected_teams(self, *, all_teams: bool) -> QuerySet[Team] | None:
        return selected_teams(self.cleaned_data["team"], self.teams, all_teams)


def selected_teams(
    team: Team | None, teams: QuerySet[Team], all_teams: bool
) -> QuerySet[Team] | None:
    """Return the teams to report on, or None for every team.

    A chosen ``team`` wins; otherwise staff (``all_teams``) get every team and
    anyone else the ``teams`` they may read.
    """
    if team is not None:
        return Team.objects.filter(pk=team.pk)
    if all_teams:
        return None
    return teams
