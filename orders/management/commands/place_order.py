"""Place and pay one order from a JSON file, the same way the browser does."""

import json
import time
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from pydantic import ValidationError

from orders import mpp
from orders.models import Membership, Order, OrderItem, PaymentAttempt, Team
from orders.services import placement
from orders.services.refresh import poll_order
from orders.zinc import OrderCreate, ZincClient

FINISHED = {
    Order.Status.ORDER_FAILED,
    Order.Status.CANCELLED,
    Order.Status.CANCELLED_BY_RETAILER,
}


class Command(BaseCommand):
    help = (
        "Place and pay an order described by FILE (Zinc's OrderCreate JSON: "
        "products, shipping_address, max_price in cents, optional po_number and "
        "metadata) with a Stripe PaymentMethod id, then print its id and status."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="Path to the order JSON file.")
        parser.add_argument(
            "--payment-method",
            required=True,
            help="Stripe PaymentMethod id, for example pm_card_visa in test mode.",
        )
        parser.add_argument(
            "--user",
            help="Username of the requester (default: the first staff user).",
        )
        parser.add_argument(
            "--team", help="Team name (default: the requester's first team)."
        )
        parser.add_argument(
            "--wait",
            action="store_true",
            help="Follow the order with GET /orders/{id} until it is placed with "
            "a tracking number, fails or is cancelled.",
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=30.0,
            help="Seconds between polls with --wait (default 30).",
        )
        parser.add_argument(
            "--timeout",
            type=float,
            default=1800.0,
            help="Give up waiting after this many seconds (default 1800).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        request = self._read(options["file"])
        user = self._user(options["user"])
        team = self._team(user, options["team"])
        order = self._create(request, team, user)
        self.stdout.write(f"Created order {order.pk} (idempotency key shown in admin)")

        submitted = placement.submit_order(order, actor=user)
        if not submitted.accepted:
            for field, messages in submitted.field_errors.items():
                self.stderr.write(f"  {field}: {'; '.join(messages)}")
            raise CommandError(submitted.message)
        attempt = next((a for a in submitted.attempts if a.method == "stripe"), None)
        if attempt is None:
            raise CommandError("Zinc offered no stripe challenge, so a card can't pay.")
        self._describe(attempt)

        result = placement.settle_payment(
            order, attempt.pk, options["payment_method"], actor=user
        )
        order.refresh_from_db()
        if result.outcome != "placed":
            raise CommandError(f"Payment {result.outcome}: {result.message}")
        self.stdout.write(
            f"Order {order.pk} placed at Zinc as {order.zinc_order_id}: "
            f"status {order.status}"
        )
        if options["wait"]:
            self._wait(order, options["interval"], options["timeout"])

    def _read(self, path: Path) -> OrderCreate:
        try:
            raw = json.loads(path.read_text())
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise CommandError(f"{path} is not valid JSON: {exc}") from None
        try:
            return OrderCreate.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                for e in exc.errors()
            )
            raise CommandError(f"{path} is not a valid order: {problems}") from None

    def _user(self, username: str | None) -> Any:
        users = get_user_model().objects
        if username:
            user = users.filter(username=username).first()
            if user is None:
                raise CommandError(f"No user named {username!r}.")
            return user
        user = users.filter(is_staff=True).order_by("pk").first()
        if user is None:
            raise CommandError("No staff user exists; pass --user USERNAME.")
        return user

    def _team(self, user: Any, name: str | None) -> Team:
        memberships = Membership.objects.filter(user=user).select_related("team")
        if name:
            memberships = memberships.filter(team__name=name)
        membership = memberships.order_by("team__name").first()
        if membership is None:
            raise CommandError(
                f"{user.get_username()} is not a member of {name!r}."
                if name
                else f"{user.get_username()} has no team."
            )
        return membership.team

    @transaction.atomic
    def _create(self, request: OrderCreate, team: Team, user: Any) -> Order:
        order = Order.objects.create(
            team=team,
            created_by=user,
            shipping_address=request.shipping_address.model_dump(mode="json"),
            max_price_cents=request.max_price,
            po_number=request.po_number or "",
            metadata=request.metadata or {},
        )
        for position, product in enumerate(request.products):
            OrderItem.objects.create(
                order=order,
                url=product.url,
                quantity=product.quantity,
                variants=[v.model_dump() for v in product.variant or []],
                position=position,
            )
        return order

    def _describe(self, attempt: PaymentAttempt) -> None:
        expires = attempt.expires_at.isoformat() if attempt.expires_at else "never"
        self.stdout.write(
            f"Zinc asks for {mpp.format_amount(attempt.amount, attempt.decimals)} "
            f"{attempt.currency.upper()} via {attempt.method}, challenge expires "
            f"{expires}"
        )

    def _wait(self, order: Order, interval: float, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_status = ""
        with ZincClient() as client:
            while True:
                poll_order(order, client)
                order.refresh_from_db()
                tracking = list(order.tracking_numbers.all())
                if order.status != last_status:
                    self.stdout.write(f"Status: {order.status}")
                    last_status = order.status
                if order.status in FINISHED:
                    detail = f" ({order.error_type})" if order.error_type else ""
                    self.stdout.write(f"Final status: {order.status}{detail}")
                    return
                if order.status == Order.Status.ORDER_PLACED and tracking:
                    numbers = ", ".join(
                        f"{t.carrier} {t.tracking_number}" for t in tracking
                    )
                    self.stdout.write(f"Final status: order_placed, tracking {numbers}")
                    return
                if not order.trackable:
                    raise CommandError(f"Order can't be followed: {order.poll_error}")
                if time.monotonic() >= deadline:
                    raise CommandError(
                        f"Gave up after {timeout:.0f}s at {order.status}."
                    )
                time.sleep(interval)
