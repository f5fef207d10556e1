"""Measure ZincDash's pages, poller and memory at a stated size.

Run from the repository root:

    .venv/bin/python benchmarks/bench.py --orders 100000 --poll-orders 5000

It builds its own SQLite database in var/bench.sqlite3 (deleted first), seeds
--orders orders in two teams with bulk inserts, then measures:

- the order list, a filtered and searched list, an order page and the reports
  page: SQL queries per request and the median server time over --repeat
  requests through Django's test client;
- the resident memory of a gunicorn worker (one worker, one thread) after it
  has served each page --repeat times;
- the poller: --poll-orders orders paid through the sandbox, all due at once,
  polled by one worker running poll_due_orders in a loop; the figure is polls
  per second against the rate that Zinc's cadence needs for that many orders.

Results go to stdout as a Markdown table; docs/benchmarks.md keeps a record.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
import warnings
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB_PATH = ROOT / "var" / "bench.sqlite3"
sys.path.insert(0, str(ROOT))
os.environ["DATABASE_URL"] = f"sqlite:///{DB_PATH}"
os.environ["TASKS_BACKEND"] = "dummy"
os.environ["LOG_LEVEL"] = "WARNING"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zincdash.settings")
os.environ["STATICFILES_BACKEND"] = (
    "django.contrib.staticfiles.storage.StaticFilesStorage"
)
os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,127.0.0.1"

SHOP = "https://zinc.com/shop/products/"
PRODUCTS = [SHOP + "test-success", SHOP + "test-split-shipment"] + [
    f"https://www.amazon.com/dp/B0{n:08d}" for n in range(200)
]
ERRORS = ["max_price_exceeded", "product_out_of_stock", "shipping_unavailable"]


def main() -> None:
    # STATIC_ROOT is empty because the bench serves static files from finders.
    warnings.filterwarnings("ignore", message="No directory at")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--poll-orders", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    DB_PATH.parent.mkdir(exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{DB_PATH}{suffix}").unlink(missing_ok=True)

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    seed(args.orders)
    print(f"Seeded {args.orders} orders in {time.perf_counter() - started:.1f} s")

    # A running worker refreshes SQLite's planner statistics at start-up and
    # hourly; the measurements assume it has.
    from orders.maintenance import optimize_database

    optimize_database()
    rows = measure_pages(args.repeat)
    rows.append(measure_memory(args.repeat))
    if args.poll_orders:
        rows.append(measure_poller(args.poll_orders))
    print()
    print("| measurement | queries | median server time | other |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def seed(count: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from orders.models import Membership, Order, OrderEvent, OrderItem, Team

    rng = random.Random(7)
    user_model = get_user_model()
    staff = user_model.objects.create_user("bench", password="bench", is_staff=True)
    teams = [Team.objects.create(name=name) for name in ("Facilities", "Studio")]
    for team in teams:
        Membership.objects.create(user=staff, team=team, role=Membership.Role.ADMIN)
    address = {
        "first_name": "Olivia",
        "last_name": "Okafor",
        "address_line1": "500 Howard St",
        "city": "San Francisco",
        "state": "CA",
        "postal_code": "94105",
        "phone_number": "+14155550142",
        "country": "US",
    }
    now = timezone.now()
    statuses = [
        (Order.Status.ORDER_PLACED, 70),
        (Order.Status.ORDER_FAILED, 10),
        (Order.Status.PENDING, 5),
        (Order.Status.IN_PROGRESS, 3),
        (Order.Status.CANCELLED_BY_RETAILER, 2),
        (Order.Status.DRAFT, 5),
        (Order.Status.AWAITING_PAYMENT, 5),
    ]
    population = [status for status, weight in statuses for _ in range(weight)]
    batch = 5_000
    for start in range(0, count, batch):
        orders = []
        for n in range(start, min(start + batch, count)):
            status = rng.choice(population)
            created = now - timedelta(minutes=rng.randint(0, 365 * 24 * 60))
            max_price = rng.randint(20, 400) * 100
            order = Order(
                team=teams[n % 2],
                created_by=staff,
                status=status,
                shipping_address=address,
                max_price_cents=max_price,
                po_number=f"PO-{n:06d}",
                created_at=created,
            )
            if status in Order.AT_ZINC:
                total = rng.randint(max_price // 2, max_price)
                order.zinc_order_id = f"bench-{n:08d}"
                order.authorized_cents = max_price + 100
                order.fee_cents = 100
                order.paid_at = created + timedelta(seconds=30)
                if status == Order.Status.ORDER_PLACED:
                    order.total_cents = total
                    order.charged_cents = total + 100
                    order.refunded_cents = max_price - total
                    order.placed_at = order.paid_at + timedelta(
                        minutes=rng.randint(3, 15)
                    )
                    order.first_tracking_at = order.placed_at + timedelta(
                        hours=rng.randint(4, 72)
                    )
                elif status in Order.FINAL:
                    order.refunded_cents = max_price + 100
                    if status == Order.Status.ORDER_FAILED:
                        order.error_type = rng.choice(ERRORS)
            orders.append(order)
        with transaction.atomic():
            Order.objects.bulk_create(orders, batch_size=1_000)
            OrderItem.objects.bulk_create(
                [
                    OrderItem(
                        order=order,
                        url=rng.choice(PRODUCTS),
                        quantity=rng.randint(1, 5),
                        retailer="zinc",
                    )
                    for order in orders
                    for _ in range(rng.randint(1, 2))
                ],
                batch_size=2_000,
            )
            OrderEvent.objects.bulk_create(
                [
                    OrderEvent(
                        order=order,
                        kind=OrderEvent.Kind.STATUS,
                        to_status=order.status,
                        created_at=order.created_at,
                    )
                    for order in orders
                ],
                batch_size=2_000,
            )


def _pages() -> list[tuple[str, str]]:
    from django.urls import reverse

    from orders.models import Order

    # The bench user's current team is the first by name, Facilities.
    order = Order.objects.filter(
        status=Order.Status.ORDER_PLACED, team__name="Facilities"
    ).first()
    year_ago = (order.created_at - timedelta(days=365)).date().isoformat()
    return [
        ("order list, page 1", reverse("orders:order-list")),
        (
            "order list, status filter, page 40",
            reverse("orders:order-list") + "?status=order_placed&page=40",
        ),
        ("order list, search by PO", reverse("orders:order-list") + "?q=PO-0420"),
        ("order page", reverse("orders:order-detail", args=[order.pk])),
        ("reports, this month", reverse("reports:report-page")),
        (
            "reports, last 12 months",
            reverse("reports:report-page") + f"?start={year_ago}",
        ),
    ]


def measure_pages(repeat: int) -> list[list[str]]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.login(username="bench", password="bench")
    rows = []
    for name, url in _pages():
        timings = []
        queries = 0
        for _ in range(repeat):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.get(url)
                timings.append(time.perf_counter() - started)
            queries = len(captured.captured_queries)
            if response.status_code != 200:
                raise SystemExit(f"{url} responded with HTTP {response.status_code}")
        median_ms = statistics.median(timings) * 1000
        rows.append([name, str(queries), f"{median_ms:.1f} ms", url])
    return rows


def measure_memory(repeat: int) -> list[str]:
    import httpx

    port = 18765
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "zincdash.settings"}
    process = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "zincdash.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "1",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=30) as client:
            for _ in range(50):
                try:
                    login_page = client.get("/login/")
                    break
                except httpx.ConnectError:
                    time.sleep(0.2)
            token = login_page.cookies.get("csrftoken") or client.cookies["csrftoken"]
            client.post(
                "/login/",
                data={
                    "username": "bench",
                    "password": "bench",
                    "csrfmiddlewaretoken": token,
                },
            )
            for _name, url in _pages():
                for _ in range(repeat):
                    client.get(url).raise_for_status()
        worker_pids = subprocess.run(
            ["pgrep", "-P", str(process.pid)], capture_output=True, text=True
        ).stdout.split()
        rss_kib = max(_rss_kib(int(pid)) for pid in worker_pids)
    finally:
        process.terminate()
        process.wait(timeout=10)
    return [
        "gunicorn worker memory after every page",
        "-",
        "-",
        f"{rss_kib / 1024:.0f} MiB RSS",
    ]


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def measure_poller(count: int) -> list[str]:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test.utils import override_settings
    from django.utils import timezone

    from orders.models import Order, OrderItem, PaymentAttempt, Team
    from orders.services import placement
    from orders.tasks import poll_due_orders

    sandbox = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--zinc-port", "0", "--stripe-port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert sandbox.stdout is not None
        ready = next(
            line for line in sandbox.stdout if line.startswith("sandbox ready")
        )
        urls = dict(part.split("=", 1) for part in ready.split()[2:])
        with override_settings(
            ZINC_API_URL=urls["zinc"], STRIPE_API_URL=urls["stripe"]
        ):
            user = get_user_model().objects.get(username="bench")
            team = Team.objects.first()
            started = time.perf_counter()
            ids = []
            for n in range(count):
                order = Order.objects.create(
                    team=team,
                    created_by=user,
                    shipping_address=Order.objects.first().shipping_address,
                    max_price_cents=5000,
                )
                OrderItem.objects.create(order=order, url=SHOP + "test-success")
                placement.submit_order(order, actor=user)
                attempt = order.payment_attempts.get(
                    method="stripe", state=PaymentAttempt.State.OFFERED
                )
                result = placement.settle_payment(
                    order, attempt.pk, "pm_card_visa", actor=user
                )
                assert result.outcome == "placed", result.message
                ids.append(order.pk)
                if n and n % 1000 == 0:
                    print(f"  paid {n} orders through the sandbox")
            paying = time.perf_counter() - started
            Order.objects.filter(pk__in=ids).update(next_poll_at=timezone.now())
            started = time.perf_counter()
            polled = 0
            while polled < count:
                result = poll_due_orders.call()
                if not result["polled"]:
                    break
                polled += result["polled"]
            elapsed = time.perf_counter() - started
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
    rate = polled / elapsed
    needed = count / settings.POLL_OPEN_INTERVAL_SECONDS
    return [
        f"poller, {count} open orders due at once, one worker",
        "-",
        f"{elapsed / polled * 1000:.1f} ms per poll",
        f"{rate:.0f} polls/s vs {needed:.1f}/s needed at a "
        f"{settings.POLL_OPEN_INTERVAL_SECONDS} s cadence; paying them took "
        f"{paying:.0f} s",
    ]


if __name__ == "__main__":
    main()
