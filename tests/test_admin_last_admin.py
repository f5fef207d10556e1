"""The Django admin must keep a team's last admin, as the team page does."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from orders.models import AuditEntry, Membership, Team

pytestmark = pytest.mark.django_db


def test_admin_site_keeps_last_team_admin():
    staff = get_user_model().objects.create_superuser("root", password="pw-root-123")
    user = get_user_model().objects.create_user("ada", password="pw-ada-123")
    team = Team.objects.create(name="Facilities")
    membership = Membership.objects.create(
        user=user, team=team, role=Membership.Role.ADMIN
    )
    client = Client()
    client.force_login(staff)

    response = client.post(
        f"/admin/orders/membership/{membership.pk}/change/",
        {"user": user.pk, "team": team.pk, "role": Membership.Role.REQUESTER},
    )

    # Memberships change only on the team page, which keeps the last admin.
    assert response.status_code == 403
    assert Membership.objects.filter(team=team, role=Membership.Role.ADMIN).exists()
    assert not AuditEntry.objects.filter(object_type="orders.membership").exists()


def test_admin_site_adds_member_with_audit_entry():
    staff = get_user_model().objects.create_superuser("root", password="pw-root-123")
    user = get_user_model().objects.create_user("ada", password="pw-ada-123")
    team = Team.objects.create(name="Facilities")
    client = Client()
    client.force_login(staff)

    response = client.post(
        "/admin/orders/membership/add/",
        {"user": user.pk, "team": team.pk, "role": Membership.Role.ADMIN},
    )

    assert response.status_code == 302
    assert Membership.objects.filter(team=team, role=Membership.Role.ADMIN).exists()
    entry = AuditEntry.objects.get(object_type="orders.membership")
    assert entry.action == AuditEntry.Action.MEMBER_ADD
    assert entry.actor == staff
