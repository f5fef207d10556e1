"""Every URL of the dashboard against every persona, with the exact status code.

The personas are a requester, an approver and an admin of Facilities, a
requester of Studio (another team) and an anonymous visitor. Every object in
the URLs belongs to Facilities, so Studio's member gets 404 for each of them,
and 403 where the page is about the current team but needs a role Studio's
requester lacks. Anonymous visitors are redirected (302) to the login page.

``test_matrix_covers_every_url`` fails when a URL is added without a row here.
"""

from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from orders.models import (
    Address,
    Membership,
    Order,
    OrderItem,
    ProductList,
    ProductListItem,
    Team,
)

pytestmark = pytest.mark.django_db

Role = Membership.Role
Status = Order.Status
PERSONAS = ("requester", "approver", "admin", "outsider", "anonymous")
NAMESPACES = ("orders", "reports")
TOP_LEVEL_NAMES = ("login", "logout", "healthz")
SHOP = "https://zinc.com/shop/products/"


@dataclass(frozen=True)
class Row:
    """One URL and method, with the expected status for each persona."""

    name: str
    method: str
    # Keys of the fixture objects whose primary keys fill the URL, in order.
    args: str
    # Status codes for requester, approver, admin, outsider and anonymous.
    codes: str
    data: dict[str, Any] = field(default_factory=dict)
    query: str = ""

    def code_for(self, persona: str) -> int:
        return int(self.codes.split()[PERSONAS.index(persona)])


# fmt: off
MATRIX = [
    #   URL name                              method  args     req appr admin other anon
    Row("login",                              "GET",  "",      "200 200 200 200 200"),
    Row("logout",                             "POST", "",      "302 302 302 302 302"),
    Row("healthz",                            "GET",  "",      "200 200 200 200 200"),
    Row("reports:report-page",                "GET",  "",      "403 200 200 403 302"),
    Row("reports:order-csv",                  "GET",  "",      "403 200 200 403 302"),
    Row("reports:report-csv",                 "GET",  "spend", "403 200 200 403 302"),
    Row("orders:order-list",                  "GET",  "",      "200 200 200 200 302"),
    Row("orders:team-switch",                 "POST", "",      "302 302 302 404 302",
        data={"team": "facilities"}),
    Row("orders:address-list",                "GET",  "",      "200 200 200 200 302"),
    Row("orders:address-create",              "GET",  "",      "200 200 200 200 302"),
    Row("orders:address-edit",                "GET",  "address", "200 200 200 404 302"),
    Row("orders:address-delete",              "GET",  "address", "200 200 200 404 302"),
    Row("orders:product-list-list",           "GET",  "",      "200 200 200 200 302"),
    Row("orders:product-list-create",         "GET",  "",      "200 200 200 200 302"),
    Row("orders:product-list-detail",         "GET",  "list",  "200 200 200 404 302"),
    Row("orders:product-list-edit",           "GET",  "list",  "200 200 200 404 302"),
    Row("orders:product-list-delete",         "GET",  "list",  "200 200 200 404 302"),
    Row("orders:product-list-item-create",    "GET",  "list",  "200 200 200 404 302"),
    Row("orders:product-list-item-edit",   "GET",  "list item", "200 200 200 404 302"),
    Row("orders:product-list-item-delete", "GET",  "list item", "200 200 200 404 302"),
    Row("orders:retailer-hint",               "GET",  "",      "200 200 200 200 302",
        query="url=https://www.amazon.com/dp/B000"),
    Row("orders:order-create",                "GET",  "",      "200 200 200 200 302"),
    Row("orders:order-detail",                "GET",  "draft", "200 200 200 404 302"),
    # A draft is not at Zinc, so the live status partial stops htmx polling (286).
    Row("orders:order-status-live",           "GET",  "draft", "286 286 286 404 302"),
    Row("orders:order-refresh",               "POST", "draft", "302 302 302 404 302"),
    Row("orders:order-edit",                  "GET",  "draft", "200 200 200 404 302"),
    Row("orders:order-review",                "GET",  "draft", "200 200 200 404 302"),
    # Above the threshold, so a member's submit sends it for approval.
    Row("orders:order-submit",                "POST", "draft", "302 302 302 404 302"),
    Row("orders:order-copy",                  "POST", "failed", "302 302 302 404 302"),
    Row("orders:approval-queue",              "GET",  "",      "403 200 200 403 302"),
    Row("orders:order-approve",               "POST", "waiting", "403 302 302 404 302",
        data={"comment": "Fine.", "version": "waiting.version"}),
    Row("orders:order-reject",                "POST", "waiting", "403 302 302 404 302",
        data={"comment": "Too expensive.", "version": "waiting.version"}),
    Row("orders:team-detail",                 "GET",  "",      "403 403 200 403 302"),
    Row("orders:team-member-add",             "POST", "",      "403 403 302 403 302",
        data={"username": "newcomer", "role": "requester"}),
    Row("orders:team-member-role",            "POST", "member", "403 403 302 404 302",
        data={"role": "approver"}),
    Row("orders:team-member-remove",          "POST", "member", "403 403 302 404 302"),
    Row("orders:team-policy",                 "POST", "",      "403 403 302 403 302",
        data={"approval_threshold": "150", "monthly_budget": "4,000",
              "over_budget_policy": "block"}),
    Row("orders:order-pay",                   "GET",  "unpaid", "200 200 200 404 302"),
    # No attempt id is posted, so members get the JSON endpoint's 400.
    Row("orders:order-pay-settle",            "POST", "unpaid", "400 400 400 404 302"),
    Row("orders:order-pay-continue",          "POST", "unpaid", "400 400 400 404 302"),
    # The order has no stored request, so the refresh returns "failed" in JSON.
    Row("orders:order-pay-refresh",           "POST", "unpaid", "200 200 200 404 302"),
]
# Every POST-only URL rejects GET with 405 once the user is signed in.
MATRIX += [
    Row(row.name, "GET", row.args, "405 405 405 405 302")
    for row in MATRIX
    if row.method == "POST" and row.name != "logout"
]
# fmt: on


def _url_names() -> set[str]:
    names: set[str] = set()

    def walk(patterns: list[Any], namespace: str | None) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern) and pattern.name:
                if namespace in NAMESPACES:
                    names.add(f"{namespace}:{pattern.name}")
                elif namespace is None and pattern.name in TOP_LEVEL_NAMES:
                    names.add(pattern.name)

    walk(get_resolver().url_patterns, None)
    return names


def test_matrix_covers_every_url():
    assert {row.name for row in MATRIX} == _url_names()


@pytest.fixture
def world() -> dict[str, Any]:
    """Facilities with three personas and one object of each kind; Studio's member."""
    users = {}
    for name in ("requester", "approver", "admin", "colleague", "outsider", "newcomer"):
        users[name] = get_user_model().objects.create_user(
            name, email=f"{name}@example.com", password=f"pw-{name}-123"
        )
    facilities = Team.objects.create(
        name="Facilities", approval_threshold_cents=20_000, monthly_budget_cents=500_000
    )
    studio = Team.objects.create(name="Studio")
    memberships = {}
    for name, role in (
        ("requester", Role.REQUESTER),
        ("approver", Role.APPROVER),
        ("admin", Role.ADMIN),
        ("colleague", Role.REQUESTER),
    ):
        memberships[name] = Membership.objects.create(
            user=users[name], team=facilities, role=role
        )
    Membership.objects.create(user=users["outsider"], team=studio)

    address = Address.objects.create(
        team=facilities,
        label="HQ",
        first_name="Olivia",
        last_name="Ops",
        address_line1="1 Market St",
        city="San Francisco",
        state="CA",
        postal_code="94105",
        phone_number="+14155550100",
    )
    product_list = ProductList.objects.create(team=facilities, name="Restock")
    item = ProductListItem.objects.create(
        product_list=product_list, url=SHOP + "test-success"
    )

    def order(status: str) -> Order:
        created = Order.objects.create(
            team=facilities,
            created_by=users["requester"],
            address=address,
            shipping_address=address.to_zinc(),
            max_price_cents=25_000,
            status=status,
        )
        OrderItem.objects.create(order=created, url=SHOP + "test-success")
        return created

    return {
        "users": users,
        "facilities": facilities,
        "address": address,
        "list": product_list,
        "item": item,
        "draft": order(Status.DRAFT),
        "waiting": order(Status.AWAITING_APPROVAL),
        "unpaid": order(Status.AWAITING_PAYMENT),
        "failed": order(Status.ORDER_FAILED),
        "member": memberships["colleague"],
    }


def _arg(world: dict[str, Any], key: str) -> Any:
    if key in world:
        return world[key].pk
    return key


def _request(client: Client, row: Row, world: dict[str, Any]):
    url = reverse(row.name, args=[_arg(world, key) for key in row.args.split()])
    if row.query:
        url = f"{url}?{row.query}"
    if row.method == "GET":
        return client.get(url)
    data = {key: _value(world, value) for key, value in row.data.items()}
    return client.post(url, data)


def _value(world: dict[str, Any], value: str) -> Any:
    """Resolve "facilities" to that team's id and "waiting.version" to a version."""
    if value == "facilities":
        return world["facilities"].pk
    if value == "waiting.version":
        world["waiting"].refresh_from_db()
        return world["waiting"].version
    return value


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("row", MATRIX, ids=lambda row: f"{row.method} {row.name}")
def test_status_code(row: Row, persona: str, world: dict[str, Any]):
    client = Client()
    if persona != "anonymous":
        client.force_login(world["users"][persona])

    response = _request(client, row, world)

    assert response.status_code == row.code_for(persona)
    if persona == "anonymous" and row.name not in TOP_LEVEL_NAMES:
        assert response["Location"].startswith(reverse("login") + "?next=")
