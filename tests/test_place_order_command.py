"""manage.py place_order against the sandbox."""

import io
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from orders.models import Membership, Order, Team

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "order.json"


@pytest.fixture
def staff_user():
    user = get_user_model().objects.create_user("cli", is_staff=True)
    team = Team.objects.create(name="Facilities")
    Membership.objects.create(user=user, team=team, role=Membership.Role.ADMIN)
    return user


def test_place_order_waits_for_tracking(sandbox, staff_user):
    sandbox.configure(step_seconds=0.3)
    output = io.StringIO()

    call_command(
        "place_order",
        str(EXAMPLE),
        "--payment-method",
        "pm_card_visa",
        "--wait",
        "--interval",
        "0.2",
        "--timeout",
        "30",
        stdout=output,
    )

    order = Order.objects.get()
    text = output.getvalue()
    assert "Zinc asks for 51.00 USD via stripe" in text
    assert f"placed at Zinc as {order.zinc_order_id}: status pending" in text
    assert "Final status: order_placed, tracking usps ZINC_TEST_" in text
    assert order.status == Order.Status.ORDER_PLACED
    assert order.tracking_numbers.count() == 1
    assert order.total_cents == 4900
    assert len(sandbox.ledger(order.idempotency_key)["charges"]) == 1


def test_place_order_reports_declined_card(sandbox, staff_user):
    with pytest.raises(CommandError, match="Payment declined: The card was declined"):
        call_command(
            "place_order",
            str(EXAMPLE),
            "--payment-method",
            "pm_card_visa_chargeDeclined",
            stdout=io.StringIO(),
        )

    assert sandbox.ledger()["charges"] == []


def test_place_order_rejects_invalid_file(tmp_path, staff_user):
    bad = tmp_path / "order.json"
    bad.write_text('{"products": [], "max_price": 10}')

    with pytest.raises(CommandError, match="is not a valid order: products"):
        call_command("place_order", str(bad), "--payment-method", "pm_card_visa")
