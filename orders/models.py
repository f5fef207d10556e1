"""Domain models: teams, saved addresses and product lists, orders and payments.

Money is stored as integer minor units (US cents for Stripe) everywhere.
Order status only changes through Order.transition_to, which refuses illegal
moves and writes an OrderEvent for every change.
"""

import logging
import uuid
from typing import Any, ClassVar

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone

from orders import crypto
from orders.retailers import retailer_for_url, retailer_name

logger = logging.getLogger(__name__)

MAX_QUANTITY = 100


class Team(models.Model):
    class OverBudgetPolicy(models.TextChoices):
        BLOCK = "block", "Block the order"
        ADMIN_APPROVAL = "admin_approval", "Require a team admin's approval"

    name = models.CharField(max_length=120, unique=True)
    approval_threshold_cents = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Orders whose max price is above this need approval. "
        "Empty means no approval is needed.",
    )
    monthly_budget_cents = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Maximum amount authorised (max price plus Zinc's fee) in one "
        "calendar month. Empty means no budget.",
    )
    over_budget_policy = models.CharField(
        max_length=20,
        choices=OverBudgetPolicy.choices,
        default=OverBudgetPolicy.BLOCK,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        REQUESTER = "requester", "Requester"
        APPROVER = "approver", "Approver"
        ADMIN = "admin", "Admin"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.REQUESTER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "team"], name="unique_membership")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} as {self.role}"

    @property
    def can_approve(self) -> bool:
        return self.role in {self.Role.APPROVER, self.Role.ADMIN}


class Address(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="addresses")
    label = models.CharField(max_length=80, blank=True)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    address_line1 = models.CharField(max_length=200)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100)
    state = models.CharField(max_length=64, blank=True)
    postal_code = models.CharField(max_length=20)
    country = models.CharField(max_length=2, default="US")
    phone_number = models.CharField(max_length=32)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["label", "last_name", "first_name"]
        verbose_name_plural = "addresses"

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}"
        return f"{self.label}: {name}" if self.label else name

    def to_zinc(self) -> dict[str, Any]:
        """Return the address in the shape of Zinc's Address schema."""
        return {
            "first_name": self.first_name,
            "last_name": self.last_name,
            "address_line1": self.address_line1,
            "address_line2": self.address_line2 or None,
            "city": self.city,
            "state": self.state or None,
            "postal_code": self.postal_code,
            "phone_number": self.phone_number,
            "country": self.country,
        }


class ProductList(models.Model):
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="product_lists"
    )
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "name"], name="unique_product_list_name"
            )
        ]

    def __str__(self) -> str:
        return self.name


class ProductListItem(models.Model):
    product_list = models.ForeignKey(
        ProductList, on_delete=models.CASCADE, related_name="items"
    )
    url = models.URLField(max_length=2000)
    quantity = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(MAX_QUANTITY)]
    )
    # A list of {"label": ..., "value": ...} pairs, matching the retailer's text.
    variants = models.JSONField(default=list, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.url}"


def new_idempotency_key() -> str:
    return str(uuid.uuid4())


class InvalidTransition(Exception):
    """An order status change that the lifecycle does not allow."""


class StaleOrder(Exception):
    """Another process changed the order's status first."""


class Order(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        AWAITING_PAYMENT = "awaiting_payment", "Awaiting payment"
        PAYMENT_UNKNOWN = "payment_unknown", "Payment outcome unknown"
        PENDING = "pending", "Pending at Zinc"
        IN_PROGRESS = "in_progress", "In progress at Zinc"
        ORDER_PLACED = "order_placed", "Placed"
        ORDER_FAILED = "order_failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        CANCELLED_BY_RETAILER = "cancelled_by_retailer", "Cancelled by retailer"
        DISCARDED = "discarded", "Discarded"

    # Every legal move. Zinc statuses only move forward, so a stale poll
    # response can never take an order back to an earlier state.
    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.DRAFT: frozenset(
            {
                Status.AWAITING_APPROVAL,
                Status.APPROVED,
                Status.AWAITING_PAYMENT,
                Status.DISCARDED,
            }
        ),
        Status.AWAITING_APPROVAL: frozenset(
            {Status.APPROVED, Status.REJECTED, Status.DRAFT, Status.DISCARDED}
        ),
        Status.APPROVED: frozenset(
            {Status.AWAITING_PAYMENT, Status.DRAFT, Status.DISCARDED}
        ),
        Status.REJECTED: frozenset({Status.DRAFT, Status.DISCARDED}),
        Status.AWAITING_PAYMENT: frozenset(
            {
                Status.PENDING,
                Status.PAYMENT_UNKNOWN,
                Status.DRAFT,
                Status.DISCARDED,
            }
        ),
        Status.PAYMENT_UNKNOWN: frozenset({Status.PENDING, Status.AWAITING_PAYMENT}),
        Status.PENDING: frozenset(
            {
                Status.IN_PROGRESS,
                Status.ORDER_PLACED,
                Status.ORDER_FAILED,
                Status.CANCELLED,
            }
        ),
        Status.IN_PROGRESS: frozenset({Status.ORDER_PLACED, Status.ORDER_FAILED}),
        Status.ORDER_PLACED: frozenset({Status.CANCELLED_BY_RETAILER}),
        Status.ORDER_FAILED: frozenset(),
        Status.CANCELLED: frozenset(),
        Status.CANCELLED_BY_RETAILER: frozenset(),
        Status.DISCARDED: frozenset(),
    }
    # Statuses in which the order can still be edited before anything is paid.
    EDITABLE: ClassVar[frozenset[str]] = frozenset(
        {
            Status.DRAFT,
            Status.AWAITING_APPROVAL,
            Status.APPROVED,
            Status.REJECTED,
            Status.AWAITING_PAYMENT,
        }
    )
    # Statuses that Zinc reports; the poller keeps these fresh.
    AT_ZINC: ClassVar[frozenset[str]] = frozenset(
        {
            Status.PENDING,
            Status.IN_PROGRESS,
            Status.ORDER_PLACED,
            Status.ORDER_FAILED,
            Status.CANCELLED,
            Status.CANCELLED_BY_RETAILER,
        }
    )
    FINAL: ClassVar[frozenset[str]] = frozenset(
        {
            Status.ORDER_FAILED,
            Status.CANCELLED,
            Status.CANCELLED_BY_RETAILER,
            Status.DISCARDED,
        }
    )

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="orders")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders"
    )
    status = models.CharField(
        max_length=32, choices=Status.choices, default=Status.DRAFT, db_index=True
    )

    # What is being bought and where it goes.
    address = models.ForeignKey(
        Address, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    shipping_address = models.JSONField(
        default=dict, help_text="Snapshot of the address in Zinc's Address shape."
    )
    max_price_cents = models.PositiveIntegerField(
        help_text="Ceiling for items, tax and shipping, in cents, excluding Zinc's fee."
    )
    po_number = models.CharField(max_length=64, blank=True)
    note = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    # What was sent to Zinc: the exact bytes of the first request body, resent
    # unchanged on the paid retry, and the key Zinc deduplicates on.
    idempotency_key = models.CharField(
        max_length=36, unique=True, default=new_idempotency_key, editable=False
    )
    request_body = models.TextField(blank=True, editable=False)
    request_sent_at = models.DateTimeField(null=True, blank=True)
    validation_errors = models.JSONField(
        default=dict,
        blank=True,
        help_text="Field errors from Zinc's last 400 or 422 answer, by form field.",
    )

    # Approval (see orders.services.approvals).
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_max_price_cents = models.PositiveIntegerField(null=True, blank=True)

    # The paid order at Zinc.
    zinc_order_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    api_key_encrypted = models.TextField(blank=True, editable=False)
    currency = models.CharField(max_length=3, default="usd")
    authorized_cents = models.PositiveIntegerField(
        null=True, blank=True, help_text="Amount the payer authorised: max price + fee."
    )
    fee_cents = models.PositiveIntegerField(null=True, blank=True)
    charged_cents = models.PositiveIntegerField(
        null=True, blank=True, help_text="Actual total plus fee, once known."
    )
    refunded_cents = models.PositiveIntegerField(null=True, blank=True)
    receipt_reference = models.CharField(max_length=255, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    # Zinc's job_result once the order is final.
    subtotal_cents = models.PositiveIntegerField(null=True, blank=True)
    tax_cents = models.PositiveIntegerField(null=True, blank=True)
    shipping_cents = models.PositiveIntegerField(null=True, blank=True)
    total_cents = models.PositiveIntegerField(null=True, blank=True)
    merchant_order_ids = models.JSONField(default=list, blank=True)
    estimated_delivery = models.DateField(null=True, blank=True)
    error_type = models.CharField(max_length=64, blank=True, db_index=True)
    error_message = models.TextField(blank=True)
    zinc_attempts = models.PositiveIntegerField(default=0)
    zinc_updated_at = models.DateTimeField(null=True, blank=True)
    placed_at = models.DateTimeField(null=True, blank=True)
    first_tracking_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    # Polling schedule, kept on the row so that no queue state is needed to
    # know what is due (see orders.services.refresh).
    next_poll_at = models.DateTimeField(null=True, blank=True)
    poll_attempts = models.PositiveIntegerField(default=0)
    poll_failures = models.PositiveIntegerField(default=0)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    trackable = models.BooleanField(default=True)
    poll_error = models.CharField(max_length=255, blank=True)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["team", "-created_at"], name="order_team_created"),
            models.Index(fields=["status", "-created_at"], name="order_status_created"),
            # The order list filters one team by status and counts the rows.
            models.Index(
                fields=["team", "status", "-created_at"], name="order_team_status"
            ),
            models.Index(
                fields=["next_poll_at"],
                name="order_next_poll",
                condition=models.Q(next_poll_at__isnull=False),
            ),
            models.Index(fields=["po_number"], name="order_po_number"),
            # Spend reports and the budget check select paid orders by month.
            models.Index(
                fields=["team", "paid_at"],
                name="order_team_paid",
                condition=models.Q(paid_at__isnull=False),
            ),
            models.Index(
                fields=["paid_at"],
                name="order_paid_at",
                condition=models.Q(paid_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"Order {self.pk} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("orders:order-detail", args=[self.pk])

    # --- status -------------------------------------------------------------

    def can_transition_to(self, new_status: str) -> bool:
        return new_status in self.TRANSITIONS[self.status]

    def transition_to(
        self,
        new_status: str,
        *,
        actor: Any = None,
        message: str = "",
        data: dict[str, Any] | None = None,
        **changes: Any,
    ) -> "OrderEvent":
        """Move the order to ``new_status``, save ``changes`` and log an event.

        The event goes to the order's timeline (OrderEvent) and to the audit
        log, with the changed fields' values before and after.

        The update is conditional on the status read earlier, so when two
        processes race, exactly one wins and the other gets StaleOrder.
        """
        old_status = self.status
        if not self.can_transition_to(new_status):
            raise InvalidTransition(
                f"Order {self.pk} cannot move from {old_status} to {new_status}."
            )
        now = timezone.now()
        fields = {"status": new_status, "updated_at": now, **changes}
        before = {
            name: getattr(self, self._meta.get_field(name).attname) for name in fields
        }
        with transaction.atomic():
            updated = Order.objects.filter(pk=self.pk, status=old_status).update(
                **fields
            )
            if updated != 1:
                raise StaleOrder(
                    f"Order {self.pk} is no longer {old_status}; reload and retry."
                )
            for name, value in fields.items():
                setattr(self, name, value)
            # Imported here because orders.audit imports this module.
            from orders import audit

            audit.record_transition(self, actor=actor, before=before, after=fields)
            event = OrderEvent.objects.create(
                order=self,
                kind=OrderEvent.Kind.STATUS,
                from_status=old_status,
                to_status=new_status,
                actor=actor if getattr(actor, "is_authenticated", False) else None,
                message=message,
                data=data or {},
            )
        logger.info("Order %s moved from %s to %s", self.pk, old_status, new_status)
        return event

    def record_event(
        self,
        kind: str,
        message: str,
        *,
        actor: Any = None,
        data: dict[str, Any] | None = None,
    ) -> "OrderEvent":
        """Append a non-status event (payment, poll, approval) to the timeline."""
        return OrderEvent.objects.create(
            order=self,
            kind=kind,
            from_status=self.status,
            to_status=self.status,
            actor=actor if getattr(actor, "is_authenticated", False) else None,
            message=message,
            data=data or {},
        )

    @property
    def is_editable(self) -> bool:
        return self.status in self.EDITABLE

    @property
    def is_final(self) -> bool:
        """True once nothing about the order can change any more."""
        if self.status in self.FINAL:
            return True
        if self.status == self.Status.ORDER_PLACED:
            return self.next_poll_at is None
        return False

    @property
    def is_open(self) -> bool:
        """True while the poller still checks the order with Zinc."""
        checked = (
            self.status in self.AT_ZINC or self.status == self.Status.PAYMENT_UNKNOWN
        )
        return checked and self.next_poll_at is not None

    @property
    def version(self) -> str:
        """Token that changes with every save, so a form can detect a stale page."""
        return self.updated_at.isoformat()

    # --- secrets ------------------------------------------------------------

    def set_api_key(self, api_key: str) -> None:
        self.api_key_encrypted = crypto.encrypt(api_key)

    def get_api_key(self) -> str:
        if not self.api_key_encrypted:
            return ""
        return crypto.decrypt(self.api_key_encrypted)

    # --- amounts ------------------------------------------------------------

    @property
    def estimated_authorization_cents(self) -> int:
        """Max price plus Zinc's fee: what the payer will be asked to authorise."""
        return self.max_price_cents + settings.ZINC_FEE_CENTS


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    url = models.URLField(max_length=2000)
    quantity = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(MAX_QUANTITY)]
    )
    variants = models.JSONField(default=list, blank=True)
    retailer = models.CharField(max_length=40, blank=True, db_index=True)
    position = models.PositiveIntegerField(default=0)
    zinc_item_id = models.CharField(max_length=64, blank=True)
    zinc_status = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["url"], name="order_item_url")]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.url}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.retailer:
            retailer = retailer_for_url(self.url)
            self.retailer = retailer.code if retailer else ""
        super().save(*args, **kwargs)

    @property
    def retailer_name(self) -> str:
        return retailer_name(self.retailer)

    def to_zinc(self) -> dict[str, Any]:
        product: dict[str, Any] = {"url": self.url, "quantity": self.quantity}
        if self.variants:
            product["variant"] = [
                {"label": v["label"], "value": v["value"]} for v in self.variants
            ]
        return product


class PaymentAttempt(models.Model):
    """One MPP challenge received for an order, and what became of paying it."""

    class State(models.TextChoices):
        OFFERED = "offered", "Offered"
        SETTLING = "settling", "Settling"
        ACTION_REQUIRED = "action_required", "Action required"
        SUCCEEDED = "succeeded", "Succeeded"
        DECLINED = "declined", "Declined"
        EXPIRED = "expired", "Expired"
        SUPERSEDED = "superseded", "Superseded"
        UNKNOWN = "unknown", "Outcome unknown"
        FAILED = "failed", "Failed"

    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="payment_attempts"
    )
    challenge_id = models.CharField(max_length=255)
    method = models.CharField(max_length=32)
    intent = models.CharField(max_length=32)
    realm = models.CharField(max_length=255)
    # The challenge exactly as received, re-parsed to build the echo, so that
    # no parameter is lost or reformatted between 402 and paid retry.
    www_authenticate = models.TextField()
    amount = models.BigIntegerField(help_text="Amount in the method's base units.")
    currency = models.CharField(max_length=64)
    decimals = models.PositiveSmallIntegerField(default=2)
    network_id = models.CharField(max_length=255, blank=True)
    recipient = models.CharField(max_length=255, blank=True)
    payment_method_types = models.JSONField(default=list, blank=True)
    description = models.TextField(blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(
        max_length=20, choices=State.choices, default=State.OFFERED, db_index=True
    )
    spt_encrypted = models.TextField(blank=True, editable=False)
    failure_code = models.CharField(max_length=64, blank=True)
    failure_message = models.TextField(blank=True)
    receipt_reference = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "challenge_id"], name="unique_challenge_per_order"
            )
        ]

    def __str__(self) -> str:
        return f"{self.method} challenge for order {self.order_id} ({self.state})"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def amount_cents(self) -> int | None:
        """The amount in US cents, or None for a non-USD method such as Tempo."""
        if self.currency.lower() == "usd" and self.decimals == 2:
            return self.amount
        return None


class TrackingNumber(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        IN_TRANSIT = "in_transit", "In transit"
        DELIVERED = "delivered", "Delivered"

    # Public tracking pages per carrier; Zinc returns only carrier and number.
    TRACKING_URLS: ClassVar[dict[str, str]] = {
        "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
        "ups": "https://www.ups.com/track?tracknum={number}",
        "fedex": "https://www.fedex.com/fedextrack/?trknbr={number}",
        "dhl": "https://www.dhl.com/us-en/home/tracking.html?tracking-id={number}",
        "amazon": "https://track.amazon.com/tracking/{number}",
        "lasership": "https://www.ontrac.com/tracking/?number={number}",
    }

    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="tracking_numbers"
    )
    zinc_id = models.CharField(max_length=64)
    carrier = models.CharField(max_length=32)
    tracking_number = models.CharField(max_length=128)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING
    )
    checkpoints = models.JSONField(default=list, blank=True)
    zinc_created_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "zinc_id"], name="unique_tracking_per_order"
            )
        ]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number}"

    @property
    def tracking_url(self) -> str:
        template = self.TRACKING_URLS.get(self.carrier.lower())
        return template.format(number=self.tracking_number) if template else ""


class OrderEvent(models.Model):
    class Kind(models.TextChoices):
        STATUS = "status", "Status change"
        PAYMENT = "payment", "Payment"
        APPROVAL = "approval", "Approval"
        POLL = "poll", "Polling"
        CHANGE = "change", "Change"
        NOTE = "note", "Note"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    from_status = models.CharField(max_length=32, blank=True)
    to_status = models.CharField(max_length=32, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    message = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["order", "created_at"], name="event_order")]

    def __str__(self) -> str:
        return f"{self.kind} on order {self.order_id}: {self.message}"


# --- Background polling ------------------------------------------------------


class PollerHeartbeat(models.Model):
    """The single row that tracks the self-rescheduling poll chain.

    Each run of the chain task updates ``beat_at``. When the beat goes stale
    (a crashed worker, a lost queue, a deploy), the sweeper starts a new chain
    under a new ``chain_id``; a run from an older chain sees a different id
    and ends without re-enqueueing, so at most one chain keeps running.
    """

    SINGLETON_PK = 1

    chain_id = models.CharField(max_length=36, blank=True)
    beat_at = models.DateTimeField(null=True, blank=True)
    chain_started_at = models.DateTimeField(null=True, blank=True)
    runs = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"Poll chain {self.chain_id or '(none)'}, last beat {self.beat_at}"


# --- approvals and audit -------------------------------------------------------
#
# The audit log is a model of our own rather than django-simple-history, for
# four reasons. One table serves "what happened to this team, order or member"
# across every object type with one indexed query. Its rows are business
# actions (approve, reject, payment, member changes), which row snapshots
# cannot express. No history table is needed per audited model. And
# django-simple-history 3.13.0 declares support up to Django 6.0 only, while
# this project runs 6.1. The rows are written by the services that make the
# change (see orders.audit), never by signals, so the actor is always known.


class Approval(models.Model):
    """One approver's decision on an order. Rows are only ever added."""

    class Decision(models.TextChoices):
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="approvals")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decision = models.CharField(max_length=10, choices=Decision.choices)
    comment = models.TextField(blank=True)
    max_price_cents = models.PositiveIntegerField(
        help_text="The order's max price when the decision was made, in cents."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return (
            f"{self.get_decision_display()} order {self.order_id} by {self.decided_by}"
        )

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError("An approval decision cannot be changed once recorded.")
        super().save(*args, **kwargs)


class AuditEntry(models.Model):
    """One audited action: actor, object, time, and changed values before and after."""

    class Action(models.TextChoices):
        CREATE = "create", "Created"
        CHANGE = "change", "Changed"
        DELETE = "delete", "Deleted"
        APPROVE = "approve", "Approved"
        REJECT = "reject", "Rejected"
        PAYMENT = "payment", "Payment"
        STATUS = "status", "Status change"
        MEMBER_ADD = "member_add", "Member added"
        MEMBER_CHANGE = "member_change", "Member role changed"
        MEMBER_REMOVE = "member_remove", "Member removed"
        POLICY_CHANGE = "policy_change", "Policy changed"

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty for changes made by the system, such as the poller.",
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_entries",
    )
    # The model's label ("orders.order") and primary key, so that entries
    # outlive the object they describe.
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200)
    changes = models.JSONField(
        default=dict,
        blank=True,
        encoder=DjangoJSONEncoder,
        help_text="Changed fields as {field: [before, after]}.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["team", "created_at"], name="audit_team_created"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.object_repr}"

    @property
    def change_rows(self) -> list[tuple[str, Any, Any]]:
        """The changes as (field, before, after), sorted by field, for templates.

        Templates cannot loop over ``changes.items`` because a changed field
        named "items" would shadow the dict method.
        """
        return [(name, pair[0], pair[1]) for name, pair in sorted(self.changes.items())]
