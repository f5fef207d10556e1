"""Create and edit draft orders, and copy finished orders into new drafts.

An order's items and address may change only before anything is paid. Editing
an order that already has a request or challenges at Zinc returns it to DRAFT,
so it must be reviewed and sent again before anyone can pay. Changing the
items, address or max price of an order that waits for approval or was
approved also clears its approval, so it must be approved again. Every create
and change is written to the audit log.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction

from orders import audit
from orders.models import (
    Address,
    AuditEntry,
    Order,
    OrderEvent,
    OrderItem,
    PaymentAttempt,
    Team,
)
from orders.retailers import retailer_for_url
from orders.services import approvals, placement

logger = logging.getLogger(__name__)

Action = AuditEntry.Action

# Order fields written to the audit log when an order is created or edited,
# besides its items.
AUDITED_FIELDS = ("address", "shipping_address", "max_price_cents", "po_number", "note")
# Changes to these invalidate an approval: they alter what is bought, where it
# goes, or how much may be paid.
APPROVAL_FIELDS = frozenset({"address", "shipping_address", "max_price_cents", "items"})

# Orders that the "Copy into a new draft" action accepts.
COPYABLE_STATUSES = frozenset(
    {
        Order.Status.ORDER_FAILED,
        Order.Status.CANCELLED,
        Order.Status.CANCELLED_BY_RETAILER,
    }
)


class ComposeError(ValueError):
    """An order that cannot be saved as composed, with a message for the user."""


@dataclass(frozen=True)
class ItemSpec:
    """One product line of a composed order."""

    url: str
    quantity: int = 1
    variants: list[dict[str, str]] = field(default_factory=list)


def retailer_key(url: str) -> str:
    """Return the retailer code for ``url``, or the host name of an unknown one."""
    retailer = retailer_for_url(url)
    if retailer is not None:
        return retailer.code
    host = (urlsplit(url.strip()).hostname or "").lower()
    return host.removeprefix("www.")


def check_single_retailer(items: Sequence[ItemSpec]) -> None:
    """Raise ComposeError unless every item comes from the same retailer.

    Zinc places one checkout per order, so one order cannot mix retailers.
    """
    keys = {retailer_key(item.url) for item in items}
    if len(keys) > 1:
        raise ComposeError(
            "All items of one order must come from the same retailer; found "
            + ", ".join(sorted(keys))
            + ". Split them into separate orders."
        )


def _replace_items(order: Order, items: Sequence[ItemSpec]) -> None:
    order.items.all().delete()
    OrderItem.objects.bulk_create(
        [
            OrderItem(
                order=order,
                url=item.url,
                quantity=item.quantity,
                variants=[dict(variant) for variant in item.variants],
                retailer=_retailer_code(item.url),
                position=position,
            )
            for position, item in enumerate(items)
        ]
    )


def _item_values(
    items: Sequence[ItemSpec] | Sequence[OrderItem],
) -> list[dict[str, Any]]:
    """Return the items as plain values, for comparing and auditing them."""
    return [
        {"url": item.url, "quantity": item.quantity, "variants": list(item.variants)}
        for item in items
    ]


def _order_values(order: Order) -> dict[str, Any]:
    values = audit.snapshot(order, AUDITED_FIELDS)
    values["items"] = _item_values(list(order.items.all()))
    return values


def _retailer_code(url: str) -> str:
    # bulk_create skips OrderItem.save, which would otherwise fill this in.
    retailer = retailer_for_url(url)
    return retailer.code if retailer else ""


def _validate(items: Sequence[ItemSpec], max_price_cents: int) -> None:
    if not items:
        raise ComposeError("Add at least one item to the order.")
    if max_price_cents <= 0:
        raise ComposeError("The max price must be more than zero.")
    check_single_retailer(items)


@transaction.atomic
def create_draft(
    *,
    team: Team,
    user: Any,
    address: Address,
    items: Sequence[ItemSpec],
    max_price_cents: int,
    po_number: str = "",
    note: str = "",
) -> Order:
    """Create a DRAFT order for ``team`` with a snapshot of ``address``."""
    if address.team_id != team.pk:
        raise ComposeError("The address belongs to another team.")
    _validate(items, max_price_cents)
    order = Order.objects.create(
        team=team,
        created_by=user,
        address=address,
        shipping_address=address.to_zinc(),
        max_price_cents=max_price_cents,
        po_number=po_number,
        note=note,
    )
    _replace_items(order, items)
    order.record_event(OrderEvent.Kind.CHANGE, "Draft created.", actor=user)
    audit.record(user, Action.CREATE, order, audit.diff({}, _order_values(order)))
    logger.info("Order %s created as a draft by user %s", order.pk, user.pk)
    return order


@transaction.atomic
def update_draft(
    order: Order,
    *,
    actor: Any,
    address: Address,
    items: Sequence[ItemSpec],
    max_price_cents: int,
    po_number: str = "",
    note: str = "",
) -> Order:
    """Save new contents for an editable order and return it to DRAFT.

    The stored request body and Zinc's last validation errors no longer match
    the order, so both are cleared, and challenges still on offer (or waiting
    for a card's authentication step) are marked SUPERSEDED so that nobody pays
    for the old contents. The idempotency key stays: Zinc creates at most one
    order per key, so should an earlier paid request still land, a later one
    for the edited order is answered 409 instead of charging a second time.
    Raises ComposeError for an order that is no longer editable.
    """
    if not order.is_editable:
        raise ComposeError(
            f"This order is {order.get_status_display().lower()} and can no longer "
            "be edited. Copy it into a new draft instead."
        )
    if address.team_id != order.team_id:
        raise ComposeError("The address belongs to another team.")
    _validate(items, max_price_cents)
    # Lock the row as the payment claim does, so that an edit and a payment
    # of the same order never overlap.
    locked = Order.objects.select_for_update().get(pk=order.pk)
    if locked.status != order.status:
        raise ComposeError("The order changed while you edited it; reload the page.")
    if placement.payment_in_flight(locked):
        raise ComposeError(
            "A payment for this order is in progress, so it cannot be edited now. "
            "The order page shows the result."
        )
    before = _order_values(order)
    after = {
        "address": address.pk,
        "shipping_address": address.to_zinc(),
        "max_price_cents": max_price_cents,
        "po_number": po_number,
        "note": note,
        "items": _item_values(items),
    }
    edits = audit.diff(before, after)
    approvals.invalidate_approval_on_change(
        order,
        actor=actor,
        changes={name: edits[name] for name in edits if name in APPROVAL_FIELDS},
    )
    changes: dict[str, Any] = {
        "address": address,
        "shipping_address": address.to_zinc(),
        "max_price_cents": max_price_cents,
        "po_number": po_number,
        "note": note,
        "request_body": "",
        "request_sent_at": None,
        "validation_errors": {},
    }
    if order.status == Order.Status.DRAFT:
        for name, value in changes.items():
            setattr(order, name, value)
        order.save(update_fields=[*changes, "updated_at"])
        order.record_event(OrderEvent.Kind.CHANGE, "Draft edited.", actor=actor)
    else:
        order.transition_to(
            Order.Status.DRAFT,
            actor=actor,
            message="Edited; review and send it to Zinc again.",
            **changes,
        )
    superseded = PaymentAttempt.objects.filter(
        order=order,
        # A SETTLING attempt here was abandoned (payment_in_flight said so);
        # superseding it stops a late settle from sending the old body.
        state__in=[
            PaymentAttempt.State.OFFERED,
            PaymentAttempt.State.ACTION_REQUIRED,
            PaymentAttempt.State.SETTLING,
        ],
    ).update(state=PaymentAttempt.State.SUPERSEDED)
    _replace_items(order, items)
    if edits:
        audit.record(actor, Action.CHANGE, order, edits)
    logger.info(
        "Order %s edited by user %s; %s offered challenges superseded",
        order.pk,
        getattr(actor, "pk", None),
        superseded,
    )
    return order


@transaction.atomic
def copy_to_draft(order: Order, user: Any) -> Order:
    """Create a new DRAFT with the contents of a failed or cancelled ``order``.

    The copy uses the saved address when it still exists, so later corrections
    to the address apply, and the old snapshot otherwise.
    """
    if order.status not in COPYABLE_STATUSES:
        raise ComposeError("Only a failed or cancelled order can be copied.")
    address = order.address
    shipping_address = address.to_zinc() if address else dict(order.shipping_address)
    copy = Order.objects.create(
        team=order.team,
        created_by=user,
        address=address,
        shipping_address=shipping_address,
        max_price_cents=order.max_price_cents,
        po_number=order.po_number,
        note=order.note,
        metadata={"copied_from_order": order.pk},
    )
    _replace_items(
        copy,
        [
            ItemSpec(url=item.url, quantity=item.quantity, variants=item.variants)
            for item in order.items.all()
        ],
    )
    copy.record_event(
        OrderEvent.Kind.CHANGE, f"Copied from order {order.pk}.", actor=user
    )
    audit.record(user, Action.CREATE, copy, audit.diff({}, _order_values(copy)))
    logger.info("Order %s copied into draft %s by user %s", order.pk, copy.pk, user.pk)
    return copy
