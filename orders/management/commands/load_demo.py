"""Load demo data for the sandbox: users, two teams, addresses, product lists."""

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from orders.models import Address, Membership, ProductList, ProductListItem, Team

DEMO_PASSWORD = "zincdash-demo"
SHOP = "https://zinc.com/shop/products/"

USERS = [
    # username, staff, team memberships
    ("ops", False, [("Facilities", Membership.Role.REQUESTER)]),
    ("approver", False, [("Facilities", Membership.Role.APPROVER)]),
    (
        "admin",
        True,
        [("Facilities", Membership.Role.ADMIN), ("Studio", Membership.Role.ADMIN)],
    ),
    ("studio", False, [("Studio", Membership.Role.REQUESTER)]),
]

TEAMS = {
    "Facilities": {"approval_threshold_cents": 20_000, "monthly_budget_cents": 500_000},
    "Studio": {"approval_threshold_cents": 10_000, "monthly_budget_cents": 100_000},
}

ADDRESSES = {
    "Facilities": [
        {
            "label": "Head office",
            "first_name": "Olivia",
            "last_name": "Okafor",
            "address_line1": "500 Howard St",
            "address_line2": "Floor 3",
            "city": "San Francisco",
            "state": "CA",
            "postal_code": "94105",
            "phone_number": "+14155550142",
            "country": "US",
        },
        {
            "label": "Warehouse",
            "first_name": "Mateo",
            "last_name": "García",
            "address_line1": "2100 Industrial Pkwy",
            "city": "Hayward",
            "state": "CA",
            "postal_code": "94545-2811",
            "phone_number": "+15105550177",
            "country": "US",
        },
    ],
    "Studio": [
        {
            "label": "Studio",
            "first_name": "Aiko",
            "last_name": "Tanaka",
            "address_line1": "77 Wythe Ave",
            "city": "Brooklyn",
            "state": "NY",
            "postal_code": "11249",
            "phone_number": "+17185550123",
            "country": "US",
        }
    ],
}

PRODUCT_LISTS = {
    "Facilities": {
        "Sandbox scenarios": [
            (SHOP + "test-success", 1),
            (SHOP + "test-split-shipment", 1),
            (SHOP + "test-cancelled-by-retailer", 1),
            (SHOP + "test-out-of-stock", 1),
            (SHOP + "test-price-exceeded", 1),
        ],
        "Office restock": [(SHOP + "test-success", 2)],
    },
    "Studio": {"Studio supplies": [(SHOP + "test-success", 1)]},
}


class Command(BaseCommand):
    help = (
        "Create demo users, two teams, addresses and product lists that use "
        "Zinc's sandbox test products. Safe to run again."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.IS_DEVELOPMENT:
            raise CommandError("Demo data is for ZINCDASH_ENV=development only.")
        with transaction.atomic():
            teams = {
                name: Team.objects.update_or_create(name=name, defaults=policy)[0]
                for name, policy in TEAMS.items()
            }
            for username, staff, memberships in USERS:
                self._user(username, staff, memberships, teams)
            for team_name, addresses in ADDRESSES.items():
                for fields in addresses:
                    Address.objects.update_or_create(
                        team=teams[team_name], label=fields["label"], defaults=fields
                    )
            for team_name, lists in PRODUCT_LISTS.items():
                for list_name, items in lists.items():
                    self._product_list(teams[team_name], list_name, items)
        self.stdout.write(
            f"Demo data ready: log in as ops, approver, admin or studio with "
            f"password {DEMO_PASSWORD!r}."
        )

    def _user(
        self,
        username: str,
        staff: bool,
        memberships: list[tuple[str, str]],
        teams: dict[str, Team],
    ) -> None:
        user, created = get_user_model().objects.get_or_create(
            username=username,
            defaults={"email": f"{username}@example.com", "is_staff": staff},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.is_superuser = staff
            user.save()
        for team_name, role in memberships:
            Membership.objects.update_or_create(
                user=user, team=teams[team_name], defaults={"role": role}
            )

    def _product_list(
        self, team: Team, name: str, items: list[tuple[str, int]]
    ) -> None:
        product_list, created = ProductList.objects.get_or_create(team=team, name=name)
        if not created:
            return
        for position, (url, quantity) in enumerate(items):
            ProductListItem.objects.create(
                product_list=product_list, url=url, quantity=quantity, position=position
            )
