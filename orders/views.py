"""Views of the ops dashboard: addresses, product lists and orders.

The pay page and its JSON endpoints are in orders.views_checkout.

Each page view renders a full page, or only the named inline partial of the
same template for an htmx request. Access control goes through
orders.access; domain changes go through orders.services.
"""

import logging
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, OuterRef, Subquery
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from orders import access, audit
from orders.advice import advice_for_error
from orders.filters import OrderFilterForm, filter_orders
from orders.forms import (
    AddressForm,
    ItemRow,
    OrderComposeForm,
    ProductListForm,
    ProductListItemForm,
    VariantRow,
    apply_row_action,
    item_rows_from_data,
    item_rows_from_items,
    variant_rows_from_data,
)
from orders.models import (
    Order,
    OrderItem,
    ProductListItem,
)
from orders.retailers import SUPPORTED_RETAILERS, retailer_for_url
from orders.services import approvals, compose, policy
from orders.services.approvals import ApprovalError
from orders.team_forms import DecisionForm

logger = logging.getLogger(__name__)

ORDERS_PER_PAGE = 25
ZINC_ERRORS_HEADING = "Zinc found problems with this order and charged nothing."
# Fields recorded in the audit log for saved addresses, product lists and items.
ADDRESS_AUDIT_FIELDS = tuple(AddressForm.Meta.fields)
PRODUCT_LIST_AUDIT_FIELDS = ("name", "description")
ITEM_AUDIT_FIELDS = ("url", "quantity", "variants")

# --- helpers -----------------------------------------------------------------


def wants_partial(request: HttpRequest) -> bool:
    """True for an htmx request that swaps a fragment, not a history restore."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request


def render_page(
    request: HttpRequest,
    template: str,
    partial: str,
    context: dict[str, Any],
    status: int = 200,
) -> HttpResponse:
    """Render ``template``, or only its ``partial`` for an htmx request."""
    name = f"{template}#{partial}" if wants_partial(request) else template
    return render(request, name, context, status=status)


def redirect_after_post(request: HttpRequest, url: str) -> HttpResponse:
    """Redirect the browser; an htmx request gets HX-Redirect so the page changes."""
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


# --- team --------------------------------------------------------------------


@login_required
@require_POST
def team_switch(request: HttpRequest) -> HttpResponse:
    try:
        team_id = int(request.POST.get("team", ""))
    except ValueError:
        return HttpResponseBadRequest("Choose a team.")
    team = access.switch_team(request, team_id)
    messages.success(request, f"You are now working in {team.name}.")
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}
    ):
        next_url = reverse("orders:order-list")
    return redirect(next_url)


# --- addresses ---------------------------------------------------------------


@login_required
@require_GET
def address_list(request: HttpRequest) -> HttpResponse:
    addresses = access.team_addresses(request)
    return render(request, "orders/address_list.html", {"addresses": addresses})


@login_required
@require_http_methods(["GET", "POST"])
def address_create(request: HttpRequest) -> HttpResponse:
    form = AddressForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        address = form.save(commit=False)
        address.team = access.current_team(request)
        address.created_by = request.user
        address.save()
        audit.record_create(request.user, address, ADDRESS_AUDIT_FIELDS)
        logger.info("Address %s created by user %s", address.pk, request.user.pk)
        messages.success(request, f"Saved the address “{address}”.")
        return redirect_after_post(request, reverse("orders:address-list"))
    context = {"form": form, "address": None}
    status = 400 if form.is_bound else 200
    return render_page(
        request, "orders/address_form.html", "address-form", context, status
    )


@login_required
@require_http_methods(["GET", "POST"])
def address_edit(request: HttpRequest, pk: int) -> HttpResponse:
    address = access.get_address(request, pk)
    before = audit.snapshot(address, ADDRESS_AUDIT_FIELDS)
    form = AddressForm(request.POST or None, instance=address)
    if request.method == "POST" and form.is_valid():
        form.save()
        audit.record_change(request.user, address, before)
        messages.success(request, f"Saved the address “{address}”.")
        return redirect_after_post(request, reverse("orders:address-list"))
    context = {"form": form, "address": address}
    status = 400 if form.is_bound else 200
    return render_page(
        request, "orders/address_form.html", "address-form", context, status
    )


@login_required
@require_http_methods(["GET", "POST"])
def address_delete(request: HttpRequest, pk: int) -> HttpResponse:
    address = access.get_address(request, pk)
    open_orders = Order.objects.filter(address=address).exclude(status__in=Order.FINAL)
    open_count = open_orders.count()
    if request.method == "POST":
        if open_count:
            messages.error(
                request,
                f"“{address}” is used by {open_count} open order(s), so it was not "
                "deleted. Wait until they are finished or change their address.",
            )
            return redirect("orders:address-list")
        name = str(address)
        audit.record_delete(request.user, address, ADDRESS_AUDIT_FIELDS)
        address.delete()
        messages.success(request, f"Deleted the address “{name}”.")
        return redirect_after_post(request, reverse("orders:address-list"))
    context = {"address": address, "open_count": open_count}
    return render(request, "orders/address_delete.html", context)


# --- product lists -----------------------------------------------------------


@login_required
@require_GET
def product_list_list(request: HttpRequest) -> HttpResponse:
    product_lists = access.team_product_lists(request).annotate(
        item_count=Count("items")
    )
    return render(
        request,
        "orders/product_list_list.html",
        {"product_lists": product_lists},
    )


@login_required
@require_http_methods(["GET", "POST"])
def product_list_create(request: HttpRequest) -> HttpResponse:
    team = access.current_team(request)
    form = ProductListForm(request.POST or None, team=team)
    if request.method == "POST" and form.is_valid():
        product_list = form.save(commit=False)
        product_list.team = team
        product_list.created_by = request.user
        product_list.save()
        audit.record_create(request.user, product_list, PRODUCT_LIST_AUDIT_FIELDS)
        messages.success(request, f"Created the product list “{product_list}”.")
        return redirect_after_post(
            request, reverse("orders:product-list-detail", args=[product_list.pk])
        )
    context = {"form": form, "product_list": None}
    status = 400 if form.is_bound else 200
    return render_page(
        request, "orders/product_list_form.html", "product-list-form", context, status
    )


@login_required
@require_http_methods(["GET", "POST"])
def product_list_edit(request: HttpRequest, pk: int) -> HttpResponse:
    product_list = access.get_product_list(request, pk)
    before = audit.snapshot(product_list, PRODUCT_LIST_AUDIT_FIELDS)
    form = ProductListForm(
        request.POST or None, instance=product_list, team=product_list.team
    )
    if request.method == "POST" and form.is_valid():
        form.save()
        audit.record_change(request.user, product_list, before)
        messages.success(request, f"Saved the product list “{product_list}”.")
        return redirect_after_post(
            request, reverse("orders:product-list-detail", args=[product_list.pk])
        )
    context = {"form": form, "product_list": product_list}
    status = 400 if form.is_bound else 200
    return render_page(
        request, "orders/product_list_form.html", "product-list-form", context, status
    )


@login_required
@require_GET
def product_list_detail(request: HttpRequest, pk: int) -> HttpResponse:
    product_list = access.get_product_list(request, pk)
    items = list(product_list.items.all())
    for item in items:
        item.retailer_info = retailer_for_url(item.url)
    context = {"product_list": product_list, "items": items}
    return render(request, "orders/product_list_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def product_list_delete(request: HttpRequest, pk: int) -> HttpResponse:
    product_list = access.get_product_list(request, pk)
    if request.method == "POST":
        name = str(product_list)
        audit.record_delete(request.user, product_list, PRODUCT_LIST_AUDIT_FIELDS)
        product_list.delete()
        messages.success(request, f"Deleted the product list “{name}”.")
        return redirect_after_post(request, reverse("orders:product-list-list"))
    return render(
        request, "orders/product_list_delete.html", {"product_list": product_list}
    )


def _item_form_response(
    request: HttpRequest,
    product_list: Any,
    item: ProductListItem | None,
) -> HttpResponse:
    """Handle the item form for both adding and editing an item."""
    if request.method == "POST":
        rows = variant_rows_from_data(request.POST)
        if apply_row_action(
            rows, request.POST, "add_variant", "remove_variant", VariantRow
        ):
            form = ProductListItemForm(
                initial={
                    "url": request.POST.get("url", ""),
                    "quantity": request.POST.get("quantity", ""),
                },
                variant_rows=rows,
            )
            context = {"form": form, "product_list": product_list, "item": item}
            return render_page(
                request, "orders/product_list_item_form.html", "item-form", context
            )
        form = ProductListItemForm(request.POST, variant_rows=rows)
        if form.is_valid():
            _save_item(request.user, product_list, item, form.cleaned_data)
            messages.success(request, "Saved the item.")
            return redirect_after_post(
                request, reverse("orders:product-list-detail", args=[product_list.pk])
            )
        status = 400
    else:
        initial = {"quantity": 1}
        if item is not None:
            initial = {"url": item.url, "quantity": item.quantity}
            initial["variants"] = item.variants
        form = ProductListItemForm(initial=initial)
        status = 200
    context = {"form": form, "product_list": product_list, "item": item}
    return render_page(
        request, "orders/product_list_item_form.html", "item-form", context, status
    )


def _save_item(
    user: Any,
    product_list: Any,
    item: ProductListItem | None,
    cleaned: dict[str, Any],
) -> ProductListItem:
    created = item is None
    if item is None:
        last = product_list.items.order_by("-position").first()
        item = ProductListItem(
            product_list=product_list, position=last.position + 1 if last else 0
        )
    before = audit.snapshot(item, ITEM_AUDIT_FIELDS)
    item.url = cleaned["url"]
    item.quantity = cleaned["quantity"]
    item.variants = cleaned["variants"]
    item.save()
    if created:
        audit.record_create(user, item, ITEM_AUDIT_FIELDS, team=product_list.team)
    else:
        audit.record_change(user, item, before, team=product_list.team)
    return item


@login_required
@require_http_methods(["GET", "POST"])
def product_list_item_create(request: HttpRequest, pk: int) -> HttpResponse:
    product_list = access.get_product_list(request, pk)
    return _item_form_response(request, product_list, None)


@login_required
@require_http_methods(["GET", "POST"])
def product_list_item_edit(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    item = access.get_product_list_item(request, pk, item_pk)
    return _item_form_response(request, item.product_list, item)


@login_required
@require_http_methods(["GET", "POST"])
def product_list_item_delete(
    request: HttpRequest, pk: int, item_pk: int
) -> HttpResponse:
    item = access.get_product_list_item(request, pk, item_pk)
    if request.method == "POST":
        team = item.product_list.team
        audit.record_delete(request.user, item, ITEM_AUDIT_FIELDS, team=team)
        item.delete()
        messages.success(request, "Removed the item from the list.")
        return redirect_after_post(
            request, reverse("orders:product-list-detail", args=[pk])
        )
    return render(request, "orders/product_list_item_delete.html", {"item": item})


@login_required
@require_GET
def retailer_hint(request: HttpRequest) -> HttpResponse:
    """Render which retailer a pasted product URL belongs to."""
    urls = [request.GET.get("url", ""), *request.GET.getlist("item_url")]
    url = next((value.strip() for value in urls if value.strip()), "")
    context = {
        "url": url,
        "retailer": retailer_for_url(url) if url else None,
        "supported_retailers": SUPPORTED_RETAILERS,
    }
    return render(request, "orders/retailer_hint.html", context)


# --- orders: list and detail -------------------------------------------------


def order_list_queryset(request: HttpRequest) -> Any:
    first_item = OrderItem.objects.filter(order=OuterRef("pk")).order_by(
        "position", "id"
    )
    item_count = (
        OrderItem.objects.filter(order=OuterRef("pk"))
        .values("order")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return (
        access.team_orders(request)
        .select_related("created_by")
        .annotate(
            first_item_url=Subquery(first_item.values("url")[:1]),
            item_count=Subquery(item_count),
        )
    )


@login_required
@require_GET
@vary_on_headers("HX-Request")
def order_list(request: HttpRequest) -> HttpResponse:
    team = access.current_team(request)
    form = OrderFilterForm(request.GET or None, team=team)
    orders = filter_orders(order_list_queryset(request), form)
    page = Paginator(orders, ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "orders": page.object_list,
        "query": query.urlencode(),
    }
    return render_page(request, "orders/order_list.html", "order-table", context)


def _approval_context(request: HttpRequest, order: Order) -> dict[str, Any]:
    """Return the approval state, decisions and audit trail the order page shows."""
    membership = access.current_membership(request)
    waiting = order.status == Order.Status.AWAITING_APPROVAL
    can_decide = (
        waiting and membership.can_approve and order.created_by_id != request.user.pk
    )
    before_zinc = {Order.Status.DRAFT, Order.Status.APPROVED}
    return {
        "approvals": order.approvals.select_related("decided_by"),
        "audit_entries": audit.entries_for(order),
        "policy_decision": policy.evaluate(order)
        if waiting or order.status in before_zinc
        else None,
        "has_valid_approval": approvals.has_valid_approval(order),
        "can_decide": can_decide,
        "decision_form": DecisionForm() if can_decide else None,
    }


@login_required
@require_GET
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = access.get_order(request, pk)
    if wants_partial(request):
        # The live status partial needs none of the approval context.
        approval_context = {}
    else:
        approval_context = _approval_context(request, order)
    context = {
        **approval_context,
        "order": order,
        "items": order.items.all(),
        "events": order.events.select_related("actor"),
        "tracking_numbers": order.tracking_numbers.all(),
        "attempts": order.payment_attempts.all(),
        "advice": advice_for_error(order.error_type)
        if order.status == Order.Status.ORDER_FAILED
        else "",
        "can_copy": order.status in compose.COPYABLE_STATUSES,
    }
    return render_page(request, "orders/order_detail.html", "order-status", context)


@login_required
@require_POST
def order_copy(request: HttpRequest, pk: int) -> HttpResponse:
    order = access.get_order(request, pk)
    try:
        copy = compose.copy_to_draft(order, request.user)
    except compose.ComposeError as error:
        messages.error(request, str(error))
        return redirect(order)
    messages.success(
        request, f"Copied order {order.pk} into draft {copy.pk}. Check it and send it."
    )
    return redirect("orders:order-edit", pk=copy.pk)


# --- orders: composer --------------------------------------------------------


def _composer_response(
    request: HttpRequest,
    form: OrderComposeForm,
    order: Order | None,
    status: int = 200,
    errors_heading: str = "",
) -> HttpResponse:
    context = {
        "form": form,
        "order": order,
        "fee_cents": settings.ZINC_FEE_CENTS,
        "errors_heading": errors_heading,
    }
    return render_page(request, "orders/order_form.html", "order-form", context, status)


def _composer_row_action(
    request: HttpRequest, order: Order | None, team: Any
) -> HttpResponse | None:
    """Re-render the composer after an "add", "remove" or "load list" button.

    Returns None when the form was submitted to be saved.
    """
    rows = item_rows_from_data(request.POST)
    row_action_error = ""
    if "load_list" in request.POST:
        product_list = (
            access.team_product_lists(request)
            .filter(pk=request.POST.get("product_list") or 0)
            .first()
        )
        if product_list is None:
            row_action_error = "Choose a product list, then add its items."
        else:
            rows = [row for row in rows if not row.is_blank]
            rows += item_rows_from_items(product_list.items.all())
    elif not apply_row_action(rows, request.POST, "add_item", "remove_item", ItemRow):
        return None
    initial = {
        name: request.POST.get(name, "")
        for name in ["address", "product_list", "max_price", "po_number", "note"]
    }
    form = OrderComposeForm(initial=initial, team=team, item_rows=rows)
    form.row_action_error = row_action_error
    return _composer_response(request, form, order)


def _order_address(request: HttpRequest, form: OrderComposeForm) -> Any:
    """Return the chosen saved address, or save and audit the one typed in."""
    if form.cleaned_data["address"]:
        return form.cleaned_data["address"]
    address = form.save_new_address(request.user)
    if address is not None:
        audit.record_create(request.user, address, ADDRESS_AUDIT_FIELDS)
    return address


@login_required
@require_http_methods(["GET", "POST"])
def order_create(request: HttpRequest) -> HttpResponse:
    team = access.current_team(request)
    if request.method == "GET":
        initial = {name: request.GET.get(name, "") for name in ["address", "max_price"]}
        rows = None
        product_list_id = request.GET.get("product_list", "")
        if product_list_id.isascii() and product_list_id.isdigit():
            product_list = access.get_product_list(request, int(product_list_id))
            rows = item_rows_from_items(product_list.items.all())
            initial["product_list"] = product_list.pk
        form = OrderComposeForm(initial=initial, team=team, item_rows=rows)
        return _composer_response(request, form, None)

    row_action = _composer_row_action(request, None, team)
    if row_action is not None:
        return row_action
    form = OrderComposeForm(request.POST, team=team)
    if not form.is_valid():
        return _composer_response(request, form, None, status=400)
    address = _order_address(request, form)
    order = compose.create_draft(
        team=team,
        user=request.user,
        address=address,
        items=form.items,
        max_price_cents=form.cleaned_data["max_price"],
        po_number=form.cleaned_data["po_number"],
        note=form.cleaned_data["note"],
    )
    messages.success(request, "Saved the draft. Review it, then send it to Zinc.")
    return redirect_after_post(request, reverse("orders:order-review", args=[order.pk]))


@login_required
@require_http_methods(["GET", "POST"])
def order_edit(request: HttpRequest, pk: int) -> HttpResponse:
    order = access.get_order(request, pk)
    if not order.is_editable:
        messages.error(
            request,
            f"This order is {order.get_status_display().lower()} and can no longer "
            "be edited.",
        )
        return redirect(order)
    team = order.team
    if request.method == "GET":
        form = OrderComposeForm(OrderComposeForm.data_from_order(order), team=team)
        form.is_valid()
        form.add_zinc_errors(order.validation_errors or {})
        return _composer_response(
            request, form, order, errors_heading=ZINC_ERRORS_HEADING
        )

    row_action = _composer_row_action(request, order, team)
    if row_action is not None:
        return row_action
    form = OrderComposeForm(request.POST, team=team)
    if not form.is_valid():
        return _composer_response(request, form, order, status=400)
    address = _order_address(request, form)
    try:
        compose.update_draft(
            order,
            actor=request.user,
            address=address,
            items=form.items,
            max_price_cents=form.cleaned_data["max_price"],
            po_number=form.cleaned_data["po_number"],
            note=form.cleaned_data["note"],
        )
    except compose.ComposeError as error:
        form.add_error(None, str(error))
        return _composer_response(request, form, order, status=400)
    messages.success(request, "Saved the changes. Review them, then send the order.")
    return redirect_after_post(request, reverse("orders:order-review", args=[order.pk]))


# --- orders: review and submit -----------------------------------------------


def _review_response(
    request: HttpRequest, order: Order, status: int = 200
) -> HttpResponse:
    decision = None
    for_approval = False
    if order.status in {Order.Status.DRAFT, Order.Status.APPROVED}:
        decision = policy.evaluate(order)
        for_approval = decision.needs_approval and not approvals.approval_covers(
            order, decision
        )
    context = {
        "order": order,
        "items": order.items.all(),
        "fee_cents": settings.ZINC_FEE_CENTS,
        "policy_decision": decision,
        "sends_for_approval": for_approval,
    }
    return render(request, "orders/order_review.html", context, status=status)


@login_required
@require_GET
def order_review(request: HttpRequest, pk: int) -> HttpResponse:
    order = access.get_order(request, pk)
    return _review_response(request, order)


@login_required
@require_POST
def order_submit(request: HttpRequest, pk: int) -> HttpResponse:
    """Apply the team's policy and send the order for approval or to Zinc."""
    order = access.get_order(request, pk)
    try:
        outcome = approvals.request_approval_or_submit(order, actor=request.user)
    except ApprovalError as error:
        messages.error(request, error.message)
        return _review_response(request, order, status=error.status_code)
    result = outcome.result
    if result is None:
        messages.success(request, outcome.message)
        return redirect(order)
    if result.accepted:
        messages.success(request, "Zinc accepted the order. Pay it to place it.")
        return redirect("orders:order-pay", pk=order.pk)
    messages.error(request, result.message)
    if not result.field_errors or not order.is_editable:
        return redirect("orders:order-review", pk=order.pk)
    # Show Zinc's errors on the composer's fields, with the stored contents.
    form = OrderComposeForm(OrderComposeForm.data_from_order(order), team=order.team)
    form.is_valid()
    form.add_zinc_errors(result.field_errors)
    return _composer_response(
        request, form, order, status=400, errors_heading=ZINC_ERRORS_HEADING
    )
