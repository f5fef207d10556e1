"""Django admin for every orders model.

Secrets never reach an admin page: the order's encrypted X-Api-Key, the
encrypted Shared Payment Token and the payment receipt references are left out
of every form, list and inline. Order status is read-only because only
Order.transition_to may change it. What Zinc, Stripe and the poller recorded is
read-only too, so the admin cannot contradict them.
"""

import logging
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from orders import audit
from orders.models import (
    Address,
    Approval,
    AuditEntry,
    Membership,
    Order,
    OrderEvent,
    OrderItem,
    PaymentAttempt,
    PollerHeartbeat,
    ProductList,
    ProductListItem,
    Team,
    TrackingNumber,
)
from orders.templatetags.money import cents as format_cents

logger = logging.getLogger(__name__)

POLICY_FIELDS = [
    "approval_threshold_cents",
    "monthly_budget_cents",
    "over_budget_policy",
]


class ReadOnlyMixin:
    """Allow viewing only: no adding, changing or deleting through the admin.

    Every field shown is read-only, including non-editable ones such as
    ``created_at``, which a model form would reject. Fields in ``exclude``
    stay hidden.
    """

    model: type
    fields: Any = None
    exclude: Any = None

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if self.fields:
            return list(self.fields)
        excluded = set(self.exclude or [])
        return [
            field.name
            for field in self.model._meta.fields
            if not field.primary_key and field.name not in excluded
        ]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- Teams and members --------------------------------------------------------


class MembershipInline(admin.TabularInline):
    """Members, read-only: the team page changes them, keeping the last admin."""

    model = Membership
    extra = 0
    readonly_fields = ["user", "role", "created_at"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "approval_threshold",
        "monthly_budget",
        "over_budget_policy",
        "created_at",
    ]
    list_filter = ["over_budget_policy"]
    search_fields = ["name"]
    inlines = [MembershipInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Policy changes go through the team page, which audits them; a new
        # team gets its first policy here.
        if obj is None:
            return ["created_at"]
        return [*POLICY_FIELDS, "created_at"]

    def save_model(
        self, request: HttpRequest, obj: Team, form: Any, change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            audit.record_create(request.user, obj, ["name", *POLICY_FIELDS])

    @admin.display(
        description="Approval threshold", ordering="approval_threshold_cents"
    )
    def approval_threshold(self, team: Team) -> str:
        return format_cents(team.approval_threshold_cents)

    @admin.display(description="Monthly budget", ordering="monthly_budget_cents")
    def monthly_budget(self, team: Team) -> str:
        return format_cents(team.monthly_budget_cents)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """Adds members, such as a new team's first admin; changes go through the
    team page, which refuses to demote or remove a team's last admin."""

    list_display = ["user", "team", "role", "created_at"]
    list_filter = ["role", "team"]
    search_fields = ["user__username", "user__email", "team__name"]
    list_select_related = ["user", "team"]
    autocomplete_fields = ["user", "team"]
    readonly_fields = ["created_at"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: Membership, form: Any, change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        audit.record(
            request.user,
            AuditEntry.Action.MEMBER_ADD,
            obj,
            {"user": [None, obj.user.get_username()], "role": [None, obj.role]},
        )


# --- Saved addresses and product lists ---------------------------------------


@admin.register(Address)
class AddressAdmin(admin.ModelAdmin):
    list_display = ["__str__", "team", "city", "state", "country", "updated_at"]
    list_filter = ["country", "team"]
    search_fields = ["label", "first_name", "last_name", "city", "postal_code"]
    list_select_related = ["team"]
    autocomplete_fields = ["team"]
    readonly_fields = ["created_by", "created_at", "updated_at"]


class ProductListItemInline(admin.TabularInline):
    model = ProductListItem
    extra = 0
    fields = ["position", "url", "quantity", "variants"]


@admin.register(ProductList)
class ProductListAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "created_by", "updated_at"]
    list_filter = ["team"]
    search_fields = ["name", "description", "items__url"]
    list_select_related = ["team", "created_by"]
    autocomplete_fields = ["team"]
    readonly_fields = ["created_by", "created_at", "updated_at"]
    inlines = [ProductListItemInline]


@admin.register(ProductListItem)
class ProductListItemAdmin(admin.ModelAdmin):
    list_display = ["__str__", "product_list", "quantity", "position"]
    list_filter = ["product_list__team"]
    search_fields = ["url", "product_list__name"]
    list_select_related = ["product_list"]
    autocomplete_fields = ["product_list"]


# --- Orders -------------------------------------------------------------------


class OrderItemInline(ReadOnlyMixin, admin.TabularInline):
    model = OrderItem
    extra = 0
    fields = [
        "position",
        "url",
        "quantity",
        "variants",
        "retailer",
        "zinc_item_id",
        "zinc_status",
    ]


class PaymentAttemptInline(ReadOnlyMixin, admin.TabularInline):
    model = PaymentAttempt
    extra = 0
    fields = [
        "method",
        "state",
        "amount",
        "currency",
        "expires_at",
        "failure_code",
        "failure_message",
        "created_at",
        "settled_at",
    ]
    show_change_link = True


class TrackingNumberInline(ReadOnlyMixin, admin.TabularInline):
    model = TrackingNumber
    extra = 0
    fields = [
        "carrier",
        "tracking_number",
        "status",
        "zinc_created_at",
        "delivered_at",
    ]


class OrderEventInline(ReadOnlyMixin, admin.TabularInline):
    model = OrderEvent
    extra = 0
    fields = ["created_at", "kind", "from_status", "to_status", "actor", "message"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderEvent]:
        return super().get_queryset(request).select_related("actor")


class ApprovalInline(ReadOnlyMixin, admin.TabularInline):
    model = Approval
    extra = 0
    fields = ["created_at", "decision", "decided_by", "max_price_cents", "comment"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Approval]:
        return super().get_queryset(request).select_related("decided_by")


# Fields a person may change on an existing order. Everything else was set by
# the ordering flow, Zinc, Stripe or the poller.
ORDER_EDITABLE_FIELDS = frozenset(
    {"po_number", "note", "metadata", "next_poll_at", "trackable"}
)


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "team",
        "created_by",
        "status",
        "max_price",
        "total",
        "zinc_order_id",
        "created_at",
    ]
    list_filter = ["status", "team", "error_type"]
    search_fields = ["zinc_order_id", "po_number", "idempotency_key", "items__url"]
    list_select_related = ["team", "created_by"]
    date_hierarchy = "created_at"
    # api_key_encrypted and receipt_reference are in no fieldset, so they are
    # never rendered.
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "team",
                    "created_by",
                    "status",
                    "po_number",
                    "note",
                    "metadata",
                ]
            },
        ),
        ("Shipping", {"fields": ["address", "shipping_address", "max_price_cents"]}),
        (
            "Request to Zinc",
            {
                "fields": [
                    "idempotency_key",
                    "request_sent_at",
                    "request_body",
                    "validation_errors",
                ]
            },
        ),
        (
            "Approval",
            {"fields": ["approved_by", "approved_at", "approved_max_price_cents"]},
        ),
        (
            "Payment",
            {
                "fields": [
                    "currency",
                    "authorized_cents",
                    "fee_cents",
                    "charged_cents",
                    "refunded_cents",
                    "paid_at",
                ]
            },
        ),
        (
            "Zinc result",
            {
                "fields": [
                    "zinc_order_id",
                    "subtotal_cents",
                    "tax_cents",
                    "shipping_cents",
                    "total_cents",
                    "merchant_order_ids",
                    "estimated_delivery",
                    "error_type",
                    "error_message",
                    "zinc_attempts",
                    "zinc_updated_at",
                    "placed_at",
                    "first_tracking_at",
                    "delivered_at",
                ]
            },
        ),
        (
            "Polling",
            {
                "fields": [
                    "next_poll_at",
                    "trackable",
                    "poll_attempts",
                    "poll_failures",
                    "last_polled_at",
                    "poll_error",
                ]
            },
        ),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]
    inlines = [
        OrderItemInline,
        ApprovalInline,
        PaymentAttemptInline,
        TrackingNumberInline,
        OrderEventInline,
    ]

    def get_readonly_fields(
        self, request: HttpRequest, obj: Order | None = None
    ) -> list[str]:
        return [
            name
            for _, options in self.fieldsets
            for name in options["fields"]
            if name not in ORDER_EDITABLE_FIELDS
        ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # An order needs an idempotency key, a request body and a payment
        # flow; the order form in the app creates them.
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: Order | None = None
    ) -> bool:
        # Paid orders and their events are the audit trail of money spent.
        return False

    @admin.display(description="Max price", ordering="max_price_cents")
    def max_price(self, order: Order) -> str:
        return format_cents(order.max_price_cents, order.currency)

    @admin.display(description="Total", ordering="total_cents")
    def total(self, order: Order) -> str:
        return format_cents(order.total_cents, order.currency)


@admin.register(OrderItem)
class OrderItemAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["__str__", "order", "retailer", "quantity", "zinc_status"]
    list_filter = ["retailer", "zinc_status"]
    search_fields = ["url", "order__zinc_order_id", "order__po_number"]
    list_select_related = ["order"]


@admin.register(PaymentAttempt)
class PaymentAttemptAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "order",
        "method",
        "state",
        "amount",
        "currency",
        "created_at",
    ]
    list_filter = ["state", "method"]
    search_fields = ["challenge_id", "order__zinc_order_id", "order__po_number"]
    list_select_related = ["order"]
    exclude = ["spt_encrypted", "receipt_reference"]


@admin.register(TrackingNumber)
class TrackingNumberAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["tracking_number", "carrier", "status", "order", "delivered_at"]
    list_filter = ["status", "carrier"]
    search_fields = ["tracking_number", "order__zinc_order_id"]
    list_select_related = ["order"]


@admin.register(OrderEvent)
class OrderEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "order",
        "kind",
        "from_status",
        "to_status",
        "actor",
        "message",
    ]
    list_filter = ["kind", "to_status"]
    search_fields = ["message", "order__zinc_order_id"]
    list_select_related = ["order", "actor"]


@admin.register(PollerHeartbeat)
class PollerHeartbeatAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["chain_id", "beat_at", "chain_started_at", "runs"]


@admin.register(Approval)
class ApprovalAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["created_at", "order", "decision", "decided_by", "max_price"]
    list_filter = ["decision"]
    search_fields = ["comment", "order__zinc_order_id", "order__po_number"]
    list_select_related = ["order", "decided_by"]

    @admin.display(description="Max price", ordering="max_price_cents")
    def max_price(self, approval: Approval) -> str:
        return format_cents(approval.max_price_cents)


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["created_at", "action", "object_repr", "actor", "team"]
    list_filter = ["action", "team"]
    search_fields = ["object_repr", "object_id"]
    list_select_related = ["actor", "team"]
