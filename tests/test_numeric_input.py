"""A malformed attempt id posted to checkout gets a 400, never a 500."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from orders.models import Address, Membership, Order, OrderItem, Team

pytestmark = pytest.mark.django_db

SHOP = "https://zinc.com/shop/products/"


@pytest.fixture
def order_and_client():
    user = get_user_model().objects.create_user("olivia", password="pw-olivia-123")
    team = Team.objects.create(name="Facilities")
    Membership.objects.create(user=user, team=team, role=Membership.Role.REQUESTER)
    address = Address.objects.create(
        team=team,
        first_name="Olivia",
        last_name="Ops",
        address_line1="1 Market St",
        city="San Francisco",
        state="CA",
        postal_code="94105",
        phone_number="+14155550100",
    )
    order = Order.objects.create(
        team=team,
        created_by=user,
        address=address,
        shipping_address=address.to_zinc(),
        max_price_cents=5_000,
        status=Order.Status.AWAITING_PAYMENT,
    )
    OrderItem.objects.create(order=order, url=SHOP + "test-success")
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return order, client


@pytest.mark.parametrize("raw", ["99999999999999999999999", "\u00b2", "\u0663"])
@pytest.mark.parametrize("endpoint", ["settle", "continue"])
def test_malformed_attempt_id_is_400(order_and_client, raw, endpoint):
    order, client = order_and_client
    response = client.post(
        f"/orders/{order.pk}/pay/{endpoint}/",
        {"attempt_id": raw, "payment_method_id": "pm_card_visa"},
    )
    assert response.status_code == 400


@pytest.mark.parametrize("raw", ["\u00b2", "#\u00b2", "99999999999999999999999"])
def test_order_search_odd_number_is_no_500(order_and_client, raw):
    _, client = order_and_client
    response = client.get("/", {"q": raw})
    assert response.status_code in {200, 400}


def test_new_order_odd_product_list_is_no_500(order_and_client):
    _, client = order_and_client
    response = client.get("/orders/new/", {"product_list": "\u00b2"})
    assert response.status_code in {200, 400, 404}
