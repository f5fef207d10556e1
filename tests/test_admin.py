"""The Django admin covers every orders model and never shows a secret."""

from datetime import UTC, datetime

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders.models import (
    Address,
    Approval,
    AuditEntry,
    Membership,
    Order,
    OrderEvent,
    OrderItem,
    PaymentAttempt,
    PollerHeartbeat,
    ProductList,
    ProductListItem,
    Team,
    TrackingNumber,
)

API_KEY = "zk_order_scoped_secret_0123456789"
SPT = "spt_secret_shared_payment_token_42"
RECEIPT = "rcpt_secret_reference_77"


@pytest.fixture
def objects(db) -> dict[type, object]:
    user = get_user_model().objects.create_user("ops", password="x")
    team = Team.objects.create(name="Ops")
    membership = Membership.objects.create(
        user=user, team=team, role=Membership.Role.ADMIN
    )
    address = Address.objects.create(
        team=team,
        label="HQ",
        first_name="Ada",
        last_name="Lovelace",
        address_line1="1 Main St",
        city="Springfield",
        state="IL",
        postal_code="62701",
        phone_number="+12175550100",
        created_by=user,
    )
    product_list = ProductList.objects.create(team=team, name="Desk", created_by=user)
    list_item = ProductListItem.objects.create(
        product_list=product_list, url="https://www.amazon.com/dp/B0ADMIN001"
    )
    order = Order.objects.create(
        team=team,
        created_by=user,
        status=Order.Status.ORDER_PLACED,
        max_price_cents=5000,
        authorized_cents=5100,
        fee_cents=100,
        charged_cents=4600,
        refunded_cents=500,
        total_cents=4500,
        zinc_order_id="zn_admin_1",
        receipt_reference=RECEIPT,
        request_body='{"max_price": 5000}',
        paid_at=datetime(2026, 10, 1, tzinfo=UTC),
    )
    order.set_api_key(API_KEY)
    order.save()
    item = OrderItem.objects.create(
        order=order, url="https://www.amazon.com/dp/B0ADMIN001", quantity=2
    )
    attempt = PaymentAttempt.objects.create(
        order=order,
        challenge_id="ch_1",
        method="stripe",
        intent="charge",
        realm="api.zinc.com",
        www_authenticate='Payment id="ch_1", method="stripe"',
        amount=5100,
        currency="usd",
        spt_encrypted=SPT,
        receipt_reference=RECEIPT,
        state=PaymentAttempt.State.SUCCEEDED,
    )
    tracking = TrackingNumber.objects.create(
        order=order, zinc_id="tr_1", carrier="UPS", tracking_number="1Z999"
    )
    event = order.record_event(OrderEvent.Kind.NOTE, "Checked by ops", actor=user)
    heartbeat = PollerHeartbeat.objects.create(pk=PollerHeartbeat.SINGLETON_PK)
    approval = Approval.objects.create(
        order=order,
        decided_by=user,
        decision=Approval.Decision.APPROVED,
        max_price_cents=5000,
    )
    audit_entry = AuditEntry.objects.create(
        actor=user,
        action=AuditEntry.Action.APPROVE,
        team=team,
        object_type="orders.order",
        object_id=str(order.pk),
        object_repr=str(order),
    )
    return {
        Team: team,
        Membership: membership,
        Address: address,
        ProductList: product_list,
        ProductListItem: list_item,
        Order: order,
        OrderItem: item,
        PaymentAttempt: attempt,
        TrackingNumber: tracking,
        OrderEvent: event,
        PollerHeartbeat: heartbeat,
        Approval: approval,
        AuditEntry: audit_entry,
    }


@pytest.fixture
def superuser_client(client, db):
    client.force_login(
        get_user_model().objects.create_superuser("root", "root@example.com", "x")
    )
    return client


def admin_url(model: type, action: str, *args: object) -> str:
    meta = model._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{action}", args=args)


ORDER_MODELS = list(apps.get_app_config("orders").get_models())


def assert_no_secret(html: str) -> None:
    assert API_KEY not in html
    assert SPT not in html
    assert RECEIPT not in html


def test_every_orders_model_is_registered():
    unregistered = [m.__name__ for m in ORDER_MODELS if not admin.site.is_registered(m)]

    assert unregistered == []


@pytest.mark.parametrize("model", ORDER_MODELS, ids=lambda model: model.__name__)
def test_changelist_renders(superuser_client, objects, model):
    response = superuser_client.get(admin_url(model, "changelist"))

    assert response.status_code == 200
    assert_no_secret(response.content.decode())


@pytest.mark.parametrize("model", ORDER_MODELS, ids=lambda model: model.__name__)
def test_change_page_renders(superuser_client, objects, model):
    response = superuser_client.get(admin_url(model, "change", objects[model].pk))

    assert response.status_code == 200
    html = response.content.decode()
    assert_no_secret(html)
    assert objects[Order].api_key_encrypted not in html


@pytest.mark.parametrize(
    "model",
    [Team, Membership, Address, ProductList, ProductListItem],
    ids=lambda model: model.__name__,
)
def test_add_page_renders(superuser_client, objects, model):
    response = superuser_client.get(admin_url(model, "add"))

    assert response.status_code == 200


def test_orders_cannot_be_added_or_deleted(superuser_client, objects):
    order = objects[Order]

    assert superuser_client.get(admin_url(Order, "add")).status_code == 403
    assert superuser_client.get(admin_url(Order, "delete", order.pk)).status_code == 403


def test_order_status_is_not_editable(superuser_client, objects):
    order = objects[Order]
    url = admin_url(Order, "change", order.pk)

    html = superuser_client.get(url).content.decode()

    assert 'name="status"' not in html
    assert 'name="charged_cents"' not in html
    assert 'name="po_number"' in html


def test_order_post_cannot_change_status(superuser_client, objects):
    order = objects[Order]
    url = admin_url(Order, "change", order.pk)
    form = superuser_client.get(url).context["adminform"].form
    data = {
        name: "" if value is None else value for name, value in form.initial.items()
    }
    data.update(
        {
            "po_number": "PO-42",
            "status": Order.Status.CANCELLED,
            "charged_cents": "1",
            "metadata": "{}",
        }
    )
    prefixes = ("items", "approvals", "payment_attempts", "tracking_numbers", "events")
    for prefix in prefixes:
        data[f"{prefix}-TOTAL_FORMS"] = "0"
        data[f"{prefix}-INITIAL_FORMS"] = "0"

    response = superuser_client.post(url, data)

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.po_number == "PO-42"
    assert order.status == Order.Status.ORDER_PLACED
    assert order.charged_cents == 4600


def test_order_changelist_shows_dollars(superuser_client, objects):
    html = superuser_client.get(admin_url(Order, "changelist")).content.decode()

    assert "$50.00" in html
    assert "$45.00" in html
    assert "zn_admin_1" in html


def test_order_search_by_item_url(superuser_client, objects):
    response = superuser_client.get(admin_url(Order, "changelist"), {"q": "B0ADMIN001"})

    assert response.context["cl"].result_count == 1


def changelist_queries(client, model: type) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(admin_url(model, "changelist"))
    assert response.status_code == 200
    return len(context.captured_queries)


@pytest.mark.parametrize(
    "model",
    [Order, Membership, OrderEvent, PaymentAttempt, TrackingNumber, Approval],
    ids=lambda model: model.__name__,
)
def test_changelist_query_count_is_fixed(superuser_client, objects, model):
    before = changelist_queries(superuser_client, model)
    order = objects[Order]
    for number in range(5):
        user = get_user_model().objects.create_user(f"user{number}")
        team = Team.objects.create(name=f"Team {number}")
        Membership.objects.create(user=user, team=team)
        other = Order.objects.create(team=team, created_by=user, max_price_cents=100)
        other.record_event(OrderEvent.Kind.NOTE, "note", actor=user)
        TrackingNumber.objects.create(
            order=other, zinc_id=f"tr{number}", carrier="UPS", tracking_number="1Z"
        )
        Approval.objects.create(
            order=other,
            decided_by=user,
            decision=Approval.Decision.REJECTED,
            max_price_cents=100,
        )
        PaymentAttempt.objects.create(
            order=order,
            challenge_id=f"ch{number}",
            method="stripe",
            intent="charge",
            realm="r",
            www_authenticate="Payment",
            amount=1,
            currency="usd",
        )

    assert changelist_queries(superuser_client, model) == before
