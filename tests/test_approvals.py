"""Approval flow, team administration and the audit log, with real services."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from orders import audit
from orders.models import (
    Address,
    Approval,
    AuditEntry,
    Membership,
    Order,
    OrderItem,
    Team,
)
from orders.services import approvals, policy, teams
from orders.services.approvals import (
    AdminApprovalRequired,
    BudgetExceeded,
    CommentRequired,
    NotAnApprover,
    NotATeamMember,
    OrderNotAwaitingApproval,
    OrderNotSubmittable,
    SelfApprovalRefused,
)

pytestmark = pytest.mark.django_db

Status = Order.Status
Role = Membership.Role
Action = AuditEntry.Action
SHOP = "https://zinc.com/shop/products/"


@pytest.fixture(autouse=True)
def fee():
    with override_settings(ZINC_FEE_CENTS=100):
        yield


def _user(name: str):
    return get_user_model().objects.create_user(
        name, email=f"{name}@example.com", password=f"pw-{name}-123"
    )


@pytest.fixture
def team():
    return Team.objects.create(
        name="Facilities", approval_threshold_cents=20_000, monthly_budget_cents=500_000
    )


@pytest.fixture
def other_team():
    return Team.objects.create(name="Studio")


@pytest.fixture
def people(team, other_team):
    """Two requesters, an approver and an admin of the team; an outsider approver."""
    members = {
        "requester": Role.REQUESTER,
        "colleague": Role.REQUESTER,
        "approver": Role.APPROVER,
        "admin": Role.ADMIN,
    }
    users = {}
    for name, role in members.items():
        users[name] = _user(name)
        Membership.objects.create(user=users[name], team=team, role=role)
    users["outsider"] = _user("outsider")
    Membership.objects.create(
        user=users["outsider"], team=other_team, role=Role.APPROVER
    )
    return users


@pytest.fixture
def address(team):
    return Address.objects.create(
        team=team,
        first_name="Olivia",
        last_name="Ops",
        address_line1="1 Market St",
        city="San Francisco",
        state="CA",
        postal_code="94105",
        phone_number="+14155550100",
    )


@pytest.fixture
def make_order(team, people, address):
    def make(max_price_cents: int = 25_000, *, created_by=None, **fields) -> Order:
        order = Order.objects.create(
            team=team,
            created_by=created_by or people["requester"],
            address=address,
            shipping_address=address.to_zinc(),
            max_price_cents=max_price_cents,
            **fields,
        )
        OrderItem.objects.create(order=order, url=SHOP + "test-success", quantity=1)
        return order

    return make


@pytest.fixture
def waiting_order(make_order, people, django_capture_on_commit_callbacks):
    order = make_order(25_000)
    with django_capture_on_commit_callbacks(execute=True):
        approvals.request_approval_or_submit(order, actor=people["requester"])
    return order


def _recipients(mailoutbox) -> list[list[str]]:
    return [message.to for message in mailoutbox]


# --- sending for approval ---------------------------------------------------


def test_order_above_threshold_waits_for_approval(
    make_order, people, mailoutbox, django_capture_on_commit_callbacks
):
    order = make_order(25_000)

    with django_capture_on_commit_callbacks(execute=True):
        outcome = approvals.request_approval_or_submit(order, actor=people["requester"])

    order.refresh_from_db()
    assert outcome.sent_for_approval is True
    assert outcome.result is None
    assert outcome.message == "The order is waiting for an approver to approve it."
    assert order.status == Status.AWAITING_APPROVAL
    assert order.request_body == ""
    assert order.payment_attempts.count() == 0
    assert _recipients(mailoutbox) == [["admin@example.com"], ["approver@example.com"]]
    assert mailoutbox[0].subject == (
        f"Order {order.pk} for Facilities needs your approval ($251.00)"
    )
    assert "above the team's approval threshold of $200.00" in mailoutbox[0].body
    assert SHOP + "test-success" in mailoutbox[0].body


def test_approval_request_skips_requester_who_approves(
    make_order, people, mailoutbox, django_capture_on_commit_callbacks
):
    order = make_order(25_000, created_by=people["approver"])

    with django_capture_on_commit_callbacks(execute=True):
        approvals.request_approval_or_submit(order, actor=people["approver"])

    assert _recipients(mailoutbox) == [["admin@example.com"]]


def test_status_change_is_audited_with_before_and_after(waiting_order, people):
    entry = AuditEntry.objects.get(
        object_type="orders.order", object_id=str(waiting_order.pk)
    )

    assert entry.action == Action.STATUS
    assert entry.actor == people["requester"]
    assert entry.team_id == waiting_order.team_id
    assert entry.changes == {"status": ["draft", "awaiting_approval"]}


def test_outsider_cannot_send_order(make_order, people):
    order = make_order(25_000)

    with pytest.raises(NotATeamMember) as error:
        approvals.request_approval_or_submit(order, actor=people["outsider"])

    assert error.value.status_code == 403
    order.refresh_from_db()
    assert order.status == Status.DRAFT


def test_waiting_order_cannot_be_sent_again(waiting_order, people):
    with pytest.raises(OrderNotSubmittable) as error:
        approvals.request_approval_or_submit(waiting_order, actor=people["requester"])

    assert error.value.status_code == 400


# --- approving --------------------------------------------------------------


def test_approver_approves_order(
    waiting_order, people, mailoutbox, django_capture_on_commit_callbacks
):
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        approval = approvals.approve(
            waiting_order, actor=people["approver"], comment="  Fine for Q1.  "
        )

    waiting_order.refresh_from_db()
    assert waiting_order.status == Status.APPROVED
    assert waiting_order.approved_by == people["approver"]
    assert waiting_order.approved_at is not None
    assert waiting_order.approved_max_price_cents == 25_000
    assert approval.decision == Approval.Decision.APPROVED
    assert approval.comment == "Fine for Q1."
    assert approval.max_price_cents == 25_000
    assert waiting_order.approvals.count() == 1
    assert _recipients(mailoutbox) == [["requester@example.com"]]
    assert mailoutbox[0].subject == (
        f"Order {waiting_order.pk} was approved by approver"
    )
    assert "Comment: Fine for Q1." in mailoutbox[0].body


def test_approval_is_audited(waiting_order, people):
    approvals.approve(waiting_order, actor=people["approver"], comment="OK")

    entries = list(audit.entries_for(waiting_order))
    assert [entry.action for entry in entries] == [
        Action.STATUS,
        Action.STATUS,
        Action.APPROVE,
    ]
    status_entry, approve_entry = entries[1], entries[2]
    assert status_entry.actor == people["approver"]
    assert status_entry.changes["status"] == ["awaiting_approval", "approved"]
    assert status_entry.changes["approved_by"] == [None, people["approver"].pk]
    assert status_entry.changes["approved_max_price_cents"] == [None, 25_000]
    assert approve_entry.changes == {
        "comment": [None, "OK"],
        "decision": [None, "approved"],
        "max_price_cents": [None, 25_000],
    }


def test_self_approval_refused_for_admin(make_order, people):
    order = make_order(25_000, created_by=people["admin"])
    approvals.request_approval_or_submit(order, actor=people["admin"])

    with pytest.raises(SelfApprovalRefused) as error:
        approvals.approve(order, actor=people["admin"])

    assert error.value.status_code == 403
    order.refresh_from_db()
    assert order.status == Status.AWAITING_APPROVAL
    assert order.approved_by is None
    assert order.approvals.count() == 0


def test_requester_cannot_approve(waiting_order, people):
    with pytest.raises(NotAnApprover) as error:
        approvals.approve(waiting_order, actor=people["colleague"])

    assert error.value.status_code == 403
    assert error.value.message == (
        "Only approvers and admins of Facilities can approve or reject its orders."
    )


def test_other_team_approver_cannot_approve(waiting_order, people):
    with pytest.raises(NotAnApprover):
        approvals.approve(waiting_order, actor=people["outsider"])

    waiting_order.refresh_from_db()
    assert waiting_order.status == Status.AWAITING_APPROVAL


def test_second_decision_refused(waiting_order, people):
    approvals.approve(waiting_order, actor=people["approver"])

    with pytest.raises(OrderNotAwaitingApproval) as error:
        approvals.reject(waiting_order, actor=people["admin"], comment="Too much")

    assert error.value.status_code == 400
    assert waiting_order.approvals.count() == 1


def test_stale_copy_cannot_decide_twice(waiting_order, people):
    stale = Order.objects.get(pk=waiting_order.pk)
    approvals.approve(waiting_order, actor=people["approver"])

    with pytest.raises(OrderNotAwaitingApproval):
        approvals.approve(stale, actor=people["admin"])

    assert Approval.objects.filter(order=waiting_order).count() == 1


def test_approval_rows_cannot_change(waiting_order, people):
    approval = approvals.approve(waiting_order, actor=people["approver"])
    approval.comment = "rewritten"

    with pytest.raises(ValueError):
        approval.save()


# --- rejecting --------------------------------------------------------------


def test_reject_needs_comment(waiting_order, people):
    with pytest.raises(CommentRequired) as error:
        approvals.reject(waiting_order, actor=people["approver"], comment="   ")

    assert error.value.status_code == 400
    waiting_order.refresh_from_db()
    assert waiting_order.status == Status.AWAITING_APPROVAL
    assert waiting_order.approvals.count() == 0


def test_reject_with_comment(
    waiting_order, people, mailoutbox, django_capture_on_commit_callbacks
):
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        approval = approvals.reject(
            waiting_order, actor=people["admin"], comment="Use the cheaper model."
        )

    waiting_order.refresh_from_db()
    assert waiting_order.status == Status.REJECTED
    assert approval.decision == Approval.Decision.REJECTED
    assert approval.decided_by == people["admin"]
    assert _recipients(mailoutbox) == [["requester@example.com"]]
    assert mailoutbox[0].subject == f"Order {waiting_order.pk} was rejected by admin"
    assert "Reason: Use the cheaper model." in mailoutbox[0].body
    reject_entry = audit.entries_for(waiting_order).get(action=Action.REJECT)
    assert reject_entry.changes["comment"] == [None, "Use the cheaper model."]


# --- changes after approval -------------------------------------------------


def test_change_after_approval_resets_it(
    waiting_order, people, mailoutbox, django_capture_on_commit_callbacks
):
    approvals.approve(waiting_order, actor=people["approver"])

    changed = approvals.invalidate_approval_on_change(
        waiting_order,
        actor=people["requester"],
        changes={"max_price_cents": [25_000, 26_000]},
    )
    Order.objects.filter(pk=waiting_order.pk).update(max_price_cents=26_000)
    waiting_order.refresh_from_db()

    assert changed is True
    assert waiting_order.status == Status.DRAFT
    assert waiting_order.approved_by is None
    assert waiting_order.approved_at is None
    assert waiting_order.approved_max_price_cents is None
    assert approvals.has_valid_approval(waiting_order) is False
    reset_entry = audit.entries_for(waiting_order).last()
    assert reset_entry.actor == people["requester"]
    assert reset_entry.changes["status"] == ["approved", "draft"]
    assert reset_entry.changes["approved_max_price_cents"] == [25_000, None]

    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        outcome = approvals.request_approval_or_submit(
            waiting_order, actor=people["requester"]
        )
    assert outcome.sent_for_approval is True
    waiting_order.refresh_from_db()
    assert waiting_order.status == Status.AWAITING_APPROVAL
    assert len(mailoutbox) == 2


def test_change_while_waiting_returns_to_draft(waiting_order, people):
    changed = approvals.invalidate_approval_on_change(
        waiting_order,
        actor=people["requester"],
        changes={"items": [["a"], ["b"]]},
    )

    waiting_order.refresh_from_db()
    assert changed is True
    assert waiting_order.status == Status.DRAFT


def test_change_to_unapproved_draft_changes_nothing(make_order, people):
    order = make_order(5_000)

    changed = approvals.invalidate_approval_on_change(
        order, actor=people["requester"], changes={"max_price_cents": [5_000, 6_000]}
    )

    assert changed is False
    assert AuditEntry.objects.count() == 0


def test_draft_keeping_approval_loses_it(make_order, people):
    order = make_order(
        25_000,
        approved_by=people["approver"],
        approved_at=timezone.now(),
        approved_max_price_cents=25_000,
    )

    changed = approvals.invalidate_approval_on_change(
        order, actor=people["requester"], changes={"address": [1, 2]}
    )

    order.refresh_from_db()
    assert changed is True
    assert order.status == Status.DRAFT
    assert order.approved_max_price_cents is None
    entry = AuditEntry.objects.get(object_id=str(order.pk))
    assert entry.action == Action.CHANGE
    assert entry.changes == {
        "approved_at": [entry.changes["approved_at"][0], None],
        "approved_by": [people["approver"].pk, None],
        "approved_max_price_cents": [25_000, None],
    }


# --- budget -----------------------------------------------------------------


def _paid_this_month(make_order, authorized_cents: int) -> Order:
    return make_order(
        authorized_cents - 100,
        status=Status.ORDER_PLACED,
        paid_at=timezone.now(),
        authorized_cents=authorized_cents,
    )


def test_budget_blocks_order_that_crosses_it(make_order, people):
    _paid_this_month(make_order, 490_000)
    # A paid order from an earlier month must not count.
    make_order(
        400_000,
        status=Status.ORDER_PLACED,
        paid_at=timezone.now() - timezone.timedelta(days=62),
        authorized_cents=400_100,
    )
    order = make_order(10_000)

    with pytest.raises(BudgetExceeded) as error:
        approvals.request_approval_or_submit(order, actor=people["requester"])

    assert error.value.status_code == 400
    assert error.value.decision.month_to_date_cents == 490_000
    assert "over the monthly budget of $5,000.00" in error.value.message
    order.refresh_from_db()
    assert order.status == Status.DRAFT
    assert order.request_body == ""
    assert order.events.count() == 0


def test_budget_blocks_approval_too(waiting_order, make_order, people):
    _paid_this_month(make_order, 480_000)

    with pytest.raises(BudgetExceeded):
        approvals.approve(waiting_order, actor=people["admin"])

    waiting_order.refresh_from_db()
    assert waiting_order.status == Status.AWAITING_APPROVAL


def test_over_budget_needs_admin(
    team, make_order, people, mailoutbox, django_capture_on_commit_callbacks
):
    team.over_budget_policy = Team.OverBudgetPolicy.ADMIN_APPROVAL
    team.save()
    _paid_this_month(make_order, 495_000)
    order = make_order(10_000)

    with django_capture_on_commit_callbacks(execute=True):
        outcome = approvals.request_approval_or_submit(order, actor=people["requester"])

    assert outcome.sent_for_approval is True
    assert outcome.decision.requires_admin is True
    assert outcome.message == "The order is waiting for a team admin to approve it."
    assert _recipients(mailoutbox) == [["admin@example.com"]]
    assert "needs an admin's approval" in mailoutbox[0].subject

    with pytest.raises(AdminApprovalRequired) as error:
        approvals.approve(order, actor=people["approver"])
    assert error.value.status_code == 403

    approvals.approve(order, actor=people["admin"], comment="One-off.")
    order.refresh_from_db()
    assert order.status == Status.APPROVED
    assert order.approved_by == people["admin"]


def test_approval_rechecked_when_budget_fills(
    team,
    waiting_order,
    make_order,
    people,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    team.over_budget_policy = Team.OverBudgetPolicy.ADMIN_APPROVAL
    team.save()
    approvals.approve(waiting_order, actor=people["approver"])
    # Another order is paid after the approval, so the approved one no longer fits.
    _paid_this_month(make_order, 480_000)
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        outcome = approvals.request_approval_or_submit(
            waiting_order, actor=people["requester"]
        )

    waiting_order.refresh_from_db()
    assert outcome.sent_for_approval is True
    assert waiting_order.status == Status.AWAITING_APPROVAL
    assert waiting_order.approved_by is None
    assert _recipients(mailoutbox) == [["admin@example.com"]]


# --- sending to Zinc (real sandbox) ----------------------------------------


def test_small_order_goes_straight_to_zinc(sandbox, make_order, people):
    order = make_order(5_000)

    outcome = approvals.request_approval_or_submit(order, actor=people["requester"])

    order.refresh_from_db()
    assert outcome.sent_for_approval is False
    assert outcome.result.accepted is True
    assert order.status == Status.AWAITING_PAYMENT
    assert order.approvals.count() == 0


def test_approved_order_goes_to_zinc(sandbox, waiting_order, people):
    approvals.approve(waiting_order, actor=people["approver"])

    outcome = approvals.request_approval_or_submit(
        waiting_order, actor=people["requester"]
    )

    waiting_order.refresh_from_db()
    assert outcome.sent_for_approval is False
    assert outcome.result.accepted is True
    assert waiting_order.status == Status.AWAITING_PAYMENT
    stripe = waiting_order.payment_attempts.get(method="stripe")
    assert stripe.amount <= waiting_order.approved_max_price_cents + 100


# --- audit ------------------------------------------------------------------


def test_audit_drops_secret_fields(make_order, people):
    order = make_order(5_000)

    entry = audit.record(
        people["requester"],
        Action.CHANGE,
        order,
        {
            "api_key_encrypted": ["", "gAAAA-secret"],
            "request_body": ["", "{}"],
            "receipt_reference": ["", "pi_123"],
            "po_number": ["", "PO-7"],
        },
    )

    entry.refresh_from_db()
    assert entry.changes == {"po_number": ["", "PO-7"]}
    assert entry.object_repr == f"Order {order.pk} (Draft)"


def test_audit_diff_lists_only_changes():
    changes = audit.diff(
        {"role": "requester", "team": 1, "request_body": "a"},
        {"role": "approver", "team": 1, "request_body": "b", "note": "x"},
    )

    assert changes == {"note": [None, "x"], "role": ["requester", "approver"]}


# --- team administration ----------------------------------------------------


def test_admin_adds_member(team, people, other_team):
    newcomer = _user("newcomer")

    membership = teams.add_member(
        team, actor=people["admin"], username=" newcomer ", role=Role.APPROVER
    )

    assert membership.user == newcomer
    assert membership.role == Role.APPROVER
    entry = AuditEntry.objects.get(action=Action.MEMBER_ADD)
    assert entry.actor == people["admin"]
    assert entry.team == team
    assert entry.changes == {"role": [None, "approver"], "user": [None, "newcomer"]}


def test_add_unknown_user_fails(team, people):
    with pytest.raises(teams.TeamError) as error:
        teams.add_member(team, actor=people["admin"], username="ghost", role="admin")

    assert error.value.message == "No user is named 'ghost'. Check the spelling."
    assert error.value.status_code == 400


def test_add_existing_member_fails(team, people):
    with pytest.raises(teams.TeamError):
        teams.add_member(
            team, actor=people["admin"], username="approver", role=Role.ADMIN
        )


def test_add_member_rejects_invalid_role(team, people):
    _user("newcomer")

    with pytest.raises(teams.TeamError):
        teams.add_member(team, actor=people["admin"], username="newcomer", role="owner")


@pytest.mark.parametrize("persona", ["requester", "approver", "outsider"])
def test_non_admin_cannot_manage_members(team, people, persona):
    _user("newcomer")

    with pytest.raises(teams.TeamPermissionDenied) as error:
        teams.add_member(
            team, actor=people[persona], username="newcomer", role=Role.REQUESTER
        )

    assert error.value.status_code == 403
    assert Membership.objects.filter(user__username="newcomer").count() == 0


def test_admin_changes_role(team, people):
    membership = Membership.objects.get(user=people["requester"], team=team)

    teams.change_role(membership, actor=people["admin"], role=Role.APPROVER)

    membership.refresh_from_db()
    assert membership.role == Role.APPROVER
    entry = AuditEntry.objects.get(action=Action.MEMBER_CHANGE)
    assert entry.changes == {
        "role": ["requester", "approver"],
        "user": ["requester", "requester"],
    }


def test_last_admin_keeps_role(team, people):
    membership = Membership.objects.get(user=people["admin"], team=team)

    with pytest.raises(teams.TeamError):
        teams.change_role(membership, actor=people["admin"], role=Role.APPROVER)
    with pytest.raises(teams.TeamError):
        teams.remove_member(membership, actor=people["admin"])

    membership.refresh_from_db()
    assert membership.role == Role.ADMIN


def test_admin_removes_member(team, people):
    membership = Membership.objects.get(user=people["colleague"], team=team)

    teams.remove_member(membership, actor=people["admin"])

    assert not Membership.objects.filter(user=people["colleague"], team=team).exists()
    entry = AuditEntry.objects.get(action=Action.MEMBER_REMOVE)
    assert entry.changes == {
        "role": ["requester", None],
        "user": ["colleague", None],
    }


def test_admin_changes_policy(team, people):
    teams.update_policy(
        team,
        actor=people["admin"],
        approval_threshold_cents=15_000,
        monthly_budget_cents=500_000,
        over_budget_policy=Team.OverBudgetPolicy.ADMIN_APPROVAL,
    )

    team.refresh_from_db()
    assert team.approval_threshold_cents == 15_000
    assert team.over_budget_policy == "admin_approval"
    entry = AuditEntry.objects.get(action=Action.POLICY_CHANGE)
    assert entry.team == team
    assert entry.object_type == "orders.team"
    assert entry.changes == {
        "approval_threshold_cents": [20_000, 15_000],
        "over_budget_policy": ["block", "admin_approval"],
    }


def test_approver_cannot_change_policy(team, people):
    with pytest.raises(teams.TeamPermissionDenied):
        teams.update_policy(
            team,
            actor=people["approver"],
            approval_threshold_cents=None,
            monthly_budget_cents=None,
            over_budget_policy=Team.OverBudgetPolicy.BLOCK,
        )

    team.refresh_from_db()
    assert team.approval_threshold_cents == 20_000
    assert AuditEntry.objects.count() == 0


# --- views ------------------------------------------------------------------


@pytest.fixture
def client_for(client):
    def log_in(user):
        client.force_login(user)
        return client

    return log_in


def test_queue_shows_waiting_order(
    waiting_order, make_order, people, client_for, django_assert_max_num_queries
):
    _paid_this_month(make_order, 12_345)
    client = client_for(people["approver"])

    with django_assert_max_num_queries(12):
        response = client.get("/approvals/")

    assert response.status_code == 200
    assert response.context["spend"].month_to_date_cents == 12_345
    [row] = response.context["rows"]
    assert row["order"] == waiting_order
    assert row["decision"].needs_approval is True
    body = response.content.decode()
    assert "$251.00" in body
    assert "$123.45 authorised" in body
    assert "1 Market St" in body
    assert SHOP + "test-success" in body


def test_queue_query_count_is_fixed(make_order, people, client_for):
    client = client_for(people["approver"])
    for _ in range(2):
        approvals.request_approval_or_submit(
            make_order(25_000), actor=people["requester"]
        )
    with CaptureQueriesContext(connection) as few:
        client.get("/approvals/")
    for _ in range(5):
        approvals.request_approval_or_submit(
            make_order(25_000), actor=people["requester"]
        )
    with CaptureQueriesContext(connection) as many:
        client.get("/approvals/")

    assert len(many.captured_queries) == len(few.captured_queries)


def test_htmx_approve_returns_row(waiting_order, people, client_for):
    client = client_for(people["approver"])

    response = client.post(
        f"/orders/{waiting_order.pk}/approve/",
        {"comment": "Go ahead.", "version": waiting_order.version},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert f'id="approval-{waiting_order.pk}"' in body
    assert "Approved by approver: “Go ahead.”" in body
    assert "<html" not in body
    waiting_order.refresh_from_db()
    assert waiting_order.status == Status.APPROVED


def test_reject_without_comment_view(waiting_order, people, client_for):
    client = client_for(people["approver"])

    version = waiting_order.version
    plain = client.post(
        f"/orders/{waiting_order.pk}/reject/", {"comment": " ", "version": version}
    )
    htmx = client.post(
        f"/orders/{waiting_order.pk}/reject/",
        {"comment": "", "version": version},
        headers={"HX-Request": "true"},
    )

    message = "Say why the order is rejected, so the requester can fix it."
    assert plain.status_code == 400
    assert message in plain.content.decode()
    assert htmx.status_code == 400
    assert message in htmx.content.decode()
    waiting_order.refresh_from_db()
    assert waiting_order.status == Status.AWAITING_APPROVAL


def test_self_approval_view_is_forbidden(make_order, people, client_for):
    order = make_order(25_000, created_by=people["approver"])
    approvals.request_approval_or_submit(order, actor=people["approver"])
    client = client_for(people["approver"])

    response = client.post(f"/orders/{order.pk}/approve/", {"comment": ""})

    assert response.status_code == 403
    assert "another approver must decide on it" in response.content.decode()
    order.refresh_from_db()
    assert order.status == Status.AWAITING_APPROVAL


def test_plain_approve_redirects_to_next(waiting_order, people, client_for):
    client = client_for(people["admin"])

    response = client.post(
        f"/orders/{waiting_order.pk}/approve/",
        {
            "comment": "",
            "next": f"/orders/{waiting_order.pk}/",
            "version": waiting_order.version,
        },
    )

    assert response.status_code == 302
    assert response["Location"] == f"/orders/{waiting_order.pk}/"


def test_submit_over_budget_view(make_order, people, client_for):
    _paid_this_month(make_order, 499_000)
    order = make_order(5_000)
    client = client_for(people["requester"])

    review = client.get(f"/orders/{order.pk}/review/")
    response = client.post(f"/orders/{order.pk}/submit/")

    assert review.status_code == 200
    assert "The team's budget blocks this order." in review.content.decode()
    assert "Send to Zinc" not in review.content.decode()
    assert response.status_code == 400
    assert "over the monthly budget of $5,000.00" in response.content.decode()
    order.refresh_from_db()
    assert order.status == Status.DRAFT


def test_submit_above_threshold_view(make_order, people, client_for):
    order = make_order(25_000)
    client = client_for(people["requester"])

    review = client.get(f"/orders/{order.pk}/review/")
    response = client.post(f"/orders/{order.pk}/submit/")

    assert "Send for approval" in review.content.decode()
    assert response.status_code == 302
    assert response["Location"] == f"/orders/{order.pk}/"
    order.refresh_from_db()
    assert order.status == Status.AWAITING_APPROVAL


def _edit_data(order: Order, **overrides: str) -> dict[str, str]:
    data = {
        "address": str(order.address_id),
        "max_price": "250.00",
        "po_number": "",
        "note": "",
        "item_url": SHOP + "test-success",
        "item_quantity": "1",
        "item_variants": "",
        "save": "1",
    }
    data.update(overrides)
    return data


def test_edit_after_approval_resets_it(waiting_order, people, client_for):
    approvals.approve(waiting_order, actor=people["approver"])
    client = client_for(people["requester"])

    response = client.post(
        f"/orders/{waiting_order.pk}/edit/",
        _edit_data(waiting_order, item_quantity="2"),
    )

    assert response.status_code == 302
    waiting_order.refresh_from_db()
    assert waiting_order.status == Status.DRAFT
    assert waiting_order.approved_by is None
    assert approvals.has_valid_approval(waiting_order) is False
    change = audit.entries_for(waiting_order).filter(action=Action.CHANGE).get()
    assert change.actor == people["requester"]
    assert change.changes["items"] == [
        [{"url": SHOP + "test-success", "quantity": 1, "variants": []}],
        [{"url": SHOP + "test-success", "quantity": 2, "variants": []}],
    ]
    page = client.get(f"/orders/{waiting_order.pk}/")
    assert page.status_code == 200
    assert "Audit trail" in page.content.decode()
    assert "This order needs approval before it can be paid." in page.content.decode()


def test_note_edit_keeps_approval(waiting_order, people, client_for):
    approvals.approve(waiting_order, actor=people["approver"])
    client = client_for(people["requester"])

    client.post(
        f"/orders/{waiting_order.pk}/edit/", _edit_data(waiting_order, note="Dock B")
    )

    waiting_order.refresh_from_db()
    assert waiting_order.note == "Dock B"
    assert waiting_order.status == Status.DRAFT
    assert approvals.has_valid_approval(waiting_order) is True
    decision = policy.evaluate(waiting_order)
    assert approvals.approval_covers(waiting_order, decision) is True


def test_order_page_shows_decisions(waiting_order, people, client_for):
    approvals.reject(waiting_order, actor=people["approver"], comment="Use model B.")
    client = client_for(people["requester"])

    response = client.get(f"/orders/{waiting_order.pk}/")

    body = response.content.decode()
    assert response.status_code == 200
    assert "Use model B." in body
    assert "Rejected" in body
    assert [entry.action for entry in response.context["audit_entries"]] == [
        Action.STATUS,
        Action.STATUS,
        Action.REJECT,
    ]


def test_approver_sees_decision_form_on_order(waiting_order, people, client_for):
    approver_page = client_for(people["approver"]).get(f"/orders/{waiting_order.pk}/")

    assert approver_page.context["can_decide"] is True
    assert f'action="/orders/{waiting_order.pk}/approve/"' in (
        approver_page.content.decode()
    )


def test_requester_sees_no_decision_form(waiting_order, people, client_for):
    page = client_for(people["colleague"]).get(f"/orders/{waiting_order.pk}/")

    assert page.context["can_decide"] is False
    assert f"/orders/{waiting_order.pk}/approve/" not in page.content.decode()


def test_policy_form_converts_dollars(team, people, client_for):
    client = client_for(people["admin"])

    response = client.post(
        "/team/policy/",
        {
            "approval_threshold": "$1,500.50",
            "monthly_budget": "",
            "over_budget_policy": "admin_approval",
        },
    )

    assert response.status_code == 302
    team.refresh_from_db()
    assert team.approval_threshold_cents == 150_050
    assert team.monthly_budget_cents is None
    assert team.over_budget_policy == "admin_approval"


def test_policy_form_rejects_invalid_amount(team, people, client_for):
    client = client_for(people["admin"])

    response = client.post(
        "/team/policy/",
        {
            "approval_threshold": "12.345",
            "monthly_budget": "5000",
            "over_budget_policy": "block",
        },
    )

    assert response.status_code == 400
    assert "“12.345” is not a dollar amount" in response.content.decode()
    team.refresh_from_db()
    assert team.approval_threshold_cents == 20_000


def test_team_page_lists_members(team, people, client_for):
    response = client_for(people["admin"]).get("/team/members/")

    assert response.status_code == 200
    usernames = [m.user.username for m in response.context["memberships"]]
    assert usernames == ["admin", "approver", "colleague", "requester"]
    assert 'value="200.00"' in response.content.decode()


def test_add_unknown_member_view(team, people, client_for):
    response = client_for(people["admin"]).post(
        "/team/members/add/", {"username": "ghost", "role": "requester"}
    )

    assert response.status_code == 400
    assert "No user is named &#x27;ghost&#x27;." in response.content.decode()


def test_last_admin_demotion_view(team, people, client_for):
    membership = Membership.objects.get(user=people["admin"], team=team)

    response = client_for(people["admin"]).post(
        f"/team/members/{membership.pk}/role/", {"role": "requester"}
    )

    assert response.status_code == 400
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN


def test_approve_rejects_stale_page(make_order, people, address):
    order = make_order(25_000)
    approvals.request_approval_or_submit(order, actor=people["requester"])
    approver = Client()
    approver.force_login(people["approver"])
    page = approver.get(f"/orders/{order.pk}/")
    assert "$250.00" in page.content.decode()
    seen_version = Order.objects.get(pk=order.pk).version

    # Before the approver clicks, the requester raises the max price to $4,000
    # and sends the order for approval again.
    requester = Client()
    requester.force_login(people["requester"])
    edited = requester.post(
        f"/orders/{order.pk}/edit/",
        {
            "address": str(address.pk),
            "max_price": "4000.00",
            "po_number": "",
            "note": "",
            "item_url": SHOP + "test-success",
            "item_quantity": "1",
            "item_variants": "",
        },
    )
    assert edited.status_code == 302
    requester.post(f"/orders/{order.pk}/submit/")

    response = approver.post(
        f"/orders/{order.pk}/approve/", {"comment": "ok", "version": seen_version}
    )

    order.refresh_from_db()
    assert response.status_code == 409
    assert "changed after you opened it" in response.content.decode()
    assert order.status == Order.Status.AWAITING_APPROVAL
    assert order.approved_max_price_cents is None


def test_decision_pages_carry_order_version(make_order, people):
    order = make_order(25_000)
    approvals.request_approval_or_submit(order, actor=people["requester"])
    order.refresh_from_db()
    approver = Client()
    approver.force_login(people["approver"])

    detail = approver.get(f"/orders/{order.pk}/").content.decode()
    queue = approver.get("/approvals/").content.decode()

    hidden = f'name="version" value="{order.version}"'
    assert hidden in detail
    assert hidden in queue
