"""Live order pages: htmx polling while an order is open, and Refresh now."""

from datetime import timedelta
from urllib.parse import quote

import pytest
from django.tasks import default_task_backend
from django.urls import reverse
from django.utils import timezone

from orders.models import Membership, Order, TrackingNumber
from tests import conftest_ui
from tests.conftest_ui import HTMX_HEADERS, create_order
from tests.poller_helpers import make_paid_order, make_requester

# The view fixtures live in tests/conftest_ui.py; pytest finds fixtures by
# module-level name.
team = conftest_ui.team
other_team = conftest_ui.other_team
user = conftest_ui.user
outsider = conftest_ui.outsider
member_client = conftest_ui.member_client

pytestmark = pytest.mark.django_db

Status = Order.Status


@pytest.fixture(autouse=True)
def empty_queue():
    default_task_backend.clear()
    yield
    default_task_backend.clear()


@pytest.fixture
def open_order(team, user):
    return create_order(
        team,
        user,
        status=Status.PENDING,
        zinc_order_id="zinc-open",
        next_poll_at=timezone.now() + timedelta(minutes=4),
    )


@pytest.fixture
def failed_order(team, user):
    return create_order(
        team,
        user,
        status=Status.ORDER_FAILED,
        zinc_order_id="zinc-failed",
        error_type="product_out_of_stock",
    )


def status_url(order: Order) -> str:
    return reverse("orders:order-status-live", args=[order.pk])


def refresh_url(order: Order) -> str:
    return reverse("orders:order-refresh", args=[order.pk])


def test_detail_polls_while_open(member_client, open_order):
    response = member_client.get(open_order.get_absolute_url())

    assert response.status_code == 200
    version = quote(open_order.version)
    assert f'hx-get="{status_url(open_order)}?version={version}"' in response.text
    assert 'hx-trigger="every 5s"' in response.text
    assert f'hx-post="{refresh_url(open_order)}"' in response.text


def test_detail_does_not_poll_when_final(member_client, failed_order):
    response = member_client.get(failed_order.get_absolute_url())

    assert response.status_code == 200
    assert status_url(failed_order) not in response.text
    assert "Refresh now" not in response.text


def test_status_partial_keeps_polling_open_order(member_client, open_order):
    TrackingNumber.objects.create(
        order=open_order, zinc_id="t-1", carrier="ups", tracking_number="1Z999"
    )

    response = member_client.get(status_url(open_order), **HTMX_HEADERS)

    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="order-status"')
    assert "1Z999" in response.text
    assert 'hx-trigger="every 5s"' in response.text
    assert "<html" not in response.text


def test_status_partial_stops_polling_when_final(member_client, failed_order):
    response = member_client.get(status_url(failed_order), **HTMX_HEADERS)

    assert response.status_code == 286
    assert "product_out_of_stock" in response.text
    assert "hx-trigger" not in response.text


def test_status_partial_of_untrackable_order_stops(member_client, open_order):
    Order.objects.filter(pk=open_order.pk).update(
        trackable=False,
        next_poll_at=None,
        poll_error="Zinc no longer accepts this order's API key (token_expired).",
    )

    response = member_client.get(status_url(open_order), **HTMX_HEADERS)

    assert response.status_code == 286
    assert "no longer accepts this order" in response.text


def test_status_of_other_team_order_is_404(client, outsider, open_order):
    client.force_login(outsider)

    response = client.get(status_url(open_order), **HTMX_HEADERS)

    assert response.status_code == 404


@pytest.mark.django_db(transaction=True)
def test_refresh_now_polls_at_once(sandbox, client):
    requester = make_requester()
    order = make_paid_order(requester)
    Membership.objects.create(user=requester, team=order.team)
    client.force_login(requester)
    sandbox.advance(60 * 3)

    response = client.post(refresh_url(order), **HTMX_HEADERS)

    order.refresh_from_db()
    assert response.status_code == 200
    # The status changed, so the whole page reloads to show new amounts too.
    assert response["HX-Refresh"] == "true"
    assert order.status == Status.ORDER_PLACED
    assert order.tracking_numbers.count() == 1
    assert default_task_backend.results == []


@pytest.mark.django_db(transaction=True)
def test_refresh_now_without_htmx_redirects(sandbox, client):
    requester = make_requester()
    order = make_paid_order(requester)
    Membership.objects.create(user=requester, team=order.team)
    client.force_login(requester)
    sandbox.advance(60)

    response = client.post(refresh_url(order))

    order.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == order.get_absolute_url()
    assert order.status == Status.IN_PROGRESS


def test_refresh_now_on_final_order_does_nothing(member_client, failed_order):
    response = member_client.post(refresh_url(failed_order), **HTMX_HEADERS)

    assert response.status_code == 200
    assert default_task_backend.results == []


def test_refresh_now_rejects_get(member_client, open_order):
    response = member_client.get(refresh_url(open_order))

    assert response.status_code == 405


def test_refresh_now_of_other_team_order_is_404(client, outsider, open_order):
    client.force_login(outsider)

    response = client.post(refresh_url(open_order), **HTMX_HEADERS)

    assert response.status_code == 404
    assert default_task_backend.results == []


def test_list_polls_while_an_order_is_open(member_client, open_order, failed_order):
    response = member_client.get(reverse("orders:order-list"))

    assert response.status_code == 200
    assert 'hx-trigger="every 10s"' in response.text


def test_list_stops_polling_when_all_final(member_client, failed_order):
    response = member_client.get(reverse("orders:order-list"), **HTMX_HEADERS)

    assert response.status_code == 200
    assert 'id="order-table"' in response.text
    assert "every 10s" not in response.text


def test_status_partial_reloads_page_after_change(member_client, open_order):
    shown = open_order.version
    open_order.transition_to(Status.IN_PROGRESS)

    response = member_client.get(
        status_url(open_order), {"version": shown}, **HTMX_HEADERS
    )

    assert response.status_code == 200
    assert response["HX-Refresh"] == "true"


def test_status_partial_for_current_version_is_fragment(member_client, open_order):
    response = member_client.get(
        status_url(open_order), {"version": open_order.version}, **HTMX_HEADERS
    )

    assert response.status_code == 200
    assert "HX-Refresh" not in response
    assert 'id="order-status"' in response.text
