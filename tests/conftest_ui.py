"""Fixtures for the view tests: two teams, their members and their objects.

Test modules import the fixtures they use from here, because tests/conftest.py
belongs to the sandbox and placement tests.
"""

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from orders.models import (
    Address,
    Membership,
    Order,
    OrderItem,
    ProductList,
    ProductListItem,
    Team,
)

PASSWORD = "correct-horse-battery-staple"
# Headers that django-htmx reads as an htmx request.
HTMX_HEADERS = {"HTTP_HX_REQUEST": "true"}
SUCCESS_URL = "https://zinc.com/shop/products/test-success"


def address_data(**overrides: str) -> dict[str, str]:
    """Return valid POST data for the address form."""
    data = {
        "label": "Warehouse",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "address_line1": "1 Market St",
        "address_line2": "",
        "city": "San Francisco",
        "state": "CA",
        "postal_code": "94105",
        "country": "US",
        "phone_number": "415 555 0100",
    }
    data.update(overrides)
    return data


def create_address(team: Team, **overrides: Any) -> Address:
    fields: dict[str, Any] = address_data()
    fields["phone_number"] = "+14155550100"
    fields.update(overrides)
    return Address.objects.create(team=team, **fields)


def create_order(
    team: Team,
    user: Any,
    address: Address | None = None,
    status: str = Order.Status.DRAFT,
    urls: tuple[str, ...] = (SUCCESS_URL,),
    **fields: Any,
) -> Order:
    """Create an order directly in ``status``, bypassing the lifecycle, for setup."""
    fields.setdefault("max_price_cents", 5000)
    order = Order.objects.create(
        team=team,
        created_by=user,
        address=address,
        shipping_address=address.to_zinc() if address else {},
        status=status,
        **fields,
    )
    for position, url in enumerate(urls):
        OrderItem.objects.create(order=order, url=url, quantity=1, position=position)
    return order


@pytest.fixture
def team(db: Any) -> Team:
    return Team.objects.create(name="Operations")


@pytest.fixture
def other_team(db: Any) -> Team:
    return Team.objects.create(name="Other company")


@pytest.fixture
def user(team: Team) -> Any:
    member = get_user_model().objects.create_user("alice", password=PASSWORD)
    Membership.objects.create(user=member, team=team)
    return member


@pytest.fixture
def outsider(other_team: Team) -> Any:
    member = get_user_model().objects.create_user("mallory", password=PASSWORD)
    Membership.objects.create(user=member, team=other_team)
    return member


@pytest.fixture
def member_client(client: Client, user: Any) -> Client:
    client.force_login(user)
    return client


@pytest.fixture
def address(team: Team) -> Address:
    return create_address(team)


@pytest.fixture
def other_address(other_team: Team) -> Address:
    return create_address(other_team, label="Elsewhere")


@pytest.fixture
def product_list(team: Team) -> ProductList:
    product_list = ProductList.objects.create(team=team, name="Office supplies")
    ProductListItem.objects.create(
        product_list=product_list,
        url=SUCCESS_URL,
        quantity=2,
        variants=[{"label": "Color", "value": "Red"}],
    )
    return product_list


@pytest.fixture
def other_product_list(other_team: Team) -> ProductList:
    product_list = ProductList.objects.create(team=other_team, name="Secret list")
    ProductListItem.objects.create(product_list=product_list, url=SUCCESS_URL)
    return product_list
