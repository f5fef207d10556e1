"""Forms for approval decisions and for the team page (members and policy)."""

import logging
import re
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from orders.models import Membership, Team

logger = logging.getLogger(__name__)

# Digits with optional thousands separators ("1,200") or none ("1200"), and an
# optional "$" in front.
_DOLLARS_RE = re.compile(
    r"^\$?(?P<whole>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<cents>\d{1,2}))?$", re.ASCII
)
# Team amounts are PositiveIntegerFields, signed 32-bit columns.
MAX_AMOUNT_CENTS = 2_147_483_647


class DollarsField(forms.CharField):
    """A dollar amount such as "200", "1,200.50" or "$5,000", cleaned to cents.

    An empty value cleans to None, which the team policy reads as "no limit".
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 20)
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, int):
            return f"{Decimal(value).scaleb(-2):.2f}"
        return value

    def clean(self, value: Any) -> int | None:
        text = super().clean(value).strip()
        if not text:
            return None
        match = _DOLLARS_RE.fullmatch(text)
        if match is None:
            raise ValidationError(
                f"“{text}” is not a dollar amount. Enter it like 200 or 1,200.50, "
                "or leave it empty for no limit.",
                code="invalid",
            )
        whole = int(match["whole"].replace(",", ""))
        cents = whole * 100 + int((match["cents"] or "0").ljust(2, "0"))
        if cents > MAX_AMOUNT_CENTS:
            raise ValidationError(
                "The amount is too large; enter at most $21,474,836.47.",
                code="too_large",
            )
        return cents


class DecisionForm(forms.Form):
    """An approver's comment on an approve or reject decision."""

    comment = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required to reject: tell the requester what to change.",
    )


class MemberAddForm(forms.Form):
    username = forms.CharField(max_length=150, help_text="The user's login name.")
    role = forms.ChoiceField(
        choices=Membership.Role.choices, initial=Membership.Role.REQUESTER
    )


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)


class TeamPolicyForm(forms.Form):
    approval_threshold = DollarsField(
        label="Approval threshold",
        help_text="Orders with a max price above this amount, in dollars, need an "
        "approver. Leave empty so that no order needs approval.",
    )
    monthly_budget = DollarsField(
        label="Monthly budget",
        help_text="The most the team may authorise (max price plus Zinc's fee) in "
        "one calendar month, in dollars. Leave empty for no budget.",
    )
    over_budget_policy = forms.ChoiceField(
        label="Orders over budget",
        choices=Team.OverBudgetPolicy.choices,
    )

    @classmethod
    def initial_for(cls, team: Team) -> dict[str, Any]:
        return {
            "approval_threshold": team.approval_threshold_cents,
            "monthly_budget": team.monthly_budget_cents,
            "over_budget_policy": team.over_budget_policy,
        }
