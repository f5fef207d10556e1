"""Report and order-list date filters at the end of the calendar."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from orders.models import Membership, Team

pytestmark = pytest.mark.django_db

URLS = [
    "/reports/?start=2026-01-01&end=9999-12-31",
    "/reports/spend.csv?start=2026-01-01&end=9999-12-31",
    "/reports/orders.csv?created_to=9999-12-31",
    "/?created_to=9999-12-31",
]


@pytest.fixture
def admin_client():
    user = get_user_model().objects.create_user("ada", password="pw-ada-123")
    team = Team.objects.create(name="Facilities")
    Membership.objects.create(user=user, team=team, role=Membership.Role.ADMIN)
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def _read(response) -> tuple[int, str]:
    """Return the status and the whole body, or the error that cut it short."""
    if not response.streaming:
        return response.status_code, response.content.decode()
    try:
        return response.status_code, b"".join(response.streaming_content).decode()
    except Exception as exc:  # noqa: BLE001 - the stream's own failure is the finding
        return 500, f"stream failed after headers were sent: {exc!r}"


@pytest.mark.parametrize("url", URLS)
def test_year_9999_date_is_not_server_error(admin_client, url):
    status, body = _read(admin_client.get(url))

    assert status < 500, body[:200]
