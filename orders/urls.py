from django.urls import path

from orders import views, views_approvals, views_checkout, views_live, views_team

app_name = "orders"

urlpatterns = [
    path("", views.order_list, name="order-list"),
    path("team/", views.team_switch, name="team-switch"),
    # Addresses
    path("addresses/", views.address_list, name="address-list"),
    path("addresses/new/", views.address_create, name="address-create"),
    path("addresses/<int:pk>/edit/", views.address_edit, name="address-edit"),
    path("addresses/<int:pk>/delete/", views.address_delete, name="address-delete"),
    # Product lists
    path("product-lists/", views.product_list_list, name="product-list-list"),
    path("product-lists/new/", views.product_list_create, name="product-list-create"),
    path(
        "product-lists/<int:pk>/",
        views.product_list_detail,
        name="product-list-detail",
    ),
    path(
        "product-lists/<int:pk>/edit/",
        views.product_list_edit,
        name="product-list-edit",
    ),
    path(
        "product-lists/<int:pk>/delete/",
        views.product_list_delete,
        name="product-list-delete",
    ),
    path(
        "product-lists/<int:pk>/items/new/",
        views.product_list_item_create,
        name="product-list-item-create",
    ),
    path(
        "product-lists/<int:pk>/items/<int:item_pk>/edit/",
        views.product_list_item_edit,
        name="product-list-item-edit",
    ),
    path(
        "product-lists/<int:pk>/items/<int:item_pk>/delete/",
        views.product_list_item_delete,
        name="product-list-item-delete",
    ),
    path("retailer-hint/", views.retailer_hint, name="retailer-hint"),
    # Orders
    path("orders/new/", views.order_create, name="order-create"),
    path("orders/<int:pk>/", views.order_detail, name="order-detail"),
    path("orders/<int:pk>/status/", views_live.order_status, name="order-status-live"),
    path("orders/<int:pk>/refresh/", views_live.order_refresh, name="order-refresh"),
    path("orders/<int:pk>/edit/", views.order_edit, name="order-edit"),
    path("orders/<int:pk>/review/", views.order_review, name="order-review"),
    path("orders/<int:pk>/submit/", views.order_submit, name="order-submit"),
    path("orders/<int:pk>/copy/", views.order_copy, name="order-copy"),
    # Approvals
    path("approvals/", views_approvals.approval_queue, name="approval-queue"),
    path(
        "orders/<int:pk>/approve/",
        views_approvals.order_approve,
        name="order-approve",
    ),
    path(
        "orders/<int:pk>/reject/",
        views_approvals.order_reject,
        name="order-reject",
    ),
    # Team administration
    path("team/members/", views_team.team_detail, name="team-detail"),
    path("team/members/add/", views_team.team_member_add, name="team-member-add"),
    path(
        "team/members/<int:pk>/role/",
        views_team.team_member_role,
        name="team-member-role",
    ),
    path(
        "team/members/<int:pk>/remove/",
        views_team.team_member_remove,
        name="team-member-remove",
    ),
    path("team/policy/", views_team.team_policy, name="team-policy"),
    path("orders/<int:pk>/pay/", views_checkout.order_pay, name="order-pay"),
    path(
        "orders/<int:pk>/pay/settle/",
        views_checkout.order_pay_settle,
        name="order-pay-settle",
    ),
    path(
        "orders/<int:pk>/pay/continue/",
        views_checkout.order_pay_continue,
        name="order-pay-continue",
    ),
    path(
        "orders/<int:pk>/pay/refresh/",
        views_checkout.order_pay_refresh,
        name="order-pay-refresh",
    ),
]
