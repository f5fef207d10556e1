from django.urls import reverse

from orders.models import ProductList, ProductListItem

# Fixtures come in by the star import; pytest finds them by name.
from tests.conftest_ui import *  # noqa: F403
from tests.conftest_ui import HTMX_HEADERS, SUCCESS_URL


def item_data(**overrides):
    data = {
        "url": SUCCESS_URL,
        "quantity": "3",
        "variant_label": ["Size", ""],
        "variant_value": ["M", ""],
    }
    data.update(overrides)
    return data


def test_product_list_list_shows_team_lists_with_counts(
    member_client, product_list, other_product_list
):
    response = member_client.get(reverse("orders:product-list-list"))

    assert response.status_code == 200
    assert "Office supplies" in response.text
    assert "Secret list" not in response.text
    assert response.context["product_lists"][0].item_count == 1


def test_product_list_pages_redirect_anonymous(client, product_list):
    for url in [
        reverse("orders:product-list-list"),
        reverse("orders:product-list-detail", args=[product_list.pk]),
        reverse("orders:retailer-hint"),
    ]:
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith("/login/?next=")


def test_product_list_create_redirects_to_detail(member_client, team):
    response = member_client.post(
        reverse("orders:product-list-create"), {"name": "Kitchen", "description": ""}
    )

    created = ProductList.objects.get(team=team, name="Kitchen")
    assert response.status_code == 302
    assert response.url == reverse("orders:product-list-detail", args=[created.pk])


def test_product_list_create_rejects_duplicate_name(member_client, product_list):
    response = member_client.post(
        reverse("orders:product-list-create"), {"name": "office supplies"}
    )

    assert response.status_code == 400
    assert "Your team already has a product list named “office supplies”." in (
        response.text
    )


def test_product_list_create_requires_name(member_client, team):
    response = member_client.post(
        reverse("orders:product-list-create"), {"name": ""}, **HTMX_HEADERS
    )

    assert response.status_code == 400
    assert response.text.lstrip().startswith('<form id="product-list-form"')
    assert "Enter a name for the list." in response.text


def test_product_list_edit_renames(member_client, product_list):
    response = member_client.post(
        reverse("orders:product-list-edit", args=[product_list.pk]),
        {"name": "Office", "description": "Paper and pens"},
    )

    assert response.status_code == 302
    product_list.refresh_from_db()
    assert product_list.name == "Office"


def test_product_list_detail_shows_items_and_retailer(member_client, product_list):
    response = member_client.get(
        reverse("orders:product-list-detail", args=[product_list.pk])
    )

    assert response.status_code == 200
    assert "Zinc test shop" in response.text
    assert "Color: Red" in response.text


def test_product_list_of_other_team_is_404(member_client, other_product_list):
    pk = other_product_list.pk
    item = other_product_list.items.get()
    detail_url = reverse("orders:product-list-detail", args=[pk])
    assert member_client.get(detail_url).status_code == 404
    for url in [
        reverse("orders:product-list-edit", args=[pk]),
        reverse("orders:product-list-delete", args=[pk]),
        reverse("orders:product-list-item-create", args=[pk]),
        reverse("orders:product-list-item-edit", args=[pk, item.pk]),
        reverse("orders:product-list-item-delete", args=[pk, item.pk]),
    ]:
        assert member_client.get(url).status_code == 404, url
        assert member_client.post(url, item_data()).status_code == 404, url
    assert ProductList.objects.filter(pk=pk).exists()
    assert ProductListItem.objects.filter(pk=item.pk).exists()


def test_product_list_delete_removes_list(member_client, product_list):
    response = member_client.post(
        reverse("orders:product-list-delete", args=[product_list.pk])
    )

    assert response.status_code == 302
    assert not ProductList.objects.filter(pk=product_list.pk).exists()


def test_item_create_saves_variants(member_client, product_list):
    response = member_client.post(
        reverse("orders:product-list-item-create", args=[product_list.pk]), item_data()
    )

    assert response.status_code == 302
    item = product_list.items.order_by("-position").first()
    assert item.quantity == 3
    assert item.variants == [{"label": "Size", "value": "M"}]
    assert item.position == 1


def test_item_create_rejects_quantity_out_of_range(member_client, product_list):
    for quantity in ["0", "101", "many"]:
        response = member_client.post(
            reverse("orders:product-list-item-create", args=[product_list.pk]),
            item_data(quantity=quantity),
        )
        assert response.status_code == 400
        assert "Enter a quantity from 1 to 100." in response.text
    assert product_list.items.count() == 1


def test_item_create_rejects_half_filled_variant(member_client, product_list):
    response = member_client.post(
        reverse("orders:product-list-item-create", args=[product_list.pk]),
        item_data(variant_label=["Size"], variant_value=[""]),
    )

    assert response.status_code == 400
    assert "Enter the variant&#x27;s value, such as M." in response.text


def test_item_create_requires_url(member_client, product_list):
    response = member_client.post(
        reverse("orders:product-list-item-create", args=[product_list.pk]),
        item_data(url=""),
    )

    assert response.status_code == 400
    assert "Enter the product&#x27;s URL." in response.text


def test_item_add_variant_button_adds_row_without_saving(member_client, product_list):
    response = member_client.post(
        reverse("orders:product-list-item-create", args=[product_list.pk]),
        {**item_data(), "add_variant": "1"},
    )

    assert response.status_code == 200
    assert response.text.count('name="variant_label"') == 3
    assert "The form was not saved" not in response.text
    assert product_list.items.count() == 1


def test_item_remove_variant_button_removes_row(member_client, product_list):
    response = member_client.post(
        reverse("orders:product-list-item-create", args=[product_list.pk]),
        {**item_data(), "remove_variant": "0"},
        **HTMX_HEADERS,
    )

    assert response.status_code == 200
    assert response.text.lstrip().startswith('<form id="item-form"')
    assert response.text.count('name="variant_label"') == 1
    assert 'value="M"' not in response.text


def test_item_edit_updates_item(member_client, product_list):
    item = product_list.items.get()

    response = member_client.post(
        reverse("orders:product-list-item-edit", args=[product_list.pk, item.pk]),
        item_data(quantity="5", variant_label=[], variant_value=[]),
    )

    assert response.status_code == 302
    item.refresh_from_db()
    assert item.quantity == 5
    assert item.variants == []


def test_item_delete_removes_item(member_client, product_list):
    item = product_list.items.get()

    response = member_client.post(
        reverse("orders:product-list-item-delete", args=[product_list.pk, item.pk])
    )

    assert response.status_code == 302
    assert product_list.items.count() == 0


def test_retailer_hint_names_supported_retailer(member_client):
    response = member_client.get(
        reverse("orders:retailer-hint"), {"url": "https://www.amazon.com/dp/B0001"}
    )

    assert response.status_code == 200
    assert "Retailer: Amazon" in response.text


def test_retailer_hint_warns_on_unsupported_retailer(member_client):
    response = member_client.get(
        reverse("orders:retailer-hint"), {"item_url": "https://www.apple.com/shop/x"}
    )

    assert "Warning: Zinc does not order from Apple." in response.text


def test_retailer_hint_warns_on_unknown_retailer(member_client):
    response = member_client.get(
        reverse("orders:retailer-hint"), {"url": "https://shop.example.org/p/1"}
    )

    assert "Warning: unknown retailer." in response.text
