"""Template helpers that show the order history and the audit log in plain words.

Audit entries store raw field values as JSON: status codes, amounts in cents,
ISO timestamps, foreign key ids, and whole item lists or address snapshots.
These helpers turn each value into text for people, and drop secret fields
again at display time, in case an old entry still contains one.
"""

import logging
from dataclasses import dataclass
from typing import Any

from django import template
from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.template.defaultfilters import date as format_date
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from orders.audit import SECRET_FIELDS
from orders.models import Approval, Membership, Order
from orders.templatetags.money import cents

logger = logging.getLogger(__name__)

register = template.Library()

EMPTY = "—"
TIMESTAMP_FORMAT = "Y-m-d H:i:s T"

# Labels where the humanised field name would be wrong or unclear.
FIELD_LABELS = {
    "address": "Saved address",
    "approved_by": "Approved by",
    "authorized_cents": "Authorised",
    "merchant_order_ids": "Retailer order ids",
    "next_poll_at": "Next check at Zinc",
    "po_number": "PO number",
    "url": "Product URL",
    "user": "Member",
    "zinc_order_id": "Zinc order id",
}
# Choice fields stored on the audited action rather than on the object's model.
EXTRA_CHOICES = {
    "decision": dict(Approval.Decision.choices),
    "role": dict(Membership.Role.choices),
}
# Foreign keys stored as bare ids, shown with the name of the model they point to.
ID_FIELDS = {"address": "address", "approved_by": "user"}
# Lines of an address snapshot in envelope order. The keys of one tuple share a line.
ADDRESS_LINES = (
    ("first_name", "last_name"),
    ("address_line1",),
    ("address_line2",),
    ("city",),
    ("state", "postal_code"),
    ("country",),
    ("phone_number",),
)


@dataclass(frozen=True)
class ChangeRow:
    """One changed field of an audit entry, with both values as display text.

    A list of items is kept as one line per item in ``*_lines``, with an empty
    ``before`` or ``after`` text.
    """

    label: str
    before: str
    after: str
    before_lines: list[str]
    after_lines: list[str]

    @property
    def has_lines(self) -> bool:
        return bool(self.before_lines or self.after_lines)


@register.filter
def status_label(code: str) -> str:
    """Return the label of an order status code, such as "Awaiting payment"."""
    if not code:
        return EMPTY
    try:
        return Order.Status(code).label
    except ValueError:
        return code


@register.filter
def change_rows(entry: Any) -> list[ChangeRow]:
    """Return an audit entry's changes as labelled display rows, secrets left out."""
    model = _model_for(entry.object_type)
    rows = []
    for name, pair in sorted(entry.changes.items()):
        if name in SECRET_FIELDS or not isinstance(pair, list) or len(pair) != 2:
            continue
        choices = _choices_for(model, name)
        before = display_value(name, pair[0], choices)
        after = display_value(name, pair[1], choices)
        if before == after:
            # A create entry lists every field, and "— → —" carries no information.
            continue
        rows.append(
            ChangeRow(
                label=field_label(name),
                before=before if isinstance(before, str) else "",
                after=after if isinstance(after, str) else "",
                before_lines=before if isinstance(before, list) else [],
                after_lines=after if isinstance(after, list) else [],
            )
        )
    return rows


def field_label(name: str) -> str:
    """Turn a field name into a label: "max_price_cents" becomes "Max price"."""
    if name in FIELD_LABELS:
        return FIELD_LABELS[name]
    words = name.removesuffix("_cents").replace("_", " ")
    return words[:1].upper() + words[1:]


def display_value(
    name: str, value: Any, choices: dict[str, str] | None = None
) -> str | list[str]:
    """Format one audited value for people: text, or one line per ordered item."""
    if value is None or value == "" or value == []:
        return EMPTY
    if choices and isinstance(value, str):
        return str(choices.get(value, value))
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if name.endswith("_cents") and isinstance(value, int):
        return cents(value)
    if name in ID_FIELDS and isinstance(value, int):
        return f"{ID_FIELDS[name]} #{value}"
    if isinstance(value, dict):
        return _format_mapping(value)
    if isinstance(value, list):
        if all(isinstance(item, dict) and "url" in item for item in value):
            return [_format_item(item) for item in value]
        return ", ".join(_format_scalar(item) for item in value)
    return _format_scalar(value)


def _format_scalar(value: Any) -> str:
    if isinstance(value, str) and "T" in value:
        try:
            moment = parse_datetime(value)
        except ValueError:
            moment = None
        if moment is not None:
            if timezone.is_aware(moment):
                moment = timezone.localtime(moment)
            return format_date(moment, TIMESTAMP_FORMAT)
    return str(value)


def _format_mapping(value: dict[str, Any]) -> str:
    # An address snapshot becomes one line, and any other mapping "Key: value" pairs.
    if "address_line1" in value:
        lines = [
            " ".join(str(value[key]) for key in keys if value.get(key))
            for keys in ADDRESS_LINES
        ]
        return ", ".join(line for line in lines if line)
    parts = [
        f"{field_label(key)}: {_format_scalar(item)}"
        for key, item in value.items()
        if item not in (None, "", [])
    ]
    return "; ".join(parts) or EMPTY


def _format_item(item: dict[str, Any]) -> str:
    text = f"{item.get('quantity', 1)} × {item['url']}"
    variants = item.get("variants") or []
    if variants:
        pairs = "; ".join(
            f"{variant.get('label', '')}: {variant.get('value', '')}"
            for variant in variants
        )
        text += f" ({pairs})"
    return text


def _model_for(object_type: str) -> type[models.Model] | None:
    try:
        return apps.get_model(object_type)
    except (LookupError, ValueError):
        return None


def _choices_for(model: type[models.Model] | None, name: str) -> dict[str, str] | None:
    if name in EXTRA_CHOICES:
        return EXTRA_CHOICES[name]
    if model is None:
        return None
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    choices = getattr(field, "flatchoices", None)
    return {str(key): str(label) for key, label in choices} if choices else None
