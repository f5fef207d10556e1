import pytest
from django.urls import reverse

from orders.forms import normalize_phone, normalize_postal_code
from orders.models import Address, Order

# Fixtures come in by the star import; pytest finds them by name.
from tests.conftest_ui import *  # noqa: F403
from tests.conftest_ui import HTMX_HEADERS, address_data, create_order


def test_address_list_shows_team_addresses_only(member_client, address, other_address):
    response = member_client.get(reverse("orders:address-list"))

    assert response.status_code == 200
    assert "Warehouse" in response.text
    assert "Elsewhere" not in response.text


def test_address_list_redirects_anonymous_to_login(client, db):
    response = client.get(reverse("orders:address-list"))

    assert response.status_code == 302
    assert response.url == "/login/?next=/addresses/"


def test_address_create_saves_normalised_address(member_client, team):
    response = member_client.post(reverse("orders:address-create"), address_data())

    assert response.status_code == 302
    assert response.url == reverse("orders:address-list")
    saved = Address.objects.get(team=team)
    assert saved.phone_number == "+14155550100"
    assert saved.postal_code == "94105"
    assert saved.state == "CA"


def test_address_create_keeps_unicode_and_long_lines(member_client, team):
    line = "Straße " + "ü" * 193
    data = address_data(
        first_name="Zoë", last_name="Ølstrup-Nguyễn", address_line1=line, city="Köln"
    )
    data.update(
        country="DE", state="", postal_code="50667", phone_number="+49 221 1234567"
    )

    response = member_client.post(reverse("orders:address-create"), data)

    assert response.status_code == 302
    saved = Address.objects.get(team=team)
    assert saved.first_name == "Zoë"
    assert saved.last_name == "Ølstrup-Nguyễn"
    assert saved.address_line1 == line
    assert len(saved.address_line1) == 200
    assert saved.phone_number == "+492211234567"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("first_name", "", "Enter the recipient&#x27;s first name."),
        ("city", "", "Enter the city."),
        ("country", "XX", "Choose a country from the list."),
        ("state", "Cal", "“Cal” is not a valid code."),
        ("state", "", "Enter the state as a two-letter USPS code, such as CA or NY."),
        ("postal_code", "9410", "Enter a US ZIP code as 12345 or 12345-6789."),
        (
            "phone_number",
            "555 0100",
            "Enter a 10-digit phone number, such as 415 555 0100.",
        ),
        ("address_line1", "x" * 201, "Ensure this value has at most 200 characters"),
    ],
)
def test_address_create_rejects_invalid_field(
    member_client, team, field, value, message
):
    response = member_client.post(
        reverse("orders:address-create"), address_data(**{field: value})
    )

    assert response.status_code == 400
    assert message in response.text
    assert Address.objects.count() == 0


def test_address_create_htmx_error_returns_form_fragment(member_client, team):
    response = member_client.post(
        reverse("orders:address-create"), address_data(city=""), **HTMX_HEADERS
    )

    assert response.status_code == 400
    assert response.text.lstrip().startswith('<form id="address-form"')
    assert "<html" not in response.text
    assert "Enter the city." in response.text


def test_address_create_htmx_success_redirects_client(member_client, team):
    response = member_client.post(
        reverse("orders:address-create"), address_data(), **HTMX_HEADERS
    )

    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("orders:address-list")


@pytest.mark.parametrize(
    ("country", "raw", "expected"),
    [
        ("US", "12345", "12345"),
        ("US", "12345-6789", "12345-6789"),
        ("US", "123456789", "12345-6789"),
        ("CA", "k1a0b1", "K1A 0B1"),
        ("CA", "K1A 0B1", "K1A 0B1"),
        ("GB", "sw1a1aa", "SW1A 1AA"),
        ("GB", "M1 1AE", "M1 1AE"),
        ("GB", "ec1a 1bb", "EC1A 1BB"),
        ("DE", "10115", "10115"),
        ("FR", "75001", "75001"),
    ],
)
def test_postal_code_normalised(country, raw, expected):
    assert normalize_postal_code(country, raw) == expected


@pytest.mark.parametrize(
    ("country", "raw"),
    [("US", "1234"), ("CA", "D1A 1A1"), ("GB", "QQ1 1AA"), ("DE", "1011")],
)
def test_postal_code_rejected(country, raw):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        normalize_postal_code(country, raw)


@pytest.mark.parametrize(
    ("country", "raw", "expected"),
    [
        ("US", "(415) 555-0100", "+14155550100"),
        ("US", "1 415 555 0100", "+14155550100"),
        ("CA", "613.555.0199", "+16135550199"),
        ("GB", "+44 20 7946 0000", "+442079460000"),
        ("DE", "0049 30 1234567", "+49301234567"),
    ],
)
def test_phone_normalised(country, raw, expected):
    assert normalize_phone(country, raw) == expected


def test_canadian_address_normalises_province_and_postal_code(member_client, team):
    data = address_data(
        country="CA", state="ontario", postal_code="k1a0b1", phone_number="6135550199"
    )

    response = member_client.post(reverse("orders:address-create"), data)

    assert response.status_code == 302
    saved = Address.objects.get(team=team)
    assert saved.state == "ON"
    assert saved.postal_code == "K1A 0B1"


def test_address_edit_saves_changes(member_client, address):
    response = member_client.post(
        reverse("orders:address-edit", args=[address.pk]),
        address_data(city="Oakland", postal_code="94607"),
    )

    assert response.status_code == 302
    address.refresh_from_db()
    assert address.city == "Oakland"


def test_address_edit_of_other_team_is_404(member_client, other_address):
    url = reverse("orders:address-edit", args=[other_address.pk])

    assert member_client.get(url).status_code == 404
    assert member_client.post(url, address_data()).status_code == 404


def test_address_delete_removes_unused_address(member_client, address):
    url = reverse("orders:address-delete", args=[address.pk])

    assert member_client.get(url).status_code == 200
    response = member_client.post(url)

    assert response.status_code == 302
    assert not Address.objects.filter(pk=address.pk).exists()


def test_address_delete_refused_for_open_order(member_client, address, team, user):
    create_order(team, user, address, status=Order.Status.AWAITING_PAYMENT)

    response = member_client.post(
        reverse("orders:address-delete", args=[address.pk]), follow=True
    )

    assert Address.objects.filter(pk=address.pk).exists()
    assert "is used by 1 open order(s), so it was not deleted" in response.text


def test_address_delete_allowed_after_orders_finish(member_client, address, team, user):
    create_order(team, user, address, status=Order.Status.ORDER_FAILED)

    response = member_client.post(reverse("orders:address-delete", args=[address.pk]))

    assert response.status_code == 302
    assert not Address.objects.filter(pk=address.pk).exists()


def test_address_delete_of_other_team_is_404(member_client, other_address):
    response = member_client.post(
        reverse("orders:address-delete", args=[other_address.pk])
    )

    assert response.status_code == 404
    assert Address.objects.filter(pk=other_address.pk).exists()
